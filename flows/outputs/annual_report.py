"""``nianbao publish``: the county's annual report, drafted from the year's rollup.

Where the numbers come from: ``outbound/Y/rollup.xlsx``, read back with
:func:`nianbao.flows.excel.reader.read_report` and checked with the same rules as any
report.  The rollup is what ``nianbao run`` built, checked and showed the
office (its scope is on its 报送情况 sheet), so the published report says
exactly what the office has seen; recomputing from the ledger would duplicate
the rollup's choices (current submission, roster scope) and could silently
differ from the workbook the office already holds.  A rollup that fails a
blocking rule is a bug and is not published.

The report has the six sections of the 2021 format in the official order
(:data:`nianbao.schemas.form.SECTIONS`).  The three tables are laid out from
:mod:`nianbao.schemas.layout`, the very layout of the template: merged headers become
``rowspan``/``colspan`` in HTML and merged cells in Word.  Section 一's
statistical sentences (requests received, handled and carried over; reviews
and lawsuits; documents and decisions) are drafted from the numbers; the rest
is left to the office, marked 【请填写：…】.  Two files, written atomically:
``Y/年度报告.html`` (self-contained, no external resources) and
``Y/年度报告.docx`` (real Word tables the office can edit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.schemas.checks import check_report
from nianbao.schemas.findings import Finding, has_errors
from nianbao.schemas.form import FORM, FORMAT_SOURCE, RESULT_GROUPS, SECTIONS, TEXT_FIELDS, Table
from nianbao.schemas.layout import LAYOUT, SheetLayout
from nianbao.schemas.report import Report
from nianbao.schemas.values import coerce_text, format_number

from nianbao.flows.errors import InputError
from nianbao.flows.outputs.html import render
from nianbao.flows.outputs.rollup import NOT_LISTED
from nianbao.flows.store.files import atomic_path
from nianbao.flows.settings import Settings

HTML_NAME = "年度报告.html"
DOCX_NAME = "年度报告.docx"
ROLLUP_NAME = "rollup.xlsx"
STATUS_SHEET = "报送情况"
TODO = "【请填写：{}】"


class PublishError(InputError):
    """The year's report cannot be published (no rollup, or a rollup that fails its checks)."""


# --------------------------------------------------------------------------
# The tables as grids, from the template's layout
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    row: int  # 0-based, within the table (the sheet's title row excluded)
    col: int  # 0-based
    rowspan: int
    colspan: int
    text: str
    role: str  # subtitle, corner, header, label, value, blank
    code: str = ""  # the cell code of a value


def table_grid(table: Table, numbers: dict[str, float | None]) -> list[list[GridCell]]:
    """The table's rows of cells, each cell once at its top-left, spans from the layout's merges."""
    layout: SheetLayout = LAYOUT.by_name[table.sheet]
    first = 2  # row 1 is the sheet's title: the section heading in the report
    spans: dict[tuple[int, int], tuple[int, int, str, str, str]] = {}
    merges = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in layout.merges}
    for t in layout.texts:
        if t.row < first or t.role == "hint":
            continue
        r2, c2 = merges.get((t.row, t.col), (t.row, t.col))
        spans[(t.row, t.col)] = (r2, c2, t.text, t.role, "")
    for code, (r, c) in layout.inputs.items():
        _, _, r2, c2 = layout.input_merges.get(code, (r, c, r, c))
        value = numbers.get(code)
        spans[(r, c)] = (r2, c2, format_number(value) if value is not None else "", "value", code)
    covered: set[tuple[int, int]] = set()
    grid = []
    for r in range(first, layout.last_row + 1):
        row = []
        for c in range(1, layout.width + 1):
            if (r, c) in covered:
                continue
            r2, c2, text, role, code = spans.get((r, c), (r, c, "", "blank", ""))
            for rr in range(r, r2 + 1):
                for cc in range(c, c2 + 1):
                    covered.add((rr, cc))
            row.append(GridCell(r - first, c - 1, r2 - r + 1, c2 - c + 1, text, role, code))
        grid.append(row)
    return grid


