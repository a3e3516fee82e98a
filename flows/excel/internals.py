"""The few private attributes of openpyxl 3.1 that nianbao relies on, in one place.

openpyxl has no public API for these; each function says what it stands for.
If an openpyxl upgrade moves them, this module is the only one to change
(``tests/test_xlsx_outputs.py`` covers every function through the writers).
"""

from __future__ import annotations

from collections.abc import Iterator

from openpyxl.styles.cell_style import StyleArray


def cells_with_comments(ws) -> list:
    """The cells of a worksheet that carry a comment, without creating any cell."""
    return [c for c in ws._cells.values() if c.comment is not None]


def all_sheets(wb) -> Iterator:
    """Worksheets and chartsheets alike, in tab order (``wb.worksheets`` leaves chartsheets out)."""
    return iter(wb._sheets)


def shared_style(wb, *, font=None, border=None) -> StyleArray:
    """A style registered once in the workbook's tables, to give many cells with :func:`apply_style`.

    Setting ``cell.font`` looks the font up in the workbook's table again for every
    cell; a rollup table has tens of thousands of cells.
    """
    style = StyleArray()
    if font is not None:
        style.fontId = wb._fonts.add(font)
    if border is not None:
        style.borderId = wb._borders.add(border)
    return style


def apply_style(cell, style: StyleArray) -> None:
    """What ``cell.font = …; cell.border = …`` does, from a :func:`shared_style`."""
    cell._style = StyleArray(style)


def alignment_id(wb, alignment) -> int:
    """The index of ``alignment`` in the workbook's table, for :func:`set_alignment`."""
    return wb._alignments.add(alignment)


def set_alignment(cell, index: int) -> None:
    """What ``cell.alignment = …`` does, given :func:`alignment_id`."""
    cell._style.alignmentId = index
