"""The county office's page (Y/index.html) and the HTML templates behind every page."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from jinja2 import StrictUndefined, UndefinedError
from nianbao.flows.outputs.annual_report import draft_report, render_html
from nianbao.flows.outputs.html import environment, render, template_names
from nianbao.flows.outputs.pages import index_html, rules_broken
from nianbao.flows.outputs.rollup import AgencyStatus, YearResult
from nianbao.flows.outputs.validation import (
    SUITE_AGENCIES,
    SUITE_PLAUSIBILITY,
    SUITE_ROLLUP,
    AgencyHit,
    Outcome,
    Progress,
    render_review,
)
from nianbao.flows.settings import Settings
from nianbao.flows.store.ledger import Submission
from nianbao.schemas.findings import Finding
from nianbao.schemas.form import FORM, TEMPLATE_VERSION

EVIL = "<script>alert(1)</script>\"&'<>"


def submission(agency: str, errors: int = 0, warnings: int = 0, rules: tuple[str, ...] = ()) -> Submission:
    return Submission(id=1, sha256="0" * 64, file_name=f"{agency}.xlsx", received_at="2025-01-02T09:03:04.5",
                      archived_path="", agency=agency, uscc="", year=2024, outcome="accepted", errors=errors,
                      warnings=warnings, findings=[Finding(r, "error", "表三", "C5", text=r) for r in rules],
                      numbers={}, fields={})


def year_result(base: Path, agency: str = "巫山县民政局") -> tuple[YearResult, dict[str, Path]]:
    """A year with every part of the page: reports, failed rollup checks, expectations, an unlisted submitter."""
    statuses = [AgencyStatus("巫山县司法局", "11500237MB0000001X", "accepted", True,
                             submission("巫山县司法局", 0, 2, ("text.empty",))),
                AgencyStatus(agency, agency, "rejected", True, submission(agency, 3, 1, ("R3.1", "R3.2", "text.empty"))),
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


UPDATED = dt.datetime(2025, 3, 4, 15, 6, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")


def test_the_office_page(tmp_path):
    result, feedback = year_result(tmp_path / "2024")
    base = tmp_path / "2024"
    touch(base / "reports" / "校验报告.html", base / "年度报告.html", base / "年度报告.docx")
    page = index_html(result, Settings(county="巫山县", roster=tmp_path / "名单.csv"), feedback, updated=UPDATED)
    parsed = _Page(page)
    assert "<h1>巫山县 2024 年度政府信息公开工作年度报告汇总</h1>" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "更新于 <time datetime=\"2025-03-04T15:06:00+08:00\">" in page
    assert "<span>报送进度：<b>2/3</b></span>" in page
    assert "<span>已通过：<b>1</b></span><span>未通过：<b>1</b></span><span>未报送：<b>1</b></span>" in page
    assert parsed.hrefs == ["reports/校验报告.html", "reports/index.html", "年度报告.html", "年度报告.docx",
                            "rollup.xlsx", "status.csv", "findings.csv", "agencies.csv",
                            "feedback/巫山县司法局-反馈.xlsx", "feedback/x-反馈.xlsx"]
    assert '<tr class="rejected"><td class="idx" data-label="序号">2</td><td class="name" data-label="单位名称">巫山县民政局</td>' in page
    assert '<td class="nowrap" data-label="收到时间">2025-01-02 09:03:04</td><td class="num" data-label="错误">3</td>' in page
    assert "<li>「表三」J5 [R3.1] 不平衡：巫山县民政局</li>" in page
    assert "不在名单中的报送单位（未计入汇总）" in page and parsed.tags.count("table") == 2
    assert parsed.tags.count("thead") == 2  # header rows repeat on every printed page
    assert "尚未报送：巫山县审计局" in page


def test_links_only_to_files_that_exist(tmp_path):
    """年度报告 is written by ``nianbao publish``; the review report by the validation step."""
    result, feedback = year_result(tmp_path / "2024")
    page = index_html(result, Settings(county="巫山县", roster=tmp_path / "名单.csv"), feedback)
    hrefs = _Page(page).hrefs
    assert "年度报告.html" not in hrefs and "年度报告.docx" not in hrefs and "reports/校验报告.html" not in hrefs
    assert "reports/index.html" in hrefs
    touch(tmp_path / "2024" / "年度报告.docx")
    hrefs = _Page(index_html(result, Settings(roster=tmp_path / "名单.csv"), feedback)).hrefs
    assert "年度报告.docx" in hrefs and "年度报告.html" not in hrefs


def test_the_charts_are_inline_svg_drawn_from_the_counts(tmp_path):
    result, feedback = year_result(tmp_path / "2024")
    page = index_html(result, Settings(roster=tmp_path / "名单.csv"), feedback)
    assert page.count("<svg") == 1 + 3  # the statuses, and one bar per rule broken
    statuses = re.search(r'<svg class="bar" viewBox="0 0 3 1"[^>]*>(.*?)</svg>', page).group(1)
    assert re.findall(r'class="(\w+)-fill" x="(\d+)" y="0" width="(\d+)"', statuses) == [
        ("accepted", "0", "1"), ("rejected", "1", "1"), ("missing", "2", "1")]
    assert "<script" not in page and "http://" not in page and "https://" not in page
    # text.empty (a warning) by two agencies first, then the errors R3.1 and R3.2 by one each
    assert [(r["rule"], r["count"], r["severity"]) for r in rules_broken(result.statuses)] == [
        ("", 2, "warning"), ("R3.1", 1, "error"), ("R3.2", 1, "error")]
    assert '<span class="name">R3.1 表三各列收支平衡</span>' in page
    assert '<span class="name">文字部分未填写</span>' in page


def test_the_unlisted_submitters_findings_are_not_charted(tmp_path):
    statuses = [AgencyStatus("某协会", "", "rejected", False, submission("某协会", 1, 0, ("R4.1",)))]
    assert rules_broken(statuses) == []


def test_a_quiet_year_has_no_optional_sections(tmp_path):
    base = tmp_path / "2024"
    result = YearResult(2024, [AgencyStatus("巫山县审计局", "", "missing", True, None)], {}, [], base, rebuilt=True)
    page = index_html(result, Settings(county="巫山县", roster=tmp_path / "名单.csv"), {})
    assert "<h2>" in page and "校验报告" not in page and "汇总表复核未通过" not in page
    assert "不在名单中" not in page and "校验报告要点" not in page and _Page(page).tags.count("table") == 1
    assert "各单位的当前报告没有发现问题" in page


def test_names_and_texts_are_escaped_in_the_office_page(tmp_path):
    result, feedback = year_result(tmp_path / "2024", agency=EVIL)
    page = index_html(result, Settings(county=EVIL, roster=tmp_path / f"{EVIL}.csv"), feedback)
    parsed = _Page(page)
    assert "<script" not in page and "script" not in parsed.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert text.count(EVIL) >= 8  # title, h1, finding, expectation, name, code, unlisted name, roster
    assert f"{EVIL}.csv" in text


def test_names_and_texts_are_escaped_in_the_published_report():
    values = {c: 1.0 for c in FORM.numeric_codes}
    page = render_html(draft_report(EVIL, 2024, values, scope=EVIL))
    parsed = _Page(page)
    assert "<script" not in page and "script" not in parsed.tags
    assert "".join(parsed.text).count(EVIL) >= 3  # title, h1, the scope sentence


def review_page(base: Path, agency: str = "巫山县民政局", county: str = "巫山县") -> str:
    """The review report of a year with a failed rule, a skipped comparison and a passed rollup check."""
    out = base / "reports"
    page = out / "validations" / "各单位数据·勾稽关系" / "p.html"
    outcomes = [
        Outcome(SUITE_AGENCIES, "各单位数据·勾稽关系", "R3.1", "R3.1 表三各列收支平衡", "每一列收支平衡。", "error",
                "failed", 3, [AgencyHit(agency, "未通过", ["表三“自然人”列差额 1"], base / "feedback" / "a.xlsx"),
                              AgencyHit("巫山县司法局", "已通过", [f"第{i}处" for i in range(9)])], page=page),
        Outcome(SUITE_PLAUSIBILITY, "合理性·与上年比较", "jump", "与本单位上年比较", "十倍以上。", "warning",
                "skipped", 0, note="没有上一年度已通过的年报可以比较。"),
        Outcome(SUITE_ROLLUP, "全县汇总·勾稽关系", "R3.1", "R3.1 表三各列收支平衡", "每一列收支平衡。", "error",
                "passed", 7, page=page),
    ]
    return render_review(
        county=county, year=2024, outcomes=outcomes, progress=Progress(4, 2, 1, [agency + "乙"]), out_dir=out,
        pages=[("各单位数据·勾稽关系", page, False)], run_time=UPDATED, gx_version="1.24.1",
        examined=pd.DataFrame({"状态": ["已通过", "已通过", "未通过"]}),
    )


def test_the_review_report(tmp_path):
    page = review_page(tmp_path / "2024")
    parsed = _Page(page)
    text = "".join(parsed.text)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "巫山县2024年度政府信息公开工作年度报告" in text
    assert f"规则版本 {TEMPLATE_VERSION}" in text and "Great Expectations 1.24.1" in text
    assert "生成于 " + UPDATED.astimezone().strftime("%Y-%m-%d %H:%M") in text  # in the machine's time zone
    # completeness is progress, with who is missing
    assert "报送进度 3/4" in text and "尚未报送（1 个）：巫山县民政局乙" in text
    assert "能读取的 3 份当前报告（其中未通过的 1 份）" in text
    # the failed rule: agencies counted, the rejected one marked, linked to its feedback workbook
    assert "未满足R3.1 表三各列收支平衡" in text and "2 个单位不满足（其中 1 个的报告未通过）" in text
    assert parsed.hrefs[:1] == ["#suite-1"]
    assert "../feedback/a.xlsx" in parsed.hrefs and "index.html" in parsed.hrefs
    assert "validations/各单位数据·勾稽关系/p.html" in parsed.hrefs
    assert "第5处；等，共 9 处" in text  # six details shown per agency
    assert "未比较与本单位上年比较" in text and "没有上一年度已通过的年报可以比较" in text
    assert "检查 7 项：全部满足" in text
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_names_are_escaped_in_the_review_report(tmp_path):
    page = review_page(tmp_path / "2024", agency=EVIL, county=EVIL)
    parsed = _Page(page)
    assert "<script" not in page and "script" not in parsed.tags
    assert "".join(parsed.text).count(EVIL) >= 4  # title, h1, missing agency, failing agency


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
    review_page(tmp_path / "2024")
    loaded = {name for _, name in env.cache.keys()}
    assert set(template_names()) == loaded
    assert {"office.html.j2", "annual_report.html.j2", "review_report.html.j2"} <= loaded


def test_the_published_report_prints_well():
    """Header rows in thead (repeated on every page), rows never split, headings kept with their tables,
    page numbers in the page's margin (Chromium prints @page margin boxes; tests/test_browser.py prints it)."""
    page = render_html(draft_report("巫山县", 2024, {c: 1.0 for c in FORM.numeric_codes}))
    assert page.count("<thead>") == 3 and page.count("<tbody>") == 3
    heads = re.findall(r"<thead>(.*?)</thead>", page, re.DOTALL)
    assert all("data-code" not in head for head in heads)  # no number in a header
    assert "table.form thead{display:table-header-group}" in page
    assert "table.form tr{break-inside:avoid" in page and "h2,p.sub{break-after:avoid" in page
    assert 'counter(page)' in page and 'counter(pages)' in page
