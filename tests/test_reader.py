"""The reader: files that are not the template, altered templates, and spreadsheet applications."""

from __future__ import annotations

import io
import subprocess
import zipfile

import openpyxl
import pytest

from conftest import require_tool

from nianbao.flows.steps.checking import check_files
from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.fill import fill_workbook
from nianbao.schemas.form import FORM
from nianbao.schemas.layout import LAYOUT


def only_finding(path):
    report = read_report(path)
    assert not report.readable
    (finding,) = report.findings
    return finding


@pytest.mark.parametrize(
    "content, rule, words",
    [
        (b"", "file.unreadable", "空"),
        ("单位名称,年度\n巫山县,2024\n".encode("gb18030"), "file.unreadable", "CSV"),
        (b"<!DOCTYPE html><html><body><table></table></body></html>", "file.unreadable", "网页"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "file.unreadable", "PDF"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504, "file.old_excel", ".xls"),
    ],
)
def test_files_that_are_not_workbooks(tmp_path, content, rule, words):
    path = tmp_path / "报告.xlsx"
    path.write_bytes(content)
    f = only_finding(path)
    assert (f.rule, f.file) == (rule, "报告.xlsx")
    assert words in f.message


def test_truncated_workbook(build):
    path = build()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    f = only_finding(path)
    assert f.rule == "file.unreadable" and "损坏" in f.message


def test_docx_and_ods_are_named(tmp_path):
    for name, member, text in (("a.xlsx", "word/document.xml", "Word"), ("b.xlsx", "mimetype", "OpenDocument 表格")):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(member, "application/vnd.oasis.opendocument.spreadsheet" if member == "mimetype" else "<w/>")
        assert text in only_finding(path).message


def test_encrypted_workbook(build, tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = build()
    target = tmp_path / "加密.xlsx"
    with open(plain, "rb") as src, open(target, "wb") as out:
        OOXMLFile(src).encrypt("secret", out)
    f = only_finding(target)
    assert f.rule == "file.encrypted" and "密码" in f.message


def test_entity_expansion_is_refused(build, tmp_path):
    path = build()
    bomb = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/sharedStrings.xml" or item.filename == "xl/workbook.xml":
                doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                if data.startswith(b"<?xml"):
                    end = data.index(b"?>") + 2
                    data = data[:end] + doctype + data[end:]
                else:
                    data = doctype + data
            dst.writestr(item, data)
    f = only_finding(bomb)
    assert f.rule == "file.unreadable" and "不安全" in f.message


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (120 * 1024 * 1024))
    f = only_finding(path)
    assert f.rule == "file.bomb"


def _workbook(tmp_path, rows):
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    path = tmp_path / "own.xlsx"
    wb.save(path)
    return path


def test_old_2019_layout_is_named(tmp_path):
    path = _workbook(tmp_path, [["第十条第（一）项"], ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"]])
    f = only_finding(path)
    assert f.rule == "layout.old_2019" and "2019" in f.message and "本年新制作数量" in f.message


def test_a_workbook_of_ones_own_is_not_the_template(tmp_path):
    f = only_finding(_workbook(tmp_path, [["单位", "数量"], ["巫山县", 3]]))
    assert f.rule == "layout.not_template"


def test_official_tables_without_names_are_recognised(tmp_path):
    labels = [t.text for s in LAYOUT.sheets for t in s.texts]
    f = only_finding(_workbook(tmp_path, [[x] for x in labels]))
    assert f.rule == "layout.not_template" and "定义名称" in f.message


def _edit(path, fn):
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)
    return path


def test_edited_label_is_reported_with_its_cell(build):
    path = _edit(build(), lambda wb: wb["表三"].cell(5, 1, "一、本年新收申请数量"))
    (result,) = check_files([str(path)])
    assert [(f.rule, f.sheet, f.cell) for f in result.findings] == [("layout.label", "表三", "A5")]
    assert "一、本年新收政府信息公开申请数量" in result.findings[0].message and result.rejected


def test_labels_compare_after_normalising_width_and_spaces(build):
    path = _edit(build(), lambda wb: wb["表三"].cell(4, 5, "商业 企业"))
    (result,) = check_files([str(path)])
    assert result.findings == []


def test_deleted_and_moved_names(build):
    def change(wb):
        del wb.defined_names["requests.new.natural"]
        wb.defined_names["appeals.review.total"].attr_text = "'表四'!$E$9"
    (result,) = check_files([str(_edit(build(), change))])
    found = {(f.rule, f.code) for f in result.findings}
    assert ("layout.name", "requests.new.natural") in found
    assert ("layout.name", "appeals.review.total") in found
    assert result.rejected


def test_deleted_sheet(build):
    def change(wb):
        del wb["表四"]
    (result,) = check_files([str(_edit(build(), change))])
    assert ("layout.sheet", "表四") in {(f.rule, f.sheet) for f in result.findings}


def test_unknown_template_version(build):
    f = only_finding(_edit(build(), lambda wb: wb["封面"].cell(*LAYOUT.place("meta.template_version")[1:], "nianbao-2099.1")))
    assert f.rule == "layout.version" and "nianbao-2099.1" in f.message


def test_formula_error_and_date_values(build):
    def change(wb):
        import datetime as dt

        ws = wb["表三"]
        ws["D5"] = "#REF!"
        ws["D5"].data_type = "e"
        ws["E5"] = dt.date(2024, 3, 1)
    (result,) = check_files([str(_edit(build(), change))])
    got = {(f.rule, f.cell) for f in result.findings}
    assert ("cell.formula_error", "D5") in got and ("cell.not_number", "E5") in got
    assert "日期" in next(f.message for f in result.findings if f.cell == "E5")


def test_reader_takes_file_objects(build):
    data = build().read_bytes()
    report = read_report(io.BytesIO(data), name="内存.xlsx")
    assert report.readable and report.file == "内存.xlsx"
    assert read_report(data).numbers == report.numbers


def test_fill_by_name_round_trip(build, tmp_path):
    out = tmp_path / "filled.xlsx"
    fill_workbook(build(), out, {"requests.new.legal": 4, "requests.new.total": 4,
                                 "requests.carried_out.legal": 4, "requests.carried_out.total": 4})
    (result,) = check_files([str(out)])
    assert result.findings == []
    assert result.report.numbers["requests.new.legal"] == 4


@pytest.fixture
def soffice():
    return require_tool("soffice", "libreoffice", package="libreoffice-calc")


@pytest.mark.libreoffice
def test_libreoffice_resave_keeps_names_and_computes_totals(build, tmp_path, soffice):
    values = {"requests.new.natural": 5, "requests.new.business": 2, "requests.granted.natural": 4,
              "requests.partial.business": 1, "requests.carried_out.natural": 1, "requests.carried_out.business": 1,
              "appeals.review.upheld": 1, "appeals.review.pending": 1, "active.fees.amount": 2.5}
    original = build("填好.xlsx", values, skip_totals=True)
    outdir = tmp_path / "lo"
    outdir.mkdir()
    profile = tmp_path / "profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(outdir), str(original)],
        check=True, capture_output=True, timeout=180,
    )
    resaved = outdir / "填好.xlsx"
    # LibreOffice wrote cached values for the formulas
    wb = openpyxl.load_workbook(resaved, data_only=True)
    assert wb["表三"]["J5"].value == 7
    assert set(FORM.codes) <= set(wb.defined_names.keys())
    (result,) = check_files([str(resaved)])
    assert result.findings == []
    numbers = result.report.numbers
    assert numbers["requests.new.total"] == 7 and numbers["requests.total.total"] == 5
    assert numbers["appeals.review.total"] == 2 and numbers["active.fees.amount"] == 2.5


