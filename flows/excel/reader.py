"""Reading a filled workbook into a :class:`~nianbao.schemas.report.Report`.

The reader never trusts the file: a pre-flight check looks at the bytes and
the zip directory before any XML parser runs (size limits, compression
ratio, encrypted and legacy files, other formats renamed ``.xlsx``).  The
parts it needs are then parsed with defusedxml (no entity expansion) and
only the cells named by the template's defined names, plus the label cells,
are looked at: the sheets and shared strings stream through a defused pyexpat
parser whose handlers keep just those cells' values, and the parts that are
the same in every copy of the template (workbook and defined names,
relationships, styles) are parsed once and kept by their exact bytes, with
the reading plan derived from them.  Spreadsheet applications' cached
formula values are used; where a total was written as a formula and never
computed (a file produced by a program), it is computed from its parts as
the form defines them.

Everything the file gets wrong becomes a finding; exceptions escape only
for problems of the machine (a missing file, a full disk).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
import zlib
from functools import lru_cache
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from xml.parsers import expat

from defusedxml import ElementTree as SafeET
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.common import DefusedXmlException

from nianbao.schemas.findings import Finding, make
from nianbao.schemas.form import FORM, KNOWN_TEMPLATE_VERSIONS, OLD_2019_MARKERS, Form
from nianbao.schemas.layout import LAYOUT, Layout, a1, parse_a1
from nianbao.schemas.report import Report
from nianbao.schemas.values import CellError, ExternalRef, coerce_text, normalise_text

MiB = 1024 * 1024
BROKEN_PART = (DefusedXmlException, SafeET.ParseError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError)
"""What reading a damaged or hostile member of the zip can raise."""


@dataclass(frozen=True)
class Limits:
    """What a submitted file may weigh before anything parses it."""

    max_file_bytes: int = 20 * MiB
    max_unpacked_bytes: int = 100 * MiB  # sum of the members' declared sizes
    max_ratio: float = 200.0  # uncompressed / compressed, over the whole archive
    max_members: int = 2_000


DEFAULT_LIMITS = Limits()


class NotReadable(Exception):
    """The file cannot be read as a report; carries the finding that says why."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


# --------------------------------------------------------------------------
# pre-flight: what kind of file is this, and is it safe to open?
# --------------------------------------------------------------------------

_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


UNPACK_FIRST = "这是压缩包（.zip、.rar 等），请解压后把其中的年报逐个放入收件夹"


def _not_zip_reason(head: bytes) -> str:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "文件是空的（0 字节）"
    if head.startswith(b"%PDF"):
        return "这是 PDF 文件，不是 Excel 工作簿"
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<table", b"<meta")):
        return "这是网页（HTML）文件，不是 Excel 工作簿"
    if stripped.startswith(b"<?xml"):
        return "这是 XML 文本文件，不是 Excel 工作簿"
    if head.startswith(b"{\\rtf"):
        return "这是 RTF 文档，不是 Excel 工作簿"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return UNPACK_FIRST
    try:
        head.decode("utf-8")
        return "这是文本文件（如 CSV），不是 Excel 工作簿"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("gb18030")
        return "这是文本文件（如 CSV），不是 Excel 工作簿"
    except UnicodeDecodeError:
        return "文件不是 Excel 工作簿，或已损坏"