def column_weights(table: Table) -> list[float]:
    layout = LAYOUT.by_name[table.sheet]
    return [layout.widths.get(c, 9.0) for c in range(1, layout.width + 1)]


# --------------------------------------------------------------------------
# The text: what can be drafted from the numbers, and what the office writes
# --------------------------------------------------------------------------


@dataclass
class Paragraph:
    """A paragraph: drafted text, a request to the office, or both (a list of (text, is_todo))."""

    parts: list[tuple[str, bool]]
    heading: bool = False  # a sub-heading such as （一）主动公开政府信息情况

    @classmethod
    def of(cls, text: str, *, todo: bool = False, heading: bool = False) -> "Paragraph":
        return cls([(text, todo)], heading)

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.parts)


def _n(numbers: dict, code: str) -> str:
    return format_number(numbers.get(code) or 0)


def _sum(numbers: dict, codes) -> float:
    return float(sum(numbers.get(c) or 0 for c in codes))


def _result_groups() -> list[tuple[str, tuple[str, ...]]]:
    """表三's result groups (予以公开 … 其他处理) with their rows' 总计 cells, from the form."""
    return [(re.sub(r"^（[一二三四五六七]）|（.*）$", "", label), tuple(f"requests.{r}.total" for r in rows))
            for label, rows in RESULT_GROUPS]


def draft_overview(numbers: dict[str, float | None], year: int, scope: str = "") -> list[Paragraph]:
    """Section 一: sentences drafted from the numbers, the rest marked for the office."""
    n = numbers
    out = [Paragraph.of(TODO.format("本年度政府信息公开工作的总体情况、主要举措和成效"), todo=True)]
    if scope:
        out.append(Paragraph.of(scope))

    out.append(Paragraph.of("（一）主动公开政府信息情况", heading=True))
    active = [f"{year}年，全县制发行政规范性文件{_n(n, 'active.normative.issued')}件，"
              f"废止{_n(n, 'active.normative.repealed')}件，现行有效{_n(n, 'active.normative.in_force')}件"]
    if any(n.get(f"active.rules.{c}") for c in ("issued", "repealed", "in_force")):
        active.append(f"制发规章{_n(n, 'active.rules.issued')}件，废止{_n(n, 'active.rules.repealed')}件，"
                      f"现行有效{_n(n, 'active.rules.in_force')}件")
    active.append(f"作出行政许可决定{_n(n, 'active.licensing.decisions')}件、"
                  f"行政处罚决定{_n(n, 'active.penalty.decisions')}件、行政强制决定{_n(n, 'active.coercion.decisions')}件")
    active.append(f"行政事业性收费{_n(n, 'active.fees.amount')}万元")
    out.append(Paragraph([("；".join(active) + "。", False),
                          (TODO.format("主动公开的主要内容、渠道和数量"), True)]))

    out.append(Paragraph.of("（二）依申请公开情况", heading=True))
    new, carried_in = _n(n, "requests.new.total"), _n(n, "requests.carried_in.total")
    if not n.get("requests.new.total") and not n.get("requests.carried_in.total"):
        requests = f"{year}年，全县未收到政府信息公开申请，也没有上年结转的申请。"
    else:
        results = "，".join(f"{label}{format_number(_sum(n, codes))}件" for label, codes in _result_groups())
        orgs = _sum(n, [f"requests.new.{c}" for c in ("business", "research", "nonprofit", "legal", "other_org")])
        requests = (
            f"{year}年，全县共新收政府信息公开申请{new}件，上年结转{carried_in}件；"
            f"新收申请中，自然人提出{_n(n, 'requests.new.natural')}件，法人或其他组织提出{format_number(orgs)}件。"
            f"本年度办理结果中，{results}；结转下年度继续办理{_n(n, 'requests.carried_out.total')}件。"
        )
    review = n.get("appeals.review.total") or 0
    suits = _sum(n, ("appeals.suit_direct.total", "appeals.suit_after_review.total"))
    if not review and not suits:
        appeals = "全年未发生政府信息公开行政复议、行政诉讼。"
    else:
        appeals = (
            f"全年发生政府信息公开行政复议{format_number(review)}件（结果维持{_n(n, 'appeals.review.upheld')}件，"
            f"结果纠正{_n(n, 'appeals.review.corrected')}件，其他结果{_n(n, 'appeals.review.other')}件，"
            f"尚未审结{_n(n, 'appeals.review.pending')}件），行政诉讼{format_number(suits)}件"
            f"（未经复议直接起诉{_n(n, 'appeals.suit_direct.total')}件，复议后起诉{_n(n, 'appeals.suit_after_review.total')}件）。"
        )
    out.append(Paragraph([(requests + appeals, False), (TODO.format("办理依申请公开的主要做法"), True)]))
    for heading, hint in (
        ("（三）政府信息管理情况", "政府信息公开审查、公开属性认定、政策解读等管理情况"),
        ("（四）政府信息公开平台建设情况", "政府网站、政务新媒体等平台建设情况"),
        ("（五）监督保障情况", "考核、培训、社会评议和责任追究等情况"),
    ):
        out.append(Paragraph.of(heading, heading=True))
        out.append(Paragraph.of(TODO.format(hint), todo=True))
    return out


