"""Reading a PDF report: its lines of text and its tables, page by page, top to bottom.

* A table with ruling lines (found by pdfplumber from its lines) becomes a GRID
  :class:`~nianbao.schemas.placement.Grid` whose boxes are the table's cell rectangles in points;
  a merged cell is one rectangle, its text the words whose centre lies in it.
* A table printed without ruling lines is recognised by its lines holding several numbers apart
  from each other: such a region (with the header and label lines just above and between) becomes
  a WORDS grid, every word with its position.  A section heading (一、总体情况 … 六、其他需要报告的事项)
  is never part of it.
* Every other line of text is a :class:`~nianbao.schemas.published.Line`; page numbers are left out.

Positions are in points, x to the right and y down, y offset by :data:`PAGE_OFFSET` per page so
that pages never overlap.  A PDF without a text layer (a scan) gives no items.  Pure: bytes in,
items out (pdfplumber, MIT, on pdfminer.six).
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
import statistics
from dataclasses import dataclass, field

from nianbao.schemas.form import SECTIONS
from nianbao.schemas.placement import GRID, NON_NUMBER, NUMBER, WORDS, Box, Grid, classify, squeeze
from nianbao.schemas.published import Line, match_heading

import pdfplumber

PAGE_OFFSET = 100_000.0
MAX_PAGES = 200
"""A published report has a few dozen pages at most; a longer PDF is refused before its pages are read."""


class TooManyPages(ValueError):
    """The PDF has more than :data:`MAX_PAGES` pages."""
"""Added to y once per page: page 2's top is below page 1's bottom."""
X_TOLERANCE = 1.5
"""Characters further apart than this (points) are separate words: the columns of a table are."""
WORD_SETTINGS = {"x_tolerance": X_TOLERANCE, "keep_blank_chars": False, "use_text_flow": False}
MARGIN_SHARE = 0.12
"""Page numbers are looked for in this share of the page at its top and bottom."""

_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－_·\s]*\d{1,4}[-—–－_·\s]*|第\d{1,4}页(?:[,，]?共\d{1,4}页)?|\d{1,4}/\d{1,4}|-?\s*\d+\s*-?)$")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_SENTENCE_END = ("。", "；", "：", ";", ":", "！", "？")


@dataclass
class _Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 0.1)

    @property
    def numeric(self) -> bool:
        return classify(self.text) == NUMBER

    @property
    def value(self) -> bool:
        return classify(self.text) in (NUMBER, NON_NUMBER)


@dataclass
class _TextLine:
    words: list[_Word] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)

    @property
    def text(self) -> str:
        return _join(self.words)

    def gaps(self) -> list[float]:
        ws = sorted(self.words, key=lambda w: w.x0)
        return [b.x0 - a.x1 for a, b in itertools.pairwise(ws)]


def _join(words: list[_Word]) -> str:
    """Words of a line in x order as text.  A space where the gap is one: beside a Chinese character
    half its size (writers set Latin text a little apart from Chinese), elsewhere a sixth."""
    out = ""
    previous = None
    for w in sorted(words, key=lambda w: w.x0):
        if previous is not None:
            gap = w.x0 - previous.x1
            size = min(w.height, previous.height)
            cjk = bool(_CJK.match(out[-1:] or " ") or _CJK.match(w.text[:1] or " "))
            if gap > (0.5 if cjk else 0.15) * size:
                out += " "
        out += w.text
        previous = w
    return out


def _lines(words: list[_Word]) -> list[_TextLine]:
    """Words grouped into lines: vertical extents overlapping by half of the smaller, top to bottom."""
    lines: list[_TextLine] = []
    for w in sorted(words, key=lambda w: ((w.top + w.bottom) / 2, w.x0)):
        if lines:
            last = lines[-1]
            overlap = min(last.bottom, w.bottom) - max(last.top, w.top)
            if overlap >= 0.5 * min(last.bottom - last.top, w.height):
                last.words.append(w)
                continue
        lines.append(_TextLine([w]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    return lines


def _centre_in(w: _Word, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    cx, cy = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _cell_text(words: list[_Word]) -> str:
    return "\n".join(line.text for line in _lines(words))


_KANGXI = re.compile("[\u2f00-\u2fd5]")
_RADICALS = str.maketrans("⺟⺠⻅⻆⻉⻋⻓⻔⻗⻘⻙⻚⻛⻜⻝⻢⻣⻤⻥⻦⻧⻨⻩⻬⻮⻰⻳",
                          "母民见角贝车长门雨青韦页风飞食马骨鬼鱼鸟卤麦黄齐齿龙龟")


def plain_hanzi(text: str) -> str:
    """Text as written: some PDF writers (Chromium among them) map ideographs to the look-alike Kangxi
    radicals (⼀ for 一, ⼯ for 工) and CJK radicals (⻚ for 页, ⻩ for 黄); they become the ideographs again."""
    return _KANGXI.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text).translate(_RADICALS)


def _page_words(page) -> list[_Word]:
    words = page.extract_words(**WORD_SETTINGS)
    return [_Word(plain_hanzi(w["text"]), float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"]))
            for w in words if w.get("upright", True) and w["text"].strip()]


# --------------------------------------------------------------------------
# Classifying lines
# --------------------------------------------------------------------------


def is_heading(text: str) -> bool:
    """A line that is one of the six section headings (一、总体情况 …), perhaps with a little more."""
    line = Line((text,))
    return any(match_heading(line, index) is not None for index in range(len(SECTIONS)))


def _column_gap(line: _TextLine) -> float:
    """A gap between words wider than this separates columns."""
    return max(1.0 * line.height, 6.0)


def _tabular(line: _TextLine) -> bool:
    """A line of a table without rules: two numbers or more, standing apart from each other."""
    if sum(w.numeric for w in line.words) < 2:
        return False
    return any(g >= _column_gap(line) for g in line.gaps())


def _phrases(line: _TextLine) -> int:
    return 1 + sum(g >= _column_gap(line) for g in line.gaps())


def _paragraph_like(line: _TextLine, width: float) -> bool:
    """Running text: a heading, or one stretch of words that is wide or ends a sentence."""
    if is_heading(line.text):
        return True
    if _tabular(line) or _phrases(line) > 1:
        return False
    return (line.x1 - line.x0) >= 0.4 * width or line.text.rstrip().endswith(_SENTENCE_END)


def _page_number(line: _TextLine, height: float) -> bool:
    if not (line.bottom <= MARGIN_SHARE * height or line.top >= (1 - MARGIN_SHARE) * height):
        return False
    return bool(_PAGE_NUMBER.match(squeeze(line.text)))


# --------------------------------------------------------------------------
# Tables without rules
# --------------------------------------------------------------------------


def _row_like(line: _TextLine) -> bool:
    """A row of a table without rules: a value standing a column's gap right of the words before it."""
    ws = line.words
    return any(b.value and b.x0 - a.x1 >= _column_gap(line) for a, b in itertools.pairwise(ws))