def _open_zip(data: BinaryIO, name: str, limits: Limits) -> zipfile.ZipFile:
    data.seek(0, os.SEEK_END)
    size = data.tell()
    data.seek(0)
    if size > limits.max_file_bytes:
        raise NotReadable(make("file.too_large", file=name, size=_human(size), limit=_human(limits.max_file_bytes)))
    head = data.read(8)
    data.seek(0)
    if head.startswith(_OLE2):
        blob = data.read()
        data.seek(0)
        if _ENCRYPTION_INFO in blob:
            raise NotReadable(make("file.encrypted", file=name))
        raise NotReadable(make("file.old_excel", file=name))
    if not head.startswith(b"PK"):
        raise NotReadable(make("file.unreadable", file=name, reason=_not_zip_reason(data.read(512))))
    try:
        zf = zipfile.ZipFile(data)
        members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise NotReadable(make("file.unreadable", file=name, reason=f"文件已损坏或不完整（{_zip_reason(exc)}）")) from None
    unpacked = sum(m.file_size for m in members)
    if len(members) > limits.max_members or unpacked > limits.max_unpacked_bytes or (
        unpacked > MiB and unpacked > limits.max_ratio * max(size, 1)
    ):
        raise NotReadable(
            make("file.bomb", file=name, size=_human(unpacked), ratio=f"{unpacked / max(size, 1):.0f}:1")
        )
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise NotReadable(make("file.unreadable", file=name, reason=_other_zip_reason(zf, names)))
    if any(n.lower().endswith(("vbaproject.bin", "vbaprojectsignature.bin")) or n.lower().startswith("xl/macrosheets/")
           for n in names):
        raise NotReadable(make("file.macro", file=name))
    return zf


def _zip_reason(exc: Exception) -> str:
    return "不是完整的 zip 压缩包" if isinstance(exc, zipfile.BadZipFile) else type(exc).__name__


def _other_zip_reason(zf: zipfile.ZipFile, names: set[str]) -> str:
    if "mimetype" in names:
        try:
            mimetype = zf.read("mimetype")[:100]
        except Exception:  # noqa: BLE001 - a broken member is just "not a workbook"
            mimetype = b""
        if b"spreadsheet" in mimetype:
            return "这是 OpenDocument 表格（.ods），请在 WPS/LibreOffice 中另存为 Excel 工作簿（.xlsx）"
        return "这是 OpenDocument 文档，不是 Excel 工作簿"
    if "word/document.xml" in names:
        return "这是 Word 文档（.docx），不是 Excel 工作簿"
    if "ppt/presentation.xml" in names:
        return "这是 PowerPoint 文档，不是 Excel 工作簿"
    if any(n.lower().endswith((".xlsx", ".xls", ".et", ".doc", ".docx", ".pdf")) for n in names):
        return UNPACK_FIRST
    return "压缩包中没有 Excel 工作簿内容"


# --------------------------------------------------------------------------
# the XML parts
# --------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(elem, name: str) -> str | None:
    """An attribute by local name (``r:id`` and plain ``id`` alike)."""
    for key, value in elem.attrib.items():
        if _local(key) == name:
            return value
    return None


def _parse(zf: zipfile.ZipFile, member: str, name: str):
    try:
        with zf.open(member) as fh:
            return SafeET.parse(fh, forbid_dtd=True).getroot()
    except KeyError:
        return None
    except BROKEN_PART as exc:
        raise _broken(member, name, exc) from None


def _broken(member: str, name: str, exc: BaseException) -> NotReadable:
    kind = "ParseError" if isinstance(exc, expat.ExpatError) else type(exc).__name__  # as ElementTree names it
    return NotReadable(make("file.unreadable", file=name, reason=f"工作簿内部文件 {member} 损坏或含有不安全内容（{kind}）"))


# Streaming parts.  The sheets and the shared strings are parsed by a pyexpat parser that
# defusedxml set up (DTDs, entity declarations and external references forbidden: its own
# guards raise), with small handlers of ours instead of an element tree: only the cells the
# reader wants become Python objects, and text is collected only where it is wanted.

STREAM_WHOLE = 4 * MiB  # members up to this size are inflated and parsed in one call, larger ones in chunks
_STREAM_ERRORS = BROKEN_PART + (expat.ExpatError,)


