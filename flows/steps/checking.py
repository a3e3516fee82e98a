"""Checking files: read each workbook, then check them all in one batch."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nianbao.schemas.checks import check_reports
from nianbao.schemas.form import DEFAULT_LEVEL
from nianbao.schemas.findings import Finding, count, is_rejected, make
from nianbao.schemas.report import Report

from nianbao.flows.excel.reader import DEFAULT_LIMITS, Limits, read_report
from nianbao.flows.steps.documents import DOCUMENT_SUFFIXES, document_report, is_document

WORKBOOK_SUFFIXES = (".xlsx",)


@dataclass
class FileResult:
    file: str
    report: Report
    findings: list[Finding]

    @property
    def readable(self) -> bool:
        return self.report.readable

    @property
    def rejected(self) -> bool:
        return is_rejected(self.readable, self.findings)

    @property
    def counts(self) -> tuple[int, int]:
        return count(self.findings)

    @property
    def agency(self) -> str:
        return self.report.agency if self.readable else ""


def expand_paths(args: Iterable[str]) -> list[str]:
    """Files as given, and the workbooks and report documents inside any folder given (sorted)."""
    out: list[str] = []
    for arg in args:
        if os.path.isdir(arg):
            out.extend(
                str(p) for p in sorted(Path(arg).iterdir()) if p.suffix.lower() in WORKBOOK_SUFFIXES + DOCUMENT_SUFFIXES
                and p.is_file() and not p.name.startswith(("~$", "."))
            )
        else:
            out.append(arg)
    return out


def read_file(path: str, limits: Limits = DEFAULT_LIMITS) -> Report:
    """Read one file, turning a missing or unreadable path into a finding."""
    try:
        if is_document(path, None) and os.path.getsize(path) <= limits.max_file_bytes:
            with open(path, "rb") as fh:
                return document_report(fh.read(), path)  # a Word, PDF or HTML report: read through the importer
        return read_report(path, name=path, limits=limits)
    except FileNotFoundError:
        reason = "文件不存在"
    except IsADirectoryError:
        reason = "这是一个文件夹，不是文件"
    except PermissionError:
        reason = "没有读取权限"
    return Report(numbers={}, fields={}, file=path, readable=False,
                  findings=[make("file.unreadable", file=path, reason=reason)])


def check_files(paths: Sequence[str], limits: Limits = DEFAULT_LIMITS, last_year: int | None = None,
                level: str = DEFAULT_LEVEL) -> list[FileResult]:
    """Read and check ``paths`` as reports of agencies of government ``level``."""
    reports = [read_file(p, limits) for p in paths]
    findings = check_reports(reports, last_year=last_year, levels=[level] * len(reports))
    return [FileResult(p, r, f) for p, r, f in zip(paths, reports, findings)]
