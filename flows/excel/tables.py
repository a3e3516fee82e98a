"""Plain tables: the rollup workbook's extra sheets, and reading a sheet row by row (a roster)."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Mapping, Sequence

from openpyxl import load_workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from nianbao.schemas.form import FORM
from nianbao.schemas.layout import a1, column_letter
from .styles import (
    BODY_FONT,
    CENTRE,
    GRID,
    HEADER_FILL,
    HEADER_FONT,
    LINE_HEIGHT,
    MIN_TABLE_ROW,
    ROW_PADDING,
    clean_text,
    line_count,
    print_setup,
    style_cell,
    text_width,
    write_text,
)
from .internals import alignment_id, apply_style, set_alignment, shared_style
from .template import build_template



# --------------------------------------------------------------------------
# The county rollup: the template, filled with the totals, plus plain tables
# --------------------------------------------------------------------------

_INVALID_SHEET_CHARS = set("[]:*?/\\")
TEXT_COLUMN_WIDTH = (10.0, 50.0)  # min, max
NUMBER_COLUMN_WIDTH = (8.0, 18.0)
FIT_COLUMNS = 12  # a table this wide or narrower is printed fitted to the page width
MATRIX_LABEL_WIDTH = 44.0  # a matrix's row labels wrap at this width …
MATRIX_NUMBER_WIDTH = 11.0  # … and its columns of numbers (their headers wrap), so that a printed page holds many
MATRIX_PRINT_SCALE = 75  # percent: a matrix too wide to fit a page prints at this scale, its labels on every page


def _cell_value(value: object) -> object:
    """What a data cell holds: numbers stay numbers, non-finite numbers are empty."""
    if value is None or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    if isinstance(value, numbers.Real):
        try:
            return value if math.isfinite(float(value)) else None
        except (TypeError, ValueError, OverflowError):
            return None
    return clean_text(value)


def _display(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _check_sheet_name(name: str, taken: set[str]) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"empty sheet name: {name!r}")
    if len(name) > 31 or _INVALID_SHEET_CHARS & set(name) or name.startswith("'") or name.endswith("'"):
        raise ValueError(f"not a valid Excel sheet name: {name!r}")
    if name.casefold() in taken:
        raise ValueError(f"duplicate sheet name: {name!r}")
    taken.add(name.casefold())


def _write_table_sheet(ws: Worksheet, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain table: bold filled header, rows below, frozen header, filter, fitted widths."""
    ncols = max([len(header)] + [len(r) for r in rows]) if (header or rows) else 0
    width_need = [text_width(clean_text(h)) * 1.1 + 2 if h is not None else 0.0 for h in header]
    width_need += [0.0] * (ncols - len(width_need))
    is_text = [False] * ncols
    for c, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=c)
        write_text(cell, name)
        style_cell(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    # A rollup table can have tens of thousands of cells: their style (body font, grid border) is
    # looked up in the workbook's style tables once, not once per cell as ``cell.font = …`` would.
    wb = ws.parent
    body_style = shared_style(wb, font=BODY_FONT, border=GRID)
    cleaned = []
    for r, raw in enumerate(rows, start=2):
        out = []
        for c, value in enumerate(raw, start=1):
            value = _cell_value(value)
            out.append(value)
            cell = ws.cell(row=r, column=c)
            apply_style(cell, body_style)
            if isinstance(value, str):
                if value:
                    write_text(cell, value)
                    is_text[c - 1] = True
            else:
                cell.value = value
            width_need[c - 1] = max(width_need[c - 1], text_width(_display(value)) + 2)
        cleaned.append(out)
        for c in range(len(raw) + 1, ncols + 1):
            ws.cell(row=r, column=c).border = GRID
    codes = _code_columns(cleaned, ncols)
    labels = _label_columns(cleaned, ncols)
    widths: dict[int, float] = {}
    for c in range(1, ncols + 1):
        low, high = TEXT_COLUMN_WIDTH if is_text[c - 1] else NUMBER_COLUMN_WIDTH
        if labels:
            high = min(high, MATRIX_LABEL_WIDTH if c <= labels else MATRIX_NUMBER_WIDTH)
        widths[c] = round(min(max(width_need[c - 1], low), high), 1)
        ws.column_dimensions[column_letter(c)].width = widths[c]
    for c in codes:  # the cell codes are for programs (lookups by code); people read the labels beside them
        ws.column_dimensions[column_letter(c)].hidden = True
    body = Alignment(vertical="center", wrap_text=True)
    body_alignment = alignment_id(wb, body)
    number_alignment = alignment_id(wb, Alignment(vertical="center"))  # beside a label of two lines, level with it
    for r, values in enumerate(cleaned, start=2):
        lines = 1
        for c, value in enumerate(values, start=1):
            if value is not None and not isinstance(value, str):
                set_alignment(ws.cell(row=r, column=c), number_alignment)
            if isinstance(value, str) and value:
                set_alignment(ws.cell(row=r, column=c), body_alignment)
                if c not in codes:
                    lines = max(lines, line_count(value, widths[c]))
        if lines > 1:
            ws.row_dimensions[r].height = round(lines * LINE_HEIGHT + ROW_PADDING, 1)
    fit = ncols <= FIT_COLUMNS
    print_setup(ws, landscape=ncols > 6, last_row=max(1, len(rows) + 1), last_col=max(ncols, 1), fit_width=fit)
    if labels and not fit:
        ws.page_setup.scale = MATRIX_PRINT_SCALE
    if header:
        lines = max((line_count(clean_text(h), widths[c]) for c, h in enumerate(header, start=1) if h is not None),
                    default=1)
        ws.row_dimensions[1].height = round(max(MIN_TABLE_ROW, lines * LINE_HEIGHT + ROW_PADDING), 1)
        ws.freeze_panes = a1(2, labels + 1)  # the header row, and a matrix's label columns
        ws.auto_filter.ref = f"A1:{a1(max(1, len(rows) + 1), ncols)}"
        ws.print_title_rows = "1:1"
    if labels:  # every printed page of a matrix names its rows
        ws.print_title_cols = f"A:{column_letter(labels)}"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _code_columns(rows: Sequence[Sequence[object]], ncols: int) -> list[int]:
    """Columns (1-based) holding nothing but the form's cell codes."""
    out = []
    for c in range(ncols):
        values = [r[c] for r in rows if c < len(r)]
        if values and all(isinstance(v, str) and v in FORM.cell_by_code for v in values):
            out.append(c + 1)
    return out


def _label_columns(rows: Sequence[Sequence[object]], ncols: int) -> int:
    """How many leading columns label the rows of a matrix (0 when the table is not one).

    A matrix is a table whose leading columns hold text and whose other columns, more than the
    text ones, hold numbers: the county's numbers by agency, for instance.
    """
    if not rows:
        return 0

    def kind(c: int) -> str:
        values = [r[c] for r in rows if c < len(r) and r[c] not in (None, "")]
        if values and all(isinstance(v, str) for v in values):
            return "text"
        return "number" if all(_is_number(v) for v in values) else "other"

    kinds = [kind(c) for c in range(ncols)]
    text = next((i for i, k in enumerate(kinds) if k != "text"), ncols)
    if text == 0 or any(k != "number" for k in kinds[text:]) or ncols - text <= text:
        return 0
    return text


def write_rollup(
    target,
    *,
    values: Mapping[str, object],
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]],
    made: dt.date | None = None,
) -> None:
    """Write the county rollup to ``target`` (a path or binary file object).

    The rollup is the template as a result — same form sheets, defined names, labels and
    protection, without what is there to be filled in (instructions, input fills, hints;
    see :func:`build_template`) — with ``values`` (code → value) written into the named cells
    and the day it was ``made`` (today by default) on its cover, followed by ``extra_sheets``:
    (sheet name, header, rows) tables, unprotected.  Non-finite numbers (NaN) are written as
    empty cells; text is always text.
    """
    made = made or dt.date.today()
    wb = build_template(values={code: _cell_value(v) for code, v in values.items()}, result=True, made=made)
    taken = {name.casefold() for name in wb.sheetnames}
    for name, header, rows in extra_sheets:
        _check_sheet_name(name, taken)
        _write_table_sheet(wb.create_sheet(name), list(header), [list(r) for r in rows])
    wb.save(target)


def read_rows(source, sheet: str | None = None) -> list[list[object]]:
    """The values of a sheet of a workbook (by default the first: a roster), row by row.

    A ``sheet`` the workbook does not have raises ``KeyError``.
    """
    wb = load_workbook(source, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0] if sheet is None else wb[sheet]
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
