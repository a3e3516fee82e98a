"""Reading a published report from its file: the bytes, their kind, their encoding.

A report arrives as the agency wrote or published it: a Word document
(``.docx``), a PDF, a saved web page, or text copied from one.  Each becomes
the same thing, a list of paragraphs and tables in reading order
(:data:`nianbao.schemas.published.Item`), which
:func:`nianbao.schemas.published.parse_items` (pure) reads into the form's
codes; :mod:`nianbao.flows.steps.importing` decides what to write.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from nianbao.schemas.published import Item, document_lines, looks_like_html

from nianbao.flows.errors import InputError

MAX_SOURCE_BYTES = 30 * 1024 * 1024  # a published report is a few hundred KB; a PDF with images a few MB
ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 covers GBK/GB2312, what older sites serve
DOCUMENT_SUFFIXES = (".docx", ".pdf", ".html", ".htm", ".txt", ".md")
"""The files ``nianbao import`` reads from a folder, and the documents the intake accepts beside workbooks."""

KINDS = {"docx": "Word", "pdf": "PDF", "html": "HTML", "text": "文本"}


class ImportFailed(InputError):
    """The source cannot be imported at all (unreadable, wrong kind of file, target exists)."""


def decode(data: bytes, name: str = "") -> str:
    """The text of a published page or text file, or :class:`ImportFailed` saying what the file is instead."""
    # UTF-8 first whatever a page declares: GBK text is almost never valid UTF-8, while UTF-8 text
    # often decodes as (wrong) GB18030 without an error
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed(f"{name} 的文字编码无法识别，请另存为 UTF-8 编码的文本或网页后再导入。")


def kind_of(data: bytes, name: str = "") -> str:
    """``docx``, ``pdf``, ``html`` or ``text``; :class:`ImportFailed` for a file that is none of them."""
    head = data[:8]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            raise ImportFailed(f"{name} 是损坏的压缩文件（Word/Excel），无法读取。") from None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            raise ImportFailed(f"{name} 是 Excel 工作簿。年报模板请直接放入收件文件夹，或用 nianbao check 校验。")
        raise ImportFailed(f"{name} 是压缩文件，不是 Word 文档（.docx）、PDF 或网页，无法导入。")
    if head.startswith(bytes.fromhex("d0cf11e0")):
        raise ImportFailed(f"{name} 是旧版 Office 文件（.doc/.xls），请在 Word/WPS 中另存为 .docx 后再导入。")
    return "html" if looks_like_html(decode(data, name)) else "text"


def read_items(data: bytes, name: str = "") -> tuple[list[Item], str]:
    """(the document's paragraphs and tables, its kind: Word / PDF / HTML / 文本)."""
    kind = kind_of(data, name)
    if kind == "docx":
        from .word import read_docx

        try:
            items = read_docx(data)
        except Exception:  # noqa: BLE001 - python-docx on a damaged file: say so, never a traceback
            raise ImportFailed(f"{name} 无法作为 Word 文档读取（文件可能已损坏），请用 Word/WPS 打开后重新另存为 .docx。") from None
    elif kind == "pdf":
        from .pdf import MAX_PAGES, TooManyPages, read_pdf

        try:
            items = read_pdf(data)
        except TooManyPages as exc:
            raise ImportFailed(f"{name} 有 {exc.args[0]} 页，超过年报的合理篇幅（{MAX_PAGES} 页），不予读取。") from None
        except Exception:  # noqa: BLE001 - pdfminer on a damaged or encrypted file
            raise ImportFailed(f"{name} 无法作为 PDF 读取，可能已损坏或设置了密码。请提供完整的 PDF 或 Word 文档。") from None
        if not items:
            raise ImportFailed(f"{name} 中没有可读取的文字（可能是扫描件或图片），无法导入。请提供 Word 文档或网页。")
    else:
        items = document_lines(decode(data, name))
    return items, KINDS[kind]


def read_source(path: Path) -> tuple[list[Item], str]:
    """(items, kind) of the file at ``path``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFailed(f"文件不存在：{path}") from None
    if path.is_dir():
        raise ImportFailed(f"这是一个文件夹，不是文件：{path}")
    if size > MAX_SOURCE_BYTES:
        raise ImportFailed(f"{path.name} 有 {size // 1024 // 1024} MB，超过已发布年报的合理大小，不予导入。")
    return read_items(path.read_bytes(), path.name)
