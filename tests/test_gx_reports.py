"""Great Expectations reports (flows.gx_reports): suites derived from the form, Data Docs in Chinese."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pandas as pd
import pytest

from nianbao.flows.outputs.validation import SUITE_AGENCIES, SUITE_ROLLUP, write_validation_reports
from nianbao.flows.steps.sample import apply_fault, roster, valid_values
from nianbao.schemas.form import FORM

YEAR = 2024
CODES = list(FORM.numeric_codes)
# table (columns, unique, row count) + roster (on roster, reported) + values (not null, ≥ 0) + one per rule id
AGENCY_EXPECTATIONS = 3 + 2 + 2 + len(FORM.linear_rules)
ROLLUP_EXPECTATIONS = 2 + len(FORM.linear_rules)


def frame(rows: list[tuple[str, str, dict]]) -> pd.DataFrame:
    data = [{"单位名称": name, "统一社会信用代码": uscc, **{c: float(v[c]) for c in CODES}} for name, uscc, v in rows]
    return pd.DataFrame(data, columns=["单位名称", "统一社会信用代码", *CODES])


@pytest.fixture(scope="module")
def county():
    """Three agencies (the second with a broken R3.1 balance) and a roster with a fourth, missing agency."""
    rng = random.Random(1)
    agencies = roster()[:4]
    rows = []
    for i, agency in enumerate(agencies[:3]):
        values = valid_values(rng)
        if i == 1:
            assert apply_fault(values, "balance", agency)[0] == {"R3.1"}
        rows.append((agency.name, agency.uscc, values))
    valid = [values for i, (_, _, values) in enumerate(rows) if i != 1]
    rollup = {c: float(sum(v[c] for v in valid)) for c in CODES}
    return {
        "agencies": frame(rows),
        "rollup": rollup,
        "roster": [a.name for a in agencies],
        "broken": agencies[1].name,
        "missing": agencies[3].name,
        "names": [a.name for a in agencies[:3]],
    }


@pytest.fixture(scope="module")
def published(county, tmp_path_factory):
    out = tmp_path_factory.mktemp("gx_docs")
    level = logging.getLogger("great_expectations").level
    result = write_validation_reports(
        year=YEAR, agencies=county["agencies"], rollup=county["rollup"], roster=county["roster"], out_dir=out
    )
    assert logging.getLogger("great_expectations").level == level  # quieted only for the run
    return out, result


def html_of(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html")))


def test_index_is_written_into_out_dir(published):
    out, result = published
    assert result.index_html == out.resolve() / "index.html"
    assert result.index_html.is_file()
    assert any((out / "validations").rglob("*.html"))


def test_the_agency_suite_fails_on_the_balance_and_the_missing_agency(published, county):
    _, result = published
    assert [r.suite for r in result.reports] == [SUITE_AGENCIES, SUITE_ROLLUP]
    agencies = result.reports[0]
    assert not agencies.success
    assert agencies.evaluated == AGENCY_EXPECTATIONS
    assert agencies.failed == 3 == len(agencies.failures)
    row_count, reported, balance = agencies.failures
    assert row_count.startswith("行数不符") and "4 个单位" in row_count and "3 行" in row_count
    assert reported == f"未计入汇总（未报送或报告未通过）：{county['missing']}"
    assert balance.startswith("R3.1 表三各列收支平衡")
    assert county["broken"] in balance and "自然人" in balance
    assert not any(name in balance for name in county["names"] if name != county["broken"])


def test_the_rollup_of_the_valid_agencies_passes(published):
    _, result = published
    rollup = result.reports[1]
    assert rollup.success and rollup.failed == 0 and rollup.failures == []
    assert rollup.evaluated == ROLLUP_EXPECTATIONS


def test_the_data_docs_show_agencies_and_cells_in_chinese(published, county):
    out, _ = published
    html = html_of(out)
    assert "单位名称" in html
    # the pages show the failing rows only: the broken and the missing agency, as UTF-8 text
    assert county["broken"] in html and county["missing"] in html
    assert "R3.1 表三各列收支平衡" in html
    assert "表三“自然人”列" in html  # the failing equation of the broken agency
    assert "\\u5355" not in html  # 单 escaped


def test_an_empty_table_reports_every_agency_missing(tmp_path):
    empty = frame([])
    rollup = {c: 0.0 for c in CODES}
    for _ in range(2):  # a second run replaces the first one's pages
        result = write_validation_reports(year=YEAR, agencies=empty, rollup=rollup, roster=["甲单位", "乙单位"], out_dir=tmp_path)
    agencies, total = result.reports
    assert agencies.evaluated == AGENCY_EXPECTATIONS and agencies.failed == 2
    assert agencies.failures[1] == "未计入汇总（未报送或报告未通过）：乙单位、甲单位"
    assert total.success
    assert result.index_html.is_file()
    assert len(list((tmp_path / "validations").rglob("*.html"))) == 6  # one page per GX suite, this run only
