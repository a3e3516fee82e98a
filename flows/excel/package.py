"""Editing an .xlsx package in place: every part copied byte for byte but the few that must change.

openpyxl's full load and save rebuilds every part of a workbook (and restyles every
merged range on the way): far too slow for a feedback workbook per agency, and it
rewrites what the agency wrote.  :class:`Package` opens the zip, parses only the parts
it is asked to change (with lxml: no DTD, no entities resolved, no network; a part that
declares a DOCTYPE is refused), and writes a new zip in which every other member has
the original bytes.  What it can do is what feedback needs: add a worksheet first and
select it, remove a worksheet, give cells a style cloned from theirs with another fill,
and read and replace a worksheet's legacy comments (the comments part and its VML
drawing).  Anything it does not understand raises :class:`Unsupported`; the caller then
falls back to openpyxl.
"""

from __future__ import annotations

import copy
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter
from openpyxl.xml.functions import tostring as et_tostring

M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
V = "urn:schemas-microsoft-com:vml"
O = "urn:schemas-microsoft-com:office:office"
X = "urn:schemas-microsoft-com:office:excel"

REL_OFFICE_DOCUMENT = R + "/officeDocument"
REL_WORKSHEET = R + "/worksheet"
REL_CHARTSHEET = R + "/chartsheet"
REL_STYLES = R + "/styles"
REL_COMMENTS = R + "/comments"
REL_VML = R + "/vmlDrawing"
REL_APP = R + "/extended-properties"
REL_THREADED = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

MAX_UNCOMPRESSED = 256 * 1024 * 1024  # the reader refuses far less; this only bounds a direct call

# the children of <worksheet> that come after <legacyDrawing>, in schema order
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")
# the children of <workbook> that come after <definedNames>
_AFTER_NAMES = ("calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
                "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")
_HEAD = 16_384  # bytes of a sheet part read to find its views
_TAB_SELECTED = re.compile(rb"""tabSelected\s*=\s*["'](?:1|true)["']""")
_IDMAP = re.compile(rb"""<o:idmap\b[^>]*\bdata\s*=\s*["']([\d,\s]+)["']""")
_OBJECT_TYPE = re.compile(rb"""ObjectType\s*=\s*["'](\w+)["']""")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=False)
_RECOVER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)


class Unsupported(Exception):
    """A workbook this module will not edit (the caller falls back to openpyxl)."""


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def parse_xml(data: bytes, parser=_PARSER):
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Unsupported(f"malformed XML: {exc}") from None
    if root is None:
        raise Unsupported("empty XML part")
    if root.getroottree().docinfo.doctype:
        raise Unsupported("a DOCTYPE in a part")
    return root