PROBLEMS_TODO = "本年度政府信息公开工作存在的主要问题及改进情况"
OTHER_TODO = "其他需要报告的事项，如依据《政府信息公开信息处理费管理办法》收取信息处理费的情况；没有的写“无”"


@dataclass
class Draft:
    """The whole county report, format-neutral: title, and per section paragraphs or a table."""

    title: str
    year: int
    county: str
    sections: list[tuple[str, list[Paragraph] | Table]] = field(default_factory=list)
    numbers: dict[str, float | None] = field(default_factory=dict)


def draft_report(county: str, year: int, numbers: dict[str, float | None], scope: str = "") -> Draft:
    draft = Draft(f"{county}{year}年政府信息公开工作年度报告", year, county, numbers=dict(numbers))
    tables = {t.title: t for t in FORM.tables}
    texts = {
        TEXT_FIELDS[0].label: draft_overview(numbers, year, scope),
        TEXT_FIELDS[1].label: [Paragraph.of(TODO.format(PROBLEMS_TODO), todo=True)],
        TEXT_FIELDS[2].label: [Paragraph.of(TODO.format(OTHER_TODO), todo=True)],
    }
    for title in SECTIONS:
        draft.sections.append((title, tables[title] if title in tables else texts[title]))
    return draft



# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

HTML_TEMPLATE = "annual_report.html.j2"  # in flows/outputs/templates/, with the page's styles


def _html_table(table: Table, numbers: dict) -> dict:
    """The table as plain data for the template: column widths in percent and the rows of grid cells."""
    weights = column_weights(table)
    total = sum(weights)
    return {"prefix": table.prefix, "widths": [w / total * 100 for w in weights], "rows": table_grid(table, numbers)}


def render_html(draft: Draft) -> str:
    """The page, from ``templates/annual_report.html.j2`` (autoescaped: the draft is plain text)."""
    sections = []
    for title, content in draft.sections:
        if isinstance(content, Table):
            sections.append({"title": title, "table": _html_table(content, draft.numbers), "paragraphs": []})
        else:
            sections.append({"title": title, "table": None, "paragraphs": content})
    return render(HTML_TEMPLATE, title=draft.title, format_source=FORMAT_SOURCE, sections=sections)


# --------------------------------------------------------------------------
# Word
# --------------------------------------------------------------------------

