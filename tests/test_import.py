"""nianbao import: published reports (cell per line, row per line, markdown, HTML) → a filled template."""

from __future__ import annotations

from pathlib import Path

import pytest

from nianbao.flows.steps.checking import check_files
from nianbao.flows.cli import main
from nianbao.flows.documents.published import ImportFailed, decode
from nianbao.flows.steps.importing import default_output, import_report
from nianbao.flows.excel.reader import read_report
from nianbao.schemas.form import FORM, SECTIONS
from nianbao.schemas.published import Line, classify, html_lines, match_heading, parse_published

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "data" / "seed-000_fe04592393095997.txt"  # a copy of ../shared/reference/000_fe04592393095997.txt
DATA = Path(__file__).resolve().parent / "data"
ROW_PER_LINE = DATA / "row_per_line_巫山县司法局_2024.txt"
MARKDOWN = DATA / "markdown_巫山县民政局_2024.md"
HTML = DATA / "html_巫山县教育委员会_2024.html"

# every cell that is not 0, as printed in each test file (all other cells are 0)
NONZERO = {
    ROW_PER_LINE: {
        "active.normative.issued": 2, "active.normative.repealed": 1, "active.normative.in_force": 15,
        "active.penalty.decisions": 36, "active.coercion.decisions": 2,
        "requests.new.natural": 5, "requests.new.business": 2, "requests.new.legal": 1, "requests.new.total": 8,
        "requests.carried_in.natural": 1, "requests.carried_in.total": 1,
        "requests.granted.natural": 3, "requests.granted.business": 1, "requests.granted.legal": 1,
        "requests.granted.total": 5, "requests.partial.natural": 1, "requests.partial.total": 1,
        "requests.withheld_third_party.business": 1, "requests.withheld_third_party.total": 1,
        "requests.unavailable_not_held.natural": 1, "requests.unavailable_not_held.total": 1,
        "requests.total.natural": 5, "requests.total.business": 2, "requests.total.legal": 1, "requests.total.total": 8,
        "requests.carried_out.natural": 1, "requests.carried_out.total": 1,
        "appeals.review.upheld": 1, "appeals.review.total": 1, "appeals.suit_direct.pending": 1,
        "appeals.suit_direct.total": 1,
    },
    MARKDOWN: {  # natural persons: 4 new, 3 handled, none carried over: off by one (R3.1)
        "active.normative.issued": 1, "active.normative.in_force": 8, "active.licensing.decisions": 120,
        "active.fees.amount": 12.5,
        "requests.new.natural": 4, "requests.new.business": 2, "requests.new.total": 6,
        "requests.granted.natural": 2, "requests.granted.business": 1, "requests.granted.total": 3,
        "requests.partial.natural": 1, "requests.partial.total": 1,
        "requests.refused_duplicate.business": 1, "requests.refused_duplicate.total": 1,
        "requests.total.natural": 3, "requests.total.business": 2, "requests.total.total": 5,
    },
    HTML: {
        "active.normative.issued": 3, "active.normative.in_force": 21, "active.licensing.decisions": 45,
        "active.penalty.decisions": 12, "active.fees.amount": 3.75,
        "requests.new.natural": 9, "requests.new.business": 3, "requests.new.legal": 1, "requests.new.total": 13,
        "requests.carried_in.natural": 2, "requests.carried_in.total": 2,
        "requests.granted.natural": 6, "requests.granted.business": 2, "requests.granted.total": 8,
        "requests.partial.natural": 1, "requests.partial.total": 1,
        "requests.unavailable_not_held.natural": 2, "requests.unavailable_not_held.business": 1,
        "requests.unavailable_not_held.total": 3, "requests.refused_petition.legal": 1,
        "requests.refused_petition.total": 1,
        "requests.total.natural": 9, "requests.total.business": 3, "requests.total.legal": 1, "requests.total.total": 13,
        "requests.carried_out.natural": 2, "requests.carried_out.total": 2,
        "appeals.review.corrected": 1, "appeals.review.total": 1, "appeals.suit_after_review.pending": 1,
        "appeals.suit_after_review.total": 1,
    },
}


def expected_numbers(path: Path) -> dict[str, float]:
    return {code: float(NONZERO[path].get(code, 0)) for code in FORM.numeric_codes}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------
# the seed: a real published report, one cell per line
# --------------------------------------------------------------------------


