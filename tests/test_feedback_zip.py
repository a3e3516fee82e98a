"""Feedback by editing the agency's zip: every part it wrote kept, the same look as openpyxl's, LibreOffice opens it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from openpyxl.comments import Comment

from nianbao.flows.excel import feedback
from nianbao.flows.excel.feedback import FEEDBACK_SHEET, write_feedback
from nianbao.flows.excel.package import Package, Unsupported
from nianbao.flows.excel.reader import read_report
from nianbao.flows.steps.checking import check_files
from nianbao.schemas.findings import Finding

from conftest import require_tool

RED, YELLOW = "FFC7CE", "FFD966"
# parts the zip path may rewrite; every other part of the original keeps its bytes
BOOK_PARTS = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
              "docProps/app.xml"}


def findings_of(path) -> list[Finding]:
    (result,) = check_files([str(path)], last_year=2026)
    return result.findings


def key(findings) -> list[tuple]:
    return [(f.rule, f.severity, f.sheet, f.cell, f.code, f.message) for f in findings]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {n: z.read(n) for n in z.namelist()}


def sheet_parts(data: bytes) -> dict[str, str]:
    """sheet name → zip member."""
    pkg = Package(data)
    return {s.name: s.part for s in pkg.sheets}


def soffice_convert(files, fmt: str, outdir, profile) -> None:
    exe = require_tool("soffice", "libreoffice", package="libreoffice-calc")
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(outdir), *map(str, files)], check=True, capture_output=True, timeout=300)


def rgb(cell) -> str:
    return (cell.fill.fgColor.rgb or "")[-6:] if cell.fill.fill_type == "solid" else ""


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """name → path of the workbooks an agency may send: written by the template (openpyxl), re-saved by
    LibreOffice, with a comment of its own, and feedback workbooks sent back (ours, and re-saved)."""
    from conftest import SEED_TEXT, SEED_USCC, zeros
    from nianbao.flows.excel.template import write_template

    d = tmp_path_factory.mktemp("agency")
    values = zeros()
    values.update(SEED_TEXT)
    values.update({"active.licensing.decisions": -2, "requests.carried_in.legal": "3件",
                   "active.fees.amount": 1_200_000, "text.overview": ""})
    template = d / "template.xlsx"
    write_template(template, year=2024, agency="巫山县司法局", uscc=SEED_USCC, values=values)
    noted = d / "noted.xlsx"
    wb = openpyxl.load_workbook(template)
    wb["表三"]["D5"].comment = Comment("已与申请人沟通", "张三")
    wb["表三"]["H6"].comment = Comment("见附件", "李四")  # on a cell a finding points at
    wb.save(noted)
    first = d / "feedback-1.xlsx"
    write_feedback(template.read_bytes(), findings_of(template), first, title="第一次")
    soffice_convert([template, first], "xlsx", d / "lo", d / "profile")
    resaved = d / "resaved.xlsx"
    shutil.move(d / "lo" / "template.xlsx", resaved)
    resaved_feedback = d / "feedback-resaved.xlsx"
    shutil.move(d / "lo" / "feedback-1.xlsx", resaved_feedback)
    return {"template": template, "resaved": resaved, "noted": noted, "feedback": first,
            "resaved_feedback": resaved_feedback}


CASES = ("template", "resaved", "noted", "feedback", "resaved_feedback")


@pytest.fixture(scope="module")
def annotated(originals, tmp_path_factory):
    """name → (original path, its findings, feedback path) written by the zip path."""
    d = tmp_path_factory.mktemp("feedback")
    out = {}
    for name in CASES:
        path = originals[name]
        found = findings_of(path)
        data = feedback._zip_annotated(path.read_bytes(), found, f"{name} 校验结果")  # raises if it cannot
        target = d / f"{name}.xlsx"
        target.write_bytes(data)
        out[name] = (path, found, target)
    return out


def test_the_reports_have_errors_and_warnings(annotated):
    for name, (_, found, _) in annotated.items():
        assert {f.severity for f in found} == {"error", "warning"}, name
        assert {f.sheet for f in found} >= {"表二", "表三", "文字部分"}, name


@pytest.mark.parametrize("name", CASES)
def test_every_part_the_agency_wrote_is_kept(annotated, name):
    path, found, target = annotated[name]
    before, after = members(path.read_bytes()), members(target.read_bytes())
    sheets = sheet_parts(path.read_bytes())
    touched = {sheets[f.sheet] for f in found if f.sheet in sheets}
    touched |= {p for p, data in before.items()
                if p.startswith("xl/worksheets/sheet") and re.search(rb'tabSelected="(1|true)"', data)}
    allowed = set(BOOK_PARTS) | touched
    allowed |= {p.replace("worksheets/", "worksheets/_rels/") + ".rels" for p in touched}
    allowed |= {p for p in before if p.startswith(("xl/comments", "xl/drawings/"))}  # the comments we replace
    changed = {p for p, data in before.items() if after.get(p) != data}
    assert changed <= allowed, changed - allowed
    if name in ("feedback", "resaved_feedback"):  # the old 问题清单 sheet is gone, a new one in its place
        old_list = sheets[FEEDBACK_SHEET]
        assert old_list in changed or old_list not in after
    else:
        assert set(before) <= set(after)


@pytest.mark.parametrize("name", CASES)
def test_the_feedback_checks_as_the_original(annotated, name):
    path, found, target = annotated[name]
    assert key(findings_of(target)) == key(found)
    assert read_report(target).numbers == read_report(path).numbers
    assert read_report(target).fields == read_report(path).fields


@pytest.mark.parametrize("name", CASES)
def test_cells_are_marked_and_the_list_comes_first(annotated, name):
    path, found, target = annotated[name]
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames.count(FEEDBACK_SHEET) == 1 and wb.sheetnames[0] == FEEDBACK_SHEET
    assert wb.active.title == FEEDBACK_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [FEEDBACK_SHEET]
    original = openpyxl.load_workbook(path)
    for ws in original.worksheets:  # print areas stay on their sheets
        if ws.title != FEEDBACK_SHEET:
            assert wb[ws.title].print_area == ws.print_area, ws.title
            assert wb[ws.title].print_title_rows == ws.print_title_rows, ws.title
    commented = {}
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows():
            for c in row:
                if c.comment is not None:
                    commented[(ws.title, c.coordinate)] = c.comment
    ours = {k: c for k, c in commented.items() if c.author == "nianbao"}
    assert set(ours) == {(f.sheet, "A3" if f.sheet == "文字部分" else f.cell) for f in found}
    for f in found:
        cell = wb[f.sheet]["A3" if f.sheet == "文字部分" else f.cell]
        errors = any(g.severity == "error" and g.sheet == f.sheet and g.cell == f.cell for g in found)
        assert rgb(cell) == (RED if errors else YELLOW)
        assert f.message in cell.comment.text
    if name == "noted":
        assert commented[("表三", "D5")].author == "张三" and commented[("表三", "D5")].text == "已与申请人沟通"
        assert "（原批注）见附件" in commented[("表三", "H6")].text
    else:
        assert not set(commented) - set(ours)
    if name in ("feedback", "resaved_feedback"):  # nothing left of the first feedback but what is found again
        first = openpyxl.load_workbook(path)
        assert first.sheetnames[0] == FEEDBACK_SHEET
        assert len(wb[FEEDBACK_SHEET]["A"]) == len(first[FEEDBACK_SHEET]["A"])


def _look(cell) -> tuple:
    f, a, b = cell.font, cell.alignment, cell.border
    return (cell.value, rgb(cell), f.name, f.sz, f.b, (f.color.rgb if f.color is not None else None), f.u,
            a.horizontal, a.vertical, a.wrap_text, b.left.style, b.top.style, cell.quotePrefix,
            (cell.hyperlink.location, cell.hyperlink.tooltip) if cell.hyperlink else None)


@pytest.mark.parametrize("name", ["template", "resaved"])
def test_the_same_look_as_openpyxls(annotated, name, tmp_path):
    path, found, target = annotated[name]
    slow = tmp_path / "openpyxl.xlsx"
    slow.write_bytes(feedback._annotated(path.read_bytes(), found, f"{name} 校验结果"))
    a, b = openpyxl.load_workbook(target), openpyxl.load_workbook(slow)
    assert a.sheetnames == b.sheetnames
    la, lb = a[FEEDBACK_SHEET], b[FEEDBACK_SHEET]
    assert la.max_row == lb.max_row and la.max_column == lb.max_column
    for ra, rb in zip(la.iter_rows(), lb.iter_rows()):
        assert [_look(c) for c in ra] == [_look(c) for c in rb]
    for r in range(1, la.max_row + 1):
        assert la.row_dimensions[r].height == lb.row_dimensions[r].height, r
    for col in "ABCDEF":
        assert la.column_dimensions[col].width == lb.column_dimensions[col].width, col
    assert sorted(map(str, la.merged_cells.ranges)) == sorted(map(str, lb.merged_cells.ranges))
    assert (la.freeze_panes, la.auto_filter.ref, la.print_area, la.print_title_rows) == \
           (lb.freeze_panes, lb.auto_filter.ref, lb.print_area, lb.print_title_rows)
    assert (la.page_setup.orientation, la.page_setup.paperSize, la.page_setup.fitToWidth,
            la.sheet_properties.pageSetUpPr.fitToPage, la.oddFooter.center.text) == \
           (lb.page_setup.orientation, lb.page_setup.paperSize, lb.page_setup.fitToWidth,
            lb.sheet_properties.pageSetUpPr.fitToPage, lb.oddFooter.center.text)
    for f in found:
        ca, cb = a[f.sheet][f.cell], b[f.sheet][f.cell]
        assert _look(ca)[:2] == _look(cb)[:2]
        assert (ca.comment.text, ca.comment.author, ca.comment.width, ca.comment.height) == \
               (cb.comment.text, cb.comment.author, cb.comment.width, cb.comment.height)
        assert (ca.font.b, ca.number_format, ca.protection.locked) == (cb.font.b, cb.number_format, cb.protection.locked)


def test_libreoffice_opens_the_feedback(annotated, tmp_path):
    """Converted to PDF and saved again as .xlsx by LibreOffice (a broken part would stop it or lose content):
    the list, the comments and every value survive."""
    targets = [annotated[name][2] for name in CASES]
    soffice_convert(targets, "pdf", tmp_path / "pdf", tmp_path / "profile")
    soffice_convert(targets, "xlsx", tmp_path / "xlsx", tmp_path / "profile")
    pdftotext = require_tool("pdftotext", package="poppler-utils")
    for name in CASES:
        path, found, _ = annotated[name]
        pdf = tmp_path / "pdf" / f"{name}.pdf"
        text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert f"{name} 校验结果" in text and found[0].title in text
        again = tmp_path / "xlsx" / f"{name}.xlsx"
        wb = openpyxl.load_workbook(again)
        assert wb.sheetnames[0] == FEEDBACK_SHEET
        assert wb[FEEDBACK_SHEET]["A1"].value == f"{name} 校验结果"
        assert all(wb[f.sheet]["A3" if f.sheet == "文字部分" else f.cell].comment is not None for f in found)
        assert read_report(again).numbers == read_report(path).numbers
        assert read_report(again).fields == read_report(path).fields
        assert key(findings_of(again)) == key(found)


def test_a_workbook_the_zip_path_refuses_is_annotated_by_openpyxl(originals, tmp_path):
    """Threaded comments (Excel 365) are beyond the zip path; openpyxl's way still marks the cells."""
    path = originals["template"]
    found = findings_of(path)
    data = members(path.read_bytes())
    part = sheet_parts(path.read_bytes())["表三"]
    rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    data[rels] = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                  b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2017/10/relationships/'
                  b'threadedComment" Target="../threadedComments/threadedComment1.xml"/></Relationships>')
    data["xl/threadedComments/threadedComment1.xml"] = b'<ThreadedComments/>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in data.items():
            z.writestr(n, b)
    with pytest.raises(Unsupported):
        feedback._zip_annotated(buf.getvalue(), found, "t")
    out = tmp_path / "fb.xlsx"
    write_feedback(buf.getvalue(), found, out, title="t")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == FEEDBACK_SHEET and wb["表三"]["H6"].comment is not None
    assert rgb(wb["表三"]["H6"]) == RED


def test_a_doctype_is_refused(originals):
    data = members(originals["template"].read_bytes())
    data["xl/workbook.xml"] = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + \
        data["xl/workbook.xml"].split(b"?>", 1)[-1]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in data.items():
            z.writestr(n, b)
    with pytest.raises(Unsupported):
        Package(buf.getvalue())
