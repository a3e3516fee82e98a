"""Cell styles and small cell helpers shared by every workbook nianbao writes."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.worksheet import Worksheet

from nianbao.schemas.values import FORMULA_PREFIXES
from nianbao.schemas.layout import LAYOUT, a1, column_letter


# --------------------------------------------------------------------------
# Styles
# --------------------------------------------------------------------------

FONT_NAME = "宋体"
TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)
SUBTITLE_FONT = Font(name=FONT_NAME, size=11, bold=True)
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)
BODY_FONT = Font(name=FONT_NAME, size=11)
HINT_FONT = Font(name=FONT_NAME, size=9, color="808080")
HEADING_FONT = Font(name=FONT_NAME, size=12, bold=True)

THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # light yellow: to be filled
TOTAL_FILL = PatternFill("solid", fgColor="D9D9D9")  # grey: computed / written by us
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")

CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
LEFT_INDENT = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

NUMBER_FORMATS = {"integer": "0", "decimal": "0.00"}
TEXT_FORMAT = "@"

PAPER_A4 = 9
PAGE_MARGIN_SIDE = 0.5  # inches
PAGE_MARGIN_END = 0.75  # top and bottom: the header and footer print inside these …
HEADER_FOOTER_MARGIN = 0.3  # … this far from the paper's edge, leaving 0.45 in for a line of footer
LINE_HEIGHT = 16.0  # points per wrapped line at 11 pt (CJK fonts run tall)
ROW_PADDING = 6.0
MIN_TABLE_ROW = 22.0
CJK_WIDTH = 1.8  # column-width units taken by one full-width character at 11 pt


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------



MAX_CELL_TEXT = 32_767  # Excel's limit on the characters of one cell


def clean_text(value: object) -> str:
    """``value`` as text a worksheet can hold: no XML-illegal control characters, not too long."""
    text = value if isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_TEXT]


def write_text(cell, value: object) -> None:
    """Write ``value`` into ``cell`` as text, never as a formula (or an error value).

    openpyxl turns a string starting with ``=`` into a formula and ``#N/A`` into
    an error; text written here stays a string whatever it starts with.  Text
    that a spreadsheet would take for a formula when typed (``=`` ``+`` ``-``
    ``@``) also gets Excel's quote prefix, so that editing the cell keeps it text.
    ``None`` empties the cell.
    """
    if value is None:
        cell.value = None
        return
    text = clean_text(value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def text_width(text: str) -> float:
    """Approximate width of ``text`` in column-width units at 11 pt."""
    return sum(
        CJK_WIDTH if unicodedata.east_asian_width(ch) in "WFA" else 1.1 for ch in text
    )


def line_count(text: str, width: float) -> int:
    """How many wrapped lines ``text`` takes in a cell ``width`` units wide."""
    usable = max(width - 1.0, 1.0)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in text.split("\n"))


def span_width(widths: Mapping[int, float], c1: int, c2: int, default: float = 9.0) -> float:
    return sum(widths.get(c, default) for c in range(c1, c2 + 1))


def absolute_ref(sheet: str, row: int, col: int) -> str:
    """An absolute, always-quoted reference: ``'表三'!$D$5``."""
    return f"'{sheet}'!${column_letter(col)}${row}"


def runs(values: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integers: [1,2,3,5] → [(1,3),(5,5)]."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def compact_ranges(cells: Iterable[tuple[int, int]]) -> list[str]:
    """A1 ranges covering exactly ``cells``: row runs per column, then equal columns joined."""
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    boxes: list[list[int]] = []  # [r1, r2, c1, c2]
    for c in sorted(by_col):
        for r1, r2 in runs(by_col[c]):
            prev = next((b for b in boxes if b[:2] == [r1, r2] and b[3] == c - 1), None)
            if prev:
                prev[3] = c
            else:
                boxes.append([r1, r2, c, c])
    return [
        a1(r1, c1) if (r1, c1) == (r2, c2) else f"{a1(r1, c1)}:{a1(r2, c2)}"
        for r1, r2, c1, c2 in boxes
    ]


def sum_formula(parts: Iterable[str]) -> str:
    """``=SUM(...)`` over the parts' cells, with compact ranges where contiguous."""
    places = [LAYOUT.place(code) for code in parts]
    sheets = {s for s, _, _ in places}
    if len(sheets) != 1:
        raise ValueError(f"sum parts on several sheets: {sorted(sheets)}")
    rows = {r for _, r, _ in places}
    cols = {c for _, _, c in places}
    if len(rows) == 1:
        (row,) = rows
        ranges = [(row, c1, row, c2) for c1, c2 in runs(list(cols))]
    elif len(cols) == 1:
        (col,) = cols
        ranges = [(r1, col, r2, col) for r1, r2 in runs(list(rows))]
    else:
        ranges = [(r, c, r, c) for _, r, c in places]
    refs = [
        a1(r1, c1) if (r1, c1) == (r2, c2) else f"{a1(r1, c1)}:{a1(r2, c2)}"
        for r1, c1, r2, c2 in ranges
    ]
    return "=SUM(" + ",".join(refs) + ")"


def style_cell(cell, *, font=None, alignment=None, border=None, fill=None, fmt=None, protection=None):
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt
    if protection is not None:
        cell.protection = protection


def protect(ws: Worksheet) -> None:
    """Protect the sheet (no password): labels fixed, unlocked inputs editable."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # False = allowed
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def print_setup(
    ws: Worksheet, *, landscape: bool, last_row: int, last_col: int, one_page: bool = False, fit_width: bool = True
) -> None:
    """A4, fit to one page wide (and tall for a form table), centred, with a footer.

    ``fit_width=False`` prints at full size (a table too wide to shrink onto one page: its
    columns run over several pages, with print titles to label them).
    """
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1 if fit_width else 0
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = fit_width
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = PAGE_MARGIN_SIDE
    ws.page_margins.top = ws.page_margins.bottom = PAGE_MARGIN_END
    ws.page_margins.header = ws.page_margins.footer = HEADER_FOOTER_MARGIN
    ws.print_area = f"A1:{a1(last_row, last_col)}"
    ws.oddFooter.center.text = "&A　第 &P 页，共 &N 页"


