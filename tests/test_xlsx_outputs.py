"""The workbooks nianbao hands out: agency feedback and the county rollup."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import posixpath
import re
import subprocess
import zipfile
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from openpyxl.comments import Comment

from nianbao.flows.steps.checking import check_files
from nianbao.flows.excel.fill import fill_workbook
from nianbao.flows.excel.template import RESULT_DATE_LABEL, TEXT_DISPLAY_HINT, template_bytes, text_display
from nianbao.flows.excel.feedback import write_feedback
from nianbao.flows.excel.styles import INPUT_FILL, TOTAL_FILL
from nianbao.flows.excel.tables import MATRIX_PRINT_SCALE, write_rollup
from nianbao.schemas.findings import Finding, count
from nianbao.schemas.form import FORM, INSTRUCTIONS_SHEET
from nianbao.schemas.layout import LAYOUT

from conftest import SEED_TEXT, SEED_USCC, require_tool, zeros

LIST_SHEET = "问题清单"
HEADER = ("序号", "级别", "工作表", "单元格", "规则", "问题说明")
FIRST_ROW = 4  # title, hint, header, then the findings
RED, YELLOW = "FFC7CE", "FFD966"
INJECTIONS = ("=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+2", "-3+4", "=1+1")

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def check(path):
    (result,) = check_files([str(path)], last_year=2026)
    return result


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rgb(cell) -> str:
    return (cell.fill.fgColor.rgb or "")[-6:] if cell.fill.fill_type == "solid" else ""


def list_rows(ws) -> list[tuple]:
    return [row for row in ws.iter_rows(min_row=FIRST_ROW, max_col=len(HEADER), values_only=True) if row[0]]


def sheet_xml(data: bytes, name: str) -> bytes:
    """The raw XML of worksheet ``name`` inside an .xlsx."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get(f"{{{NS['r']}}}id") for s in book.iterfind("m:sheets/m:sheet", NS) if s.get("name") == name)
        target = next(r.get("Target") for r in rels.iterfind("p:Relationship", NS) if r.get("Id") == rid)
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        return z.read(path)


def formulas(xml: bytes) -> list[str]:
    return [f.text or "" for f in ET.fromstring(xml).iter(f"{{{NS['m']}}}f")]


# --------------------------------------------------------------------------
# feedback
# --------------------------------------------------------------------------


@pytest.fixture
def faulty(build):
    """A report with two errors (表二 B8, 表三 H6) and a warning (表二 B15), and its findings."""
    path = build("巫山县司法局-2024年报.xlsx", values={
        "active.licensing.decisions": -2,
        "requests.carried_in.legal": "3件",
        "active.fees.amount": 1_200_000,
    })
    result = check(path)
    return path, result.findings


def test_feedback_lists_findings_and_marks_cells(faulty, tmp_path):
    path, findings = faulty
    assert count(findings) == (2, 1)
    assert {(f.rule, f.sheet, f.cell) for f in findings} == {
        ("cell.negative", "表二", "B8"), ("cell.unit", "表三", "H6"), ("fee.unit", "表二", "B15"),
    }
    before = sha256(path)
    title = f"{path.name} 校验结果：2 个错误，1 个警告"
    out = tmp_path / "feedback.xlsx"
    write_feedback(path.read_bytes(), findings, out, title=title)
    assert sha256(path) == before  # the agency's file is only read

    original = openpyxl.load_workbook(path)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [LIST_SHEET] + original.sheetnames
    assert wb.active.title == LIST_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [LIST_SHEET]

    ws = wb[LIST_SHEET]
    assert ws["A1"].value == title
    assert "红色为错误" in ws["A2"].value and "警告" in ws["A2"].value
    assert tuple(c.value for c in ws[3][: len(HEADER)]) == HEADER
    rows = list_rows(ws)
    assert rows == [
        (i + 1, f.severity_label, f.sheet, f.cell, f.title, f.message) for i, f in enumerate(findings)
    ]
    for i, f in enumerate(findings):
        r = FIRST_ROW + i
        link = ws.cell(r, 4).hyperlink
        assert link is not None and link.location == f"'{f.sheet}'!{f.cell}", f
        assert not link.target  # inside the workbook, no external relationship
        assert rgb(ws.cell(r, 6)) == (RED if f.is_error else YELLOW)
        assert ws.cell(r, 6).alignment.wrap_text and ws.cell(r, 6).border.left.style == "thin"
    assert ws.column_dimensions["F"].width > 40

    marked = {(f.sheet, f.cell): f for f in findings}
    for (sheet, cell), f in marked.items():
        c = wb[sheet][cell]
        assert rgb(c) == (RED if f.is_error else YELLOW), cell
        assert c.comment is not None and c.comment.author == "nianbao"
        assert f"【{f.title}】" in c.comment.text and f.message in c.comment.text
        assert c.value == original[sheet][cell].value
    # everything else is untouched: values, fills, comments; sheets stay protected
    for ws_orig in original.worksheets:
        ws_new = wb[ws_orig.title]
        assert ws_new.protection.sheet == ws_orig.protection.sheet
        for row in ws_orig.iter_rows():
            for c in row:
                n = ws_new[c.coordinate]
                assert n.value == c.value, (ws_orig.title, c.coordinate)
                if (ws_orig.title, c.coordinate) in marked:
                    continue
                assert n.comment is None, (ws_orig.title, c.coordinate)
                assert (n.fill.fill_type, n.fill.fgColor.rgb) == (c.fill.fill_type, c.fill.fgColor.rgb), c.coordinate
    assert set(wb.defined_names) == set(original.defined_names)

    # the feedback workbook can be corrected and sent back: it reads as the same report
    assert {(f.rule, f.sheet, f.cell) for f in check(out).findings} == {(f.rule, f.sheet, f.cell) for f in findings}