BODY_FONT = "仿宋"
TITLE_FONT = "宋体"
HEADING_FONT = "黑体"
SUB_FONT = "楷体"
TABLE_FONT = "宋体"
PAGE_WIDTH_CM, PAGE_HEIGHT_CM, MARGIN_CM = 21.0, 29.7, 2.0
TABLE_ROW_CM = 0.6  # minimum height of a table row
CELL_MARGIN_CM = 0.08  # left and right padding of the tables' cells (the "Table Grid" style's 0.19 cm is set down)
TABLE_MIN_SHARE = 0.85  # a column keeps this share of its width in the template's proportions, header words permitting
CM_PER_PT = 2.54 / 72
FOOTER_FONT_SIZE = 12


def _set_font(run, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)


def _docx_paragraph(doc, p: Paragraph) -> None:
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import Pt

    para = doc.add_paragraph()
    para.paragraph_format.first_line_indent = Pt(32)
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.line_spacing = Pt(28)
    para.paragraph_format.keep_with_next = p.heading  # a sub-heading never ends a page
    for text, todo in p.parts:
        run = para.add_run(text)
        _set_font(run, SUB_FONT if p.heading else BODY_FONT, 16, bold=p.heading)
        if todo:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


# Header labels break between words only.  A Chinese label is read as words of two characters
# (商业|企业, 社会|公益|组织; an odd one out joins the last: 自然人), and its lines are laid out here:
# whole when the column is wide enough, else broken after a word with an explicit line break, so
# that no application breaks 商业企业 as 商业企/业.  Columns are made wide enough for that first.

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _char_em(ch: str) -> float:
    """Width of a character in ems of the font size: full-width 1, the rest (digits, Latin) half."""
    return 1.0 if ord(ch) > 0x2e7f else 0.5


def _em(text: str) -> float:
    return sum(_char_em(ch) for ch in text)


_OPENING = set("（《“‘([{【")


def header_words(text: str) -> list[str]:
    """The words of a header label, in order: two-character words in runs of Chinese characters
    (an odd character joins the last word); an opening bracket goes with the word after it, other
    characters (closing brackets, punctuation, digits) with the word before them."""
    words: list[str] = []
    opening = ""  # opening brackets waiting for their word
    pos = 0
    for m in _CJK.finditer(text):
        for ch in text[pos:m.start()]:
            if ch in _OPENING or not words:
                opening += ch
            elif opening:
                opening += ch
            else:
                words[-1] += ch
        run = m.group()
        pairs = [run[i:i + 2] for i in range(0, len(run), 2)]
        if len(pairs) > 1 and len(pairs[-1]) == 1:
            pairs[-2:] = [pairs[-2] + pairs[-1]]
        pairs[0] = opening + pairs[0]
        opening = ""
        words.extend(pairs)
        pos = m.end()
    rest = opening + text[pos:]
    if rest and words:
        words[-1] += rest
    elif rest:
        words.append(rest)
    return words


def header_lines(text: str, capacity_em: float) -> list[str]:
    """``text`` in lines of at most ``capacity_em`` ems, broken between words only (a word longer
    than a line stands alone on its line)."""
    lines: list[str] = []
    for word in header_words(text):
        if lines and _em(lines[-1] + word) <= capacity_em:
            lines[-1] += word
        else:
            lines.append(word)
    return lines or [""]


def _header_units(text: str, level: int) -> list[str]:
    """What must stay on one line, by how much room there is: the whole label (level 0), runs of
    up to four Chinese characters (1, so 商业企业 stays whole), single words (2)."""
    if level == 0:
        return [text]
    words = header_words(text)
    if level == 2:
        return words
    units: list[str] = []
    for w in words:
        if units and len(_CJK.sub("", units[-1] + w)) == 0 and len(units[-1] + w) <= 4:
            units[-1] += w
        else:
            units.append(w)
    return units


