"""``nianbao import``: a published report (web page or text) → a filled template.

The parsing is :func:`nianbao.schemas.published.parse_published` (pure); this module
reads and decodes the file, decides whether to write, writes the template
through :func:`nianbao.flows.excel.template.write_template` (atomically) and checks the written
workbook exactly as any submission is checked.

Confidence rule: the template is written only when every table section was
found and held exactly its number of values, so that each value's position in
the official layout is certain.  Otherwise nothing is written and the import's
findings say why.  Warnings (a narrative section not found, a ``/`` or
``3件`` at a known position, written as it is for the checks to name) do not
stop the import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.schemas.findings import Finding
from nianbao.schemas.published import Imported, parse_published

from nianbao.flows.documents.published import ImportFailed, read_source
from nianbao.flows.steps.checking import FileResult, check_files
from nianbao.flows.store.files import atomic_path


@dataclass
class ImportResult:
    source: Path
    kind: str  # "HTML" or "文本"
    imported: Imported
    output: Path | None = None  # None: nothing written (ambiguous)
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


def import_report(
    source: Path,
    *,
    agency: str,
    year: int,
    uscc: str = "",
    output: Path | None = None,
    force: bool = False,
    last_year: int | None = None,
) -> ImportResult:
    """Import ``source``; write the template when the mapping is unambiguous, then check it."""
    from nianbao.flows.excel.template import write_template

    source = Path(source)
    output = Path(output) if output is not None else default_output(agency, year)
    if output.exists() and not force:
        raise ImportFailed(f"文件已存在：{output}（如需覆盖请加 --force）")
    text, kind = read_source(source)
    imported = parse_published(text, source=str(source))
    result = ImportResult(source, kind, imported, findings=list(imported.findings))
    if not imported.unambiguous:
        return result
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        write_template(tmp, values=imported.template_values(agency=agency, year=year, uscc=uscc))
    result.output = output
    (result.check,) = check_files([str(output)], last_year=last_year)
    return result
