"""Reading a published annual report (text or HTML) into the form's codes, by position.

A county's reports are published as web pages: narrative sections 一、五、六
and three tables whose header texts are often truncated or mangled
(``结果`` for ``结果纠正``, ``商业 企业``).  The numbers are therefore never
matched by their headers.  Each section is found by its heading
(``二、主动公开政府信息情况`` …, in the official order), and the values of a
table section are taken in the official row/column order derived from
:data:`nianbao.schemas.form.FORM`: 10 for 表二, 175 for 表三, 15 for 表四.

Accepted inputs, all as one ``str`` (decoding bytes is the caller's job):

* one cell per line, as web pages flatten when copied (``0 |``);
* a row per line, cells separated by ``|`` or tabs (``行政许可 | 0 |``);
* markdown tables (``| 规章 | 0 | 0 | 0 |`` with ``|---|`` rules);
* HTML ``<table>`` markup (parsed with the standard library's html.parser).

The result is data: the values by code, the narrative texts, and findings
where the text cannot be mapped with confidence.  An *error* finding (a
table section missing, the wrong count of values in a table) means that
positions are ambiguous and nothing should be written; a *warning* (a
narrative section missing, a non-numeric value such as ``/`` whose position
is still certain) lets the import go on.  Pure: no file I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import groupby
from html.parser import HTMLParser

from .findings import Finding, has_errors, make
from .form import FORM, OLD_2019_MARKERS, SECTIONS, TEXT_FIELDS, Form
from .layout import LAYOUT
from .placement import (EMPTY, NON_NUMBER, Grid, Placed, classify, grid_from_rows, grid_from_spans, place_table,
                        squeeze)
from .report import Report

# --------------------------------------------------------------------------
# Lines: what any input format becomes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of the document: a paragraph of text, or the cells of one table row."""

    cells: tuple[str, ...]
    row: bool = False  # True for a table row (HTML ``<tr>``, a line with ``|`` or tabs)

    @property
    def text(self) -> str:
        return " ".join(c for c in self.cells if c.strip())


_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")
_RULE_LINE = re.compile(r"^(?:[-*_=]\s*){3,}$")
_EMPHASIS = re.compile(r"(?:\*\*|__)(.+?)(?:\*\*|__)")  # markdown **bold** → bold


def text_lines(text: str) -> list[Line]:
    """Lines of a plain-text or markdown document."""
    out = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = raw.strip()
        if not stripped:
            continue
        if "|" in stripped or "\t" in stripped:
            parts = [p.strip() for p in re.split(r"[|\t]", stripped)]
            cells = [p for p in parts if p]
            if cells and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells):
                continue  # a markdown rule |---|:---:|
            out.append(Line(tuple(cells), row=True))
        elif not _RULE_LINE.match(stripped):  # a markdown rule (---) is no text
            plain = _EMPHASIS.sub(r"\1", stripped.lstrip("#> \t")).strip()
            if plain:
                out.append(Line((plain,)))
    return out


_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "section", "article", "header", "footer", "blockquote", "pre", "hr", "title", "caption", "center",
}
_SKIPPED_TAGS = {"script", "style", "head", "noscript", "template", "svg", "object", "iframe", "select"}


@dataclass
class _TableContext:
    row: list[tuple[str, int, int]] | None = None  # the open row's cells: (text, rowspan, colspan)
    cell: list[str] | None = None
    span: tuple[int, int] = (1, 1)  # the open cell's rowspan, colspan
    rows: list[list[tuple[str, int, int]]] = field(default_factory=list)
    layout: bool = False  # a table used for page layout: it holds another table in a cell


def _span(attrs, name: str) -> int:
    value = dict(attrs).get(name) or "1"
    digits = re.match(r"\s*(\d+)", value)
    return min(max(int(digits.group(1)), 1), 1000) if digits else 1


