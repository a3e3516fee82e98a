"""Broken sums and balances: reported on the cell most likely wrong, saying what to fix (errorlocate's principle)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from nianbao.flows.steps.sample import valid_values
from nianbao.schemas.checks import check_report
from nianbao.schemas.form import FORM
from nianbao.schemas.locate import single_fixes
from nianbao.schemas.report import Report

FIELDS = {"meta.agency": "巫山县司法局", "meta.year": 2024, "text.overview": "总体情况。", "text.problems": "问题。",
          "text.other": "无。"}
IN_EQUATIONS = {c for i in FORM.rule_instances for c in i.left + i.right}
INPUTS = [c for c in FORM.numeric_codes if c in IN_EQUATIONS and c not in FORM.sums]


def totalled(values: dict[str, float]) -> dict[str, float]:
    """Every total recomputed from its parts, as the template's formulas do."""
    out = dict(values)
    for _ in range(4):
        for total, parts in FORM.sums.items():
            out[total] = sum(out[p] for p in parts)
    return out


def errors(values) -> list:
    return [f for f in check_report(Report.from_numbers(values, FIELDS), last_year=2026) if f.is_error]


def test_a_program_wrote_every_total_and_one_cell_is_wrong():
    values = valid_values(random.Random(5))
    values["requests.granted.natural"] += 2  # typed over, totals left as they were
    (f,) = errors(values)
    assert (f.sheet, f.cell) == ("表三", "D7")
    assert f.message.endswith(f"很可能是 D7 填错：改为 {int(values['requests.granted.natural'] - 2)} 后各项平衡。")
    assert [fx.code for fx in single_fixes(values)] == ["requests.granted.natural"]


def test_one_broken_equation_names_both_sides():
    values = valid_values(random.Random(6))
    values["appeals.review.total"] += 1  # E5 or any of A5:D5 could be wrong: nothing to single out
    (f,) = errors(values)
    assert (f.rule, f.cell) == ("R4.1", "E5")
    assert f.message.endswith("相差 1。E5一边多 1：请检查 E5 是否多填，或 A5:D5 是否漏填。")


def test_a_typed_over_total_is_the_one_to_fix():
    values = valid_values(random.Random(6))
    values["requests.granted.total"] += 1  # J7: breaks its row (R3.2) and the 总计 column's results (R3.3)
    (f,) = errors(values)
    assert (f.rule, f.cell) == ("R3.2", "J7") and "很可能是 J7 填错" in f.message


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(INPUTS), st.integers(1, 5))
def test_with_formulas_findings_are_on_cells_the_agency_can_edit(seed, code, delta):
    values = valid_values(random.Random(seed))
    values[code] += delta  # one input cell wrong; the template's totals follow it
    found = errors(totalled(values))
    assert all(f.code not in FORM.sums for f in found), [(f.rule, f.cell) for f in found]
    assert len({f.rule for f in found}) <= 1  # one mistake: the equations of one rule at most
    if found:
        assert all("一边多" in f.message or "很可能是" in f.message for f in found)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(INPUTS), st.integers(1, 5))
def test_without_formulas_one_wrong_cell_is_found(seed, code, delta):
    values = valid_values(random.Random(seed))
    values[code] += delta  # every total as it was: the one wrong cell breaks two equations or more
    fixes = single_fixes(values)
    assert code in [f.code for f in fixes]
    fix = next(f for f in fixes if f.code == code)
    assert fix.value == values[code] - delta
