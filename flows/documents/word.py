"""Reading a Word (.docx) report: its paragraphs and tables in document order, tables with their real grid.

A table becomes a :class:`~nianbao.schemas.placement.Grid` in column and row units, built from the
table's XML as Word writes it: a cell's ``w:gridSpan`` is its width in grid columns, ``w:vMerge``
(``restart``, then continuing cells below) its height, ``w:gridBefore``/``w:gridAfter`` the grid
columns a row leaves empty.  A table used only for page layout (one cell holding the real tables)
is read as body.  Text boxes, headers and footers are not read.  Pure: bytes in, items out.
"""

from __future__ import annotations

import io

from nianbao.schemas.placement import GRID, Box, Grid
from nianbao.schemas.published import Line

from docx import Document
from docx.oxml.ns import qn

_P, _TBL, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
_SDT, _SDT_CONTENT = qn("w:sdt"), qn("w:sdtContent")
_WRAPPERS = {_SDT, qn("w:customXml"), qn("w:smartTag")}  # content controls and tags around body parts
_SKIPPED = {qn("w:del"), qn("w:moveFrom"), qn("w:txbxContent"), qn("w:pPr"), qn("w:rPr"),
            qn("w:instrText"), qn("w:delText")}
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _children(element):
    """The children of ``element``, looking through content controls and custom XML wrappers."""
    for child in element:
        if child.tag in _WRAPPERS:
            content = child.find(_SDT_CONTENT) if child.tag == _SDT else child
            if content is not None:
                yield from _children(content)
        else:
            yield child


def _paragraph_text(p) -> str:
    """The text a reader sees in a paragraph: runs, hyperlinks, inserted text and field results;
    tabs as tabs, line breaks as newlines; deleted text, text boxes and field codes left out."""
    out: list[str] = []

    def walk(el) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIPPED or tag == _MC_FALLBACK:
                continue
            if tag == qn("w:t"):
                out.append(child.text or "")
            elif tag in (qn("w:tab"), qn("w:ptab")):
                out.append("\t")
            elif tag in (qn("w:br"), qn("w:cr")):
                out.append("\n")
            elif tag == qn("w:noBreakHyphen"):
                out.append("-")
            else:
                walk(child)

    walk(p)
    return "".join(out)


def _int_val(parent, tag: str, default: int = 0) -> int:
    if parent is None:
        return default
    el = parent.find(tag)
    if el is None:
        return default
    try:
        return max(0, int(el.get(qn("w:val"), default)))
    except ValueError:
        return default


def _cell_text(tc) -> str:
    """A cell's paragraphs joined by newlines; a nested table's rows as lines, its cells by spaces."""
    parts: list[str] = []
    for child in _children(tc):
        if child.tag == _P:
            parts.append(_paragraph_text(child))
        elif child.tag == _TBL:
            for tr in _children(child):
                if tr.tag == _TR:
                    cells = [_cell_text(c) for c in _children(tr) if c.tag == _TC]
                    parts.append(" ".join(c.replace("\n", " ") for c in cells if c.strip()))
    while parts and not parts[-1].strip():
        parts.pop()
    while parts and not parts[0].strip():
        parts.pop(0)
    return "\n".join(parts)


def _layout_cell(tbl):
    """The one cell of a table used for page layout (a single cell holding tables), else None."""
    rows = [tr for tr in _children(tbl) if tr.tag == _TR]
    cells = [tc for tr in rows for tc in _children(tr) if tc.tag == _TC]
    if len(cells) != 1:
        return None
    tc = cells[0]
    return tc if any(child.tag == _TBL for child in _children(tc)) else None


def _grid(tbl) -> Grid:
    """The table's cells as boxes in grid units: x by grid column, y by row; merged cells one box."""
    boxes: list[list] = []  # [text, x0, x1, y0, y1], y1 grows while vMerge continues
    open_cells: dict[int, list] = {}  # grid column where a cell starts → that cell, for vMerge continuation
    y = 0
    for tr in _children(tbl):
        if tr.tag != _TR:
            continue
        tr_pr = tr.find(qn("w:trPr"))
        x = _int_val(tr_pr, qn("w:gridBefore"))
        still_open: dict[int, list] = {}
        row_boxes: list[list] = []
        for tc in _children(tr):
            if tc.tag != _TC:
                continue
            tc_pr = tc.find(qn("w:tcPr"))
            span = max(1, _int_val(tc_pr, qn("w:gridSpan"), 1))
            vmerge = tc_pr.find(qn("w:vMerge")) if tc_pr is not None else None
            continues = vmerge is not None and vmerge.get(qn("w:val"), "continue") == "continue"
            hmerge = tc_pr.find(qn("w:hMerge")) if tc_pr is not None else None
            if hmerge is not None and hmerge.get(qn("w:val"), "continue") == "continue" and row_boxes:
                row_boxes[-1][2] = x + span  # Word 97's horizontal merge: this cell widens the one before
                x += span
                continue
            above = open_cells.get(x)
            if continues and above is not None and above[4] == y:
                above[4] = y + 1
                extra = _cell_text(tc)  # Word keeps continued cells empty; text there still belongs to the cell
                if extra.strip():
                    above[0] = "\n".join(t for t in (above[0], extra) if t)
                still_open[x] = above
            else:
                box = [_cell_text(tc), x, x + span, y, y + 1]
                boxes.append(box)
                row_boxes.append(box)
                if vmerge is not None:  # restart (or a continuation with nothing above: a start)
                    still_open[x] = box
            x += span
        open_cells = still_open
        y += 1
    return Grid(tuple(Box(t, x0, x1, y0, y1) for t, x0, x1, y0, y1 in boxes), GRID)


def _body(element, out: list) -> None:
    for child in _children(element):
        if child.tag == _P:
            text = _paragraph_text(child)
            if text.strip():
                out.append(Line((text,)))
        elif child.tag == _TBL:
            layout = _layout_cell(child)
            if layout is not None:
                _body(layout, out)
            else:
                grid = _grid(child)
                if grid.boxes:
                    out.append(grid)


def read_docx(data: bytes) -> list[Line | Grid]:
    """The document's paragraphs (as :class:`Line` s, empty ones left out) and tables (as GRID
    :class:`Grid` s), in document order."""
    document = Document(io.BytesIO(data))
    out: list[Line | Grid] = []
    _body(document.element.body, out)
    return out


def docx_title(data: bytes) -> str:
    """The title in the document's properties (File → Properties), or ""."""
    document = Document(io.BytesIO(data))
    return (document.core_properties.title or "").strip()
