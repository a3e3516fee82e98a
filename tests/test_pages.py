"""The county office's page (Y/index.html) and the HTML templates behind every page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import StrictUndefined, UndefinedError

from nianbao.flows.outputs.annual_report import draft_report, render_html
from nianbao.flows.outputs.html import environment, render, template_names
from nianbao.flows.outputs.pages import index_html
from nianbao.flows.outputs.rollup import AgencyStatus, YearResult
from nianbao.flows.settings import Settings
from nianbao.flows.store.ledger import Submission
from nianbao.schemas.findings import Finding
from nianbao.schemas.form import FORM

EVIL = "<script>alert(1)</script>\"&'<>"


def submission(agency: str, errors: int = 0, warnings: int = 0) -> Submission:
    return Submission(id=1, sha256="0" * 64, file_name=f"{agency}.xlsx", received_at="2025-01-02T09:03:04.5",
                      archived_path="", agency=agency, uscc="", year=2024, outcome="accepted", errors=errors,
                      warnings=warnings, findings=[], numbers={}, fields={})


def year_result(base: Path, agency: str = "巫山县民政局") -> tuple[YearResult, dict[str, Path]]:
    """A year with every part of the page: reports, failed rollup checks, expectations, an unlisted submitter."""
    statuses = [AgencyStatus("巫山县司法局", "11500237MB0000001X", "accepted", True, submission("巫山县司法局", 0, 2)),
                AgencyStatus(agency, agency, "rejected", True, submission(agency, 3, 1)),
                AgencyStatus("巫山县审计局", "", "missing", True, None),
                AgencyStatus("某协会" + agency, "", "accepted", False, submission("某协会"))]
    result = YearResult(2024, statuses, {}, [], base, rebuilt=True, reports_index=base / "reports" / "index.html",
                        expectation_failures=["单位数据：" + agency],
                        report_pages=[("单位数据", base / "reports" / "validations" / "a.html", True),
                                      (agency, base / "reports" / "validations" / "b.html", False)])
    result.rollup_findings = [Finding("R3.1", "error", "表三", "J5", text="不平衡：" + agency)]
    feedback = {"巫山县司法局": base / "feedback" / "巫山县司法局-反馈.xlsx", agency: base / "feedback" / "x-反馈.xlsx"}
    return result, feedback


class _Page(HTMLParser):
    """What a browser would build: start tags, links and the text."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_data(self, data):
        self.text.append(data)


def test_the_office_page(tmp_path):
    result, feedback = year_result(tmp_path / "2024")
    page = index_html(result, Settings(county="巫山县", roster=tmp_path / "名单.csv"), feedback)
    parsed = _Page(page)
    assert "<h1>巫山县 2024 年度政府信息公开工作年度报告汇总</h1>" in page
    assert "<span>已通过：<b>1</b></span><span>未通过：<b>1</b></span><span>未报送：<b>1</b></span>" in page
    assert parsed.hrefs == ["rollup.xlsx", "status.csv", "findings.csv", "agencies.csv", "reports/index.html",
                            "reports/validations/a.html", "reports/validations/b.html",
                            "feedback/巫山县司法局-反馈.xlsx", "feedback/x-反馈.xlsx"]
    assert '<tr class="rejected"><td>2</td><td>巫山县民政局</td>' in page
    assert "<td>2025-01-02 09:03:04</td><td>3</td><td>1</td>" in page
    assert "<li>「表三」J5 [R3.1] 不平衡：巫山县民政局</li>" in page
    assert "不在名单中的报送单位（未计入汇总）" in page and parsed.tags.count("table") == 2


def test_a_quiet_year_has_no_optional_sections(tmp_path):
    base = tmp_path / "2024"
    result = YearResult(2024, [AgencyStatus("巫山县审计局", "", "missing", True, None)], {}, [], base, rebuilt=True)
    page = index_html(result, Settings(county="巫山县", roster=tmp_path / "名单.csv"), {})
    assert "<h2>" in page and "数据校验报告" not in page and "汇总表复核未通过" not in page
    assert "不在名单中" not in page and "校验报告中未满足的期望" not in page and _Page(page).tags.count("table") == 1


def test_names_and_texts_are_escaped_in_the_office_page(tmp_path):
    result, feedback = year_result(tmp_path / "2024", agency=EVIL)
    page = index_html(result, Settings(county=EVIL, roster=tmp_path / f"{EVIL}.csv"), feedback)
    parsed = _Page(page)
    assert "<script" not in page and "script" not in parsed.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert text.count(EVIL) >= 9  # title, h1, a report link, finding, expectation, name, code, unlisted name, roster
    assert f"{EVIL}.csv" in text


def test_names_and_texts_are_escaped_in_the_published_report():
    values = {c: 1.0 for c in FORM.numeric_codes}
    page = render_html(draft_report(EVIL, 2024, values, scope=EVIL))
    parsed = _Page(page)
    assert "<script" not in page and "script" not in parsed.tags
    assert "".join(parsed.text).count(EVIL) >= 3  # title, h1, the scope sentence


def test_the_environment_escapes_everything_and_knows_every_name():
    env = environment()
    assert env is environment()  # built once
    assert env.undefined is StrictUndefined
    assert env.autoescape is True  # whatever a template's name
    with pytest.raises(UndefinedError):
        render("office.html.j2")  # a name the page needs and was not given is an error, not an empty string


def test_every_template_renders(tmp_path):
    """Rendering the two pages (every optional part on) loads every template of the folder under StrictUndefined."""
    env = environment()
    env.cache.clear()
    result, feedback = year_result(tmp_path / "2024")
    index_html(result, Settings(roster=tmp_path / "名单.csv"), feedback)
    render_html(draft_report("巫山县", 2024, {c: 1.0 for c in FORM.numeric_codes}, scope="范围。"))
    loaded = {name for _, name in env.cache.keys()}
    assert set(template_names()) == loaded
    assert {"office.html.j2", "annual_report.html.j2"} <= loaded