def test_the_seed_imports_with_every_value_zero_and_its_three_sections(tmp_path):
    out = tmp_path / "seed.xlsx"
    result = import_report(SEED, agency="巫山工业园区管委会", year=2024, output=out, last_year=2026)
    assert result.findings == [] and result.written and result.kind == "文本"
    report = read_report(out)
    assert report.numbers == {code: 0.0 for code in FORM.numeric_codes}
    assert report.fields["meta.agency"] == "巫山工业园区管委会" and report.fields["meta.year"] == 2024
    overview, problems, other = (report.fields[c] for c in ("text.overview", "text.problems", "text.other"))
    assert overview.startswith("(一)主动公开政府信息情况\n2024年,巫山工业园区管委会高度重视政府信息公开工作")
    assert "2024年,我单位未收到政府信息公开申请,无政府信息公开行政复议、行政诉讼情况。" in overview
    assert "(五)监督保障情况" in overview and overview.endswith("确保了信息公开的时效性和准确性。")
    assert problems.startswith("在2024年度政府信息公开工作中") and problems.endswith("提高信息发布的质量和效率。")
    assert other == "无。"  # the page furniture after it is gone
    assert not any(w in overview + problems + other for w in ("扫一扫", "二维码", "朋友圈", "|"))
    # an ordinary template: the same checks as any submission, and the narrative agrees with the zeros
    assert result.check.findings == [] and result.ok


def test_import_command_writes_the_default_name_and_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "import", SEED, "--agency", "巫山工业园区管委会", "--year", "2024")
    target = tmp_path / "巫山工业园区管委会-2024年报.xlsx"
    assert code == 0 and target.exists()
    assert "已写出" in out and "通过" in out
    before = target.read_bytes()
    code, _, err = run(capsys, "import", SEED, "--agency", "巫山工业园区管委会", "--year", "2024")
    assert code == 2 and "已存在" in err and "--force" in err
    assert target.read_bytes() == before
    code, _, _ = run(capsys, "import", SEED, "--agency", "巫山工业园区管委会", "--year", "2024", "--force")
    assert code == 0
    assert default_output("巫山县/司法局", 2024, tmp_path).name == "巫山县_司法局-2024年报.xlsx"


def test_import_usage_errors(tmp_path, capsys):
    assert run(capsys, "import", SEED, "--agency", " ", "--year", "2024", "-o", tmp_path / "a.xlsx")[0] == 2
    assert run(capsys, "import", SEED, "--agency", "甲", "--year", "2019", "-o", tmp_path / "a.xlsx")[0] == 2
    assert run(capsys, "import", SEED, "--agency", "甲", "--year", "2024", "-o", tmp_path / "a.csv")[0] == 2
    code, out, err = run(capsys, "import", tmp_path / "none.txt", "--agency", "甲", "--year", "2024",
                         "-o", tmp_path / "a.xlsx")
    assert code == 1 and "文件不存在" in err and "Traceback" not in out + err


# --------------------------------------------------------------------------
# three other styles, written for the tests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path, agency, kind", [
    (ROW_PER_LINE, "巫山县司法局", "文本"),
    (MARKDOWN, "巫山县民政局", "文本"),
    (HTML, "巫山县教育委员会", "HTML"),
])
def test_every_value_lands_in_its_official_cell(tmp_path, path, agency, kind):
    out = tmp_path / "out.xlsx"
    result = import_report(path, agency=agency, year=2024, output=out, last_year=2026)
    assert result.findings == [] and result.written and result.kind == kind
    report = read_report(out)
    assert report.numbers == expected_numbers(path)
    assert report.fields["meta.agency"] == agency
    for code in ("text.overview", "text.problems", "text.other"):
        assert report.fields[code], code


def test_the_row_per_line_and_html_reports_pass(tmp_path):
    for path, agency in ((ROW_PER_LINE, "巫山县司法局"), (HTML, "巫山县教育委员会")):
        out = tmp_path / f"{agency}.xlsx"
        import_report(path, agency=agency, year=2024, output=out)
        (result,) = check_files([str(out)], last_year=2026)
        assert result.findings == [] and not result.rejected, agency


def test_the_markdown_report_with_a_balance_error_is_rejected_at_its_cell(tmp_path):
    out = tmp_path / "民政局.xlsx"
    imported = import_report(MARKDOWN, agency="巫山县民政局", year=2024, output=out)
    assert imported.written and not imported.ok  # written: the positions are certain; rejected by the checks
    (result,) = check_files([str(out)], last_year=2026)
    assert result.rejected
    assert {(f.rule, f.sheet, f.cell) for f in result.findings} == {("R3.1", "表三", "D29")}
    natural = next(f for f in result.findings if f.cell == "D29")
    assert "自然人" in natural.message and "相差 1" in natural.message