class _HtmlLines(HTMLParser):
    """HTML → items: a :class:`Grid` per data table (its ``rowspan``/``colspan`` honoured), a :class:`Line`
    per block of text outside tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[Line | Grid] = []
        self.text: list[str] = []
        self.tables: list[_TableContext] = []
        self.skip = 0

    # -- helpers ----------------------------------------------------------

    def _flush_text(self) -> None:
        """The narrative buffer as lines (a block boundary inside it is a ``\n``)."""
        for part in "".join(self.text).split("\n"):
            joined = re.sub(r"\s+", " ", part).strip()
            if joined:
                self.lines.append(Line((joined,)))
        self.text = []

    def _open_cell(self) -> _TableContext | None:
        if self.tables and self.tables[-1].cell is not None and not self.tables[-1].layout:
            return self.tables[-1]
        return None

    def _close_cell(self, ctx: _TableContext) -> None:
        if ctx.cell is None:
            return
        if ctx.layout:
            self._flush_text()
        else:
            if ctx.row is None:
                ctx.row = []
            text = "\n".join(re.sub(r"\s+", " ", part).strip() for part in "".join(ctx.cell).split("\n"))
            ctx.row.append((text.strip("\n "), *ctx.span))
        ctx.cell = None

    def _close_row(self, ctx: _TableContext) -> None:
        self._close_cell(ctx)
        if ctx.row is not None and not ctx.layout:
            ctx.rows.append(ctx.row)
        ctx.row = None

    def _emit_table(self, ctx: _TableContext) -> None:
        if ctx.rows and any(text for row in ctx.rows for text, _, _ in row):
            self.lines.append(grid_from_spans(ctx.rows))
        ctx.rows = []

    # -- parser callbacks -------------------------------------------------

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.skip = 0  # a <head> left open does not hide the page
            return
        if tag in _SKIPPED_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "table":
            outer = self._open_cell()
            if outer is not None:  # a table inside a cell: the outer one only lays out the page
                buffered = "".join(outer.cell or [])
                outer.cell = []
                outer.layout = True
                if outer.row:
                    outer.rows.append(outer.row)
                outer.row = None
                self._emit_table(outer)
                self._flush_text()
                self.text = [buffered]
            self._flush_text()
            self.tables.append(_TableContext())
        elif tag == "tr" and self.tables:
            self._close_row(self.tables[-1])
            self.tables[-1].row = []
        elif tag in ("td", "th") and self.tables:
            ctx = self.tables[-1]
            self._close_cell(ctx)
            if ctx.layout:
                self._flush_text()
            ctx.cell = []
            ctx.span = (_span(attrs, "rowspan"), _span(attrs, "colspan"))
        elif tag in _BLOCK_TAGS:
            self._block()

    def _block(self) -> None:
        """A block boundary: a line break inside a table cell, else the end of a paragraph."""
        if self._open_cell() is not None:
            self.tables[-1].cell.append("\n")
        else:
            self._flush_text()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _SKIPPED_TAGS:
            self.skip -= 1

    def handle_endtag(self, tag):
        if tag in _SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "table" and self.tables:
            ctx = self.tables.pop()
            self._close_row(ctx)
            self._emit_table(ctx)
            self._flush_text()
        elif tag == "tr" and self.tables:
            self._close_row(self.tables[-1])
        elif tag in ("td", "th") and self.tables:
            self._close_cell(self.tables[-1])
        elif tag in _BLOCK_TAGS:
            self._block()

    def handle_data(self, data):
        if self.skip:
            return
        ctx = self._open_cell()
        (ctx.cell if ctx is not None else self.text).append(data)

    def close(self):
        super().close()
        while self.tables:
            ctx = self.tables.pop()
            self._close_row(ctx)
            self._emit_table(ctx)
        self._flush_text()


def html_lines(markup: str) -> list[Line | Grid]:
    parser = _HtmlLines()
    parser.feed(markup)
    parser.close()
    return parser.lines


_HTML_HINT = re.compile(r"<\s*(?:html|body|table|tr|td|p|div|br|h[1-6])\b", re.I)


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:20000]))


def document_lines(text: str) -> list[Line | Grid]:
    return html_lines(text) if looks_like_html(text) else text_lines(text)


# --------------------------------------------------------------------------
# Sections: found by their official headings, in the official order
# --------------------------------------------------------------------------

_NUMERAL_PREFIX = re.compile(r"^([一二三四五六])[、.,]")
_DECORATION = "#*_>`~ 　"
HEADING_SIMILARITY = 0.8
"""How close a heading's text must be to the official title (difflib ratio) to count as that section."""

Item = Line | Grid
"""What a document is made of, in reading order: paragraphs (and text rows) and tables."""


