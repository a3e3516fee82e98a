"""``nianbao import``: a published report (web page or text) → a filled template.

The parsing is :func:`schemas.published.parse_published` (pure); this module
reads and decodes the file, decides whether to write, writes the template
through :func:`flows.xlsx.write_template` (atomically) and checks the written
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

from schemas.findings import Finding
from schemas.published import Imported, looks_like_html, parse_published

from .checking import FileResult, check_files
from .errors import UserError
from .files import atomic_path

MAX_SOURCE_BYTES = 10 * 1024 * 1024  # a published report is a few hundred KB at most
ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 covers GBK/GB2312, what older sites serve


class ImportFailed(UserError):
    """The source cannot be imported at all (unreadable, wrong kind of file, target exists)."""


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


def decode(data: bytes, name: str = "") -> str:
    """The text of a published report, or :class:`ImportFailed` saying what the file is instead."""
    head = data[:8]
    if head.startswith(b"%PDF"):
        raise ImportFailed(f"{name} 是 PDF 文件，无法直接导入。请复制网页或文档中的文字另存为 .txt 或 .html 后再导入。")
    if head.startswith(b"PK"):
        raise ImportFailed(f"{name} 是 Word/Excel 等压缩格式文件。Excel 年报模板请用 nianbao check 校验；"
                           "Word 文档请另存为“网页（.htm）”或“纯文本（.txt）”后再导入。")
    if head.startswith(bytes.fromhex("d0cf11e0")):
        raise ImportFailed(f"{name} 是旧版 Office 文件（.doc/.xls），请另存为网页或纯文本后再导入。")
    # UTF-8 first whatever a page declares: GBK text is almost never valid UTF-8, while UTF-8 text
    # often decodes as (wrong) GB18030 without an error
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed(f"{name} 的文字编码无法识别，请另存为 UTF-8 编码的文本或网页后再导入。")


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def default_output(agency: str, year: int, folder: Path | None = None) -> Path:
    """``<agency>-<year>年报.xlsx`` in ``folder`` (the current folder by default)."""
    stem = _UNSAFE.sub("_", agency).strip("_.") or "年报"
    return (folder or Path.cwd()) / f"{stem}-{year}年报.xlsx"


def read_source(path: Path) -> tuple[str, str]:
    """(text, kind) of the file at ``path``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFailed(f"文件不存在：{path}") from None
    if path.is_dir():
        raise ImportFailed(f"这是一个文件夹，不是文件：{path}")
    if size > MAX_SOURCE_BYTES:
        raise ImportFailed(f"{path.name} 有 {size // 1024 // 1024} MB，超过已发布年报的合理大小，不予导入。")
    text = decode(path.read_bytes(), path.name)
    return text, "HTML" if looks_like_html(text) else "文本"


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
    from .xlsx import write_template

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