def _docx_widths(grid: list[list[GridCell]], weights: list[float], size: float) -> tuple[list[float], int]:
    """Column widths (cm) filling the page's width, each wide enough for its one-column headers'
    unbreakable units at the first level (see :func:`_header_units`) that leaves every column
    :data:`TABLE_MIN_SHARE` of its share (the row labels need room too); and that level."""
    usable = PAGE_WIDTH_CM - 2 * MARGIN_CM
    em_cm = size * CM_PER_PT
    pad = 2 * CELL_MARGIN_CM + 0.1  # cell margins and a little room for rounding in the applications
    total = sum(weights)
    ideal = [usable * w / total for w in weights]
    base = [pad + 2 * em_cm] * len(weights)  # at least two characters, or a number of a few digits
    chosen, level = base, 2
    for level in range(3):
        need = list(base)
        for row in grid:
            for cell in row:
                if cell.colspan == 1 and cell.role == "header":
                    unit = max(_em(u) for u in _header_units(cell.text, level))
                    need[cell.col] = max(need[cell.col], pad + unit * em_cm)
        if sum(max(n, TABLE_MIN_SHARE * i) for n, i in zip(need, ideal)) <= usable or level == 2:
            chosen = need
            break
    widths = [max(n, i) for n, i in zip(chosen, ideal)]
    over = sum(widths) - usable
    slack = [w - n for w, n in zip(widths, chosen)]
    if over > 0 and sum(slack) > 0:  # take what the minimums added back from the columns with room to spare
        widths = [w - over * s / sum(slack) for w, s in zip(widths, slack)]
    return widths, level


def _keep_row(row, *, with_next: bool) -> None:
    """A table row never splits over two pages and, ``with_next``, stays on the page of the next row.

    Every paragraph of the row keeps with the next, those of the cells a vertical merge continues
    included: Word reads any of them, LibreOffice wants them all.
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph as WordParagraph

    tr_pr = row._tr.get_or_add_trPr()
    cant_split = OxmlElement("w:cantSplit")
    cant_split.set(qn("w:val"), "true")
    tr_pr.insert(0, cant_split)  # first in w:trPr, before w:trHeight and w:tblHeader
    if with_next:
        for p in row._tr.iter(qn("w:p")):
            WordParagraph(p, None).paragraph_format.keep_with_next = True


def _cell_margins(word_table, cm: float) -> None:
    """Left and right padding of every cell of the table."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    margins = OxmlElement("w:tblCellMar")
    for side in ("w:left", "w:right"):
        el = OxmlElement(side)
        el.set(qn("w:w"), str(Cm(cm).twips))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    word_table._tbl.tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription",
                                                "w:tblPrChange")


