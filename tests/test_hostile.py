"""The bad-input corpus: whatever lands in the inbound folder, the agency gets a clear Chinese
message naming the file (and the cell, where there is one), and the other files of the run go on."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import require_tool

from nianbao.flows.store.files import csv_bytes
from nianbao.flows.steps.intake import intake
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

AGENCY, USCC = "巫山县教育委员会", complete("11500237MB0000001")


def report_bytes(**overrides) -> bytes:
    values = {**valid_values(random.Random(3)), "meta.agency": AGENCY, "meta.uscc": USCC, "meta.year": 2024,
              "text.overview": "2024年总体情况。", "text.problems": "问题。", **overrides}
    values = {k: v for k, v in values.items() if v is not None}
    buf = io.BytesIO()
    write_template(buf, values=values)
    return buf.getvalue()


def edited(fn, **overrides) -> bytes:
    """A filled report changed with openpyxl, as an agency's office software might."""
    wb = openpyxl.load_workbook(io.BytesIO(report_bytes(**overrides)))
    fn(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(data: bytes, change) -> bytes:
    """Rewrite a workbook's zip members: ``change(name, bytes) -> bytes | None`` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            new = change(item.filename, src.read(item))
            if new is not None:
                dst.writestr(item.filename, new)
        extra = change("__add__", b"")
        for name, content in (extra or {}).items() if isinstance(extra, dict) else ():
            dst.writestr(name, content)
    return out.getvalue()


def with_macros(data: bytes) -> bytes:
    def change(name, content):
        if name == "__add__":
            return {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba project"}
        if name == "[Content_Types].xml":
            return content.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
        return content
    return rezip(data, change)


def with_doctype(data: bytes, doctype: bytes) -> bytes:
    def change(name, content):
        if name == "xl/workbook.xml":
            return doctype + content if not content.startswith(b"<?xml") else content.replace(b"?>", b"?>" + doctype, 1)
        return None if name == "__add__" else content
    return rezip(data, change)


def rename_sheet(wb):
    ws = wb["表三"]
    ws.title = "表3"
    for name in list(wb.defined_names):  # Excel follows a renamed sheet in every name
        dn = wb.defined_names[name]
        dn.attr_text = dn.attr_text.replace("'表三'!", "'表3'!")


def insert_row(wb):
    """What Excel does on "insert row" above row 10 of 表三: rows and the names below move down."""
    wb["表三"].insert_rows(10)
    for name in list(wb.defined_names):
        dn = wb.defined_names[name]
        m = re.fullmatch(r"'表三'!\$([A-Z]+)\$(\d+)", dn.attr_text)
        if m and int(m.group(2)) >= 10:
            dn.attr_text = f"'表三'!${m.group(1)}${int(m.group(2)) + 1}"


def set_cell(sheet, ref, value, data_type=None):
    def fn(wb):
        wb[sheet][ref] = value
        if data_type:
            wb[sheet][ref].data_type = data_type
    return fn


def point_elsewhere(wb):
    del wb.defined_names["requests.new.natural"]
    wb.defined_names["appeals.review.total"].attr_text = "'表四'!$E$9"


def old_2019() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "政府信息公开年报"
    for row in (["第二十条第（一）项"], ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
                ["规章", 0, 0, 0], ["第二十条第（九）项"], ["信息内容", "采购项目数量", "采购总金额"],
                ["政府集中采购", 0, 0]):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def empty_workbook() -> bytes:
    buf = io.BytesIO()
    openpyxl.Workbook().save(buf)
    return buf.getvalue()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def ods_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    return buf.getvalue()


def encrypted() -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(report_bytes())).encrypt("密码", out)
    return out.getvalue()


def corrupt() -> bytes:
    data = bytearray(report_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    return bytes(data)


LONG_TEXT = "我单位认真贯彻落实政府信息公开条例。" * 1600  # about 30,000 characters

# name → (bytes, rule of the rejection, sheet, cell)
CORPUS = {
    "zero-byte.xlsx": (lambda: b"", "file.unreadable", "", ""),
    "empty-workbook.xlsx": (empty_workbook, "layout.not_template", "", ""),
    "csv-renamed.xlsx": (lambda: "单位名称,数量\n巫山县,3\n".encode("gb18030"), "file.unreadable", "", ""),
    "pdf-renamed.xlsx": (lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "file.document", "", ""),
    "docx-renamed.xlsx": (docx_bytes, "file.unreadable", "", ""),
    "html-renamed.xlsx": (lambda: "<html><body><table><tr><td>年报</td></tr></table></body></html>".encode(),
                          "file.unreadable", "", ""),
    "excel97.xls": (lambda: bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504), "file.old_excel", "", ""),
    "opendocument.ods": (ods_bytes, "file.unreadable", "", ""),
    "macros.xlsm": (lambda: with_macros(report_bytes()), "file.macro", "", ""),
    "truncated.xlsx": (lambda: report_bytes()[:3000], "file.unreadable", "", ""),
    "corrupt.xlsx": (corrupt, "file.unreadable", "", ""),
    "encrypted.xlsx": (encrypted, "file.encrypted", "", ""),
    "billion-laughs.xlsx": (lambda: with_doctype(report_bytes(), b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'),
                            "file.unreadable", "", ""),
    "external-entity.xlsx": (lambda: with_doctype(report_bytes(), b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
                             "file.unreadable", "", ""),
    "sheet-renamed.xlsx": (lambda: edited(rename_sheet), "layout.sheet", "表三", ""),
    "sheet-deleted.xlsx": (lambda: edited(lambda wb: wb.remove(wb["表四"])), "layout.sheet", "表四", ""),
    "name-deleted.xlsx": (lambda: edited(point_elsewhere), "layout.name", "表三", "D5"),
    "label-edited.xlsx": (lambda: edited(set_cell("表三", "A5", "一、本年新收申请")), "layout.label", "表三", "A5"),
    "row-inserted.xlsx": (lambda: edited(insert_row), "layout.moved", "表三", ""),
    "merged-inputs.xlsx": (lambda: edited(lambda wb: wb["表三"].merge_cells("D5:E5")), "layout.merged", "表三", "D5"),
    "external-formula.xlsx": (lambda: edited(set_cell("表三", "D5", "=[1]Sheet1!A1")), "cell.external", "表三", "D5"),
    "ref-error.xlsx": (lambda: edited(set_cell("表三", "D5", "#REF!", "e")), "cell.formula_error", "表三", "D5"),
    "div0-error.xlsx": (lambda: edited(set_cell("表四", "A5", "#DIV/0!", "e")), "cell.formula_error", "表四", "A5"),
    "date.xlsx": (lambda: edited(set_cell("表三", "E6", dt.date(2024, 3, 1))), "cell.not_number", "表三", "E6"),
    "boolean.xlsx": (lambda: report_bytes(**{"requests.carried_in.research": True}), "cell.not_number", "表三", "F6"),
    "negative.xlsx": (lambda: report_bytes(**{"appeals.review.other": -1}), "cell.negative", "表四", "C5"),
    "decimal-count.xlsx": (lambda: report_bytes(**{"active.penalty.decisions": 2.5}), "cell.integer", "表二", "B11"),
    "huge.xlsx": (lambda: report_bytes(**{"active.licensing.decisions": 1e20}), "cell.too_large", "表二", "B8"),
    "nan-text.xlsx": (lambda: report_bytes(**{"requests.refused_duplicate.legal": "NaN"}), "cell.not_number", "表三", "H21"),
    "inf-text.xlsx": (lambda: report_bytes(**{"requests.refused_duplicate.legal": "inf"}), "cell.not_number", "表三", "H21"),
    "chinese-number.xlsx": (lambda: report_bytes(**{"appeals.review.upheld": "三件"}), "cell.not_number", "表四", "A5"),
    "slash.xlsx": (lambda: report_bytes(**{"appeals.review.upheld": "/"}), "cell.not_number", "表四", "A5"),
    "year-missing.xlsx": (lambda: report_bytes(**{"meta.year": None}), "meta.year", "封面", "B6"),
    "year-not-a-year.xlsx": (lambda: report_bytes(**{"meta.year": "二〇二四"}), "meta.year", "封面", "B6"),
    "future-template.xlsx": (lambda: edited(set_cell("封面", "B9", "nianbao-2099.1")), "layout.version", "封面", ""),
    "old-2019-layout.xlsx": (old_2019, "layout.old_2019", "", ""),
}


def run_with_a_good_file(settings, name: str, data: bytes):
    (settings.inbound / name).write_bytes(data)
    (settings.inbound / "good.xlsx").write_bytes(report_bytes(**{"meta.agency": "巫山县公安局", "meta.uscc": ""}))
    result = intake(settings, settle_seconds=0)
    with Ledger(settings.ledger) as ledger:
        subs = {s.file_name: s for s in ledger.submissions()}
    assert subs["good.xlsx"].outcome == "accepted"  # the run went on with the other file
    assert list(settings.inbound.iterdir()) == []
    return result, subs


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_is_rejected_with_a_clear_message(settings, name):
    make, rule, sheet, cell = CORPUS[name]
    data = make()
    _, subs = run_with_a_good_file(settings, name, data)
    sub = subs[name]
    assert sub.outcome == "rejected"
    found = [f for f in sub.findings if f.rule == rule]
    assert found, [(f.rule, f.message) for f in sub.findings]
    f = found[0]
    assert (f.sheet, f.cell) == (sheet, cell) or (not cell and f.sheet == sheet)
    assert f.file == name and re.search(r"[\u4e00-\u9fff]", f.message) and "Traceback" not in f.message
    assert Path(sub.archived_path).read_bytes() == data  # the original, byte for byte


@pytest.mark.parametrize("soffice_format,rule", [("xls", "file.old_excel"), ("ods", "file.unreadable")])
def test_real_legacy_and_opendocument_files(settings, tmp_path, soffice_format, rule):
    exe = require_tool("soffice", package="libreoffice-calc")
    src = tmp_path / "src.xlsx"
    src.write_bytes(report_bytes())
    subprocess.run([exe, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", soffice_format,
                    "--outdir", str(tmp_path), str(src)], check=True, capture_output=True, timeout=180)
    name = f"保存为.{soffice_format}"
    _, subs = run_with_a_good_file(settings, name, (tmp_path / f"src.{soffice_format}").read_bytes())
    assert subs[name].outcome == "rejected" and subs[name].findings[0].rule == rule


def test_reordered_sheets_are_harmless(settings):
    data = edited(lambda wb: wb.move_sheet("表四", offset=-3))
    _, subs = run_with_a_good_file(settings, "reordered.xlsx", data)
    assert subs["reordered.xlsx"].outcome == "accepted"


def test_fullwidth_digits_and_long_narrative_are_accepted(settings):
    data = report_bytes(**{"appeals.review.upheld": "１", "appeals.review.total": 1, "text.overview": LONG_TEXT})
    _, subs = run_with_a_good_file(settings, "fullwidth.xlsx", data)
    sub = subs["fullwidth.xlsx"]
    assert sub.outcome == "accepted" and [f.rule for f in sub.findings] == ["cell.fullwidth"]
    assert sub.fields["text.overview"] == LONG_TEXT


@pytest.mark.parametrize("name", ["a b c.xlsx", "巫山县 教委（定稿）.xlsx", "..年报...xlsx", "$(touch x); rm -rf `y` &.xlsx",
                                  "-rf.xlsx"])
def test_awkward_file_names(settings, name):
    data = report_bytes()
    _, subs = run_with_a_good_file(settings, name, data)
    archived = Path(subs[name].archived_path)
    assert subs[name].outcome == "accepted" and archived.read_bytes() == data
    assert archived.parent.parent.parent == settings.archive and not set("$`;& ") & set(archived.name)


def test_symbolic_link_is_not_followed(settings, tmp_path):
    secret = tmp_path / "secret.xlsx"
    secret.write_bytes(report_bytes())
    os.symlink(secret, settings.inbound / "link.xlsx")
    (settings.inbound / "good.xlsx").write_bytes(report_bytes(**{"meta.agency": "巫山县公安局", "meta.uscc": ""}))
    intake(settings, settle_seconds=0)
    with Ledger(settings.ledger) as ledger:
        subs = {s.file_name: s for s in ledger.submissions()}
    assert subs["link.xlsx"].outcome == "rejected" and subs["link.xlsx"].findings[0].rule == "file.symlink"
    assert Path(subs["link.xlsx"].archived_path).is_symlink() and secret.exists()
    assert subs["good.xlsx"].outcome == "accepted"


def test_a_file_being_written_waits_for_the_next_pass(settings):
    (settings.inbound / "writing.xlsx").write_bytes(report_bytes()[:1000])
    result = intake(settings, settle_seconds=60)
    assert result.waiting == ["writing.xlsx"] and result.outcomes == []
    (settings.inbound / "writing.xlsx").write_bytes(report_bytes())
    os.utime(settings.inbound / "writing.xlsx", (0, 0))  # finished long ago
    assert [o.status for o in intake(settings, settle_seconds=60).outcomes] == ["accepted"]


def test_values_cannot_inject_into_csv():
    data = csv_bytes(["agency", "n"], [["=cmd|' /C calc'!A0", 1], ["@SUM(1+1)", -2], ["+1", 3], ["-x", 4]])
    text = data.decode("utf-8-sig")
    assert "'=cmd" in text and "'@SUM" in text and "'+1" in text and "'-x" in text and ",-2" in text
