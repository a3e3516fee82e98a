"""Write random valid reports by name, read them back: the same numbers, no findings."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.template import write_template
from nianbao.schemas.checks import check_report
from nianbao.schemas.form import FORM, REQUEST_COLUMNS, RESULT_ROWS

PARTS = [c.code for c in REQUEST_COLUMNS[:-1]]
counts = st.integers(min_value=0, max_value=500)


@st.composite
def valid_reports(draw) -> dict[str, object]:
    values: dict[str, object] = {}
    for cell in FORM.cells:
        if cell.table.prefix == "active":
            if cell.kind == "decimal":
                values[cell.code] = draw(st.decimals(0, 9999, places=2).map(float))
            elif cell.row.code != "rules":  # county agencies make no 规章
                values[cell.code] = draw(counts)
            else:
                values[cell.code] = 0
    for col in PARTS:
        results = {row: draw(counts) for row in RESULT_ROWS}
        total = sum(results.values())
        carried_out = draw(counts)
        carried_in = draw(st.integers(0, total + carried_out))
        column = {**results, "total": total, "carried_out": carried_out, "carried_in": carried_in,
                  "new": total + carried_out - carried_in}
        for row, v in column.items():
            values[f"requests.{row}.{col}"] = v
    for row in ("new", "carried_in", *RESULT_ROWS, "total", "carried_out"):
        values[f"requests.{row}.total"] = sum(values[f"requests.{row}.{c}"] for c in PARTS)
    for group in ("review", "suit_direct", "suit_after_review"):
        parts = [draw(counts) for _ in range(4)]
        for outcome, v in zip(("upheld", "corrected", "other", "pending"), parts):
            values[f"appeals.{group}.{outcome}"] = v
        values[f"appeals.{group}.total"] = sum(parts)
    # narrative from words that cannot state a count or a year, so no narrative warning can fire
    text = st.text(st.sampled_from(list("我单位认真贯彻落实政府信息公开条例工作，。；")), min_size=1, max_size=200)
    values["meta.agency"] = draw(st.text(st.characters(categories=["Lo"]), min_size=2, max_size=30))
    values["meta.year"] = draw(st.integers(2021, 2026))
    values["text.overview"] = draw(text)
    values["text.problems"] = draw(text)
    return values


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_reports())
def test_write_by_name_then_read_back(values):
    buf = io.BytesIO()
    write_template(buf, values=values)
    report = read_report(buf.getvalue(), name="随机.xlsx")
    assert check_report(report, last_year=2026) == []
    assert report.numbers == {code: float(values[code]) for code in FORM.numeric_codes}
    assert report.fields["meta.agency"] == values["meta.agency"]
    assert report.fields["text.overview"] == values["text.overview"]
