"""Published reports as agencies make them, built at test time: a Word document with the official
merged cells, and PDFs made from it by LibreOffice (with and without ruling lines).

The tables are laid out from :data:`nianbao.schemas.form.FORM` (labels, order, label paths), the
way the official form merges its cells; nothing here is a binary fixture.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from nianbao.schemas.form import FORM, SECTIONS, Table

AGENCY = "巫山县某某局"
YEAR = 2024
TITLE = f"{AGENCY}{YEAR}年度政府信息公开工作年度报告"
TEXTS = {
    "text.overview": f"{YEAR}年，{AGENCY}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、"
                     "不公开为例外，全面推进决策、执行、管理、服务、结果公开，各项工作有序开展。",
    "text.problems": "一是信息公开的及时性有待提高；二是政务新媒体的运营和管理水平有待提高。下一步将加强培训，"
                     "健全制度，确保各项公开工作落实到位。",
    "text.other": "无。",
}


def distinct_values() -> dict[str, object]:
    """Every one of the 200 cells a different number (101, 102, …; the fee a decimal): misplacement shows."""
    out: dict[str, object] = {}
    for i, cell in enumerate(FORM.cells):
        out[cell.code] = round(100 + i + 0.25, 2) if cell.kind == "decimal" else 101 + i
    return out


def text_of(value: object) -> str:
    return str(value)


# --------------------------------------------------------------------------
# The official layout, derived from the form
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str
    role: str  # title, corner, header, label, value
    code: str = ""


def _runs(paths: list[tuple[str, ...]], level: int) -> list[tuple[int, int, str]]:
    """Runs of consecutive paths sharing their prefix up to ``level``: (first, last, label)."""
    runs: list[tuple[int, int, str]] = []
    for i, path in enumerate(paths):
        if len(path) <= level:
            continue
        if runs and runs[-1][1] == i - 1 and paths[runs[-1][0]][: level + 1] == path[: level + 1]:
            runs[-1] = (runs[-1][0], i, runs[-1][2])
        else:
            runs.append((i, i, path[level]))
    return runs


def table_width(table: Table) -> int:
    return max(max(len(r.path) for r in b.rows) + len(b.columns) for b in table.blocks)


def table_cells(table: Table, values: dict[str, object]) -> tuple[list[Cell], int, int]:
    """The cells of ``table`` as the official form merges them; (cells, rows, columns).

    表二: each block's title row (第二十条第（一）项) over the 4 columns, a one-column block's header and
    values over 3; 表三: the corner 3 x 3, 申请人情况 over 7, 法人或其他组织 over 5, 自然人 and 总计
    down 2 header rows, group labels (三、本年度办理结果 over 22 rows, （三）不予公开 over 8) down,
    leaves across to the values; 表四: 行政复议 over 5 with its outcomes down 2 rows, 行政诉讼 over 10.
    """
    width = table_width(table)
    cells: list[Cell] = []
    row = 0
    for block in table.blocks:
        depth = max(len(r.path) for r in block.rows)
        header = max(len(c.path) for c in block.columns)
        stretch = len(block.columns) == 1 and width > depth + 1
        if block.title:
            cells.append(Cell(row, 0, 1, width, block.title, "title"))
            row += 1
        if depth and block.corner:
            cells.append(Cell(row, 0, header, depth, block.corner, "corner"))
        paths = [c.path for c in block.columns]
        for level in range(header):
            for first, last, text in _runs(paths, level):
                leaf = all(len(paths[i]) == level + 1 for i in range(first, last + 1))
                colspan = width - depth if stretch else last - first + 1
                rowspan = header - level if leaf else 1
                cells.append(Cell(row + level, depth + first, rowspan, colspan, text, "header"))
        row += header
        paths = [r.path for r in block.rows]
        for level in range(depth):
            for first, last, text in _runs(paths, level):
                leaf = all(len(paths[i]) == level + 1 for i in range(first, last + 1))
                colspan = depth - level if leaf else 1
                cells.append(Cell(row + first, level, last - first + 1, colspan, text, "label"))
        for i, r in enumerate(block.rows):
            for j, c in enumerate(block.columns):
                code = ".".join(p for p in (table.prefix, r.code, c.code) if p)
                colspan = width - depth if stretch else 1
                cells.append(Cell(row + i, depth + j, 1, colspan, text_of(values[code]), "value", code))
        row += len(block.rows)
    return cells, row, width


# --------------------------------------------------------------------------
# Word
# --------------------------------------------------------------------------

BODY_FONT, TITLE_FONT, HEADING_FONT, TABLE_FONT = "仿宋", "宋体", "黑体", "宋体"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)


def _paragraph(doc, text: str, font: str = BODY_FONT, size: float = 12, *, bold: bool = False,
               centre: bool = False, indent: bool = True):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = doc.add_paragraph()
    if centre:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif indent:
        p.paragraph_format.first_line_indent = Pt(2 * size)
    _font(p.add_run(text), font, size, bold)
    return p


def _no_borders(table) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


# column widths in cm, by table: label columns, then value columns (a page 17 cm wide)
_WIDTHS = {"active": ([5.0], 12.0), "requests": ([1.3, 1.7, 5.0], 9.0), "appeals": ([], 17.0)}


def _word_table(doc, table: Table, values: dict[str, object], borders: bool, size: float, centred: bool) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    cells, nrows, ncols = table_cells(table, values)
    labels, rest = _WIDTHS[table.prefix]
    widths = [Cm(w) for w in labels] + [Cm(rest / (ncols - len(labels)))] * (ncols - len(labels))
    word = doc.add_table(rows=nrows, cols=ncols)
    if borders:
        word.style = "Table Grid"
    else:
        _no_borders(word)
    word.alignment = WD_TABLE_ALIGNMENT.CENTER
    word.autofit = False
    for c, column in enumerate(word.columns):
        column.width = widths[c]
    for row in word.rows:
        for c, cell in enumerate(row.cells):
            cell.width = widths[c]
    for cell in cells:
        target = word.cell(cell.row, cell.col)
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(word.cell(cell.row + cell.rowspan - 1, cell.col + cell.colspan - 1))
        target.text = ""
        para = target.paragraphs[0]
        if cell.role != "label":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(para.add_run(cell.text), TABLE_FONT, size, bold=cell.role in ("title", "header", "corner"))
        if centred:
            target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _footer(section) -> None:
    """— PAGE — centred in the footer, as Word templates of official documents have it."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(para.add_run("— "), TITLE_FONT, 10.5)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = para.add_run()
        _font(run, TITLE_FONT, 10.5)
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
    _font(para.add_run(" —"), TITLE_FONT, 10.5)