def test_feedback_to_a_file_object(faulty):
    path, findings = faulty
    buf = io.BytesIO()
    write_feedback(path.read_bytes(), findings, buf, title="t")
    assert openpyxl.load_workbook(io.BytesIO(buf.getvalue())).sheetnames[0] == LIST_SHEET


def test_one_comment_per_cell_merges_and_missing_places(build, tmp_path):
    path = build()
    with_note = openpyxl.load_workbook(path)  # the agency left a note of its own on 表三 D5
    with_note["表三"]["D5"].comment = Comment("已与申请人沟通", "张三")
    with_note.save(path)
    findings = [
        # fixed sentences (a finding's ``text``) keep the assertions below readable
        Finding("cell.empty", "error", "表三", "D5", text="D5 未填写。"),
        Finding("text.empty", "warning", "文字部分", "C3", text="第一条：请补充。"),  # inside the merge A3:H3
        Finding("R9.9", "error", "文字部分", "A3", text="第二条：请改正。"),
        Finding("layout.version", "error", "封面", text="版本不对。"),  # a sheet, no cell
        Finding("layout.sheet", "error", "表五", text="缺少工作表。"),  # not in the workbook
        Finding("file.unreadable", "error", text="整个文件。"),  # no place at all
    ]
    out = tmp_path / "fb.xlsx"
    write_feedback(path.read_bytes(), findings, out, title="t")
    wb = openpyxl.load_workbook(out)
    top = wb["文字部分"]["A3"]
    assert rgb(top) == RED  # an error wins over a warning
    text = top.comment.text
    # a rule the catalogue does not know shows its id; a known one its Chinese title
    assert "【R9.9】" in text and "【文字部分未填写】" in text and text.index("【R9.9】") < text.index("【文字部分未填写】")
    assert "第一条：请补充。" in text and "第二条：请改正。" in text
    commented = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert sorted(commented) == [("文字部分", "A3"), ("表三", "D5")]
    note = wb["表三"]["D5"].comment
    assert note.author == "nianbao" and "【未填写】" in note.text and "已与申请人沟通" in note.text

    ws = wb[LIST_SHEET]
    assert len(list_rows(ws)) == len(findings)
    # links by finding (0-based) and column (3 = 工作表, 4 = 单元格)
    links = {(i, c): ws.cell(FIRST_ROW + i, c).hyperlink for i in range(len(findings)) for c in (3, 4)}
    assert links[(0, 4)].location == "'表三'!D5"
    assert links[(1, 4)].location == "'文字部分'!A3"  # the merge's top-left
    assert links[(2, 4)].location == "'文字部分'!A3"
    assert links[(3, 3)].location == "'封面'!A1" and links[(3, 4)] is None  # the sheet, from 工作表
    assert all(links[(i, c)] is None for i in (4, 5) for c in (3, 4))  # nowhere to go


@pytest.mark.parametrize("original", [None, b"", b"PK\x03\x04 not really a zip", b"<html></html>"])
def test_feedback_without_a_workbook_is_the_list_alone(faulty, tmp_path, original):
    _, findings = faulty
    out = tmp_path / "fb.xlsx"
    write_feedback(original, findings, out, title="某单位.xls 校验结果：1 个错误，0 个警告")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [LIST_SHEET]
    ws = wb[LIST_SHEET]
    assert ws["A1"].value.startswith("某单位.xls")
    assert [r[4] for r in list_rows(ws)] == [f.title for f in findings]
    assert all(c.hyperlink is None for row in ws.iter_rows() for c in row)