def test_the_command_exits_one_for_a_report_that_fails_its_checks(tmp_path, capsys):
    code, out, _ = run(capsys, "import", MARKDOWN, "--agency", "巫山县民政局", "--year", "2024",
                       "-o", tmp_path / "x.xlsx")
    assert code == 1 and (tmp_path / "x.xlsx").exists()
    assert "「表三」D29 【表三各列收支平衡】" in out


def test_html_details_layout_table_narrative_and_furniture():
    imported = parse_published(HTML.read_text(encoding="utf-8"))
    overview, problems, other = (imported.texts[c] for c in ("text.overview", "text.problems", "text.other"))
    assert overview.startswith("2024年，巫山县教育委员会坚持公开为常态")
    assert "\n（二）依申请公开情况\n全年共收到政府信息公开申请15件（含上年结转2件）" in overview
    assert "下一步，我委将加强督促检查" in problems and "\n" in problems  # <br> kept as a line break
    assert other == "本年度未收取信息处理费。\n巫山县教育委员会\n2025年1月22日"
    assert "主办单位" not in other and "扫一扫" not in other
    assert imported.values["active.fees.amount"] == 3.75


def test_a_gb18030_page_decodes():
    text = HTML.read_text(encoding="utf-8").replace("charset=utf-8", "charset=gb2312")
    data = text.encode("gb18030")
    assert decode(data) == text
    assert parse_published(decode(data)).values == parse_published(text).values
    assert decode(text.encode("utf-8")) == text  # a page that declares GB2312 but is UTF-8
    assert decode("\ufeff一、总体情况".encode("utf-8")) == "一、总体情况"


# --------------------------------------------------------------------------
# what cannot be mapped with confidence
# --------------------------------------------------------------------------


def _seed_without_one_value() -> str:
    lines = SEED.read_text(encoding="utf-8").split("\n")
    start = lines.index("三、收到和处理政府信息公开申请情况")
    first_zero = next(i for i in range(start, len(lines)) if lines[i].strip() == "0 |")
    del lines[first_zero]
    return "\n".join(lines)