def _resave(soffice, path, tmp_path):
    outdir = tmp_path / "lo"
    outdir.mkdir(exist_ok=True)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(outdir), str(path)],
        check=True, capture_output=True, timeout=180,
    )
    return outdir / path.name


@pytest.mark.libreoffice
def test_one_unreadable_cell_is_one_error_after_a_libreoffice_resave(build, tmp_path, soffice):
    # 3 new requests, all granted; the clerk typed “3件” in D5: LibreOffice's cached SUM in J5 leaves it out
    values = {"requests.new.natural": "3件", "requests.granted.natural": 3,
              "text.overview": "2024年，本单位新收政府信息公开申请3件，均予以公开。"}
    resaved = _resave(soffice, build("带单位.xlsx", values, skip_totals=True), tmp_path)
    assert openpyxl.load_workbook(resaved, data_only=True)["表三"]["J5"].value == 0  # a real, wrong cache
    (result,) = check_files([str(resaved)])
    assert [(f.rule, f.sheet, f.cell) for f in result.findings] == [("cell.unit", "表三", "D5")]
    # the same workbook as written, totals computed by nianbao: the same single finding
    (own,) = check_files([str(build("带单位-原样.xlsx", values, skip_totals=True))])
    assert [(f.rule, f.sheet, f.cell) for f in own.findings] == [("cell.unit", "表三", "D5")]


def test_a_mistake_elsewhere_is_still_found_beside_an_unreadable_cell(build):
    values = {"requests.new.natural": "3件", "requests.granted.natural": 3,
              "appeals.review.upheld": 1, "appeals.review.total": 2}  # and 表四's total is off by one
    (result,) = check_files([str(build("两处.xlsx", values, skip_totals=True))])
    assert {(f.rule, f.cell) for f in result.findings if f.is_error} == {("cell.unit", "D5"), ("R4.1", "E5")}


def _without_text_display(path):
    """The workbook as templates made before the 文字部分 showed the full text below its input boxes."""
    from nianbao.schemas.form import TEXT_SHEET

    def strip(wb):
        ws = wb[TEXT_SHEET]
        last = LAYOUT.by_name[TEXT_SHEET].last_row
        for merged in [m for m in ws.merged_cells.ranges if m.min_row > last]:
            ws.unmerge_cells(str(merged))
        ws.delete_rows(last + 1, ws.max_row - last)
        ws.delete_cols(LAYOUT.by_name[TEXT_SHEET].width + 1, ws.max_column)
        ws.conditional_formatting = type(ws.conditional_formatting)()
        ws.print_area = f"A1:H{last}"
        ws.print_title_rows = None
    return _edit(path, strip)


@pytest.mark.parametrize("values", [
    {},
    {"requests.new.natural": "3件", "text.overview": "2023年，本单位未收到政府信息公开申请。", "text.other": "=A1"},
    {"text.overview": "长" * 6_000, "text.problems": None},
])
def test_the_text_display_changes_nothing_the_reader_finds(build, values, tmp_path):
    """The lines below the 文字部分's input boxes are the template's own: a report reads and checks
    exactly as it did in a template without them (every template made before)."""
    new = build("新模板.xlsx", values)
    old = _without_text_display(build("旧模板.xlsx", values))
    assert openpyxl.load_workbook(old)["文字部分"].max_row == LAYOUT.by_name["文字部分"].last_row
    (a,), (b,) = check_files([str(new)]), check_files([str(old)])
    assert a.report.numbers == b.report.numbers and a.report.fields == b.report.fields
    assert [(f.rule, f.sheet, f.cell, f.message) for f in a.findings] == \
        [(f.rule, f.sheet, f.cell, f.message) for f in b.findings]