def _regions(lines: list[_TextLine], width: float) -> list[tuple[int, int]]:
    """Runs of lines (first, last index) forming tables without rules.

    Running text (headings, wide lines, sentences) separates the runs of other lines; a run is a
    table when it has a line of several numbers apart, or two rows of a label and a number.  The
    table is the run from its start (header lines) to its last row, with the labels of that row
    that run on below it (lines left of the numbers).
    """
    tabular = [_tabular(line) for line in lines]
    rows = [t or _row_like(line) for t, line in zip(tabular, lines)]
    paragraph = [not r and _paragraph_like(line, width) for r, line in zip(rows, lines)]
    regions: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if paragraph[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and not paragraph[j + 1]:
            j += 1
        run = range(i, j + 1)
        numbered = [k for k in run if rows[k] and any(w.numeric for w in lines[k].words)]
        if any(tabular[k] for k in run) or len(numbered) >= 2:
            last = max(k for k in run if rows[k])
            zone = min(w.x0 for k in run if rows[k] for w in lines[k].words if w.value)
            while last + 1 <= j and not rows[last + 1] and lines[last + 1].x1 <= zone + 1:
                last += 1
            regions.append((i, last))
        i = j + 1
    return regions


def _merge_phrase_words(line: _TextLine) -> list[_Word]:
    """The words of a line, a label's words split by a space joined again (never a number)."""
    out: list[_Word] = []
    for w in line.words:
        if out and not w.value and not out[-1].value and w.x0 - out[-1].x1 <= 0.5 * min(w.height, out[-1].height):
            last = out[-1]
            out[-1] = _Word(_join([last, w]), last.x0, max(last.x1, w.x1), min(last.top, w.top),
                            max(last.bottom, w.bottom))
        else:
            out.append(w)
    return out


# --------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------


def _ruled_tables(page) -> list:
    """The page's tables found by their ruling lines, with at least two cells."""
    tables = [t for t in page.find_tables() if len(t.cells) >= 2]
    return sorted(tables, key=lambda t: t.bbox[1])


def _page_items(page, index: int) -> list[tuple[float, object]]:
    """(top, item) of one page: Lines, GRID grids and WORDS grids (the latter as ("words", [lines]))."""
    offset = index * PAGE_OFFSET
    words = _page_words(page)
    items: list[tuple[float, object]] = []
    tables = _ruled_tables(page)
    inside: set[int] = set()
    for table in tables:
        boxes = []
        for bbox in table.cells:
            mine = [k for k, w in enumerate(words) if k not in inside and _centre_in(w, bbox)]
            inside.update(mine)
            x0, top, x1, bottom = (float(v) for v in bbox)
            boxes.append(Box(_cell_text([words[k] for k in mine]), x0, x1, top + offset, bottom + offset))
        boxes.sort(key=lambda b: (b.y0, b.x0))
        items.append((float(table.bbox[1]), Grid(tuple(boxes), GRID)))
    rest = [w for k, w in enumerate(words) if k not in inside]
    lines = [line for line in _lines(rest) if not _page_number(line, float(page.height))]
    width = (max(line.x1 for line in lines) - min(line.x0 for line in lines)) if lines else float(page.width)
    taken = set()
    for start, end in _regions(lines, width):
        region = lines[start:end + 1]
        taken.update(range(start, end + 1))
        items.append((region[0].top, ("words", [(line, offset) for line in region])))
    plain = [line for k, line in enumerate(lines) if k not in taken]
    for top, text in _paragraphs(plain):
        items.append((top, Line((text,))))
    items.sort(key=lambda item: item[0])
    return items


def _paragraphs(lines: list[_TextLine]) -> list[tuple[float, str]]:
    """(top, text) of the page's paragraphs: a line that fills the text's width is continued by the next
    line when that one starts at the left margin (not indented, not a heading) right below it."""
    if not lines:
        return []
    left, right = min(line.x0 for line in lines), max(line.x1 for line in lines)
    out: list[tuple[float, str]] = []
    previous = None
    for line in lines:
        h = line.height
        if (previous is not None and previous.x1 >= right - 1.2 * h and line.x0 <= left + 0.5 * h
                and 0 <= line.top - previous.bottom <= 1.2 * h and not is_heading(line.text)
                and not previous.text.rstrip().endswith(_SENTENCE_END[:1])):
            out[-1] = (out[-1][0], out[-1][1] + line.text)
        else:
            out.append((line.top, line.text))
        previous = line
    return out


def _words_grid(lines: list[tuple[_TextLine, float]]) -> Grid:
    boxes = [Box(w.text, w.x0, w.x1, w.top + offset, w.bottom + offset)
             for line, offset in lines for w in _merge_phrase_words(line)]
    return Grid(tuple(boxes), WORDS)


def read_pdf(data: bytes) -> list[Line | Grid]:
    """The report's lines of text and its tables, in reading order (page by page, top to bottom).

    A table without rules continued on the next page, with nothing between, is one WORDS grid;
    a ruled table is a GRID per page.  No text layer (a scan): an empty list.
    """
    out: list[Line | Grid] = []
    pending: list[tuple[_TextLine, float]] | None = None  # the WORDS region being gathered
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        if len(pdf.pages) > MAX_PAGES:
            raise TooManyPages(len(pdf.pages))
        for index, page in enumerate(pdf.pages):
            for _, item in _page_items(page, index):
                if isinstance(item, tuple):
                    pending = (pending or []) + item[1]
                    continue
                if pending is not None:
                    out.append(_words_grid(pending))
                    pending = None
                out.append(item)
    if pending is not None:
        out.append(_words_grid(pending))
    return out


def pdf_title(data: bytes) -> str:
    """The title: the first line of page 1, with the next when it continues it (same size, larger
    than the text below); "" when the first page has no text."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        if not pdf.pages:
            return ""
        page = pdf.pages[0]
        lines = [line for line in _lines(_page_words(page)) if not _page_number(line, float(page.height))]
    if not lines:
        return ""
    body = statistics.median(line.height for line in lines)
    title = [lines[0]]
    for line in lines[1:3]:
        previous = title[-1]
        if is_heading(line.text) or abs(line.height - previous.height) > 0.1 * previous.height \
                or previous.height <= body * 1.05 or line.top - previous.bottom > 2 * previous.height:
            break
        title.append(line)
    return "".join(line.text for line in title).strip()
