"""Placing a published table's values by their row labels and column headers.

A published report's tables come from many writers (Word, WPS, web editors,
PDF printers), and their texts differ from the official form: headers are
truncated (``结果`` for ``结果纠正``), split over lines (``商业 企业``), mistyped
(``其他法律行政止公开``), full-width or half-width.  This module places every
value of a table by the row label on its left and the column header above it,
matched against the label paths of :data:`nianbao.schemas.form.FORM`, and says
exactly what could not be placed.

Tables arrive as :class:`Grid` s of :class:`Box` es, each with its extent:

* ``GRID``: cells of a real table (HTML ``rowspan``/``colspan``, Word
  ``gridSpan``/``vMerge``, a ruled PDF table's cell rectangles), in column and
  row units or in points;
* ``WORDS``: the words of a PDF table printed without rules, with their
  positions on the page; a row is a line of text;
* ``ROWS``: text with no geometry (a row per line, ``|`` or tabs between
  cells, or a cell per line); the values of a row are taken in order, and only
  when the row has exactly as many values as the form has columns there.

Matching is monotone: rows in the order they are printed (top to bottom),
columns left to right, each official row and column matched once.  Reading
order is therefore used only where the structure agrees with it.  A value is
*placed* when its own row and its own column were both matched; a table whose
values are not all placed yields findings naming the cause, and nothing of it
can be trusted.  Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from .form import FORM, Axis, Form, Table
from .values import is_placeholder

GRID, WORDS, ROWS = "grid", "words", "rows"

NUMBER, NON_NUMBER, LABEL, EMPTY = "number", "non-number", "label", "empty"
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d+)?|\d{1,3}(?:,\d{3})+(?:\.\d+)?)$")
_NUMBER_WITH_UNIT = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:万元|元|件|个|条|次|项|份|宗|起|人次|人)$")
_CHINESE_NUMBER = re.compile(r"^[零〇一二两三四五六七八九十百千]+(?:件|个|项)?$")


def squeeze(text: str) -> str:
    """NFKC without whitespace: how texts are compared."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def classify(cell: str) -> str | None:
    """NUMBER, NON_NUMBER (a value that is not a number: ``/``, ``无``, ``3件``, ``十二``), LABEL, or None (empty)."""
    norm = squeeze(cell)
    if not norm:
        return None
    if _PLAIN_NUMBER.match(norm):
        return NUMBER
    if is_placeholder(norm) or _NUMBER_WITH_UNIT.match(norm) or _CHINESE_NUMBER.match(norm):
        return NON_NUMBER
    return LABEL


def number_value(cell: str) -> object:
    """The value to write for a cell classified NUMBER: the number, or the raw text when it is not ASCII."""
    stripped = cell.strip()
    norm = squeeze(cell).replace(",", "")
    if stripped != squeeze(cell):  # full-width digits and the like: the template's check warns on them
        return stripped
    value = float(norm)
    return int(value) if value.is_integer() and "." not in norm else value