def _safe_expat():
    """(keep-alive wrapper, pyexpat parser) with defusedxml's guards; namespaces resolved, ``}``-separated."""
    wrapper = DefusedXMLParser(forbid_dtd=True)
    parser = wrapper.parser
    parser.StartElementHandler = parser.EndElementHandler = parser.CharacterDataHandler = None
    # ElementTree's default handler would see the text we skip (and take a character
    # reference there for an undefined entity); with no DTD allowed, expat itself still
    # refuses undefined entities.
    parser.DefaultHandlerExpand = None
    parser.buffer_text = True
    parser.ordered_attributes = False  # attributes as a dict
    return wrapper, parser


def _stream(zf: zipfile.ZipFile, member: str, parser) -> bool:
    """Parse ``member`` with ``parser``; False when the zip has no such member."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        return False
    if info.file_size <= STREAM_WHOLE:
        parser.Parse(zf.read(info), True)
    else:
        with zf.open(info) as fh:
            parser.ParseFile(fh)
    return True


_LOCAL_NAMES: dict[str, str] = {}


def _local_name(tag: str) -> str:
    """``{namespace}c`` (pyexpat's ``namespace}c``) → ``c``, memoised for the few tags a workbook uses."""
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = tag.rsplit("}", 1)[-1]
        if len(_LOCAL_NAMES) < 512:  # a hostile file may invent any number of tags
            _LOCAL_NAMES[tag] = local
    return local


def _shared_strings(zf: zipfile.ZipFile, name: str) -> list[str]:
    """The shared strings in order: each ``<si>``'s ``t`` and ``r/t`` runs (phonetic runs left out)."""
    member = "xl/sharedStrings.xml"
    strings: list[str] = []
    _wrapper, parser = _safe_expat()
    depth = 0
    in_si = False
    path: list[str] = []  # local names below the current <si>
    parts: list[str] = []

    def start(tag, _attrs):
        nonlocal depth, in_si, parts
        depth += 1
        if depth == 2:
            in_si = _local_name(tag) == "si"
            parts = []
        elif in_si:
            path.append(_local_name(tag))
            keep = path[-1] == "t" and (len(path) == 1 or (len(path) == 2 and path[0] == "r"))
            parser.CharacterDataHandler = parts.append if keep else None

    def end(_tag):
        nonlocal depth, in_si
        if depth == 2:
            if in_si:
                strings.append("".join(parts))
            in_si = False
        elif in_si:
            path.pop()
            parser.CharacterDataHandler = None
        depth -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        _stream(zf, member, parser)
    except _STREAM_ERRORS as exc:
        raise _broken(member, name, exc) from None
    return strings


@dataclass
class _Book:
    sheets: dict[str, str]  # sheet name → member path
    names: dict[str, str]  # workbook-level defined name → reference text
    strings: list[str]
    date_styles: set[int]
    part: "_WorkbookPart | None" = None  # the parsed workbook part (shared by identical copies)


_BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(45, 48)) | {27, 30, 36, 50, 57}

# Parts that are the same in every copy of a template (the workbook part and its defined names,
# its relationships, the styles) are parsed once and kept by their exact bytes: identical bytes
# parse identically, so no file can change what another file's parts mean.
_PART_CACHE: dict[tuple[str, bytes], object] = {}
_PART_CACHE_SIZE = 48
_PART_CACHE_MAX_BYTES = 512 * 1024


