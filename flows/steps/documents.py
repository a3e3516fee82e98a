"""Reports sent as documents (Word, PDF, web page) rather than the Excel template.

The intake reads such a file through the importer (every value placed by its
row label and column header, :mod:`nianbao.schemas.placement`) into a
:class:`~nianbao.schemas.report.Report` checked with the same rules as a
template.  A document has no Excel cells: its findings name the table and the
row and column labels.  One that cannot be read with certainty is rejected with
the importer's reasons; its feedback is the list of findings beside a template
pre-filled with whatever was placed with certainty, for the agency to finish in
Excel.  The archived original is the document itself, byte for byte.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from nianbao.schemas.findings import Finding, has_errors, make
from nianbao.schemas.form import FORM
from nianbao.schemas.layout import LAYOUT
from nianbao.schemas.published import Imported, parse_items
from nianbao.schemas.report import Report

from nianbao.flows.documents.published import ImportFailed, read_items

DOCUMENT_SUFFIXES = (".docx", ".pdf", ".html", ".htm")
"""What the intake reads as a report document beside ``.xlsx`` workbooks."""


def is_document(name: str, data: bytes | None) -> bool:
    """A Word, PDF or HTML report (by its name, or a PDF by its first bytes whatever its name)."""
    if Path(name).suffix.lower() in DOCUMENT_SUFFIXES:
        return True
    return data is not None and data[:5] == b"%PDF-"


def _imported(data: bytes, name: str) -> tuple[Imported | None, Finding | None]:
    try:
        items, _ = read_items(data, name)
    except ImportFailed as exc:
        return None, make("file.document", file=name, reason=str(exc))
    return parse_items(items, source=name), None


_NO_CELL = {code: (LAYOUT.address(code)[0], "") for code in FORM.codes}
"""A document's places: the table, no cell (its findings name rows and columns by their labels)."""


def document_report(data: bytes, name: str) -> Report:
    """The report a document holds; unreadable (with the reasons) unless every cell was placed."""
    imported, failure = _imported(data, name)
    if imported is None:
        return Report(numbers={}, fields={}, file=name, readable=False, findings=[failure])
    agency, year = imported.title or ("", None)
    findings = [dataclasses.replace(f, file=name) for f in imported.findings]
    if imported.title is None:
        findings.append(make("import.title", file=name))
    fields = {"meta.agency": agency, "meta.year": year}
    if has_errors(findings):
        return Report(numbers={}, fields=fields, file=name, readable=False, places=dict(_NO_CELL),
                      findings=_without_cells(findings))
    report = Report.from_raw(imported.template_values(agency=agency, year=year), file=name, places=dict(_NO_CELL))
    report.findings[:0] = _without_cells(findings)
    return report


def _without_cells(findings: list[Finding]) -> list[Finding]:
    return [dataclasses.replace(f, cell="") for f in findings]


def prefilled_template(data: bytes, name: str) -> bytes | None:
    """The Excel template holding what a document's tables and sections gave with certainty (None: nothing)."""
    from nianbao.flows.excel.template import write_template

    imported, _ = _imported(data, name)
    if imported is None:
        return None
    agency, year = imported.title or ("", None)
    values = {k: v for k, v in imported.template_values(agency=agency, year=year or "").items() if v not in ("", None)}
    buf = io.BytesIO()
    write_template(buf, values=values)
    return buf.getvalue()


def anchored(findings) -> list[Finding]:
    """A document's findings placed on the pre-filled template's cells (for its feedback workbook)."""
    out = []
    for f in findings:
        if f.code and not f.cell and f.code in _NO_CELL:
            sheet, cell = LAYOUT.address(f.code)
            f = dataclasses.replace(f, sheet=sheet, cell=cell)
        out.append(f)
    return out