def test_feedback_without_findings(build, tmp_path):
    out = tmp_path / "fb.xlsx"
    write_feedback(build().read_bytes(), [], out, title="无问题")
    ws = openpyxl.load_workbook(out)[LIST_SHEET]
    assert ws.cell(FIRST_ROW, 1).value == "未发现问题。"


def test_feedback_is_text_never_formulas(build, tmp_path):
    agency = INJECTIONS[0]
    path = build(agency=agency)
    # payloads arrive as a finding's parameters (what the agency typed, shown back to it)
    findings = [Finding("cell.not_number", "error", "表三", "D5", params={"label": payload, "shown": payload})
                for payload in INJECTIONS[1:]]
    findings.append(Finding(INJECTIONS[1], "warning", "表三", "E5", text=INJECTIONS[0]))
    title = f"{agency}.xlsx 校验结果：4 个错误，1 个警告"
    for original in (path.read_bytes(), None):
        out = tmp_path / "fb.xlsx"
        write_feedback(original, findings, out, title=title)
        data = out.read_bytes()
        wb = openpyxl.load_workbook(out)
        ws = wb[LIST_SHEET]
        texts = [ws["A1"]] + [ws.cell(FIRST_ROW + i, c) for i in range(len(findings)) for c in (5, 6)]
        assert [c.value for c in texts] == [title] + [v for f in findings for v in (f.title, f.message)]
        assert all(c.data_type == "s" for c in texts)
        assert formulas(sheet_xml(data, LIST_SHEET)) == []
        if original is not None:
            cover = wb["封面"][LAYOUT.address("meta.agency")[1]]
            assert (cover.value, cover.data_type) == (agency, "s")
            assert not any("cmd" in f for f in formulas(sheet_xml(data, "封面")))
            assert all(f.startswith("SUM(") for f in formulas(sheet_xml(data, "表三")))
            assert INJECTIONS[1] in wb["表三"]["D5"].comment.text


def test_feedback_of_a_returned_feedback_workbook(faulty, tmp_path):
    """An agency corrects the feedback workbook itself and sends it back."""
    path, findings = faulty
    first = tmp_path / "first.xlsx"
    write_feedback(path.read_bytes(), findings, first, title="第一次")
    corrected = tmp_path / "corrected.xlsx"
    fill_workbook(first, corrected, {"active.licensing.decisions": 0, "requests.carried_in.legal": 0})
    second_findings = check(corrected).findings
    assert [(f.rule, f.cell) for f in second_findings] == [("fee.unit", "B15")]

    second = tmp_path / "second.xlsx"
    write_feedback(corrected.read_bytes(), second_findings, second, title="第二次")
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames.count(LIST_SHEET) == 1 and wb.sheetnames[0] == LIST_SHEET
    assert [r[4] for r in list_rows(wb[LIST_SHEET])] == ["收费金额单位"]
    template = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    for sheet, cell in (("表二", "B8"), ("表三", "H6")):  # corrected: back to the template's look
        assert wb[sheet][cell].comment is None
        assert rgb(wb[sheet][cell]) == rgb(template[sheet][cell])
    assert rgb(wb["表二"]["B15"]) == YELLOW and "【收费金额单位】" in wb["表二"]["B15"].comment.text


# --------------------------------------------------------------------------
# rollup
# --------------------------------------------------------------------------


def rollup_values() -> dict[str, object]:
    values: dict[str, object] = zeros()
    values.update({
        "requests.new.natural": 5, "requests.new.business": 2, "requests.new.total": 7,
        "requests.granted.natural": 4, "requests.granted.business": 2, "requests.granted.total": 6,
        "requests.total.natural": 4, "requests.total.business": 2, "requests.total.total": 6,
        "requests.carried_out.natural": 1, "requests.carried_out.total": 1,
        "active.fees.amount": 1.25,
        "appeals.review.upheld": 1, "appeals.review.total": 1,
    })
    values.update(SEED_TEXT)
    values.update({"meta.agency": "巫山县", "meta.year": 2024, "meta.uscc": SEED_USCC})
    return values


EXTRA = [
    ("各单位数据", ["代码", "栏目", "全县合计", "县司法局", INJECTIONS[0]],
     [["requests.new.natural", "一、本年新收／自然人", 5, 3, 2],
      ["active.fees.amount", "行政事业性收费", 1.25, 1.25, math.nan],
      ["appeals.review.upheld", INJECTIONS[1], 1, None, 1]]),
    ("报送情况", ["单位名称", "状态", "错误数"],
     [["县司法局", "已接收", 0], ["县民政局", "未报送", ""]]),
]