# --------------------------------------------------------------------------
# The input: boxes with extents
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A cell or a word of a table: its text and its extent (x to the right, y down)."""

    text: str
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def kind(self) -> str:
        return classify(self.text) or EMPTY

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Grid:
    """One table as printed: its boxes and what their extents mean (GRID, WORDS or ROWS)."""

    boxes: tuple[Box, ...]
    geometry: str = GRID

    @property
    def text_rows(self) -> list[str]:
        """The table as text, a row per line (for a narrative section that holds a table)."""
        return [" ".join(b.text for b in row.boxes if b.text.strip()) for row in rows_of(self)]


def grid_from_rows(rows: list[list[str]]) -> Grid:
    """A ROWS grid from text rows (no geometry but their order)."""
    boxes = [Box(text, x, x + 1, y, y + 1) for y, row in enumerate(rows) for x, text in enumerate(row)]
    return Grid(tuple(boxes), ROWS)


def grid_from_spans(rows: list[list[tuple[str, int, int]]]) -> Grid:
    """A GRID from table rows of (text, rowspan, colspan) cells, laid out as HTML lays them out."""
    taken: set[tuple[int, int]] = set()
    boxes = []
    for y, row in enumerate(rows):
        x = 0
        for text, rowspan, colspan in row:
            while (y, x) in taken:
                x += 1
            rowspan, colspan = max(1, rowspan), max(1, colspan)
            for dy in range(rowspan):
                for dx in range(colspan):
                    taken.add((y + dy, x + dx))
            boxes.append(Box(text, x, x + colspan, y, y + rowspan))
            x += colspan
    return Grid(tuple(boxes), GRID)


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------


@dataclass
class Row:
    """One printed row: its label boxes (left) and its value boxes (right)."""

    boxes: list[Box]
    geometry: str
    grid: int
    labels: list[Box] = field(default_factory=list)
    values: list[Box] = field(default_factory=list)  # NUMBER / NON_NUMBER, and EMPTY cells of a GRID

    @property
    def leaf(self) -> str:
        """The most specific label: the rightmost label box (for ROWS, the last label), with the lines of
        the same cell above and below it when its text wraps (WORDS)."""
        if not self.labels:
            return ""
        last = max(self.labels, key=lambda b: (b.x0, b.y0))
        same = [b for b in self.labels if min(b.x1, last.x1) - max(b.x0, last.x0) > 0.5 * min(b.x1 - b.x0, last.x1 - last.x0)]
        return "".join(b.text for b in sorted(same, key=lambda b: b.y0))

    @property
    def text(self) -> str:
        return " ".join(b.text for b in self.labels)

    @property
    def filled(self) -> list[Box]:
        return [b for b in self.values if b.kind != EMPTY]

    @property
    def zone(self) -> float:
        """Where its values begin."""
        return max((b.x1 for b in self.labels), default=min((b.x0 for b in self.values), default=0))


_RUN_ON = re.compile(r"^(.*\D)(\d{2,})$")


def _split_row(boxes: list[Box], geometry: str, grid: int) -> Row:
    row = Row(sorted(boxes, key=lambda b: (b.x0, b.y0)), geometry, grid)
    first_value = min((b.x0 for b in row.boxes if b.kind in (NUMBER, NON_NUMBER)), default=None)
    for b in row.boxes:
        if b.kind == LABEL and (first_value is None or b.x0 < first_value):
            row.labels.append(b)
    zone = row.zone
    for b in row.boxes:
        if b in row.labels:
            continue
        if b.kind in (NUMBER, NON_NUMBER) or (b.kind == EMPTY and geometry == GRID and b.x0 >= zone - 1e-6):
            row.values.append(b)
    return row


def _bands(boxes: list[Box]) -> list[list[Box]]:
    """GRID rows: the boxes overlapping each band between consecutive top edges."""
    tops = sorted({round(b.y0, 1) for b in boxes})
    out = []
    for top in tops:
        out.append([b for b in boxes if round(b.y0, 1) <= top < round(b.y1, 1) - 1e-6])
    return out


def _lines(boxes: list[Box]) -> list[list[Box]]:
    """WORDS rows: words whose vertical extents overlap by half, top to bottom."""
    lines: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: ((b.y0 + b.y1) / 2, b.x0)):
        if lines:
            last = lines[-1]
            top, bottom = min(w.y0 for w in last), max(w.y1 for w in last)
            overlap = min(bottom, b.y1) - max(top, b.y0)
            if overlap >= 0.5 * min(bottom - top, b.y1 - b.y0):
                last.append(b)
                continue
        lines.append([b])
    return lines


def _text_rows(grid: Grid, index: int) -> list[Row]:
    """ROWS: a row per line; a line of values alone continues the row above (a cell per line)."""
    out: list[Row] = []
    pending: list[Box] = []
    continuing = False
    by_line: dict[float, list[Box]] = {}
    for b in grid.boxes:
        by_line.setdefault(b.y0, []).append(b)
    for y in sorted(by_line):
        boxes = sorted(by_line[y], key=lambda b: b.x0)
        # a label with its values run on ("一、本年新收政府信息公开申请数量2171000…"): split off the digits
        if len(boxes) == 1 and boxes[0].kind == LABEL:
            m = _RUN_ON.match(squeeze(boxes[0].text))
            if m and classify(m.group(1)) == LABEL:
                boxes = [Box(m.group(1), 0, 1, y, y + 1), Box(m.group(2), 1, 2, y, y + 1)]
        kinds = [b.kind for b in boxes]
        has_values = any(k in (NUMBER, NON_NUMBER) for k in kinds)
        has_labels = LABEL in kinds
        if not has_values:
            if has_labels:
                pending.extend(b for b in boxes if b.kind == LABEL)
                continuing = False
            continue
        if pending or has_labels or not continuing or not out:
            # a new row: its labels are the label lines above it and its own
            shifted = [Box(b.text, i, i + 1, y, y + 1) for i, b in enumerate(pending)]
            own = [Box(b.text, len(shifted) + i, len(shifted) + i + 1, y, y + 1) for i, b in enumerate(boxes)]
            row = _split_row(shifted + own, ROWS, index)
            out.append(row)
            pending = []
            continuing = not has_labels  # "0 |" lines after a label: a cell per line
        else:
            row = out[-1]
            start = max((b.x1 for b in row.boxes), default=0)
            extra = [Box(b.text, start + i, start + i + 1, y, y + 1) for i, b in enumerate(boxes)]
            row.boxes.extend(extra)
            row.values.extend(b for b in extra if b.kind in (NUMBER, NON_NUMBER))
    if pending:
        out.append(Row(pending, ROWS, index, labels=list(pending)))
    return out


def rows_of(grid: Grid, index: int = 0) -> list[Row]:
    """The printed rows of a grid, top to bottom, with label-only rows kept (headers, titles)."""
    if grid.geometry == ROWS:
        return _text_rows(grid, index)
    groups = _bands(list(grid.boxes)) if grid.geometry == GRID else _lines(list(grid.boxes))
    rows = [_split_row(g, grid.geometry, index) for g in groups if g]
    return _join_wrapped(rows) if grid.geometry == WORDS else rows


def _extent(row: Row) -> tuple[float, float]:
    return min(b.y0 for b in row.boxes), max(b.y1 for b in row.boxes)


def _join_wrapped(rows: list[Row]) -> list[Row]:
    """WORDS: a label wrapped over several lines, its values on one of them (or between them, when the
    cells are centred vertically), is one row.  A line of labels alone, left of every value, joins the row
    of values next to it (the nearer one; above on a tie) when no more than a line's height apart."""
    filled = [r for r in rows if r.filled]
    if not filled:
        return rows
    zone = min(b.x0 for r in filled for b in r.filled)
    loose = [r for r in rows if not r.filled and r.labels and all(b.x1 <= zone for b in r.boxes)]
    changed = True
    while changed and loose:
        changed = False
        for line in list(loose):
            top, bottom = _extent(line)
            height = bottom - top
            best, best_gap = None, None
            for r in rows:
                if r is line or r not in filled:
                    continue
                r_top, r_bottom = _extent(r)
                gap = top - r_bottom if r_bottom <= top + 1e-6 else r_top - bottom
                if gap < -0.5 * height or gap > height:
                    continue
                above = r_bottom <= top + 1e-6
                if best is None or gap < best_gap - 1e-6 or (abs(gap - best_gap) <= 1e-6 and above):
                    best, best_gap = r, gap
            if best is not None:
                best.labels = sorted(best.labels + line.labels, key=lambda b: (b.x0, b.y0))
                best.boxes = sorted(best.boxes + line.boxes, key=lambda b: (b.x0, b.y0))
                rows = [r for r in rows if r is not line]
                loose.remove(line)
                changed = True
    return rows


