"""Where every label and input of the form stands in the template.

Pure computation from :mod:`nianbao.schemas.form`: the template writer places cells
with it, the reader verifies labels with it, and findings fall back to it for
cell addresses.  Rows and columns are 1-based, as in Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .form import (
    COVER_SHEET,
    FORM,
    FORMAT_SOURCE,
    FORMAT_TITLE,
    META_FIELDS,
    TEXT_FIELDS,
    TEXT_SHEET,
    Block,
    Form,
    Table,
)


def column_letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """``"$C$5"`` or ``"C5"`` → ``(5, 3)``."""
    ref = ref.replace("$", "").upper()
    i = 0
    while i < len(ref) and ref[i].isalpha():
        i += 1
    letters, digits = ref[:i], ref[i:]
    if not letters or not digits.isdigit() or len(letters) > 3:
        raise ValueError(f"not a cell reference: {ref!r}")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits), col


@dataclass(frozen=True)
class Text:
    """A fixed text cell of the template (a label, title or header)."""

    row: int
    col: int
    text: str
    role: str  # title, subtitle, corner, header, label


@dataclass
class SheetLayout:
    name: str
    width: int = 1  # number of used columns
    texts: list[Text] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2
    inputs: dict[str, tuple[int, int]] = field(default_factory=dict)  # code → (row, col)
    input_merges: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    landscape: bool = False
    last_row: int = 1

    def add(self, row, col, text, role, row2=None, col2=None):
        self.texts.append(Text(row, col, text, role))
        if (row2 or row) != row or (col2 or col) != col:
            self.merges.append((row, col, row2 or row, col2 or col))
        self.last_row = max(self.last_row, row2 or row)


def _spans(paths: list[tuple[str, ...]], level: int) -> list[tuple[int, int, str]]:
    """Runs of consecutive items sharing the path prefix up to ``level``."""
    runs: list[tuple[int, int, str]] = []
    for i, path in enumerate(paths):
        if len(path) <= level:
            continue
        key = path[: level + 1]
        if runs and runs[-1][1] == i - 1 and paths[runs[-1][0]][: level + 1] == key:
            runs[-1] = (runs[-1][0], i, runs[-1][2])
        else:
            runs.append((i, i, path[level]))
    return runs


def _place_block(sheet: SheetLayout, table: Table, block: Block, top: int, width: int) -> int:
    """Lay out one block from row ``top``; returns the next free row."""
    prefix = table.prefix
    label_depth = max(len(r.path) for r in block.rows)
    header_depth = max(len(c.path) for c in block.columns)
    ncols = len(block.columns)
    stretch = ncols == 1 and width > label_depth + 1  # a single value column spans the table
    last_col = label_depth + (width - label_depth if stretch else ncols)
    row = top
    if block.title:
        sheet.add(row, 1, block.title, "subtitle", col2=last_col)
        row += 1
    # header rows
    if label_depth and block.corner:
        sheet.add(row, 1, block.corner, "corner", row2=row + header_depth - 1, col2=label_depth)
    col_paths = [c.path for c in block.columns]
    for level in range(header_depth):
        for start, end, text in _spans(col_paths, level):
            c1 = label_depth + 1 + start
            c2 = label_depth + 1 + end if not stretch else last_col
            leaf = all(len(col_paths[i]) == level + 1 for i in range(start, end + 1))
            r2 = row + header_depth - 1 if leaf else row + level
            sheet.add(row + level, c1, text, "header", row2=r2, col2=c2)
    row += header_depth
    # data rows with their labels
    row_paths = [r.path for r in block.rows]
    for level in range(label_depth):
        for start, end, text in _spans(row_paths, level):
            leaf = all(len(row_paths[i]) == level + 1 for i in range(start, end + 1))
            c2 = label_depth if leaf else level + 1
            sheet.add(row + start, level + 1, text, "label", row2=row + end, col2=c2)
    for i, r in enumerate(block.rows):
        for j, c in enumerate(block.columns):
            code = ".".join(p for p in (prefix, r.code, c.code) if p)
            col = label_depth + 1 + j
            sheet.inputs[code] = (row + i, col)
            if stretch:
                sheet.input_merges[code] = (row + i, col, row + i, last_col)
        sheet.last_row = max(sheet.last_row, row + i)
    return row + len(block.rows)


def _table_layout(table: Table) -> SheetLayout:
    width = max(
        max(len(r.path) for r in b.rows) + len(b.columns) for b in table.blocks
    )
    sheet = SheetLayout(table.sheet, width=width)
    sheet.add(1, 1, table.title, "title", col2=width)
    row = 2
    for block in table.blocks:
        row = _place_block(sheet, table, block, row, width)
    label_depth = max(len(r.path) for r in table.blocks[0].rows)
    # column widths: the leaf label column is wide, outer label columns narrow
    for c in range(1, width + 1):
        if c <= label_depth:
            sheet.widths[c] = 40.0 if c == label_depth else 12.0
        else:
            sheet.widths[c] = 12.0 if label_depth else 9.5
    sheet.heights[1] = 30.0
    sheet.landscape = width > 6
    return sheet


def _cover_layout() -> SheetLayout:
    sheet = SheetLayout(COVER_SHEET, width=3)
    sheet.add(1, 1, FORMAT_TITLE, "title", col2=3)
    sheet.add(2, 1, f"（依据{FORMAT_SOURCE}格式填报）", "subtitle", col2=3)
    for i, f in enumerate(META_FIELDS):
        r = 4 + i
        sheet.add(r, 1, f.label, "label")
        sheet.inputs[f.code] = (r, 2)
        if f.hint:
            sheet.texts.append(Text(r, 3, f.hint, "hint"))
        sheet.last_row = r
    sheet.widths.update({1: 20.0, 2: 44.0, 3: 36.0})
    sheet.heights[1] = 36.0
    return sheet


def _text_layout() -> SheetLayout:
    sheet = SheetLayout(TEXT_SHEET, width=8)
    sheet.add(1, 1, "文字部分（一、五、六）", "title", col2=8)
    row = 2
    for f in TEXT_FIELDS:
        sheet.add(row, 1, f.label, "label", col2=8)
        sheet.inputs[f.code] = (row + 1, 1)
        sheet.input_merges[f.code] = (row + 1, 1, row + 1, 8)
        sheet.heights[row + 1] = 260.0 if f.required else 80.0
        row += 2
    sheet.last_row = row - 1
    sheet.widths.update({c: 12.0 for c in range(1, 9)})
    return sheet



@dataclass(frozen=True, eq=False)
class Layout:
    sheets: tuple[SheetLayout, ...]

    @cached_property
    def by_name(self) -> dict[str, SheetLayout]:
        return {s.name: s for s in self.sheets}

    @cached_property
    def places(self) -> dict[str, tuple[str, int, int]]:
        """code → (sheet, row, col) of its input cell in the template."""
        return {code: (s.name, r, c) for s in self.sheets for code, (r, c) in s.inputs.items()}

    def place(self, code: str) -> tuple[str, int, int]:
        return self.places[code]

    def address(self, code: str) -> tuple[str, str]:
        sheet, row, col = self.place(code)
        return sheet, a1(row, col)


def build_layout(form: Form = FORM) -> Layout:
    return Layout((_cover_layout(),) + tuple(_table_layout(t) for t in form.tables) + (_text_layout(),))


LAYOUT = build_layout()
