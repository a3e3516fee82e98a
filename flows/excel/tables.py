"""Plain tables: the rollup workbook's extra sheets, and reading a sheet row by row (a roster)."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Mapping, Sequence

from openpyxl import load_workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from nianbao.schemas.layout import a1, column_letter
from .styles import BODY_FONT, CENTRE, GRID, HEADER_FILL, HEADER_FONT, LINE_HEIGHT, MIN_TABLE_ROW, PAPER_A4, ROW_PADDING, clean_text, line_count, print_setup, style_cell, text_width, write_text
from .internals import alignment_id, apply_style, set_alignment, shared_style
from .template import build_template



# --------------------------------------------------------------------------
# The county rollup: the template, filled with the totals, plus plain tables
# --------------------------------------------------------------------------

_INVALID_SHEET_CHARS = set("[]:*?/\\")
TEXT_COLUMN_WIDTH = (10.0, 50.0)  # min, max
NUMBER_COLUMN_WIDTH = (8.0, 18.0)
FIT_COLUMNS = 12  # a table this wide or narrower is printed fitted to the page width


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
    widths: dict[int, float] = {}
    for c in range(1, ncols + 1):
        low, high = TEXT_COLUMN_WIDTH if is_text[c - 1] else NUMBER_COLUMN_WIDTH
        widths[c] = round(min(max(width_need[c - 1], low), high), 1)
        ws.column_dimensions[column_letter(c)].width = widths[c]
    body = Alignment(vertical="center", wrap_text=True)
    body_alignment = alignment_id(wb, body)
    for r, values in enumerate(cleaned, start=2):
        lines = 1
        for c, value in enumerate(values, start=1):
            if isinstance(value, str) and value:
                set_alignment(ws.cell(row=r, column=c), body_alignment)
                lines = max(lines, line_count(value, widths[c]))
        if lines > 1:
            ws.row_dimensions[r].height = round(lines * LINE_HEIGHT + ROW_PADDING, 1)
    if header:
        lines = max((line_count(clean_text(h), widths[c]) for c, h in enumerate(header, start=1) if h is not None),
                    default=1)
        ws.row_dimensions[1].height = round(max(MIN_TABLE_ROW, lines * LINE_HEIGHT + ROW_PADDING), 1)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{a1(max(1, len(rows) + 1), ncols)}"
        ws.print_title_rows = "1:1"
    if ncols <= FIT_COLUMNS:
        print_setup(ws, landscape=ncols > 6, last_row=max(1, len(rows) + 1), last_col=max(ncols, 1))
    else:  # too wide to shrink onto one page width: print as is, header on every page
        ws.page_setup.paperSize = PAPER_A4
        ws.page_setup.orientation = "landscape"


def write_rollup(
    target,
    *,
    values: Mapping[str, object],
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]],
) -> None:
    """Write the county rollup to ``target`` (a path or binary file object).

    The rollup is the template itself — same sheets, defined names, labels and
    protection — with ``values`` (code → value) written into the named cells,
    followed by ``extra_sheets``: (sheet name, header, rows) tables, unprotected.
    Non-finite numbers (NaN) are written as empty cells; text is always text.
    """
    wb = build_template(values={code: _cell_value(v) for code, v in values.items()})
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