# --------------------------------------------------------------------------
# Matching labels
# --------------------------------------------------------------------------

_NUMBERING = re.compile(r"[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|(?<![\d.])\d{1,2}[.．、](?!\d)")
_PUNCTUATION = re.compile(r"[、，,。.:：；;（）()“”\"'‘’《》〈〉「」【】\[\]·•\-—_/／|]")
MATCH = 0.6
"""The least score at which a printed label is taken as an official one."""


@lru_cache(maxsize=4096)
def norm(text: str) -> str:
    """A label without its numbering (一、 （一） 1.), punctuation or spaces: what the matching compares."""
    return _PUNCTUATION.sub("", _NUMBERING.sub("", squeeze(text)))


@lru_cache(maxsize=65536)
def similarity(official: str, printed: str) -> float:
    """How well a printed text shows an official label (both normalised), 0…1."""
    if not official or not printed:
        return 0.0
    if printed == official:
        return 1.0
    if official in printed:
        return 0.95
    if len(printed) >= 2 and official.startswith(printed):  # truncated: 结果 for 结果纠正
        return 0.55 + 0.35 * len(printed) / len(official)
    matcher = SequenceMatcher(None, official, printed, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    if len(printed) <= 2 * len(official):
        f = 2 * matched / (len(official) + len(printed))
        return 0.9 * f if f >= 0.7 else 0.0
    covered = matched / len(official)
    return 0.85 * covered if covered >= 0.8 else 0.0


def _covered(label: str, text: str) -> bool:
    return similarity(norm(label), text) >= MATCH


def _score(axis: Axis, leaf: str, whole: str, leaves: frozenset[str], groups: frozenset[str]) -> float:
    """How well a printed row or column (its own label ``leaf``, and every label on it ``whole``) is ``axis``."""
    official = norm(axis.label)
    if leaf in groups and leaf != official:
        return 0.0  # a group's label standing alone: it is no row of its own
    if leaf in leaves and leaf != official:
        return 0.0  # exactly another axis's label
    s = max(similarity(official, leaf), 0.9 * similarity(official, whole))
    if s < MATCH:
        return 0.0
    parents = axis.path[:-1]
    if parents:
        s *= 0.85 + 0.15 * sum(_covered(p, whole) for p in parents) / len(parents)
    return s


def align(scores: list[list[float]]) -> list[int | None]:
    """A monotone one-to-one alignment of axes (rows of ``scores``) to printed items (its columns).

    Each axis takes at most one item, later axes later items; the total score is
    the largest possible.  Returns, for each axis, its item's index or None.
    """
    n = len(scores)
    m = len(scores[0]) if scores else 0
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = [best[i - 1][j], best[i][j - 1]]
            if scores[i - 1][j - 1] > 0:
                options.append(best[i - 1][j - 1] + scores[i - 1][j - 1])
            best[i][j] = max(options)
    out: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        s = scores[i - 1][j - 1]
        if s > 0 and abs(best[i][j] - (best[i - 1][j - 1] + s)) < 1e-9:
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif abs(best[i][j] - best[i - 1][j]) < 1e-9:
            i -= 1
        else:
            j -= 1
    return out


# --------------------------------------------------------------------------
# Placing a table
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why values of a table could not be placed: a kind and its parameters (rendered as a finding elsewhere)."""

    kind: str  # grouped_row, run_together, row_count, rows, columns, cells
    params: tuple[tuple[str, object], ...]
    code: str = ""  # the first cell it concerns (where a pre-filled template marks it)

    @property
    def detail(self) -> dict[str, object]:
        return dict(self.params)


def _problem(kind: str, code: str = "", **params) -> Problem:
    return Problem(kind, tuple(params.items()), code)


def _cell(table: Table, row: Axis, column: Axis) -> str:
    return ".".join(p for p in (table.prefix, row.code, column.code) if p)


@dataclass
class Placed:
    """What a table yields: values by code (a number, the raw text of a non-number, or "" for a blank cell)."""

    table: Table
    values: dict[str, object] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    codes: tuple[str, ...] = ()


@dataclass
class _Slot:
    """A column as printed: its lowest header box over the values, and every header text above it."""

    x0: float
    x1: float
    leaf: str
    whole: str

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


def _slots(header: list[Row], zone: float) -> list[_Slot]:
    boxes = [b for r in header for b in r.boxes if b.kind == LABEL and b.centre > zone]
    boxes = list(dict.fromkeys(boxes))
    out = []
    for b in boxes:
        below = [o for o in boxes if o is not b and o.y0 >= b.y1 - 1e-6 and min(o.x1, b.x1) - max(o.x0, b.x0) > 1e-6]
        if below:
            continue
        above = sorted((o for o in boxes if min(o.x1, b.x1) - max(o.x0, b.x0) > 1e-6 and o.y0 <= b.y0),
                       key=lambda o: o.y0)
        out.append(_Slot(b.x0, b.x1, norm(b.text), "".join(norm(o.text) for o in above)))
    return sorted(out, key=lambda s: s.x0)


def _slot_of(value: Box, slots: list[_Slot]) -> int | None:
    """The column a value stands in: the slot it overlaps most, else the nearest within half a column."""
    best, best_overlap = None, 0.0
    for i, s in enumerate(slots):
        overlap = min(s.x1, value.x1) - max(s.x0, value.x0)
        if overlap > best_overlap + 1e-9:
            best, best_overlap = i, overlap
    if best is not None:
        return best
    if not slots:
        return None
    i = min(range(len(slots)), key=lambda k: abs(slots[k].centre - value.centre))
    width = max(slots[i].x1 - slots[i].x0, 1e-6)
    return i if abs(slots[i].centre - value.centre) <= width else None


def _value(box: Box) -> object:
    kind = box.kind
    if kind == NUMBER:
        return number_value(box.text)
    return "" if kind == EMPTY else box.text.strip()


def _labels(axes) -> tuple[frozenset[str], frozenset[str]]:
    axes = list(axes)
    leaves = frozenset(norm(a.label) for a in axes if a.path)
    groups = frozenset(norm(p) for a in axes for p in a.path[:-1]) - leaves
    return leaves, groups


def _digits(box: Box) -> int:
    return sum(ch.isdigit() for ch in squeeze(box.text))


def place_table(table: Table, grids: list[Grid], form: Form = FORM) -> Placed:
    """Place the values of ``table`` printed as ``grids`` (in document order)."""
    codes = tuple(c.code for c in form.cells if c.table is table)
    placed = Placed(table, codes=codes)
    axes = [(block, axis) for block in table.blocks for axis in block.rows]
    row_leaves, row_groups = _labels(a for _, a in axes)
    rows: list[Row] = []
    for index, grid in enumerate(grids):
        rows.extend(rows_of(grid, index))

    # which printed rows are rows of the form
    def row_score(axis: Axis, row: Row) -> float:
        if not row.values:
            return 0.0
        if not axis.path:  # 表四's one row has no label: any row of values
            return 0.5 if row.filled else 0.0
        s = _score(axis, norm(row.leaf), norm(row.text), row_leaves, row_groups)
        return s if row.filled or s >= 0.9 else 0.0  # a blank row counts only when its label is certain

    scores = [[row_score(axis, row) for row in rows] for _, axis in axes]
    matched = align(scores)
    row_axis = {j: k for k, j in enumerate(matched) if j is not None}

    # rows that are a group's label alone, with values: （六）其他处理 printed as one row
    for j, row in enumerate(rows):
        if j in row_axis or not row.filled:
            continue
        leaf = norm(row.leaf)
        if leaf in row_groups and not any(norm(str(p.detail["group"])) == leaf for p in placed.problems):
            members = [a for _, a in axes if any(norm(p) == leaf for p in a.path[:-1])]
            missing = [a for a in members if matched[[x for _, x in axes].index(a)] is None]
            if missing:
                group = next(p for p in members[0].path[:-1] if norm(p) == leaf)
                block = next(b for b, a in axes if a is members[0] or a == members[0])
                placed.problems.append(_problem(
                    "grouped_row", _cell(table, members[0], block.columns[0]), group=group, expected=len(members),
                    rows="；".join(a.label for a in members)))

    reported_groups = {p.detail["group"] for p in placed.problems if p.kind == "grouped_row"}
    unmatched = [(b, a) for (b, a), j in zip(axes, matched) if j is None
                 and not any(p in reported_groups for p in a.path[:-1])]
    if unmatched:
        first_block, first = unmatched[0]
        unmatched = [a for _, a in unmatched]
        placed.problems.append(_problem(
            "rows", _cell(table, first, first_block.columns[0]), count=len(unmatched), rows="、".join(f"“{a.label}”" for a in unmatched[:6])
            + ("等" if len(unmatched) > 6 else "")))

    # columns, run by run: a run is consecutive printed rows of values under the same headers
    previous: list[_Slot] | None = None
    header: list[Row] = []
    run: list[int] = []

    def settle(run: list[int], header: list[Row], previous: list[_Slot] | None) -> list[_Slot] | None:
        by_block: dict[int, list[int]] = {}
        for j in run:
            if j in row_axis:
                by_block.setdefault(id(axes[row_axis[j]][0]), []).append(j)
        used = previous
        for block_rows in by_block.values():
            block = axes[row_axis[block_rows[0]]][0]
            used = _place_block(placed, table, block, [rows[j] for j in block_rows],
                                [axes[row_axis[j]][1] for j in block_rows], header, previous)
        return used

    for j, row in enumerate(rows):
        if row.filled or j in row_axis:
            run.append(j)
            continue
        if run:
            previous = settle(run, header, previous) or previous
            run, header = [], []
        header.append(row)
    if run:
        settle(run, header, previous)
    return placed


def _place_block(placed: Placed, table: Table, block, rows: list[Row], axes: list[Axis],
                 header: list[Row], previous: list[_Slot] | None) -> list[_Slot] | None:
    """Place the values of ``rows`` (matched to ``axes`` of ``block``); the header slots used, if any."""
    columns = block.columns
    code = lambda axis, col: ".".join(p for p in (table.prefix, axis.code, col.code) if p)  # noqa: E731
    if rows[0].geometry == ROWS:
        for row, axis in zip(rows, axes):
            filled = row.values
            if len(filled) == len(columns):
                for col, box in zip(columns, filled):
                    placed.values[code(axis, col)] = _value(box)
                continue
            _count_problem(placed, row, axis, len(filled), len(columns), anchor=_cell(table, axis, columns[0]))
        return None

    leaves, groups = _labels(columns)
    zone = min(r.zone for r in rows)

    def mapping(slots: list[_Slot]) -> list[int | None]:
        scores = [[_score(col, s.leaf, s.whole, leaves, groups) for s in slots] for col in columns]
        return align(scores)

    candidates = []
    if header:
        candidates.append(_slots(header, zone))
    if previous:
        candidates.append(previous)
    best_slots, best_map = None, None
    for slots in candidates:
        m = mapping(slots) if slots else [None] * len(columns)
        if best_map is None or sum(x is not None for x in m) > sum(x is not None for x in best_map):
            best_slots, best_map = slots, m
        if all(x is not None for x in m):
            break
    if not best_slots or best_map is None or any(x is None for x in best_map):
        missing = [c for c, x in zip(columns, best_map or [None] * len(columns)) if x is None]
        # with no usable headers, a row holding exactly one value per column is read in order
        if all(len(r.values) == len(columns) for r in rows) and not best_slots:
            for row, axis in zip(rows, axes):
                for col, box in zip(columns, sorted(row.values, key=lambda b: b.x0)):
                    placed.values[code(axis, col)] = _value(box)
            return None
        placed.problems.append(_problem(
            "columns", _cell(table, axes[0], missing[0]), count=len(missing),
            columns="、".join(f"“{'／'.join(c.path)}”" for c in missing[:6]) + ("等" if len(missing) > 6 else "")))
        return None
    slot_column = {s: k for k, s in enumerate(best_map)}
    for row, axis in zip(rows, axes):
        got: dict[int, Box] = {}
        strays = []
        for box in row.values:
            s = _slot_of(box, best_slots)
            k = slot_column.get(s) if s is not None else None
            if k is None:
                if box.kind != EMPTY:
                    strays.append(box)
                continue
            if k in got and got[k].kind != EMPTY and box.kind != EMPTY:
                strays.append(box)
                continue
            if k not in got or got[k].kind == EMPTY:
                got[k] = box
        if strays or len(got) < len(columns):
            _count_problem(placed, row, axis, len(row.filled), len(columns), anchor=_cell(table, axis, columns[0]),
                           stray=[b.text for b in strays])
            continue
        for k, col in enumerate(columns):
            placed.values[code(axis, col)] = _value(got[k])
    return best_slots


def _count_problem(placed: Placed, row: Row, axis: Axis, found: int, expected: int, stray=(), anchor: str = "") -> None:
    name = axis.label or placed.table.title
    run_on = [b for b in row.filled if b.kind == NUMBER and _digits(b) > 1 and found < expected
              and _digits(b) >= expected - found + 1]
    if run_on:
        placed.problems.append(_problem("run_together", anchor, row=name, value=squeeze(run_on[0].text)))
    elif stray:
        placed.problems.append(_problem("cells", anchor, row=name, values="、".join(f"“{t}”" for t in stray[:5])))
    else:
        placed.problems.append(_problem("row_count", anchor, row=name, found=found, expected=expected))