def _docx_table(doc, table: Table, numbers: dict) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    grid = table_grid(table, numbers)
    layout = LAYOUT.by_name[table.sheet]
    nrows, ncols = layout.last_row - 1, layout.width
    size = 9 if ncols > 6 else 10.5
    widths_cm, _ = _docx_widths(grid, column_weights(table), size)
    widths = [Cm(w) for w in widths_cm]
    word = doc.add_table(rows=nrows, cols=ncols)
    word.style = "Table Grid"
    word.alignment = WD_TABLE_ALIGNMENT.CENTER
    word.autofit = False
    _cell_margins(word, CELL_MARGIN_CM)
    for c, column in enumerate(word.columns):
        column.width = widths[c]  # the table grid, which LibreOffice and WPS follow
    for row in word.rows:
        row.height, row.height_rule = Cm(TABLE_ROW_CM), WD_ROW_HEIGHT_RULE.AT_LEAST
        for c, cell in enumerate(row.cells):
            cell.width = widths[c]  # each cell's own width, which Word follows
    for r, grid_row in enumerate(grid):  # header rows repeat on every page the table runs over
        if any(cell.role == "value" for cell in grid_row):
            break
        header = OxmlElement("w:tblHeader")
        header.set(qn("w:val"), "true")
        word.rows[r]._tr.get_or_add_trPr().append(header)
    for grid_row in grid:
        for cell in grid_row:
            target = word.cell(cell.row, cell.col)
            if cell.rowspan > 1 or cell.colspan > 1:
                target = target.merge(word.cell(cell.row + cell.rowspan - 1, cell.col + cell.colspan - 1))
                target.width = sum(widths[cell.col: cell.col + cell.colspan], Cm(0))
            target.text = ""
            para = target.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            bold = cell.role in ("subtitle", "header", "corner")
            if cell.role == "header":
                room = sum(widths_cm[cell.col: cell.col + cell.colspan]) - 2 * CELL_MARGIN_CM - 0.1
                lines = header_lines(cell.text, room / (size * CM_PER_PT))
            else:
                lines = [cell.text]
            for i, line in enumerate(lines):
                run = para.add_run(line)
                _set_font(run, TABLE_FONT, size, bold=bold)
                if i < len(lines) - 1:
                    run.add_break()
            target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    # A table is short enough for a page: it stays whole, its labels (三、本年度办理结果 over 22 rows)
    # with their rows; were it longer, its rows would still not split and its header would repeat.
    for r, row in enumerate(word.rows):
        _keep_row(row, with_next=r < len(word.rows) - 1)


def _page_number_footer(section) -> None:
    """The footer: — page number — centred, a PAGE field the application fills in."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(para.add_run("— "), TITLE_FONT, FOOTER_FONT_SIZE)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = para.add_run()
        _set_font(run, TITLE_FONT, FOOTER_FONT_SIZE)
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text.strip() == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text
    _set_font(para.add_run(" —"), TITLE_FONT, FOOTER_FONT_SIZE)


def county_office(county: str) -> str:
    """The office that publishes the county's report: 巫山县 → 巫山县人民政府办公室."""
    if county.endswith("办公室"):
        return county
    return county + ("办公室" if county.endswith("人民政府") else "人民政府办公室")


APP_PROPERTIES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<Application>nianbao</Application><DocSecurity>0</DocSecurity><Company>{company}</Company>"
    "</Properties>"
)


def _document_properties(doc, draft: Draft) -> None:
    """What the file says about itself: title, the county office as author, the time it was written."""
    import datetime as dt

    office = county_office(draft.county)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)  # written as UTC
    props = doc.core_properties
    props.title = draft.title
    props.subject = f"{draft.year}年度政府信息公开工作年度报告"
    props.author = props.last_modified_by = office
    props.comments = props.keywords = props.category = ""
    props.created = props.modified = now
    props.revision = 1


def _with_app_properties(data: bytes, company: str) -> bytes:
    """The .docx ``data`` with its extended properties (docProps/app.xml) saying what wrote it: python-docx's
    template names another application."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "docProps/app.xml":
                body = APP_PROPERTIES.format(company=escape(company)).encode("utf-8")
            dst.writestr(item, body)
    return out.getvalue()


def render_docx(draft: Draft, target: Path) -> None:
    import io

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_WIDTH_CM), Cm(PAGE_HEIGHT_CM)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))
    section.footer_distance = Cm(1.0)
    _page_number_footer(section)
    _document_properties(doc, draft)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(18)
    _set_font(title.add_run(draft.title), TITLE_FONT, 22, bold=True)
    note = doc.add_paragraph()
    note.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(note.add_run(f"（依据{FORMAT_SOURCE}规定的格式编制；黄色底纹部分请县政府办公室填写后删除提示）"),
              BODY_FONT, 12)
    for heading, content in draft.sections:
        para = doc.add_paragraph()
        para.paragraph_format.space_before = Pt(12)
        para.paragraph_format.first_line_indent = Pt(32)
        para.paragraph_format.keep_with_next = True  # a section's title stays with its first lines or its table
        _set_font(para.add_run(heading), HEADING_FONT, 16)
        if isinstance(content, Table):
            _docx_table(doc, content, draft.numbers)
        else:
            for p in content:
                _docx_paragraph(doc, p)
    buf = io.BytesIO()
    doc.save(buf)
    Path(target).write_bytes(_with_app_properties(buf.getvalue(), county_office(draft.county)))


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------


@dataclass
class PublishResult:
    year: int
    html: Path
    docx: Path
    numbers: dict[str, float | None]
    warnings: list[Finding]
    scope: str
    left_out: int = 0  # agencies of the roster whose report is not in the rollup (missing or rejected)


def latest_year(outbound: Path) -> int | None:
    years = [int(p.name) for p in outbound.iterdir() if p.name.isdigit() and (p / ROLLUP_NAME).exists()] \
        if outbound.is_dir() else []
    return max(years) if years else None


def rollup_scope(rollup: Path) -> str:
    """:func:`rollup_coverage`'s sentence."""
    return rollup_coverage(rollup)[0]


