"""A report as data: what a reader hands to the checks.

``Report.from_raw`` turns the raw values found under each code into numbers
and text (see :mod:`nianbao.schemas.values`), recording a finding for every cell that
cannot be read as a number.  The arithmetic and metadata rules are then
checked by :mod:`nianbao.schemas.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .findings import Finding, make
from .form import FORM, Form
from .layout import LAYOUT, a1, parse_a1
from .values import coerce_number, coerce_text


@dataclass
class Report:
    """One report: 200 numbers (None where unreadable), fields, and findings."""

    numbers: dict[str, float | None]
    fields: dict[str, object]  # meta.* and text.* as read (year stays raw)
    file: str = ""
    places: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (sheet, A1)
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True  # False: the file could not be read at all (see findings)

    @cached_property
    def dependable_numbers(self) -> dict[str, float | None]:
        """The numbers the rules may compare: :attr:`numbers`, with every total that adds up a cell that
        could not be read left out too (None).

        A total's value, whether nianbao computed it or Excel, WPS or LibreOffice cached it, counts an
        unreadable part (``3件``) as nothing; comparing it would turn one mistake into several errors.
        """
        if all(v is not None for v in self.numbers.values()):
            return self.numbers
        out = dict(self.numbers)
        changed = True
        while changed:
            changed = False
            for inst in FORM.rule_instances:
                if len(inst.left) != 1 or out.get(inst.left[0]) is None:
                    continue
                if any(out.get(part) is None for part in inst.right):
                    out[inst.left[0]] = None
                    changed = True
        return out

    def place(self, code: str) -> tuple[str, str]:
        return self.places.get(code) or LAYOUT.address(code)

    def label(self, code: str, form: Form = FORM) -> str:
        """``D5“一、本年新收政府信息公开申请数量／自然人”``: how messages name a cell."""
        _, cell = self.place(code)
        described = form.cell_by_code.get(code)
        if described is not None:
            return f"{cell}{described.description}"
        f = form.field_by_code.get(code)
        return f"{cell}“{f.label}”" if f else cell

    def full_label(self, code: str, form: Form = FORM) -> str:
        """``「表四」E5“行政复议／总计”``: the sheet, then :meth:`label`."""
        sheet, _ = self.place(code)
        return f"「{sheet}」{self.label(code, form)}"

    def finding(self, rule_id: str, code: str = "", **params) -> Finding:
        sheet, cell = self.place(code) if code else ("", "")
        return make(rule_id, sheet=sheet, cell=cell, code=code, file=self.file, **params)

    def cells_text(self, codes) -> str:
        """Addresses of several cells, as a range when they form a line."""
        places = [self.place(c) for c in codes]
        if any(not cell for _, cell in places):
            return ""  # a report read from a document: no cells (messages name rows and columns)
        if len(places) == 1:
            return places[0][1]
        sheets = {s for s, _ in places}
        coords = [parse_a1(c) for _, c in places]
        rows = {r for r, _ in coords}
        cols = {c for _, c in coords}
        if len(sheets) == 1 and (len(rows) == 1 or len(cols) == 1):
            ordered = sorted(coords)
            span = (ordered[-1][0] - ordered[0][0]) + (ordered[-1][1] - ordered[0][1]) + 1
            if span == len(ordered):
                return f"{a1(*ordered[0])}:{a1(*ordered[-1])}"
        return "、".join(c for _, c in places)

    @property
    def agency(self) -> str:
        return coerce_text(self.fields.get("meta.agency"))

    @classmethod
    def from_raw(
        cls,
        raw: dict[str, object],
        *,
        file: str = "",
        places: dict[str, tuple[str, str]] | None = None,
        form: Form = FORM,
    ) -> "Report":
        report = cls(numbers={}, fields={}, file=file, places=dict(places or {}))
        for cell in form.cells:
            coerced = coerce_number(raw.get(cell.code), cell.unit)
            report.numbers[cell.code] = coerced.value
            if coerced.rule:
                report.findings.append(
                    report.finding(coerced.rule, cell.code, label=report.label(cell.code, form), **coerced.params)
                )
        for f in form.fields:
            value = raw.get(f.code)
            report.fields[f.code] = value if f.kind == "year" else coerce_text(value)
        return report

    @classmethod
    def from_numbers(cls, numbers: dict[str, float], fields: dict[str, object] | None = None, **kw) -> "Report":
        """A report built by a program (the rollup, tests): numbers already clean."""
        return cls(numbers=dict(numbers), fields=dict(fields or {}), **kw)
