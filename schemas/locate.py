"""Where a broken sum or balance is most likely wrong, and what to tell the agency.

When several equations of the form (勾稽关系) break at once, the most likely
explanation is the smallest set of cells whose correction mends them all: the
principle of Fellegi and Holt, as R's ``errorlocate`` applies it.  nianbao
looks for a single cell: a cell of a broken equation which, changed by one
amount, makes every equation hold.  Totals whose value adds up (formulas in the
template) follow their parts; a total that does not add up was typed over and
is a candidate itself.

* Exactly one such cell: one finding, on that cell, saying 很可能是 D12 填错：改为 3 后各项平衡.
  The other broken equations it mends are not reported again (one mistake, one error).
* Otherwise each broken equation keeps its finding, and its message names the
  cells the agency can edit on each side and which side is larger by how much.
  An equation whose anchor is a total that adds up (a locked formula cell) is
  reported on an input cell, or not at all when another broken equation is
  reported on an input cell (its break is theirs, summed).

Pure: numbers in, findings out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .findings import Finding
from .form import FORM, TOLERANCE, Form, RuleInstance
from .layout import a1, parse_a1
from .report import Report
from .values import format_number

EQUATION_RULES = frozenset(inst.rule for inst in FORM.rule_instances)


@dataclass(frozen=True)
class Fix:
    code: str
    value: float  # what the cell should hold


def _residuals(numbers: Mapping[str, float | None], form: Form) -> dict[str, float]:
    """``left − right`` of every equation whose cells are all known."""
    out = {}
    for inst in form.rule_instances:
        values = [numbers.get(c) for c in inst.left + inst.right]
        if any(v is None for v in values):
            continue
        out[inst.key] = sum(numbers[c] for c in inst.left) - sum(numbers[c] for c in inst.right)
    return out


def adding_up(numbers: Mapping[str, float | None], form: Form = FORM) -> set[str]:
    """The totals whose value is the sum of their parts (formulas, or typed right): they follow their parts."""
    out = set()
    for total, parts in form.sums.items():
        values = [numbers.get(c) for c in (total, *parts)]
        if all(v is not None for v in values) and abs(values[0] - sum(values[1:])) <= TOLERANCE:
            out.add(total)
    return out


def _follows(code: str, following: set[str], form: Form) -> dict[str, int]:
    """``code`` and the totals that follow it (transitively), with how many times each counts it."""
    parents: dict[str, list[str]] = {}
    for total, parts in form.sums.items():
        if total in following:
            for p in parts:
                parents.setdefault(p, []).append(total)
    change = {code: 1}
    frontier = [code]
    while frontier:
        part = frontier.pop()
        for total in parents.get(part, ()):
            change[total] = change.get(total, 0) + change[part]
            frontier.append(total)
    return change


def _coefficient(inst: RuleInstance, change: Mapping[str, int]) -> int:
    return sum(change.get(c, 0) for c in inst.left) - sum(change.get(c, 0) for c in inst.right)


def single_fixes(numbers: Mapping[str, float | None], form: Form = FORM) -> list[Fix]:
    """Every cell that, changed alone (its totals following), makes all equations hold."""
    residuals = _residuals(numbers, form)
    instances = {i.key: i for i in form.rule_instances if i.key in residuals}
    broken = [k for k, r in residuals.items() if abs(r) > TOLERANCE]
    if not broken:
        return []
    following = adding_up(numbers, form)
    candidates = {c for k in broken for c in instances[k].left + instances[k].right} - following
    fixes = []
    for code in sorted(candidates, key=form.codes.index):
        change = _follows(code, following, form)
        first = instances[broken[0]]
        k = _coefficient(first, change)
        if k == 0:
            continue
        delta = -residuals[first.key] / k
        if all(abs(residuals[key] + delta * _coefficient(inst, change)) <= TOLERANCE for key, inst in instances.items()):
            value = numbers[code] + delta
            cell = form.cell_by_code[code]
            if value < -TOLERANCE or (cell.kind == "integer" and abs(value - round(value)) > TOLERANCE):
                continue
            fixes.append(Fix(code, round(value) if cell.kind == "integer" else round(value, 6)))
    return fixes


def _inputs(codes: Sequence[str], following: set[str], form: Form) -> list[str]:
    """``codes`` with every total that follows its parts replaced by its parts (the cells an agency types)."""
    out: list[str] = []
    for code in codes:
        if code in following:
            out.extend(c for c in _inputs(form.sums[code], following, form) if c not in out)
        elif code not in out:
            out.append(code)
    return out


def compact(report: Report, codes: Sequence[str]) -> str:
    """``D7:D27、D29``: cells as short runs of rows or columns."""
    if any(not report.place(code)[1] for code in codes):  # a report read from a document: no cells
        named = "、".join(report.label(code) for code in codes[:3])
        return named + (f"等 {len(codes)} 项" if len(codes) > 3 else "")
    by_sheet: dict[str, list[tuple[int, int]]] = {}
    for code in codes:
        sheet, cell = report.place(code)
        by_sheet.setdefault(sheet, []).append(parse_a1(cell))
    parts = []
    for coords in by_sheet.values():
        parts += min(_runs(coords, down=True), _runs(coords, down=False), key=len)
    return "、".join(parts)


def _runs(coords: list[tuple[int, int]], *, down: bool) -> list[str]:
    """Consecutive cells of a column (``down``) or of a row, as ranges."""
    along, across = (0, 1) if down else (1, 0)
    runs: list[list[tuple[int, int]]] = []
    for rc in sorted(set(coords), key=lambda rc: (rc[across], rc[along])):
        if runs and runs[-1][-1][across] == rc[across] and runs[-1][-1][along] + 1 == rc[along]:
            runs[-1].append(rc)
        else:
            runs.append([rc])
    return [a1(*r[0]) if len(r) == 1 else f"{a1(*r[0])}:{a1(*r[-1])}" for r in runs]


def _sides_hint(report: Report, inst: RuleInstance, residual: float, following: set[str], form: Form) -> str:
    big, small = (inst.left, inst.right) if residual > 0 else (inst.right, inst.left)
    big_inputs, small_inputs = _inputs(big, following, form), _inputs(small, following, form)
    return (f"{compact(report, big)}一边多 {format_number(abs(residual))}：请检查 {compact(report, big_inputs)} "
            f"是否多填，或 {compact(report, small_inputs)} 是否漏填。")


def locate(report: Report, findings: Sequence[Finding], form: Form = FORM) -> list[Finding]:
    """``findings`` with those of broken equations told what to fix (see the module's docstring)."""
    equations = [f for f in findings if f.rule in EQUATION_RULES and "key" in f.params]
    if not equations:
        return list(findings)
    numbers = report.dependable_numbers
    residuals = _residuals(numbers, form)
    instances = {i.key: i for i in form.rule_instances}
    following = adding_up(numbers, form)
    fixes = single_fixes(numbers, form)
    others = [f for f in findings if f not in equations]
    if len(fixes) == 1:
        fix = fixes[0]
        sheet, cell = report.place(fix.code)
        hint = f"很可能是 {cell or report.label(fix.code, form)} 填错：改为 {format_number(fix.value)} 后各项平衡。"
        on_it = [f for f in equations if f.code == fix.code]
        chosen = on_it[0] if on_it else equations[0]
        return others + [replace(chosen, sheet=sheet, cell=cell, code=fix.code, params={**chosen.params, "hint": hint})]
    out = []
    editable = [f for f in equations if f.code not in following]
    for f in equations:
        inst = instances[f.params["key"]]
        hint = _sides_hint(report, inst, residuals.get(inst.key, 0.0), following, form)
        if f.code in following:  # a total that adds up: a locked formula cell in the template
            if editable:
                continue  # its break is the sum of those reported on input cells
            code = _inputs((f.code,), following, form)[0]
            sheet, cell = report.place(code)
            f = replace(f, sheet=sheet, cell=cell, code=code)
        out.append(replace(f, params={**f.params, "hint": hint}))
    return others + out