MADE = dt.date(2025, 1, 6)


@pytest.fixture
def rollup(tmp_path):
    path = tmp_path / "rollup.xlsx"
    write_rollup(path, values=rollup_values(), extra_sheets=EXTRA, made=MADE)
    return path


def test_rollup_is_the_template_filled_plus_tables(rollup):
    values = rollup_values()
    wb = openpyxl.load_workbook(rollup)
    reference = openpyxl.load_workbook(io.BytesIO(template_bytes(values=values)))
    # the template's form sheets, without its instructions for the clerks
    assert wb.sheetnames == [s.name for s in LAYOUT.sheets] + [name for name, _, _ in EXTRA]
    assert INSTRUCTIONS_SHEET not in wb.sheetnames and wb.active.title == "封面"
    assert set(wb.defined_names) == set(reference.defined_names) >= set(FORM.codes)
    for code in reference.defined_names:
        assert wb.defined_names[code].attr_text == reference.defined_names[code].attr_text, code
    for layout in LAYOUT.sheets:  # same labels, same values, same protection
        ws = wb[layout.name]
        assert ws.protection.sheet == reference[layout.name].protection.sheet
        for t in layout.texts:
            assert ws.cell(t.row, t.col).value == (None if t.role == "hint" else t.text), (layout.name, t)
    for code, value in values.items():
        sheet, r, c = LAYOUT.place(code)
        assert wb[sheet].cell(r, c).value == value, code


def test_rollup_looks_like_a_result(rollup):
    wb = openpyxl.load_workbook(rollup)
    hints = {f.hint for f in FORM.fields if f.hint} | {TEXT_DISPLAY_HINT}
    for layout in LAYOUT.sheets:
        ws = wb[layout.name]
        assert not ws.data_validations.dataValidation, layout.name  # no input prompts
        for row in ws.iter_rows():
            for c in row:
                assert rgb(c) not in (INPUT_FILL.fgColor.rgb[-6:], TOTAL_FILL.fgColor.rgb[-6:]), (layout.name, c)
                assert c.value not in hints, (layout.name, c.coordinate)
    cover = wb["封面"]
    shown = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(1, cover.max_row + 1)
             if not cover.row_dimensions[r].hidden and cover.cell(r, 2).value is not None}
    assert shown == {"单位名称": "巫山县", "统一社会信用代码": SEED_USCC, "报告年度": 2024,
                     RESULT_DATE_LABEL: f"{MADE.year}年{MADE.month}月{MADE.day}日"}
    for code in ("meta.preparer", "meta.phone", "meta.template_version"):  # nothing known, nothing to fill: left out
        assert cover.row_dimensions[LAYOUT.place(code)[1]].hidden, code
    text = wb["文字部分"]  # the county's text as lines, the input boxes out of sight
    layout = LAYOUT.by_name["文字部分"]
    assert all(text.row_dimensions[r].hidden for r in range(2, layout.last_row + 1))
    first, last = (int(x) for x in re.findall(r"\$(\d+)", text.print_area))
    assert last - first + 1 == len(text_display(rollup_values()))


def test_rollup_without_a_uscc_leaves_the_row_out(tmp_path):
    values = {k: v for k, v in rollup_values().items() if k != "meta.uscc"}
    write_rollup(tmp_path / "r.xlsx", values=values, extra_sheets=[])
    cover = openpyxl.load_workbook(tmp_path / "r.xlsx")["封面"]
    assert cover.row_dimensions[LAYOUT.place("meta.uscc")[1]].hidden
    assert not cover.row_dimensions[LAYOUT.place("meta.agency")[1]].hidden


def test_rollup_extra_sheets(rollup):
    data = rollup.read_bytes()
    wb = openpyxl.load_workbook(rollup)
    for name, header, rows in EXTRA:
        ws = wb[name]
        assert not ws.protection.sheet
        assert [c.value for c in ws[1]] == header
        assert all(c.font.b and c.fill.fill_type == "solid" and c.border.bottom.style for c in ws[1])
        assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{len(rows) + 1}"
        got = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
        expected = [[None if v == "" or (isinstance(v, float) and math.isnan(v)) else v for v in r] for r in rows]
        assert got == expected, name
        assert formulas(sheet_xml(data, name)) == []
    ws = wb["各单位数据"]
    assert ws["E1"].value == INJECTIONS[0] and ws["E1"].data_type == "s"
    assert ws["B4"].value == INJECTIONS[1] and ws["B4"].data_type == "s"
    assert ws["C3"].data_type == "n" and ws["C3"].value == 1.25
    assert ws.column_dimensions["B"].width > ws.column_dimensions["C"].width  # text wider than numbers
    # a matrix: the codes are for programs, the labels stay in sight
    assert ws.column_dimensions["A"].hidden and ws.freeze_panes == "C2" and ws.print_title_cols == "$A:$B"
    status = wb["报送情况"]  # a list, not a matrix: only its header is frozen
    assert status.freeze_panes == "A2" and not status.print_title_cols