def match_heading(line: Item, index: int) -> str | None:
    """If ``line`` is the heading of section ``index`` (0…5), the text following the heading on that line."""
    if not isinstance(line, Line):
        return None
    cells = [c for c in line.cells if c.strip()]
    if len(cells) != 1:
        return None
    text = squeeze(cells[0]).strip(_DECORATION)
    title = squeeze(SECTIONS[index])
    m = _NUMERAL_PREFIX.match(text)
    if not m or m.group(1) != title[0]:
        return None
    body, rest = title[2:], text[m.end():].lstrip(_DECORATION)
    head = rest[: len(body)]
    if body != head and SequenceMatcher(None, body, head).ratio() < HEADING_SIMILARITY:
        return None
    if len(rest) <= len(body):
        return ""
    # the rest of the line as written (not normalised): narrative that follows the heading
    consumed = len(text) - len(rest) + len(body)
    original = cells[0].strip().lstrip(_DECORATION)
    for i in range(len(original) + 1):
        if len(squeeze(original[:i])) >= consumed:
            return original[i:].strip(_DECORATION + "：:。.")
    return ""


@dataclass
class Section:
    index: int  # 0…5, as in SECTIONS
    heading_line: int  # index of its heading in the items
    lines: list[Item] = field(default_factory=list)
    tail: str = ""  # text on the heading's line after the heading


def find_sections(lines: list[Item]) -> dict[int, Section]:
    """The sections found, by index; each heading is searched after the previous one found."""
    found: dict[int, Section] = {}
    start = 0
    for index in range(len(SECTIONS)):
        for i in range(start, len(lines)):
            tail = match_heading(lines[i], index)
            if tail is not None:
                found[index] = Section(index, i, tail=tail)
                start = i + 1
                break
    ordered = sorted(found.values(), key=lambda s: s.heading_line)
    for k, section in enumerate(ordered):
        end = ordered[k + 1].heading_line if k + 1 < len(ordered) else len(lines)
        section.lines = lines[section.heading_line + 1: end]
    return found


def item_text(item: Item) -> str:
    return item.text if isinstance(item, Line) else "\n".join(item.text_rows)


# --------------------------------------------------------------------------
# Page furniture after the report (share buttons, site footers)
# --------------------------------------------------------------------------

FURNITURE = re.compile(
    r"扫一扫|二维码|分享至|分享到|打印本页|【打印】|【关闭】|关闭窗口|\[打印\]|\[关闭\]|主办单位|承办单位|"
    r"网站标识码|ICP备|公网安备|版权所有|网站地图|联系我们|上一篇|下一篇|相关链接|责任编辑|浏览次数|访问量|字号[:：]|"
    r"【字体|字体[:：]\s*[大中小]"
)


def strip_furniture(lines: list[Item]) -> list[Item]:
    """The items before the first line of page furniture (which only follows the report)."""
    for i, line in enumerate(lines):
        if isinstance(line, Line) and FURNITURE.search(unicodedata.normalize("NFKC", line.text)):
            return lines[:i]
    return lines


# --------------------------------------------------------------------------
# The title: agency and year, when the command line does not give them
# --------------------------------------------------------------------------

_TITLE = re.compile(r"^(?:关于)?(?:印发|公布|发布)?(?P<agency>.+?)(?P<year>20\d{2})年度?政府信息公开(?:工作)?年度?报告")


def title_of(texts) -> tuple[str, int] | None:
    """(agency, year) from the report's title (``平潭综合实验区2024年度政府信息公开工作年度报告``), if one of
    ``texts`` (the first lines of the document, a page title) carries it."""
    for text in texts:
        m = _TITLE.match(squeeze(text).strip(_DECORATION + "《》“”\"'"))
        if m:
            agency = m.group("agency").strip("_-—|：: ")
            if agency:
                return agency, int(m.group("year"))
    return None


def document_title(items: list[Item], limit: int = 8) -> tuple[str, int] | None:
    """The title among the document's first lines (a title may wrap over two of them)."""
    heads = [item.text for item in items[:limit] if isinstance(item, Line)]
    pairs = [a + b for a, b in zip(heads, heads[1:])]
    return title_of(heads + pairs)


# --------------------------------------------------------------------------
# The whole report
# --------------------------------------------------------------------------