def _cached_part(zf: zipfile.ZipFile, member: str, name: str, parse):
    """``parse(root)`` of ``member`` (``parse(None)`` when the zip has none), cached by the member's bytes."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        return parse(None)
    if info.file_size > _PART_CACHE_MAX_BYTES:
        return parse(_parse(zf, member, name))
    try:
        data = zf.read(info)
    except BROKEN_PART as exc:
        raise _broken(member, name, exc) from None
    key = (member, data)
    cached = _PART_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except BROKEN_PART as exc:
        raise _broken(member, name, exc) from None
    result = parse(root)
    if len(_PART_CACHE) >= _PART_CACHE_SIZE:
        _PART_CACHE.pop(next(iter(_PART_CACHE)))
    _PART_CACHE[key] = result
    return result


@dataclass(eq=False)
class _WorkbookPart:
    sheets: list[tuple[str, str]]  # (sheet name, relationship id), in order
    names: dict[str, str]
    plans: dict = field(default_factory=dict)  # (id(form), id(layout)) → (form, layout, _Plan)


def _workbook_part(root) -> _WorkbookPart | None:
    if root is None:
        return None
    sheets, names = [], {}
    for elem in root.iter():
        tag = _local(elem.tag)
        if tag == "sheet":
            sheets.append((elem.get("name", ""), _attr(elem, "id") or ""))
        elif tag == "definedName" and elem.get("localSheetId") is None:
            names[elem.get("name", "")] = (elem.text or "").strip()
    return _WorkbookPart(sheets, names)


def _rel_targets(rels_root) -> dict[str, str]:
    targets = {}
    if rels_root is not None:
        for rel in rels_root:
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            targets[rel.get("Id")] = os.path.normpath(path).replace(os.sep, "/")
    return targets


def _read_book(zf: zipfile.ZipFile, name: str) -> _Book:
    part = _cached_part(zf, "xl/workbook.xml", name, _workbook_part)
    if part is None:
        raise NotReadable(make("file.unreadable", file=name, reason="压缩包中没有 Excel 工作簿内容"))
    targets = _cached_part(zf, "xl/_rels/workbook.xml.rels", name, _rel_targets)
    sheets = {}
    for sheet, rid in part.sheets:
        sheets[sheet] = targets.get(rid, "")
    strings = _shared_strings(zf, name)
    date_styles = _cached_part(zf, "xl/styles.xml", name, _date_styles)
    return _Book(sheets, dict(part.names), strings, date_styles, part)


def _rich_text(elem) -> str:
    """The text of an ``<si>`` or ``<is>``: its ``<t>`` runs, without phonetic runs."""
    parts = []
    for child in elem:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _date_styles(styles) -> frozenset[int]:
    if styles is None:
        return frozenset()
    custom = {}
    xfs: list[int] = []
    for elem in styles:
        tag = _local(elem.tag)
        if tag == "numFmts":
            for fmt in elem:
                code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt.get("formatCode", "")).lower()
                custom[int(fmt.get("numFmtId", "0"))] = any(ch in code for ch in "ymdhs") and "general" not in code
        elif tag == "cellXfs":
            xfs = [int(xf.get("numFmtId", "0")) for xf in elem if _local(xf.tag) == "xf"]
    return frozenset(i for i, fmt in enumerate(xfs) if fmt in _BUILTIN_DATE_FORMATS or custom.get(fmt))


_UNCACHED = object()  # a formula cell with no computed value
_EXTERNAL = re.compile(r"\[[^\]]*\]")  # [1]Sheet1!A1, '[年报.xlsx]表三'!D5: another workbook
_CANONICAL_REF = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")  # how applications write a cell's r="…"


@dataclass
class _Sheet:
    cells: dict[tuple[int, int], object]  # (row, col) → raw value
    merges: list[tuple[int, int, int, int]]  # r1, c1, r2, c2


def _scan_sheet(parser, refs: dict[str, tuple[int, int]], wanted: set[tuple[int, int]], book: _Book) -> _Sheet:
    """Install pyexpat handlers that collect the raw values of the wanted cells of one sheet, and its merges.

    Outside a wanted cell only element starts are seen (``<c>`` and ``<mergeCell>``
    matter); inside one, the end handler and the text handler are switched on, and
    text is kept for exactly the elements whose text is the value: ``v``, ``f``,
    ``is/t``, ``is/r/t`` (the text before their first child, as an element tree has it).
    """
    out = _Sheet({}, [])
    cells, merges = out.cells, out.merges
    local_names = _LOCAL_NAMES
    canonical = _CANONICAL_REF.fullmatch
    pos = kind = style = v = formula = inline = None
    path: list[str] = []
    parts: list[str] = []

    def start(tag, attrs):
        nonlocal pos, kind, style, v, formula, inline, parts
        local = local_names.get(tag) or _local_name(tag)
        if pos is not None:  # inside a wanted cell
            path.append(local)
            n = len(path)
            handler = None
            if n == 1:
                if local == "v" or local == "f":
                    parts = []
                    handler = parts.append
                elif local == "is":
                    parts = []
            elif local == "t" and path[0] == "is" and (n == 2 or (n == 3 and path[1] == "r")):
                handler = parts.append
            parser.CharacterDataHandler = handler
        elif local == "c":
            ref = attrs.get("r")
            if ref is None:
                return
            at = refs.get(ref)
            if at is None:
                if canonical(ref):
                    return
                at = parse_a1(ref)  # an odd reference; a ValueError makes the part unreadable, as it should
                if at not in wanted:
                    return
            pos, kind, style = at, attrs.get("t", "n"), attrs.get("s")
            v = formula = inline = None
            path.clear()
            parser.EndElementHandler = end
        elif local == "mergeCell":
            ref = attrs.get("ref", "")
            if ":" in ref:
                try:
                    (r1, c1), (r2, c2) = (parse_a1(x) for x in ref.split(":", 1))
                    merges.append((r1, c1, r2, c2))
                except ValueError:
                    pass

    def rest(tag, attrs):
        # every wanted cell is read: what follows matters only for its merged ranges (the 文字部分's
        # lines of full text, hundreds of formula cells, are passed over at the least cost)
        if tag.endswith("mergeCell") and (local_names.get(tag) or _local_name(tag)) == "mergeCell":
            start(tag, attrs)

    def end(_tag):
        nonlocal pos, v, formula, inline
        parser.CharacterDataHandler = None
        if not path:  # the wanted <c> closes
            cells[pos] = _value(kind, v, formula, inline, style, book)
            pos = None
            parser.EndElementHandler = None
            if len(cells) == len(wanted):
                parser.StartElementHandler = rest
            return
        local = path.pop()
        if not path:
            if local == "v":
                v = "".join(parts) or None
            elif local == "f":
                formula = "".join(parts) or True
            elif local == "is":
                inline = "".join(parts)

    parser.StartElementHandler = start
    return out


_A1: dict[tuple[int, int], str] = {}


def _a1(pos: tuple[int, int]) -> str:
    text = _A1.get(pos)
    if text is None:
        text = a1(*pos)
        if len(_A1) < 100_000:
            _A1[pos] = text
    return text


def _read_cells(zf, member: str, wanted: set[tuple[int, int]], book: _Book, name: str,
                refs: dict[str, tuple[int, int]] | None = None) -> _Sheet:
    """Raw values of the ``wanted`` (row, col) cells of one sheet, and its merged ranges, in one streaming pass."""
    if not wanted:
        return _Sheet({}, [])
    if refs is None:
        refs = {_a1(pos): pos for pos in wanted}
    _wrapper, parser = _safe_expat()
    out = _scan_sheet(parser, refs, wanted, book)
    try:
        found = _stream(zf, member, parser)
    except _STREAM_ERRORS as exc:
        raise _broken(member, name, exc) from None
    if not found:
        raise NotReadable(make("file.unreadable", file=name, reason=f"工作簿内部文件 {member} 缺失"))
    return out


def _value(kind: str, v: str | None, formula, inline: str | None, style: str | None, book: _Book) -> object:
    if isinstance(formula, str) and _EXTERNAL.search(formula):
        return ExternalRef(formula)
    if kind == "inlineStr":
        return inline if inline is not None else None
    if v is None or (v == "" and kind != "str"):
        return _UNCACHED if formula else None
    if kind == "s":
        index = int(v)
        return book.strings[index] if 0 <= index < len(book.strings) else None
    if kind == "str":
        return v
    if kind == "b":
        return v.strip() in ("1", "true")
    if kind == "e":
        return CellError(v)
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    try:
        number = float(v)
    except ValueError:
        return v
    if int(style if style is not None else "0") in book.date_styles:
        return _excel_date(number)
    return number


def _excel_date(serial: float) -> object:
    try:
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=serial)
    except OverflowError:
        return serial


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------

_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)$")


def _destination(ref: str) -> tuple[str, int, int] | None:
    m = _REF.match(ref.strip())
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
    row, col = parse_a1(m.group(3) + m.group(4))
    return sheet, row, col


def read_report(
    source: str | os.PathLike | BinaryIO | bytes,
    *,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    form: Form = FORM,
    layout: Layout = LAYOUT,
) -> Report:
    """Read a filled template.  Never raises for a bad file: see ``Report.readable``."""
    if isinstance(source, (str, os.PathLike)):
        name = name or Path(source).name
        with open(source, "rb") as fh:
            return _read(fh, name, limits, form, layout)
    if isinstance(source, (bytes, bytearray)):
        return _read(io.BytesIO(source), name or "", limits, form, layout)
    return _read(source, name or getattr(source, "name", "") or "", limits, form, layout)


def _unreadable(finding: Finding, name: str) -> Report:
    return Report(numbers={}, fields={}, file=name, findings=[finding], readable=False)


def _read(fh: BinaryIO, name: str, limits: Limits, form: Form, layout: Layout) -> Report:
    try:
        with _open_zip(fh, name, limits) as zf:
            book = _read_book(zf, name)
            return _read_template(zf, book, name, form, layout)
    except NotReadable as exc:
        return _unreadable(exc.finding, name)


def _scan_text(zf, book: _Book) -> str:
    """All text of the workbook, normalised, for recognising layouts."""
    texts = list(book.strings)
    for member in book.sheets.values():
        try:
            with zf.open(member) as fh:
                for _e, elem in SafeET.iterparse(fh, events=("end",), forbid_dtd=True):
                    if _local(elem.tag) == "is":
                        texts.append(_rich_text(elem))
                    elif _local(elem.tag) == "row":
                        elem.clear()
        except Exception:  # noqa: BLE001 - recognition is best effort
            continue
    return normalise_text("\n".join(texts))


def _not_template(zf, book: _Book, name: str, layout: Layout) -> Finding:
    text = _scan_text(zf, book)
    for marker in OLD_2019_MARKERS:
        if normalise_text(marker) in text:
            return make("layout.old_2019", file=name, marker=marker)
    labels = [t.text for s in layout.sheets for t in s.texts if t.role in ("label", "header")]
    found = sum(1 for t in labels if normalise_text(t) in text)
    if found >= len(labels) // 2:
        reason = "有 2021 版年报表格，但缺少模板的定义名称，可能是自行制作或复制粘贴的表格"
    else:
        reason = "缺少模板的定义名称和年报表格"
    return make("layout.not_template", file=name, reason=reason)


@dataclass
class _Plan:
    """What to read from a workbook, derived from its workbook part alone (so shared by identical copies)."""

    not_template: bool
    where: dict[str, tuple[str, int, int]]  # code → (sheet, row, col) of its name's destination
    places: dict[str, tuple[str, str]]  # code → (sheet, A1)
    wanted: dict[str, set[tuple[int, int]]]  # sheet → cells to read (named cells and labels)
    refs: dict[str, dict[str, tuple[int, int]]]  # sheet → A1 → (row, col) of the wanted cells
    missing_sheets: list[tuple[str, str]]  # (template sheet, detail) of the sheets the workbook lacks
    name_problems: dict[str, list[tuple[str, str]]]  # expected sheet → [(code, problem)]


def _plan(book: _Book, form: Form, layout: Layout) -> _Plan:
    part = book.part
    key = (id(form), id(layout))
    if part is not None:
        hit = part.plans.get(key)
        if hit is not None and hit[0] is form and hit[1] is layout:
            return hit[2]
    plan = _make_plan(book, form, layout)
    if part is not None and set(book.sheets) == {s for s, _ in part.sheets}:
        part.plans[key] = (form, layout, plan)
    return plan


def _make_plan(book: _Book, form: Form, layout: Layout) -> _Plan:
    present = [code for code in form.codes if code in book.names]
    not_template = "meta.template_version" not in book.names and len(present) < len(form.codes) // 2
    places: dict[str, tuple[str, str]] = {}
    wanted: dict[str, set[tuple[int, int]]] = defaultdict(set)
    where: dict[str, tuple[str, int, int]] = {}
    name_problems: dict[str, list[tuple[str, str]]] = defaultdict(list)  # expected sheet → [(code, problem)]
    renamed_to: dict[str, set[str]] = defaultdict(set)
    for code in form.codes:
        expected = layout.place(code)
        ref = book.names.get(code)
        dest = _destination(ref) if ref else None
        if ref is None:
            problem = "缺失"
        elif dest is None:
            problem = f"已失效（{ref[:40]}）"
        elif dest[0] not in book.sheets:
            problem = f"指向不存在的工作表“{dest[0]}”"
        elif dest != expected:
            problem = f"指向了「{dest[0]}」{a1(dest[1], dest[2])}"
            if dest[0] != expected[0]:
                renamed_to[expected[0]].add(dest[0])
        else:
            problem = None
        if problem:
            name_problems[expected[0]].append((code, problem))
        if dest is not None and dest[0] in book.sheets:
            where[code] = dest
            places[code] = (dest[0], a1(dest[1], dest[2]))
            wanted[dest[0]].add((dest[1], dest[2]))

    missing = []
    for sheet in layout.sheets:
        if sheet.name not in book.sheets:
            others = renamed_to.get(sheet.name, set())
            detail = f"（可能被改名为“{next(iter(others))}”）" if len(others) == 1 else ""
            missing.append((sheet.name, detail))
            name_problems.pop(sheet.name, None)  # one finding says it all
            continue
        wanted[sheet.name].update((t.row, t.col) for t in sheet.texts if t.role != "hint")
    wanted = {s: pos for s, pos in wanted.items() if s in book.sheets}
    refs = {s: {_a1(p): p for p in pos} for s, pos in wanted.items()}
    return _Plan(not_template, where, places, wanted, refs, missing, dict(name_problems))


def _read_template(zf, book: _Book, name: str, form: Form, layout: Layout) -> Report:
    plan = _plan(book, form, layout)
    if plan.not_template:
        raise NotReadable(_not_template(zf, book, name, layout))

    findings: list[Finding] = [make("layout.sheet", file=name, sheet=sheet, detail=detail)
                               for sheet, detail in plan.missing_sheets]
    findings.extend(_name_findings(plan.name_problems, layout, name))

    cells = {s: _read_cells(zf, book.sheets[s], pos, book, name, plan.refs[s]) for s, pos in plan.wanted.items()}
    raw = {code: cells[dest[0]].cells.get((dest[1], dest[2])) for code, dest in plan.where.items()}
    findings.extend(_merge_findings(cells, plan.where, layout, form, name))

    version = coerce_text(raw.get("meta.template_version"))
    if version not in KNOWN_TEMPLATE_VERSIONS:
        raise NotReadable(
            make("layout.version", file=name, sheet="封面", version=version or "（空）", known="、".join(KNOWN_TEMPLATE_VERSIONS))
        )
    findings.extend(_label_findings({s: c.cells for s, c in cells.items()}, layout, name))
    _compute_uncached(raw, form)

    report = Report.from_raw(raw, file=name, places=plan.places, form=form)
    report.findings[:0] = findings
    return report


MAX_LABEL_FINDINGS_PER_SHEET = 5
MAX_NAME_FINDINGS_PER_SHEET = 3


def _name_findings(problems: dict[str, list[tuple[str, str]]], layout: Layout, name: str) -> list[Finding]:
    """One finding per broken name, or one per sheet when rows or columns were moved wholesale."""
    out = []
    for sheet, items in problems.items():
        if len(items) > MAX_NAME_FINDINGS_PER_SHEET:
            code, problem = items[0]
            _, row, col = layout.place(code)
            out.append(make("layout.moved", file=name, sheet=sheet, count=len(items),
                            example=f"“{code}”应在 {a1(row, col)}，{problem}"))
            continue
        for code, problem in items:
            _, row, col = layout.place(code)
            out.append(make("layout.name", file=name, sheet=sheet, cell=a1(row, col), code=code, problem=problem,
                            expected=f"「{sheet}」{a1(row, col)}"))
    return out


@lru_cache(maxsize=4)  # a Layout hashes by identity
def _allowed_merges(layout: Layout) -> frozenset:
    allowed = {(s.name, m) for s in layout.sheets for m in s.input_merges.values()}
    allowed |= {(s.name, m) for s in layout.sheets for m in s.merges}
    return frozenset(allowed)


def _merge_findings(cells: dict, where: dict, layout: Layout, form: Form, name: str) -> list[Finding]:
    """Input cells caught in a merged range the template does not have."""
    allowed = _allowed_merges(layout)
    foreign = {sheet: [m for m in sheet_cells.merges if (sheet, m) not in allowed] for sheet, sheet_cells in cells.items()}
    if not any(foreign.values()):
        return []
    out = []
    for code, (sheet, row, col) in where.items():
        for merge in foreign.get(sheet, ()):
            r1, c1, r2, c2 = merge
            if r1 <= row <= r2 and c1 <= col <= c2:
                report = Report(numbers={}, fields={}, file=name, places={code: (sheet, a1(row, col))})
                out.append(report.finding("layout.merged", code, label=report.label(code, form),
                                          range=f"{a1(r1, c1)}:{a1(r2, c2)}"))
                break
    return out


@lru_cache(maxsize=4)
def _expected_labels(layout: Layout) -> list:
    """Per sheet of the layout: (sheet, [(text, position, normalised text)]) of its labels."""
    return [(sheet, [(t, (t.row, t.col), normalise_text(t.text)) for t in sheet.texts if t.role != "hint"])
            for sheet in layout.sheets]


def _label_findings(cells: dict, layout: Layout, name: str) -> list[Finding]:
    out = []
    for sheet, labels in _expected_labels(layout):
        if sheet.name not in cells:
            continue
        found = cells[sheet.name]
        bad = []
        for t, pos, expected in labels:
            actual = found.get(pos)
            if actual != t.text and normalise_text(actual or "") != expected:  # exact text: no need to normalise
                bad.append(t)
        for t in bad[:MAX_LABEL_FINDINGS_PER_SHEET]:
            actual = found.get((t.row, t.col))
            out.append(
                make("layout.label", file=name, sheet=sheet.name, cell=a1(t.row, t.col), expected=t.text,
                     actual=coerce_text(actual) if actual not in (None, _UNCACHED) else "（空）")
            )
    return out


def _compute_uncached(raw: dict[str, object], form: Form) -> None:
    """Totals written as formulas but never computed: sum their parts, as Excel would."""
    def value(code: str, depth: int = 0):
        v = raw.get(code)
        if v is _UNCACHED:
            parts = form.sums.get(code)
            if parts is None or depth > 3:
                return None
            values = [value(p, depth + 1) for p in parts]
            # like a spreadsheet's SUM: text and empty parts count as nothing
            v = float(sum(x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)))
            raw[code] = v
        return v

    for code in list(raw):
        if raw[code] is _UNCACHED:
            value(code)