def rollup_coverage(rollup: Path) -> tuple[str, int]:
    """(A sentence on the agencies in the rollup, how many of the roster's are not in it), from its 报送情况
    sheet; ('', 0) when it cannot be read."""
    from nianbao.flows.excel.tables import read_rows

    try:
        rows = read_rows(rollup, sheet=STATUS_SHEET)
    except Exception:  # noqa: BLE001 - the scope is a courtesy; the numbers are what matters
        return "", 0
    header = [str(h or "") for h in rows[0]] if rows else []
    if "是否计入汇总" not in header or "状态" not in header:
        return "", 0
    inc, st = header.index("是否计入汇总"), header.index("状态")
    body = [list(r) + [None] * (len(header) - len(r)) for r in rows[1:] if r and any(v not in (None, "") for v in r)]
    included = sum(1 for r in body if r[inc] == "是")
    listed = sum(1 for r in body if NOT_LISTED not in str(r[st] or ""))
    left_out = sum(1 for r in body if NOT_LISTED not in str(r[st] or "") and r[inc] != "是")
    more = f"，其中{left_out}个单位的年报未报送或未通过，未计入" if left_out else ""
    return f"本报告统计数据为全县{included}个单位政府信息公开工作年度报告的汇总（名单共{listed}个单位{more}）。", left_out


def write_annual_report(settings: Settings, year: int, *, last_year: int | None = None) -> PublishResult:
    """Read ``outbound/Y/rollup.xlsx`` and write ``年度报告.html`` and ``年度报告.docx`` beside it."""
    from nianbao.flows.excel.reader import read_report

    outdir = settings.outbound / str(year)
    rollup = outdir / ROLLUP_NAME
    if not rollup.exists():
        raise PublishError(f"没有找到 {year} 年度的全县汇总表 {rollup}。请先运行 nianbao run 收件并汇总。")
    report: Report = read_report(rollup, name=ROLLUP_NAME)
    findings = check_report(report, last_year=max(year, last_year or year))
    if not report.readable or has_errors(findings):
        problems = "；".join(f"{f.where}【{f.title}】{f.message}" for f in findings if f.is_error)[:500]
        raise PublishError(f"全县汇总表 {rollup} 未通过复核（{problems}），不能据此发布年报。请重新运行 nianbao run 并报告维护人员。")
    county = coerce_text(report.fields.get("meta.agency")) or settings.county
    scope, left_out = rollup_coverage(rollup)
    draft = draft_report(county, year, report.numbers, scope)
    html_path, docx_path = outdir / HTML_NAME, outdir / DOCX_NAME
    with atomic_path(html_path) as tmp:
        tmp.write_text(render_html(draft), encoding="utf-8")
    with atomic_path(docx_path) as tmp:
        render_docx(draft, tmp)
    return PublishResult(year, html_path, docx_path, dict(report.numbers), [f for f in findings if not f.is_error], scope,
                         left_out)

