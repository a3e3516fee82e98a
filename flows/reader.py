"""Reading a filled workbook into a :class:`~schemas.report.Report`.

The reader never trusts the file: a pre-flight check looks at the bytes and
the zip directory before any XML parser runs (size limits, compression
ratio, encrypted and legacy files, other formats renamed ``.xlsx``).  The
parts it needs are then parsed with defusedxml (no entity expansion) and
only the cells named by the template's defined names, plus the label cells,
are looked at.  Spreadsheet applications' cached formula values are used;
where a total was written as a formula and never computed (a file produced
by a program), it is computed from its parts as the form defines them.

Everything the file gets wrong becomes a finding; exceptions escape only
for problems of the machine (a missing file, a full disk).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from schemas.findings import Finding, make
from schemas.form import FORM, KNOWN_TEMPLATE_VERSIONS, OLD_2019_MARKERS, Form
from schemas.layout import LAYOUT, Layout, a1, parse_a1
from schemas.report import Report
from schemas.values import CellError, coerce_text, normalise_text

MiB = 1024 * 1024


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
    except (DefusedXmlException, SafeET.ParseError, zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise NotReadable(
            make("file.unreadable", file=name, reason=f"工作簿内部文件 {member} 损坏或含有不安全内容（{type(exc).__name__}）")
        ) from None


@dataclass
class _Book:
    sheets: dict[str, str]  # sheet name → member path
    names: dict[str, str]  # workbook-level defined name → reference text
    strings: list[str]
    date_styles: set[int]


_BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(45, 48)) | {27, 30, 36, 50, 57}


def _read_book(zf: zipfile.ZipFile, name: str) -> _Book:
    root = _parse(zf, "xl/workbook.xml", name)
    if root is None:
        raise NotReadable(make("file.unreadable", file=name, reason="压缩包中没有 Excel 工作簿内容"))
    rels_root = _parse(zf, "xl/_rels/workbook.xml.rels", name)
    targets = {}
    if rels_root is not None:
        for rel in rels_root:
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            targets[rel.get("Id")] = os.path.normpath(path).replace(os.sep, "/")
    sheets, names = {}, {}
    for elem in root.iter():
        tag = _local(elem.tag)
        if tag == "sheet":
            sheets[elem.get("name", "")] = targets.get(_attr(elem, "id") or "", "")
        elif tag == "definedName" and elem.get("localSheetId") is None:
            names[elem.get("name", "")] = (elem.text or "").strip()
    strings: list[str] = []
    sst = _parse(zf, "xl/sharedStrings.xml", name)
    if sst is not None:
        for si in sst:
            if _local(si.tag) == "si":
                strings.append(_rich_text(si))
    return _Book(sheets, names, strings, _date_styles(_parse(zf, "xl/styles.xml", name)))


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


def _date_styles(styles) -> set[int]:
    if styles is None:
        return set()
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
    return {i for i, fmt in enumerate(xfs) if fmt in _BUILTIN_DATE_FORMATS or custom.get(fmt)}


_UNCACHED = object()  # a formula cell with no computed value


def _read_cells(zf, member: str, wanted: set[tuple[int, int]], book: _Book, name: str) -> dict:
    """Raw values of the ``wanted`` (row, col) cells of one sheet, in one streaming pass."""
    out: dict[tuple[int, int], object] = {}
    if not wanted:
        return out
    try:
        with zf.open(member) as fh:
            for _event, elem in SafeET.iterparse(fh, events=("end",), forbid_dtd=True):
                if _local(elem.tag) != "c":
                    if _local(elem.tag) == "row":
                        elem.clear()
                    continue
                ref = elem.get("r")
                if ref is None:
                    continue
                pos = parse_a1(ref)
                if pos in wanted:
                    out[pos] = _cell_value(elem, book)
                elem.clear()
    except KeyError:
        raise NotReadable(make("file.unreadable", file=name, reason=f"工作簿内部文件 {member} 缺失")) from None
    except (DefusedXmlException, SafeET.ParseError, zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise NotReadable(
            make("file.unreadable", file=name, reason=f"工作簿内部文件 {member} 损坏或含有不安全内容（{type(exc).__name__}）")
        ) from None
    return out


def _cell_value(elem, book: _Book) -> object:
    kind = elem.get("t", "n")
    formula = v = None
    inline = None
    for child in elem:
        tag = _local(child.tag)
        if tag == "v":
            v = child.text
        elif tag == "f":
            formula = True
        elif tag == "is":
            inline = _rich_text(child)
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
    style = int(elem.get("s", "0"))
    if style in book.date_styles:
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


def _read_template(zf, book: _Book, name: str, form: Form, layout: Layout) -> Report:
    present = [code for code in form.codes if code in book.names]
    if "meta.template_version" not in book.names and len(present) < len(form.codes) // 2:
        raise NotReadable(_not_template(zf, book, name, layout))

    findings: list[Finding] = []
    places: dict[str, tuple[str, str]] = {}
    wanted: dict[str, set[tuple[int, int]]] = defaultdict(set)
    where: dict[str, tuple[str, int, int]] = {}
    for code in form.codes:
        expected = layout.place(code)
        exp_text = f"「{expected[0]}」{a1(expected[1], expected[2])}"
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
        else:
            problem = None
        if problem:
            findings.append(
                make("layout.name", file=name, sheet=expected[0], cell=a1(expected[1], expected[2]), code=code,
                     problem=problem, expected=exp_text)
            )
        if dest is not None and dest[0] in book.sheets:
            where[code] = dest
            places[code] = (dest[0], a1(dest[1], dest[2]))
            wanted[dest[0]].add((dest[1], dest[2]))

    for sheet in layout.sheets:
        if sheet.name not in book.sheets:
            findings.append(make("layout.sheet", file=name, sheet=sheet.name))
            continue
        wanted[sheet.name].update((t.row, t.col) for t in sheet.texts if t.role != "hint")

    cells = {s: _read_cells(zf, book.sheets[s], pos, book, name) for s, pos in wanted.items() if s in book.sheets}
    raw = {code: cells[dest[0]].get((dest[1], dest[2])) for code, dest in where.items()}

    version = coerce_text(raw.get("meta.template_version"))
    if version not in KNOWN_TEMPLATE_VERSIONS:
        raise NotReadable(
            make("layout.version", file=name, sheet="封面", version=version or "（空）", known="、".join(KNOWN_TEMPLATE_VERSIONS))
        )
    findings.extend(_label_findings(cells, layout, name))
    _compute_uncached(raw, form)

    report = Report.from_raw(raw, file=name, places=places, form=form)
    report.findings[:0] = findings
    return report


MAX_LABEL_FINDINGS_PER_SHEET = 5


def _label_findings(cells: dict, layout: Layout, name: str) -> list[Finding]:
    out = []
    for sheet in layout.sheets:
        if sheet.name not in cells:
            continue
        found = cells[sheet.name]
        bad = [t for t in sheet.texts if t.role != "hint" and normalise_text(found.get((t.row, t.col)) or "") != normalise_text(t.text)]
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