def wide_per_agency(agencies: int = 30):
    """The 各单位数据 sheet as the year's outputs make it, for ``agencies`` agencies."""
    names = [f"巫山县第{i}局" for i in range(1, agencies + 1)]
    rows = [[cell.code, f"表{cell.table.number}", "／".join(p for p in (cell.row.label, cell.column.label) if p),
             float(agencies)] + [1.0] * agencies for cell in FORM.cells]
    return ("各单位数据", ["代码", "表", "栏目", "全县合计", *names], rows)


def test_a_wide_per_agency_sheet_is_frozen_and_printed_with_its_labels(tmp_path):
    path = tmp_path / "rollup.xlsx"
    write_rollup(path, values=rollup_values(), extra_sheets=[wide_per_agency()])
    ws = openpyxl.load_workbook(path)["各单位数据"]
    assert ws.freeze_panes == "D2"  # the header row and the label columns (表, 栏目) stay while scrolling
    assert ws.column_dimensions["A"].hidden  # the codes
    assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$C"  # on every printed page
    assert ws.page_setup.orientation == "landscape" and not ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.scale) == MATRIX_PRINT_SCALE


@pytest.mark.libreoffice
def test_every_printed_page_of_the_per_agency_sheet_names_its_rows(tmp_path):
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-calc")
    require_tool("pdftotext", package="poppler-utils")
    path = tmp_path / "rollup.xlsx"
    write_rollup(path, values=rollup_values(), extra_sheets=[wide_per_agency()])
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=240)
    text = subprocess.run(["pdftotext", str(tmp_path / "rollup.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [p for p in text.split("\f") if "各单位数据" in p and "页，共" in p]
    assert len(pages) > 2
    agencies = set()
    for page in pages:
        labels = {"／".join(p for p in (c.row.label, c.column.label) if p) for c in FORM.cells}
        assert "栏目" in page and re.search(r"表[二三四]", page), page[:200]  # the label columns' header and values
        assert any(label in page.replace("\n", "") for label in labels), page[:200]
        assert "requests." not in page and "active." not in page  # no codes on paper
        agencies |= set(re.findall(r"巫山县第\d+局", page.replace("\n", "")))
    assert len(agencies) == 30  # every agency's column printed somewhere
    cover = next(p for p in text.split("\f") if "单位名称" in p)
    assert "填写单位全称" not in cover and "填报人" not in cover and "模板版本" not in cover
    assert "汇总日期" in cover and "巫山县" in cover


def test_rollup_of_valid_values_passes_the_checks(rollup):
    result = check(rollup)
    assert result.findings == []
    assert result.report.numbers["requests.new.total"] == 7


def test_rollup_sheet_names_are_checked(tmp_path):
    for name in ("表三", "各单位数据/2024", "x" * 32, ""):
        extra = [(name, ["a"], [[1]])]
        with pytest.raises(ValueError):
            write_rollup(tmp_path / "r.xlsx", values={}, extra_sheets=extra)
    with pytest.raises(ValueError, match="duplicate"):
        write_rollup(tmp_path / "r.xlsx", values={}, extra_sheets=[("甲", [], []), ("甲", [], [])])
    with pytest.raises(KeyError, match="requests.nope"):
        write_rollup(tmp_path / "r.xlsx", values={"requests.nope": 1}, extra_sheets=[])


def test_template_text_values_are_never_formulas(tmp_path):
    data = template_bytes(agency=INJECTIONS[0], values={"meta.phone": INJECTIONS[1], "text.other": "=A1"})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for code, value in (("meta.agency", INJECTIONS[0]), ("meta.phone", INJECTIONS[1]), ("text.other", "=A1")):
        sheet, coord = LAYOUT.address(code)
        assert (wb[sheet][coord].value, wb[sheet][coord].data_type) == (value, "s")
        assert wb[sheet][coord].quotePrefix
    assert not any(re.search("cmd|A1", f) for f in formulas(sheet_xml(data, "封面")))
