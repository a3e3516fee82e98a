"""Reading a published report (a web page or text) from its file: the bytes, their encoding, their kind.

What the text says is parsed by :func:`nianbao.schemas.published.parse_published`
(pure); :mod:`nianbao.flows.steps.importing` decides what to write.
"""

from __future__ import annotations

from pathlib import Path

from nianbao.schemas.published import looks_like_html

from nianbao.flows.errors import InputError

MAX_SOURCE_BYTES = 10 * 1024 * 1024  # a published report is a few hundred KB at most
ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 covers GBK/GB2312, what older sites serve


class ImportFailed(InputError):
    """The source cannot be imported at all (unreadable, wrong kind of file, target exists)."""


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