def to_bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def cell_ref(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def parse_ref(ref: str) -> tuple[int, int]:
    letters, row = coordinate_from_string(ref.replace("$", ""))
    return row, column_index_from_string(letters)


_SERIALISED: dict[int, tuple[object, bytes]] = {}


def openpyxl_xml(obj, ns: str = M):
    """An openpyxl style object (Font, PatternFill, Border, Alignment) as a new lxml element in ``ns``.

    Serialised once per object (style objects are immutable once made; the object is kept so its id stays its)."""
    found = _SERIALISED.get(id(obj))
    if found is None or found[0] is not obj:
        data = re.sub(rb"^<(\w+)", lambda m: m.group(0) + b' xmlns="' + ns.encode() + b'"',
                      et_tostring(obj.to_tree()), count=1)
        found = _SERIALISED[id(obj)] = (obj, data)
    return etree.fromstring(found[1], _PARSER)


def rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source: str, target: str) -> str:
    """The zip member a relationship of part ``source`` points to."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


# --------------------------------------------------------------------------
# Relationships and content types
# --------------------------------------------------------------------------


class Rels:
    """The relationships of one part (its ``_rels/*.rels``), editable."""

    def __init__(self, source: str, root):
        self.source = source
        self.root = root
        self.changed = False

    def items(self):
        """(element, id, type, zip member or None when external)."""
        for el in self.root.iter(q(PR, "Relationship")):
            external = (el.get("TargetMode") or "").lower() == "external"
            yield el, el.get("Id"), el.get("Type"), None if external else resolve(self.source, el.get("Target") or "")

    def target(self, rid: str) -> str | None:
        return next((t for _, i, _, t in self.items() if i == rid), None)

    def by_type(self, rtype: str) -> list[tuple[str, str | None]]:
        return [(i, t) for _, i, ty, t in self.items() if ty == rtype]

    def add(self, rtype: str, part: str) -> str:
        ids = {i for _, i, _, _ in self.items()}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        etree.SubElement(self.root, q(PR, "Relationship"), Id=rid, Type=rtype, Target=relative(self.source, part))
        self.changed = True
        return rid

    def remove(self, rid: str) -> None:
        for el, i, _, _ in list(self.items()):
            if i == rid:
                self.root.remove(el)
                self.changed = True


class ContentTypes:
    def __init__(self, root):
        self.root = root
        self.changed = False

    def add_override(self, part: str, content_type: str) -> None:
        self.remove_override(part)
        etree.SubElement(self.root, q(CT, "Override"), PartName="/" + part, ContentType=content_type)
        self.changed = True

    def remove_override(self, part: str) -> None:
        name = "/" + part.lower()
        for el in list(self.root.iter(q(CT, "Override"))):
            if (el.get("PartName") or "").lower() == name:
                self.root.remove(el)
                self.changed = True

    def ensure_default(self, extension: str, content_type: str) -> None:
        if any((el.get("Extension") or "").lower() == extension for el in self.root.iter(q(CT, "Default"))):
            return
        el = etree.Element(q(CT, "Default"), Extension=extension, ContentType=content_type)
        self.root.insert(0, el)
        self.changed = True


# --------------------------------------------------------------------------
# Styles
# --------------------------------------------------------------------------


class Styles:
    """``xl/styles.xml``: new fonts, fills, borders and cell formats appended, nothing else touched."""

    def __init__(self, root):
        self.root = root
        self.changed = False
        self.cache: dict = {}
        self.keep: list = []  # the style objects whose id is in a cache key
        self.xfs = self._list("cellXfs", required=False)
        if self.xfs is None or not len(self.xfs):
            raise Unsupported("styles without cellXfs")

    def _list(self, name: str, *, required: bool = True):
        el = self.root.find(q(M, name))
        if el is None and required:
            raise Unsupported(f"styles without {name}")
        return el

    def _append(self, name: str, element) -> int:
        parent = self._list(name)
        parent.append(element)
        parent.set("count", str(len(parent)))
        self.changed = True
        return len(parent) - 1

    def _added(self, name: str, obj) -> int:
        key = (name, id(obj))
        if key not in self.cache:
            self.keep.append(obj)
            self.cache[key] = self._append(name, openpyxl_xml(obj))
        return self.cache[key]

    def xf_count(self) -> int:
        return len(self.xfs)

    def fill_of(self, xf: int) -> tuple[str | None, str | None]:
        """(pattern type, foreground rgb) of cell format ``xf``'s fill."""
        if not 0 <= xf < len(self.xfs):
            return None, None
        fills = self._list("fills")
        try:
            fill = fills[int(self.xfs[xf].get("fillId") or 0)]
        except (IndexError, ValueError):
            return None, None
        pattern = fill.find(q(M, "patternFill"))
        if pattern is None:
            return None, None
        fg = pattern.find(q(M, "fgColor"))
        return pattern.get("patternType"), None if fg is None else fg.get("rgb")

    def with_fill(self, xf: int, fill) -> int:
        """A cell format like ``xf`` but with ``fill`` (an openpyxl PatternFill)."""
        key = ("with_fill", xf, id(fill))
        self.keep.append(fill)
        if key not in self.cache:
            base = self.xfs[xf] if 0 <= xf < len(self.xfs) else self.xfs[0]
            clone = copy.deepcopy(base)
            clone.set("fillId", str(self._added("fills", fill)))
            clone.set("applyFill", "1")
            self.cache[key] = self._append("cellXfs", clone)
        return self.cache[key]

    def new_xf(self, *, font=None, fill=None, border=None, alignment=None, quote_prefix: bool = False) -> int:
        key = ("xf", id(font), id(fill), id(border), id(alignment), quote_prefix)
        if key not in self.cache:
            self.keep.extend((font, fill, border, alignment))
            base = self.xfs[0]
            xf = etree.Element(q(M, "xf"), numFmtId="0",
                               fontId=str(self._added("fonts", font)) if font is not None else base.get("fontId", "0"),
                               fillId=str(self._added("fills", fill)) if fill is not None else "0",
                               borderId=str(self._added("borders", border)) if border is not None else "0",
                               xfId="0")
            if font is not None:
                xf.set("applyFont", "1")
            if fill is not None:
                xf.set("applyFill", "1")
            if border is not None:
                xf.set("applyBorder", "1")
            if alignment is not None:
                xf.set("applyAlignment", "1")
                xf.append(openpyxl_xml(alignment))
            if quote_prefix:
                xf.set("quotePrefix", "1")
            self.cache[key] = self._append("cellXfs", xf)
        return self.cache[key]


# --------------------------------------------------------------------------
# Worksheets
# --------------------------------------------------------------------------


@dataclass
class Note:
    """A legacy comment: author, plain text, and its original elements when it came from the file."""

    author: str
    text: str
    element: object = None  # the <comment> element
    shape: object = None  # its VML <v:shape>
    height: int = 79
    width: int = 144


class Worksheet:
    def __init__(self, package: Package, name: str, part: str):
        self.package = package
        self.name = name
        self.part = part
        self.root = parse_xml(package.read(part))
        self.sheet_data = self.root.find(q(M, "sheetData"))
        if self.sheet_data is None:
            raise Unsupported(f"worksheet {name} without sheetData")
        self.rows: dict[int, object] | None = None
        self.changed = False
        self._notes: dict[tuple[int, int], Note] | None = None
        self.notes_changed = False

    # cells --------------------------------------------------------------

    def merged(self) -> list[tuple[int, int, int, int]]:
        out = []
        for el in self.root.iterfind(f"{q(M, 'mergeCells')}/{q(M, 'mergeCell')}"):
            ref = (el.get("ref") or "").split(":")
            try:
                (r1, c1), (r2, c2) = parse_ref(ref[0]), parse_ref(ref[-1])
            except (ValueError, TypeError):
                continue
            out.append((r1, c1, r2, c2))
        return out

    def _index_rows(self) -> dict[int, object]:
        if self.rows is None:
            self.rows = {}
            for row in self.sheet_data.iterchildren(q(M, "row")):
                r = row.get("r")
                if r is None:
                    raise Unsupported("a row without its number")
                self.rows[int(r)] = row
        return self.rows

    def _cell(self, row: int, col: int, *, create: bool):
        rows = self._index_rows()
        ref = cell_ref(row, col)
        el = rows.get(row)
        if el is not None:
            for c in el.iterchildren(q(M, "c")):
                r = c.get("r")
                if r is None:
                    raise Unsupported("a cell without its reference")
                if r == ref:
                    return c
        if not create:
            return None
        if el is None:
            el = etree.Element(q(M, "row"), r=str(row))
            later = [r for r in rows if r > row]
            if later:
                rows[min(later)].addprevious(el)
            else:
                self.sheet_data.append(el)
            rows[row] = el
        cell = etree.Element(q(M, "c"), r=ref)
        style = self._default_style(el, col)
        if style:
            cell.set("s", str(style))
        for c in el.iterchildren(q(M, "c")):
            if parse_ref(c.get("r"))[1] > col:
                c.addprevious(cell)
                break
        else:
            el.append(cell)
        return cell

    def _default_style(self, row_el, col: int) -> int:
        if row_el.get("customFormat") in ("1", "true") and row_el.get("s"):
            return int(row_el.get("s"))
        for c in self.root.iterfind(f"{q(M, 'cols')}/{q(M, 'col')}"):
            try:
                if int(c.get("min")) <= col <= int(c.get("max")) and c.get("style"):
                    return int(c.get("style"))
            except (TypeError, ValueError):
                continue
        return 0

    def style(self, row: int, col: int) -> int:
        cell = self._cell(row, col, create=False)
        if cell is None:
            rows = self._index_rows()
            return self._default_style(rows[row], col) if row in rows else self._default_style(etree.Element("x"), col)
        try:
            return int(cell.get("s") or 0)
        except ValueError:
            raise Unsupported("a cell style that is not a number") from None

    def set_style(self, row: int, col: int, xf: int) -> None:
        self._cell(row, col, create=True).set("s", str(xf))
        self.changed = True

    def unselect(self) -> None:
        for view in self.root.iterfind(f"{q(M, 'sheetViews')}/{q(M, 'sheetView')}"):
            if view.get("tabSelected") in ("1", "true"):
                view.set("tabSelected", "0")
                self.changed = True

    # comments -----------------------------------------------------------

    def _legacy_drawing(self):
        return self.root.find(q(M, "legacyDrawing"))

    def notes(self) -> dict[tuple[int, int], Note]:
        """The sheet's legacy comments by (row, column)."""
        if self._notes is not None:
            return self._notes
        notes: dict[tuple[int, int], Note] = {}
        rels = self.package.rels(self.part)
        if rels.by_type(REL_THREADED):
            raise Unsupported("threaded comments")
        comments = rels.by_type(REL_COMMENTS)
        if len(comments) > 1:
            raise Unsupported("several comments parts")
        if comments:
            root = parse_xml(self.package.read(comments[0][1]))
            authors = [a.text or "" for a in root.iterfind(f"{q(M, 'authors')}/{q(M, 'author')}")]
            for el in root.iterfind(f"{q(M, 'commentList')}/{q(M, 'comment')}"):
                try:
                    place = parse_ref(el.get("ref", "").split(":")[0])
                    author = authors[int(el.get("authorId") or 0)]
                except (ValueError, TypeError, IndexError):
                    raise Unsupported("a comment without a place or author") from None
                notes[place] = Note(author, _plain_text(el.find(q(M, "text"))), element=el)
        shapes = self._vml_shapes()
        for place, shape in shapes.items():
            if place in notes:
                notes[place].shape = shape
        self._notes = notes
        return notes

    def _vml_part(self) -> str | None:
        legacy = self._legacy_drawing()
        if legacy is None:
            return None
        target = self.package.rels(self.part).target(legacy.get(q(R, "id")) or "")
        if target is None or not self.package.has(target):
            raise Unsupported("a legacy drawing that is missing")
        return target

    def _vml(self):
        """(VML root, strict) of the sheet's legacy drawing, None when it has none."""
        part = self._vml_part()
        if part is None:
            return None
        cache = self.package.vml_roots
        if part not in cache:
            data = self.package.read(part)
            try:
                cache[part] = (parse_xml(data), True)
            except Unsupported:
                kinds = set(_OBJECT_TYPE.findall(data))
                if kinds - {b"Note"}:
                    raise  # form controls we could not keep
                cache[part] = (None, False)  # notes only: rebuilt from scratch
        return cache[part]

    def _vml_shapes(self) -> dict[tuple[int, int], object]:
        vml = self._vml()
        if vml is None or vml[0] is None:
            return {}
        out = {}
        for shape in vml[0].iter(q(V, "shape")):
            data = shape.find(q(X, "ClientData"))
            if data is None or data.get("ObjectType") != "Note":
                continue
            try:
                row = int(data.findtext(q(X, "Row")))
                col = int(data.findtext(q(X, "Column")))
            except (TypeError, ValueError):
                continue
            out[(row + 1, col + 1)] = shape
        return out

    def set_notes(self, notes: dict[tuple[int, int], Note]) -> None:
        self._notes = notes
        self.notes_changed = True
        self.changed = True

    def write_notes(self) -> None:
        """Write the comments part and the VML drawing for :meth:`set_notes`."""
        pkg = self.package
        rels = pkg.rels(self.part)
        notes = dict(sorted((self._notes or {}).items()))
        comment_rels = rels.by_type(REL_COMMENTS)
        comments_part = comment_rels[0][1] if comment_rels else None
        vml = self._vml()
        vml_part = self._vml_part()

        if not notes and comments_part:
            rels.remove(comment_rels[0][0])
            pkg.remove_part(comments_part)
            comments_part = None
        if notes:
            if comments_part is None:
                comments_part = pkg.new_part_name("xl/comments{}.xml")
                rels.add(REL_COMMENTS, comments_part)
                pkg.content_types.add_override(comments_part, CT_COMMENTS)
            pkg.write(comments_part, _comments_xml(notes))

        # the VML drawing: notes' shapes rebuilt, any other shape kept
        if vml is not None and vml[0] is not None:
            root = vml[0]
            for shape in list(root.iter(q(V, "shape"))):
                data = shape.find(q(X, "ClientData"))
                if data is not None and data.get("ObjectType") == "Note":
                    shape.getparent().remove(shape)
        else:
            root = None
        if root is None and not notes:
            if vml_part is not None:
                self._drop_legacy(vml_part)
            return
        if root is None:
            root = _new_vml(pkg.new_idmap())
        if root.find(f".//{q(V, 'shapetype')}[@id='_x0000_t202']") is None:
            root.insert(min(1, len(root)), _note_shapetype())
        for note in notes.values():
            if note.shape is not None:
                root.append(copy.deepcopy(note.shape))  # the agency's own comment keeps its box
        next_id = _next_shape_id(root)
        for (row, col), note in notes.items():
            if note.shape is None:
                root.append(_note_shape(note, row, col, next_id))
                next_id += 1
        others = [s for s in root.iter(q(V, "shape"))]
        if not others:
            if vml_part is not None:
                self._drop_legacy(vml_part)
            return
        if vml_part is None:
            vml_part = pkg.new_part_name("xl/drawings/vmlDrawing{}.vml")
            rid = rels.add(REL_VML, vml_part)
            pkg.content_types.ensure_default("vml", CT_VML)
            legacy = etree.Element(q(M, "legacyDrawing"), nsmap={"r": R})
            legacy.set(q(R, "id"), rid)
            after = next((el for el in self.root if local(el.tag) in _AFTER_LEGACY), None)
            if after is not None:
                after.addprevious(legacy)
            else:
                self.root.append(legacy)
        pkg.write(vml_part, etree.tostring(root, xml_declaration=False, encoding="UTF-8"))

    def _drop_legacy(self, vml_part: str) -> None:
        legacy = self._legacy_drawing()
        rels = self.package.rels(self.part)
        if legacy is not None:
            rels.remove(legacy.get(q(R, "id")))
            self.root.remove(legacy)
        self.package.remove_part(vml_part)


def _plain_text(text_el) -> str:
    if text_el is None:
        return ""
    parts = []
    for child in text_el:
        if local(child.tag) == "t":
            parts.append(child.text or "")
        elif local(child.tag) == "r":
            parts.extend(t.text or "" for t in child.iterfind(q(M, "t")))
    return "".join(parts)


def _comments_xml(notes: dict[tuple[int, int], Note]) -> bytes:
    authors: list[str] = []
    root = etree.Element(q(M, "comments"), nsmap={None: M})
    authors_el = etree.SubElement(root, q(M, "authors"))
    listing = etree.SubElement(root, q(M, "commentList"))
    for (row, col), note in notes.items():
        if note.author not in authors:
            authors.append(note.author)
            etree.SubElement(authors_el, q(M, "author")).text = note.author
        if note.element is not None:
            el = copy.deepcopy(note.element)
            el.set("ref", cell_ref(row, col))
        else:
            el = etree.Element(q(M, "comment"), ref=cell_ref(row, col))
            text = etree.SubElement(el, q(M, "text"))
            t = etree.SubElement(text, q(M, "t"))
            t.text = note.text
            if note.text != note.text.strip():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        el.set("authorId", str(authors.index(note.author)))
        listing.append(el)
    return to_bytes(root)


def _new_vml(idmap: int):
    root = etree.Element("xml", nsmap={"v": V, "o": O, "x": X})
    layout = etree.SubElement(root, q(O, "shapelayout"))
    layout.set(q(V, "ext"), "edit")
    idmap_el = etree.SubElement(layout, q(O, "idmap"), data=str(idmap))
    idmap_el.set(q(V, "ext"), "edit")
    root.append(_note_shapetype())
    return root


def _note_shapetype():
    st = etree.Element(q(V, "shapetype"), nsmap={"v": V, "o": O}, id="_x0000_t202", coordsize="21600,21600",
                       path="m,l,21600r21600,l21600,xe")
    st.set(q(O, "spt"), "202")
    etree.SubElement(st, q(V, "stroke"), joinstyle="miter")
    path = etree.SubElement(st, q(V, "path"), gradientshapeok="t")
    path.set(q(O, "connecttype"), "rect")
    return st


def _next_shape_id(root) -> int:
    top = 0
    for shape in root.iter(q(V, "shape")):
        m = re.search(r"(\d+)$", shape.get("id") or "")
        if m:
            top = max(top, int(m.group(1)))
    idmap = root.find(f"{q(O, 'shapelayout')}/{q(O, 'idmap')}")
    try:
        base = int((idmap.get("data") or "1").split(",")[0]) * 1024 + 1 if idmap is not None else 1025
    except ValueError:
        base = 1025
    return max(top + 1, base)


def _note_shape(note: Note, row: int, col: int, shape_id: int):
    """A new comment's VML shape, as openpyxl draws it."""
    style = ("position:absolute; margin-left:59.25pt;margin-top:1.5pt;"
             f"width:{note.width}px;height:{note.height}px;z-index:1;visibility:hidden")
    shape = etree.Element(q(V, "shape"), nsmap={"v": V, "o": O, "x": X}, id=f"_x0000_s{shape_id}",
                          type="#_x0000_t202", style=style, fillcolor="#ffffe1")
    shape.set(q(O, "insetmode"), "auto")
    etree.SubElement(shape, q(V, "fill"), color2="#ffffe1")
    etree.SubElement(shape, q(V, "shadow"), color="black", obscured="t")
    path = etree.SubElement(shape, q(V, "path"))
    path.set(q(O, "connecttype"), "none")
    box = etree.SubElement(shape, q(V, "textbox"), style="mso-direction-alt:auto")
    etree.SubElement(box, "div", style="text-align:left")
    data = etree.SubElement(shape, q(X, "ClientData"), ObjectType="Note")
    etree.SubElement(data, q(X, "MoveWithCells"))
    etree.SubElement(data, q(X, "SizeWithCells"))
    etree.SubElement(data, q(X, "AutoFill")).text = "False"
    etree.SubElement(data, q(X, "Row")).text = str(row - 1)
    etree.SubElement(data, q(X, "Column")).text = str(col - 1)
    return shape


# --------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------


@dataclass
class SheetEntry:
    name: str
    element: object  # <sheet> in workbook.xml
    rid: str
    part: str | None
    kind: str  # "worksheet", "chartsheet" or another relationship type's last segment


class Package:
    def __init__(self, data: bytes):
        try:
            self.raw = bytes(data)
            self.zin = zipfile.ZipFile(io.BytesIO(self.raw))
            self.infos = self.zin.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise Unsupported(f"not a zip: {exc}") from None
        if sum(i.file_size for i in self.infos) > MAX_UNCOMPRESSED:
            raise Unsupported("too large")
        if any(i.flag_bits & 0x1 for i in self.infos):
            raise Unsupported("encrypted members")
        self.names = {i.filename for i in self.infos}
        if len(self.names) != len(self.infos):
            raise Unsupported("duplicate zip members")
        self.lower = {n.lower(): n for n in self.names}
        self.written: dict[str, bytes] = {}
        self.removed: set[str] = set()
        self.rels_cache: dict[str, Rels] = {}
        self.vml_roots: dict[str, tuple] = {}
        self.worksheets: dict[str, Worksheet] = {}
        self.content_types = ContentTypes(parse_xml(self.read("[Content_Types].xml")))
        office = self.rels("").by_type(REL_OFFICE_DOCUMENT)
        if len(office) != 1 or office[0][1] is None:
            raise Unsupported("no single workbook part")
        self.workbook_part = office[0][1]
        self.workbook = parse_xml(self.read(self.workbook_part))
        if self.workbook.tag != q(M, "workbook"):
            raise Unsupported("not a transitional SpreadsheetML workbook")
        self.sheets_el = self.workbook.find(q(M, "sheets"))
        if self.sheets_el is None:
            raise Unsupported("no sheets")
        self.book_rels = self.rels(self.workbook_part)
        self.sheets: list[SheetEntry] = []
        for el in self.sheets_el.iterchildren(q(M, "sheet")):
            rid = el.get(q(R, "id"))
            found = next(((ty, t) for _, i, ty, t in self.book_rels.items() if i == rid), None)
            if found is None or found[1] is None or not self.has(found[1]):
                raise Unsupported("a sheet whose part is missing")
            self.sheets.append(SheetEntry(el.get("name") or "", el, rid, found[1], found[0].rsplit("/", 1)[-1]))
        self.workbook_changed = False
        self._styles: Styles | None = None

    # parts ----------------------------------------------------------------

    def has(self, part: str) -> bool:
        return part in self.written or (part in self.names and part not in self.removed)

    def read(self, part: str) -> bytes:
        if part in self.written:
            return self.written[part]
        if part not in self.names or part in self.removed:
            raise Unsupported(f"missing part {part}")
        return self.zin.read(part)

    def write(self, part: str, data: bytes) -> None:
        self.written[part] = data
        self.removed.discard(part)

    def remove_part(self, part: str) -> None:
        self.written.pop(part, None)
        if part in self.names:
            self.removed.add(part)
        self.content_types.remove_override(part)
        rp = rels_path(part)
        if self.has(rp):
            self.written.pop(rp, None)
            if rp in self.names:
                self.removed.add(rp)
        self.rels_cache.pop(part, None)

    def new_part_name(self, pattern: str) -> str:
        n = 1
        taken = {p.lower() for p in self.names | set(self.written)}
        while pattern.format(n).lower() in taken:
            n += 1
        return pattern.format(n)

    def new_idmap(self) -> int:
        """A VML ``o:idmap`` block no drawing of the package uses yet."""
        used = {0}
        for part in (self.names | set(self.written)) - self.removed:
            if part.lower().endswith(".vml"):
                for m in _IDMAP.findall(self.read(part)):
                    used.update(int(x) for x in re.findall(rb"\d+", m))
        return max(used) + 1

    def rels(self, part: str) -> Rels:
        if part not in self.rels_cache:
            path = rels_path(part) if part else "_rels/.rels"
            root = parse_xml(self.read(path)) if self.has(path) else etree.Element(q(PR, "Relationships"),
                                                                                    nsmap={None: PR})
            self.rels_cache[part] = Rels(part, root)
        return self.rels_cache[part]

    @property
    def styles(self) -> Styles:
        if self._styles is None:
            found = self.book_rels.by_type(REL_STYLES)
            if len(found) != 1 or found[0][1] is None:
                raise Unsupported("no single styles part")
            self.styles_part = found[0][1]
            self._styles = Styles(parse_xml(self.read(self.styles_part)))
        return self._styles

    def worksheet(self, name: str) -> Worksheet | None:
        entry = next((s for s in self.sheets if s.name == name), None)
        if entry is None or entry.kind != "worksheet":
            return None
        if name not in self.worksheets:
            self.worksheets[name] = Worksheet(self, name, entry.part)
        return self.worksheets[name]

    def worksheet_notes_authored(self) -> list[str]:
        """Names of the worksheets that have a comments part."""
        return [s.name for s in self.sheets if s.kind == "worksheet" and self.rels(s.part).by_type(REL_COMMENTS)]

    # sheets of the workbook -------------------------------------------------

    def _defined_names(self, create: bool = False):
        names = self.workbook.find(q(M, "definedNames"))
        if names is None and create:
            names = etree.Element(q(M, "definedNames"))
            after = next((el for el in self.workbook if local(el.tag) in _AFTER_NAMES), None)
            if after is not None:
                after.addprevious(names)
            else:
                self.workbook.append(names)
        return names

    def _shift_local_names(self, index: int, delta: int) -> None:
        """Sheet-local defined names after a sheet is inserted (+1) or removed (-1) at ``index``."""
        names = self._defined_names()
        if names is None:
            return
        for el in names.xpath("*[@localSheetId]"):
            try:
                at = int(el.get("localSheetId"))
            except ValueError:
                continue
            if delta < 0 and at == index:
                names.remove(el)
            elif at >= index:
                el.set("localSheetId", str(at + delta))

    def _shift_views(self, index: int, delta: int) -> None:
        for view in self.workbook.iterfind(f"{q(M, 'bookViews')}/{q(M, 'workbookView')}"):
            for attr in ("activeTab", "firstSheet"):
                try:
                    at = int(view.get(attr))
                except (TypeError, ValueError):
                    continue
                if at > index or (delta > 0 and at == index):
                    view.set(attr, str(max(0, at + delta)))

    def remove_sheet(self, name: str) -> None:
        index = next(i for i, s in enumerate(self.sheets) if s.name == name)
        entry = self.sheets.pop(index)
        self.sheets_el.remove(entry.element)
        self.book_rels.remove(entry.rid)
        self._shift_local_names(index, -1)
        self._shift_views(index, -1)
        self._remove_with_orphans(entry.part)
        self.worksheets.pop(name, None)
        self.app_titles(remove=name)
        self.workbook_changed = True

    def _remove_with_orphans(self, part: str, depth: int = 0) -> None:
        """Remove ``part`` and what only it pointed to."""
        targets = [t for _, _, _, t in self.rels(part).items() if t is not None] if depth < 4 else []
        self.remove_part(part)
        for target in targets:
            if self.has(target) and not self._referenced(target):
                self._remove_with_orphans(target, depth + 1)

    def _referenced(self, part: str) -> bool:
        for name in (self.names | set(self.written)) - self.removed:
            if name.endswith(".rels"):
                folder = posixpath.dirname(posixpath.dirname(name))
                source = posixpath.join(folder, posixpath.basename(name)[: -len(".rels")])
                source = "" if name == "_rels/.rels" else source
                if any(t == part for _, _, _, t in self.rels(source).items()):
                    return True
        return False

    def insert_first(self, name: str, sheet_xml: bytes, local_names: list[tuple[str, str, bool]]) -> None:
        """Add a worksheet as the first tab, active and the only one selected, with its local defined names."""
        if any(s.name.lower() == name.lower() for s in self.sheets):
            raise Unsupported(f"a sheet called {name} already")
        part = self.new_part_name("xl/worksheets/sheet{}.xml")
        self.write(part, sheet_xml)
        self.content_types.add_override(part, CT_WORKSHEET)
        rid = self.book_rels.add(REL_WORKSHEET, part)
        ids = [int(s.element.get("sheetId") or 0) for s in self.sheets if (s.element.get("sheetId") or "").isdigit()]
        el = etree.Element(q(M, "sheet"), name=name, sheetId=str(max(ids, default=0) + 1))
        el.set(q(R, "id"), rid)
        self.sheets_el.insert(0, el)
        self._shift_local_names(0, +1)
        self._shift_views(0, +1)
        names = self._defined_names(create=True)
        for i, (dn, value, hidden) in enumerate(local_names):
            d = etree.Element(q(M, "definedName"), name=dn, localSheetId="0")
            if hidden:
                d.set("hidden", "1")
            d.text = value
            names.insert(i, d)
        views = self.workbook.find(q(M, "bookViews"))
        for view in views.iterfind(q(M, "workbookView")) if views is not None else ():
            view.set("activeTab", "0")
            view.set("firstSheet", "0")
        # every other tab unselected: two selected tabs are grouped, and an edit would go to both
        for entry in self.sheets:
            if entry.kind not in ("worksheet", "chartsheet"):
                continue
            if entry.name in self.worksheets:
                self.worksheets[entry.name].unselect()
            elif self._tab_selected(entry.part):
                self._unselect_part(entry)
        self.sheets.insert(0, SheetEntry(name, el, rid, part, "worksheet"))
        self.app_titles(add=name)
        self.workbook_changed = True

    def _tab_selected(self, part: str) -> bool:
        """Whether a sheet part's view is selected; from its head alone when its views are there."""
        if part in self.written:
            return bool(_TAB_SELECTED.search(self.written[part]))
        with self.zin.open(part) as fh:
            head = fh.read(_HEAD)
        if b"sheetViews>" in head or b"<sheetData" in head:
            return bool(_TAB_SELECTED.search(head.split(b"<sheetData", 1)[0]))
        return bool(_TAB_SELECTED.search(self.read(part)))

    def _unselect_part(self, entry: SheetEntry) -> None:
        if entry.kind == "worksheet":
            self.worksheet(entry.name).unselect()
            return
        root = parse_xml(self.read(entry.part))
        for view in root.iter(q(M, "sheetView")):
            if view.get("tabSelected") in ("1", "true"):
                view.set("tabSelected", "0")
        self.write(entry.part, to_bytes(root))

    # docProps/app.xml -----------------------------------------------------

    def app_titles(self, *, add: str | None = None, remove: str | None = None) -> None:
        """Keep the worksheet titles of ``docProps/app.xml`` (when it lists them) in step with the tabs."""
        found = self.rels("").by_type(REL_APP)
        if len(found) != 1 or found[0][1] is None or not self.has(found[0][1]):
            return
        part = found[0][1]
        root = parse_xml(self.read(part))
        pairs = root.find(f"{q(EP, 'HeadingPairs')}/{q(VT, 'vector')}")
        titles = root.find(f"{q(EP, 'TitlesOfParts')}/{q(VT, 'vector')}")
        if pairs is None or titles is None:
            return
        try:
            variants = list(pairs.iterfind(q(VT, "variant")))
            groups = [(variants[i], variants[i + 1]) for i in range(0, len(variants) - 1, 2)]
            counts = [int(g[1].findtext(q(VT, "i4"))) for g in groups]
            items = list(titles)
            if sum(counts) != len(items):
                raise ValueError
            names = [el.text or "" for el in items]
            first = 0
            for g, n in zip(groups, counts):
                chunk = names[first:first + n]
                if remove is not None and remove in chunk:
                    titles.remove(items[first + chunk.index(remove)])
                    g[1].find(q(VT, "i4")).text = str(n - 1)
                    break
                if add is not None and len(self.sheets) > 1 and self.sheets[1].name in chunk:
                    el = etree.Element(q(VT, "lpstr"))
                    el.text = add
                    items[first].addprevious(el)
                    g[1].find(q(VT, "i4")).text = str(n + 1)
                    break
                first += n
            else:
                return
            titles.set("size", str(len(titles)))
        except (ValueError, TypeError, AttributeError, IndexError):
            # titles that do not add up: leave them out (optional; Excel writes them anew)
            for tag in ("HeadingPairs", "TitlesOfParts"):
                el = root.find(q(EP, tag))
                if el is not None:
                    root.remove(el)
        self.write(part, to_bytes(root))

    # saving -----------------------------------------------------------------

    def save(self) -> bytes:
        for sheet in self.worksheets.values():
            if sheet.notes_changed:
                sheet.write_notes()
        for sheet in self.worksheets.values():
            if sheet.changed:
                self.write(sheet.part, to_bytes(sheet.root))
        if self._styles is not None and self._styles.changed:
            self.write(self.styles_part, to_bytes(self._styles.root))
        if self.workbook_changed:
            self.write(self.workbook_part, to_bytes(self.workbook))
        for part, rels in self.rels_cache.items():
            if rels.changed and (not part or self.has(part)):
                self.write(rels_path(part) if part else "_rels/.rels", to_bytes(rels.root))
        if self.content_types.changed:
            self.write("[Content_Types].xml", to_bytes(self.content_types.root))
        out = _ZipWriter()
        for info in self.infos:
            name = info.filename
            if name in self.removed:
                continue
            if name in self.written:
                out.add(name, self.written[name], info.date_time)
            else:
                out.copy(self.raw, info)
        for name, data in self.written.items():
            if name not in self.names:
                out.add(name, data, (1980, 1, 1, 0, 0, 0))
        return out.finish()


_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_UTF8 = 0x800


class _ZipWriter:
    """A plain zip (no zip64), to which a member of another zip can be copied as its compressed bytes.

    ``zipfile`` can only copy a member by decompressing and compressing it again: for a workbook's
    parts, most of the time of writing it."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.central: list[bytes] = []

    def _entry(self, name: str, flags: int, method: int, date_time, crc: int, csize: int, usize: int,
               data: bytes, external: int = 0o600 << 16) -> None:
        if csize > 0xFFFF_FFF0 or usize > 0xFFFF_FFF0 or len(self.central) > 0xFFF0:
            raise Unsupported("too large for a plain zip")
        raw = name.encode("utf-8")
        flags = (flags & ~0x8) | (_UTF8 if not name.isascii() else 0)
        y, mo, d, h, mi, sec = date_time
        dos_time = (h << 11) | (mi << 5) | (sec // 2)
        dos_date = (max(y, 1980) - 1980) << 9 | (mo << 5) | d
        offset = self.buf.tell()
        self.buf.write(_LOCAL.pack(b"PK\x03\x04", 20, flags, method, dos_time, dos_date, crc, csize, usize,
                                   len(raw), 0))
        self.buf.write(raw)
        self.buf.write(data)
        self.central.append(_CENTRAL.pack(b"PK\x01\x02", (3 << 8) | 20, 20, flags, method, dos_time, dos_date,
                                          crc, csize, usize, len(raw), 0, 0, 0, 0, external, offset) + raw)

    def add(self, name: str, data: bytes, date_time) -> None:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
        self._entry(name, 0, zipfile.ZIP_DEFLATED, date_time, zlib.crc32(data), len(packed), len(data), packed)

    def copy(self, raw: bytes, info: zipfile.ZipInfo) -> None:
        """``info``'s member of the zip ``raw``, its compressed bytes as they are."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Unsupported("a member compressed in another way")
        at = info.header_offset
        head = raw[at:at + 30]
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise Unsupported("a member without its local header")
        name_len, extra_len = struct.unpack("<2H", head[26:30])
        start = at + 30 + name_len + extra_len
        data = raw[start:start + info.compress_size]
        if len(data) != info.compress_size:
            raise Unsupported("a truncated member")
        self._entry(info.filename, info.flag_bits & 0x6, info.compress_type, info.date_time, info.CRC,
                    info.compress_size, info.file_size, data, info.external_attr or 0o600 << 16)

    def finish(self) -> bytes:
        start = self.buf.tell()
        for entry in self.central:
            self.buf.write(entry)
        size = self.buf.tell() - start
        self.buf.write(_END.pack(b"PK\x05\x06", 0, 0, len(self.central), len(self.central), size, start, 0))
        return self.buf.getvalue()
