"""``nianbao import``: published reports (Word, PDF, web page, text) → filled templates.

The reading is :func:`nianbao.flows.documents.published.read_source` (bytes → paragraphs
and tables) and :func:`nianbao.schemas.published.parse_items` (pure: tables → values
placed by row label and column header); this module decides whether to write,
writes the template through :func:`nianbao.flows.excel.template.write_template`
(atomically) and checks the written workbook exactly as any submission is checked.

Certainty rule: the template is written only when every one of the form's
200 cells was placed by its own row and its own column.  Otherwise nothing is
written and the import's findings name the cause (which table, which rows or
columns, cells run together, the 2019 format).  Warnings (a narrative section
not found, a ``/`` or a blank in a placed cell, written as it is for the checks
to name) do not stop the import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.schemas.findings import Finding
from nianbao.schemas.published import Imported, parse_items

from nianbao.flows.documents.published import DOCUMENT_SUFFIXES, ImportFailed, read_source
from nianbao.flows.steps.checking import FileResult, check_files
from nianbao.flows.store.files import atomic_path


@dataclass
class ImportResult:
    source: Path
    kind: str  # Word / PDF / HTML / 文本
    imported: Imported
    agency: str = ""
    year: int | None = None
    output: Path | None = None  # None: nothing written (not every cell placed)
    check: FileResult | None = None  # the written workbook, checked as a submission
    findings: list[Finding] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return self.output is not None

    @property
    def ok(self) -> bool:
        """Written and passing the checks (warnings allowed)."""
        return self.written and self.check is not None and not self.check.rejected


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def default_output(agency: str, year: int, folder: Path | None = None) -> Path:
    """``<agency>-<year>年报.xlsx`` in ``folder`` (the current folder by default)."""
    stem = _UNSAFE.sub("_", agency).strip("_.") or "年报"
    return (folder or Path.cwd()) / f"{stem}-{year}年报.xlsx"


def document_sources(paths) -> list[Path]:
    """The files to import: files as given, and the documents in given folders (sorted, not recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in DOCUMENT_SUFFIXES
                              and not f.name.startswith(("~$", "."))))
        else:
            out.append(p)
    return out


def read_document(source: Path) -> tuple[Imported, str]:
    """The document at ``source`` read into values, texts and findings, with its kind."""
    items, kind = read_source(Path(source))
    return parse_items(items, source=str(source)), kind


def import_report(
    source: Path,
    *,
    agency: str | None = None,
    year: int | None = None,
    uscc: str = "",
    output: Path | None = None,
    outdir: Path | None = None,
    force: bool = False,
    last_year: int | None = None,
    accept_year=None,
) -> ImportResult:
    """Import ``source``; write the template when every cell was placed, then check it.

    ``agency`` and ``year`` default to what the report's title says; ``accept_year``
    (a function of the year) raises :class:`ImportFailed` for a year the caller refuses.
    """
    from nianbao.flows.excel.template import write_template

    source = Path(source)
    imported, kind = read_document(source)
    if (not agency or year is None) and imported.title is None and imported.unambiguous:
        raise ImportFailed(f"{source.name}：未能从标题中读出单位名称和年度（标题应如“××局2024年度政府信息公开工作年度报告”），"
                           "请用 --agency 和 --year 指定。")
    titled_agency, titled_year = imported.title or ("", None)
    agency = agency or titled_agency
    year = year if year is not None else titled_year
    result = ImportResult(source, kind, imported, agency, year, findings=list(imported.findings))
    if not imported.unambiguous:
        return result
    if accept_year is not None:
        accept_year(year)
    output = Path(output) if output is not None else default_output(agency, year, outdir)
    if output.exists() and not force:
        raise ImportFailed(f"文件已存在：{output}（如需覆盖请加 --force）")
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        write_template(tmp, values=imported.template_values(agency=agency, year=year, uscc=uscc))
    result.output = output
    (result.check,) = check_files([str(output)], last_year=last_year)
    return result