@dataclass
class Imported:
    """What a published report yields: values by code, narrative texts, and findings."""

    values: dict[str, object]  # numeric code → number (the raw text of a non-number, "" for a blank cell)
    texts: dict[str, str]  # text.overview / text.problems / text.other
    findings: list[Finding]
    source: str = ""
    title: tuple[str, int] | None = None  # (agency, year) read from the report's title

    @property
    def unambiguous(self) -> bool:
        """Every one of the form's cells was placed by its own row and column."""
        return not has_errors(self.findings) and len(self.values) == len(FORM.numeric_codes)

    def template_values(self, *, agency: str, year: int, uscc: str = "") -> dict[str, object]:
        """What to write into the template, by code (placed values only)."""
        out: dict[str, object] = {**{k: v for k, v in self.values.items() if v != ""}, **self.texts,
                                  "meta.agency": agency, "meta.year": year}
        if uscc:
            out["meta.uscc"] = uscc
        return out


def _narrative(section: Section) -> str:
    lines = [section.tail] if section.tail else []
    lines += [item_text(line) for line in section.lines]
    return "\n".join(t.strip() for t in lines if t.strip())


def _table_grids(section: Section) -> list[Grid]:
    """The section's tables; text rows (and a cell per line) between them become ROWS grids."""
    out: list[Grid] = []
    for is_grid, run in groupby(section.lines, key=lambda item: isinstance(item, Grid)):
        if is_grid:
            out.extend(run)
        else:
            rows = [list(line.cells) for line in run]
            if rows:
                out.append(grid_from_rows(rows))
    return out


_PROBLEM_RULES = {
    "grouped_row": "import.grouped_row", "run_together": "import.run_together", "row_count": "import.row_count",
    "rows": "import.rows", "columns": "import.columns", "cells": "import.cells",
}


def _old_format(items: list[Item]) -> str | None:
    text = squeeze("\n".join(item_text(item) for item in items))
    return next((m for m in OLD_2019_MARKERS if squeeze(m) in text), None)


def parse_items(items: list[Item], *, source: str = "", form: Form = FORM) -> Imported:
    """Read a document (paragraphs and tables in reading order) into values by code, texts and findings."""
    title = document_title(items)
    marker = _old_format(items)
    if marker is not None:
        return Imported({}, {}, [make("import.old_format", file=source, marker=marker)], source, title)
    sections = find_sections(items)
    if sections:
        last = max(sections.values(), key=lambda s: s.heading_line)
        last.lines = strip_furniture(last.lines)

    values: dict[str, object] = {}
    texts: dict[str, str] = {}
    findings: list[Finding] = []
    section_of_table = {SECTIONS.index(t.title): t for t in form.tables}
    section_of_text = {SECTIONS.index(f.label): f for f in TEXT_FIELDS}
    labels = Report(numbers={}, fields={})

    for index in range(len(SECTIONS)):
        title_text = SECTIONS[index]
        section = sections.get(index)
        if index in section_of_text:
            fld = section_of_text[index]
            if section is None:
                sheet, cell = LAYOUT.address(fld.code)
                findings.append(make("import.text", sheet=sheet, cell=cell, code=fld.code, file=source,
                                     title=title_text))
                texts[fld.code] = ""
            else:
                texts[fld.code] = _narrative(section)
            continue
        table = section_of_table[index]
        if section is None:
            findings.append(make("import.section", sheet=table.sheet, file=source, title=title_text,
                                 number=table.number))
            continue
        placed: Placed = place_table(table, _table_grids(section), form)
        for problem in placed.problems:
            findings.append(make(_PROBLEM_RULES[problem.kind], sheet=table.sheet, code=problem.code, file=source,
                                 number=table.number, **problem.detail))
        # what was placed is kept even when the table is refused: each value stood under its own row and
        # column (a template pre-filled with it is an agency's starting point); unambiguous says whether all did
        for code in placed.codes:
            if code not in placed.values:
                continue
            value = placed.values[code]
            values[code] = value
            kind = classify(value) if isinstance(value, str) else None
            if kind in (NON_NUMBER, EMPTY) or (isinstance(value, str) and kind is None):
                sheet, cell = LAYOUT.address(code)
                findings.append(make("import.value" if value != "" else "import.blank", sheet=sheet, cell=cell,
                                     code=code, file=source, value=value, label=labels.full_label(code, form)))
    return Imported(values, texts, findings, source, title)


def parse_published(text: str, *, source: str = "", form: Form = FORM) -> Imported:
    """Read a published report (text, markdown or HTML) into values by code, texts and findings."""
    return parse_items(document_lines(text), source=source, form=form)