def official_docx(path: Path, values: dict[str, object] | None = None, texts: dict[str, str] | None = None, *,
                  borders: bool = True, centred: bool = False, title: str = TITLE, table_size: float = 9) -> Path:
    """A .docx of the report laid out as the official format, with Word's merged cells (``gridSpan``,
    ``vMerge``); ``borders=False``: the tables without ruling lines; ``centred``: cells' text
    vertically centred (else at the top, Word's default)."""
    from docx import Document
    from docx.shared import Cm

    values = values if values is not None else distinct_values()
    texts = {**TEXTS, **(texts or {})}
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(2.5)
    _footer(section)
    doc.core_properties.title = title
    _paragraph(doc, title, TITLE_FONT, 18, bold=True, centre=True)
    _paragraph(doc, f"本报告根据《中华人民共和国政府信息公开条例》要求编制，所列数据统计期限自{YEAR}年1月1日起至"
                    f"{YEAR}年12月31日止。")
    tables = {t.title: t for t in FORM.tables}
    narrative = {f.label: f.code for f in FORM.fields if f.code.startswith("text.")}
    for heading in SECTIONS:
        _paragraph(doc, heading, HEADING_FONT, 12, indent=True)
        if heading in tables:
            _word_table(doc, tables[heading], values, borders, table_size, centred)
        else:
            _paragraph(doc, texts.get(narrative[heading], ""))
    return_path = Path(path)
    doc.save(return_path)
    return return_path


# --------------------------------------------------------------------------
# PDF, by LibreOffice
# --------------------------------------------------------------------------


def to_pdf(soffice: str, docs: list[Path], outdir: Path, profile: Path) -> list[Path]:
    """PDFs of ``docs`` made by LibreOffice Writer (one run, a private profile: parallel runs don't clash)."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(outdir), *map(str, docs)], check=True, capture_output=True, timeout=300)
    out = [outdir / (Path(d).stem + ".pdf") for d in docs]
    missing = [p for p in out if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice made no PDF of {missing}")
    return out


def to_png(pdftoppm: str, pdf: Path, prefix: Path, resolution: int = 60) -> list[Path]:
    """Pages of ``pdf`` as PNG (to look at)."""
    subprocess.run([pdftoppm, "-r", str(resolution), "-png", str(pdf), str(prefix)], check=True,
                   capture_output=True, timeout=120)
    return sorted(prefix.parent.glob(prefix.name + "*.png"))


# --------------------------------------------------------------------------
# Small documents for the reader's edge cases
# --------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_with_body(path: Path, body_xml: str) -> Path:
    """A .docx whose body is ``body_xml`` (WordprocessingML elements, prefix ``w:``), as other writers
    (WPS, older Word, content controls, tracked changes) put them."""
    from docx import Document
    from docx.oxml import parse_xml

    doc = Document()
    body = doc.element.body
    for child in list(body):
        if not child.tag.endswith("}sectPr"):
            body.remove(child)
    wrapper = parse_xml(f'<w:body xmlns:w="{W_NS}">{body_xml}</w:body>')
    sect = body[-1] if len(body) else None
    for child in list(wrapper):
        if sect is not None:
            sect.addprevious(child)
        else:
            body.append(child)
    doc.save(path)
    return Path(path)


def p(text: str) -> str:
    """A paragraph of ``text``."""
    return f"<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"


def tc(text: str = "", span: int = 1, vmerge: str | None = None, body: str | None = None) -> str:
    """A table cell: ``span`` grid columns, ``vmerge`` "restart", "continue" or "" (a bare w:vMerge)."""
    props = ""
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if vmerge is not None:
        props += f'<w:vMerge w:val="{vmerge}"/>' if vmerge else "<w:vMerge/>"
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{body if body is not None else p(text) if text else '<w:p/>'}</w:tc>"


def tbl(*rows: str, columns: int) -> str:
    grid = "".join('<w:gridCol w:w="1000"/>' for _ in range(columns))
    return f"<w:tbl><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"


def tr(*cells: str, before: int = 0, after: int = 0) -> str:
    props = ""
    if before:
        props += f'<w:gridBefore w:val="{before}"/>'
    if after:
        props += f'<w:gridAfter w:val="{after}"/>'
    return f"<w:tr><w:trPr>{props}</w:trPr>{''.join(cells)}</w:tr>"


def textless_pdf(path: Path) -> Path:
    """A one-page PDF with a drawing and no text: what a scan looks like to a text reader."""
    content = b"0.5 w 72 72 m 500 700 l S 100 100 200 300 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    Path(path).write_bytes(bytes(out))
    return Path(path)