def test_a_missing_value_is_ambiguous_and_nothing_is_written(tmp_path, capsys):
    source = tmp_path / "少一格.txt"
    source.write_text(_seed_without_one_value(), encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = import_report(source, agency="巫山工业园区管委会", year=2024, output=out)
    assert not result.written and not out.exists()
    (f,) = result.findings
    assert (f.rule, f.severity, f.sheet) == ("import.row_count", "error", "表三")
    assert f.message == ("表三“一、本年新收政府信息公开申请数量”一行有 6 个数值，国家格式为 7 个，"
                         "无法确定各数值属于哪一列，未导入。")
    code, text, _ = run(capsys, "import", source, "--agency", "甲", "--year", "2024", "-o", out)
    assert code == 1 and not out.exists()
    assert "【一行的数值个数不符】" in text and "未导入" in text


def test_a_missing_table_section_is_an_error(tmp_path):
    source = tmp_path / "无表四.txt"
    source.write_text(SEED.read_text(encoding="utf-8").replace("四、政府信息公开行政复议、行政诉讼情况\n", ""),
                      encoding="utf-8")
    result = import_report(source, agency="甲", year=2024, output=tmp_path / "out.xlsx")
    assert not result.written
    rules = {(f.rule, f.sheet) for f in result.findings}
    assert ("import.section", "表四") in rules
    # 表四's header and its 15 values now follow 表三's rows: they are no row of 表三, and 表三 itself is whole
    assert rules == {("import.section", "表四")}


def test_a_non_number_at_a_known_position_is_written_for_the_checks_to_name(tmp_path):
    text = ROW_PER_LINE.read_text(encoding="utf-8").replace("行政许可 | 0 |", "行政许可 | / |")
    source = tmp_path / "slash.txt"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = import_report(source, agency="巫山县司法局", year=2024, output=out, last_year=2026)
    assert result.written
    (f,) = result.findings
    assert (f.rule, f.severity, f.sheet, f.cell, f.code) == (
        "import.value", "warning", "表二", "B8", "active.licensing.decisions")
    assert [(g.rule, g.sheet, g.cell) for g in result.check.findings] == [("cell.not_number", "表二", "B8")]
    assert not result.ok


def test_a_missing_narrative_section_is_imported_empty_with_a_warning(tmp_path):
    source = tmp_path / "无五.txt"
    source.write_text(SEED.read_text(encoding="utf-8").replace("五、存在的主要问题及改进情况\n", ""), encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = import_report(source, agency="巫山工业园区管委会", year=2024, output=out, last_year=2026)
    assert result.written
    assert [(f.rule, f.severity, f.code) for f in result.findings] == [("import.text", "warning", "text.problems")]
    assert read_report(out).numbers == {code: 0.0 for code in FORM.numeric_codes}
    assert ("text.empty", "text.problems") in {(f.rule, f.code) for f in result.check.findings}


@pytest.mark.parametrize("data, words", [
    (b"%PDF-1.7 ...", "PDF"), (b"PK\x03\x04 docx", "Word"), (bytes.fromhex("d0cf11e0a1b11ae1"), "旧版"),
])
def test_other_kinds_of_file_are_refused_with_a_reason(tmp_path, data, words):
    source = tmp_path / "report.bin"
    source.write_bytes(data)
    with pytest.raises(ImportFailed, match=words):
        import_report(source, agency="甲", year=2024, output=tmp_path / "o.xlsx")


# --------------------------------------------------------------------------
# the parts
# --------------------------------------------------------------------------


def test_headings_are_matched_by_numeral_and_title_not_by_table_labels():
    def heading(text, index):
        return match_heading(Line((text,)), index)

    assert heading("## 二、主动公开政府信息情况", 1) == ""
    assert heading("**三、收到和处理政府信息公开申请情况**", 2) == ""
    assert heading("四、政府信息公开行政复议、行政诉讼情况（单位：件）", 3) == "（单位：件）"
    assert heading("一、总体情况 2024年，我局……", 0) == "2024年，我局……"
    assert heading("一、本年新收政府信息公开申请数量", 0) is None
    assert heading("四、结转下年度继续办理", 3) is None
    assert heading("三、本年度办理结果", 2) is None
    assert heading("（二）主动公开政府信息情况", 1) is None
    assert match_heading(Line(("二、主动公开政府信息情况", "0"), row=True), 1) is None
    assert len(SECTIONS) == 6


@pytest.mark.parametrize("cell, kind", [
    ("0", "number"), ("12", "number"), ("1.25", "number"), ("１２", "number"), ("1,234", "number"),
    ("/", "non-number"), ("-", "non-number"), ("无", "non-number"), ("3件", "non-number"), ("十二", "non-number"),
    ("1.属于国家秘密", "label"), ("万元", "label"), ("其他", "label"), ("结果", "label"), ("本年收费金额（单位：万元）", "label"), ("商业 企业", "label"),
    ("  ", None),
])
def test_cells_are_classified(cell, kind):
    assert classify(cell) == kind


def test_html_lines_tolerate_sloppy_markup():
    page = ("<html><head><title>标题</title><body><p>一、总体情况</p><p>甲<br>乙</p>"
            "<table><tr><th>a<td>1<td> 2 <tr><td>商业<br>企业<td>&nbsp;</table>"
            "<table><tr><td><p>二、主动公开政府信息情况</p><table><tr><td>规章</td><td>0</td></tr></table>"
            "<p>说明</p></td></tr></table><script>var a = '三、';</script></body>")
    items = html_lines(page)
    shown = [line.cells if isinstance(line, Line) else [[(b.text, b.x0, b.x1, b.y0, b.y1) for b in line.boxes]]
             for line in items]
    assert shown == [
        ("一、总体情况",), ("甲",), ("乙",),
        [[("a", 0, 1, 0, 1), ("1", 1, 2, 0, 1), ("2", 2, 3, 0, 1), ("商业\n企业", 0, 1, 1, 2), ("", 1, 2, 1, 2)]],
        ("二、主动公开政府信息情况",), [[("规章", 0, 1, 0, 1), ("0", 1, 2, 0, 1)]], ("说明",),
    ]


def test_html_tables_keep_their_merged_cells():
    page = ("<table><tr><td rowspan=2 colspan=2>角</td><td colspan='3'>申请人情况</td></tr>"
            "<tr><td>甲</td><td rowspan=\"2\">乙</td><td>丙</td></tr><tr><td>a</td><td>b</td><td>1</td><td>2</td></tr>"
            "</table>")
    (grid,) = html_lines(page)
    assert [(b.text, b.x0, b.x1, b.y0, b.y1) for b in grid.boxes] == [
        ("角", 0, 2, 0, 2), ("申请人情况", 2, 5, 0, 1), ("甲", 2, 3, 1, 2), ("乙", 3, 4, 1, 3), ("丙", 4, 5, 1, 2),
        ("a", 0, 1, 2, 3), ("b", 1, 2, 2, 3), ("1", 2, 3, 2, 3), ("2", 4, 5, 2, 3),
    ]
