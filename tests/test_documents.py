"""Reading Word and PDF reports: paragraphs as lines, tables as grids with their real geometry.

The fixtures are made here, at test time (tests/documents_fixtures.py): a .docx laid out as the
official form with Word's merged cells, and PDFs made from it by LibreOffice, with and without
ruling lines.  Every one of the 200 cells holds a different number, so a value read into the
wrong place shows.
"""

from __future__ import annotations

import re

import pytest

from conftest import require_tool
from documents_fixtures import (
    TEXTS, TITLE, distinct_values, docx_with_body, official_docx, p, table_cells, tbl, tc, text_of, textless_pdf, to_pdf,
    tr,
)
from nianbao.flows.documents.pdf import PAGE_OFFSET, is_heading, pdf_title, read_pdf
from nianbao.flows.documents.word import docx_title, read_docx
from nianbao.schemas.form import FORM, SECTIONS
from nianbao.schemas.placement import GRID, WORDS, Grid, place_table, squeeze
from nianbao.schemas.published import Line, parse_items

VALUES = distinct_values()
LONG_TITLE = "重庆市巫山县某某某某产业园区管理委员会办公室2024年度政府信息公开工作年度报告"
# a sentence with numbers set apart by spaces: running text, never a table
NUMBERS_IN_TEXT = {"text.overview": "全年主动公开政府信息 126 条，新收申请 12 件，办结 11 件，结转 1 件，"
                                    "均在法定期限内答复。"}


def sections(items: list) -> dict[str, list[Grid]]:
    """The grids under each official section heading (the importer splits the same way)."""
    out: dict[str, list[Grid]] = {}
    current = None
    for item in items:
        if isinstance(item, Line):
            text = squeeze(item.text)
            current = next((s for s in SECTIONS if text.startswith(s)), current)
        elif current is not None:
            out.setdefault(current, []).append(item)
    return out


def grids(items: list) -> list[Grid]:
    return [i for i in items if isinstance(i, Grid)]


def lines(items: list) -> list[str]:
    return [i.text for i in items if isinstance(i, Line)]


def assert_each_value_once(items: list) -> None:
    boxes = [b.text.strip() for g in grids(items) for b in g.boxes]
    for code, value in VALUES.items():
        assert boxes.count(text_of(value)) == 1, (code, value, boxes.count(text_of(value)))


def assert_all_placed(items: list) -> None:
    by_section = sections(items)
    for table in FORM.tables:
        placed = place_table(table, by_section.get(table.title, []))
        assert not placed.problems, (table.number, placed.problems)
        assert placed.values == {c: VALUES[c] for c in placed.codes}, table.number


# --------------------------------------------------------------------------
# Fixtures: one LibreOffice run for every PDF
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """name → bytes: the Word documents and the PDFs LibreOffice made of them."""
    folder = tmp_path_factory.mktemp("documents")
    docs = {
        "ruled": official_docx(folder / "ruled.docx"),
        "plain": official_docx(folder / "plain.docx", texts=NUMBERS_IN_TEXT, borders=False),
        "long_title": official_docx(folder / "long_title.docx", title=LONG_TITLE),
        "centred": official_docx(folder / "centred.docx", centred=True),
        "centred_plain": official_docx(folder / "centred_plain.docx", borders=False, centred=True),
    }
    out = {f"{name}.docx": path.read_bytes() for name, path in docs.items()}
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-writer")
    for path in to_pdf(soffice, list(docs.values()), folder / "pdf", folder / "profile"):
        out[path.name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def word_document(tmp_path_factory):
    path = official_docx(tmp_path_factory.mktemp("word") / "report.docx")
    return path.read_bytes()


# --------------------------------------------------------------------------
# Word
# --------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_document_order(word_document):
    items = read_docx(word_document)
    assert docx_title(word_document) == TITLE
    assert isinstance(items[0], Line) and items[0].text == TITLE
    kinds = ["grid" if isinstance(i, Grid) else i.text for i in items if isinstance(i, Grid) or i.text in SECTIONS]
    assert kinds == [SECTIONS[0], SECTIONS[1], "grid", SECTIONS[2], "grid", SECTIONS[3], "grid", SECTIONS[4],
                     SECTIONS[5]]
    assert "无。" in lines(items)
    assert all(g.geometry == GRID for g in grids(items))


def test_docx_grids_reproduce_the_official_merges(word_document):
    by_section = sections(read_docx(word_document))
    for table in FORM.tables:
        (grid,) = by_section[table.title]
        expected, _, _ = table_cells(table, VALUES)
        got = {(b.text, b.x0, b.x1, b.y0, b.y1) for b in grid.boxes}
        assert got == {(c.text, c.col, c.col + c.colspan, c.row, c.row + c.rowspan) for c in expected}, table.number
        assert len(grid.boxes) == len(expected)

    def box(table, text):
        (grid,) = by_section[table.title]
        found = [b for b in grid.boxes if b.text == text]
        assert found, text
        return [(b.x1 - b.x0, b.y1 - b.y0) for b in found]

    active, requests, appeals = FORM.tables
    assert box(active, "第二十条第（一）项") == [(4, 1)]
    assert box(active, "本年处理决定数量") == [(3, 1), (3, 1)]
    assert box(active, text_of(VALUES["active.licensing.decisions"])) == [(3, 1)]
    assert box(requests, requests.blocks[0].corner) == [(3, 3)]
    assert box(requests, "申请人情况") == [(7, 1)]
    assert box(requests, "法人或其他组织") == [(5, 1)]
    assert box(requests, "自然人") == box(requests, "总计") == [(1, 2)]
    assert box(requests, "三、本年度办理结果") == [(1, 22)]
    assert box(requests, "（三）不予公开") == [(1, 8)]
    assert box(requests, "（一）予以公开") == [(2, 1)]
    assert box(requests, "一、本年新收政府信息公开申请数量") == [(3, 1)]
    assert box(appeals, "行政复议") == [(5, 1)]
    assert box(appeals, "行政诉讼") == [(10, 1)]
    assert box(appeals, "未经复议直接起诉") == box(appeals, "复议后起诉") == [(5, 1)]
    assert box(appeals, "结果维持") == [(1, 2), (1, 1), (1, 1)]


def test_docx_every_value_in_exactly_one_box(word_document):
    assert_each_value_once(read_docx(word_document))


def test_docx_all_200_values_placed(word_document):
    assert_all_placed(read_docx(word_document))


def test_docx_grid_before_after_and_bare_vmerge(tmp_path):
    """w:gridBefore/w:gridAfter leave grid columns empty; a bare w:vMerge continues the cell above;
    w:hMerge (Word 97) widens the cell before."""
    body = tbl(
        tr(tc("A", vmerge="restart"), tc("B", span=2)),
        tr(tc(vmerge=""), tc("C"), tc("D")),
        tr(tc(vmerge="continue"), tc("E", span=2)),
        tr(tc("F"), tc("G"), before=1),
        tr(tc("H", span=2), after=1),
        tr(tc("I"), '<w:tc><w:tcPr><w:hMerge/></w:tcPr><w:p/></w:tc>', tc("J")),
        columns=3,
    )
    items = read_docx(docx_with_body(tmp_path / "t.docx", p("标题") + body + p("结尾")).read_bytes())
    assert [type(i).__name__ for i in items] == ["Line", "Grid", "Line"]
    got = {(b.text, b.x0, b.x1, b.y0, b.y1) for b in items[1].boxes}
    assert got == {("A", 0, 1, 0, 3), ("B", 1, 3, 0, 1), ("C", 1, 2, 1, 2), ("D", 2, 3, 1, 2),
                   ("E", 1, 3, 2, 3), ("F", 1, 2, 3, 4), ("G", 2, 3, 3, 4), ("H", 0, 2, 4, 5),
                   ("I", 0, 2, 5, 6), ("J", 2, 3, 5, 6)}


def test_docx_cell_text_nested_tables_and_layout_tables(tmp_path):
    """A cell's paragraphs are its lines, a nested table's text goes into the cell; a one-cell table
    holding the real tables (page layout) is read as body."""
    nested = tbl(tr(tc("x1"), tc("x2")), tr(tc("y1"), tc("y2")), columns=2)
    real = tbl(tr(tc(body=p("商业") + p("企业")), tc(body=p("里面") + nested)), columns=2)
    layout = tbl(tr(tc(body=p("一、总体情况") + real + p("说明"))), columns=1)
    items = read_docx(docx_with_body(tmp_path / "t.docx", layout).read_bytes())
    assert [type(i).__name__ for i in items] == ["Line", "Grid", "Line"]
    assert items[0].text == "一、总体情况" and items[2].text == "说明"
    assert [b.text for b in items[1].boxes] == ["商业\n企业", "里面\nx1 x2\ny1 y2"]


def test_docx_content_controls_tracked_changes_and_text_boxes(tmp_path):
    """Text in content controls and insertions is read; deletions, field codes and text boxes are not."""
    body = (
        '<w:sdt><w:sdtPr/><w:sdtContent>' + p("一、总体情况") + '</w:sdtContent></w:sdt>'
        '<w:p><w:r><w:t>本年</w:t></w:r><w:del w:id="1" w:author="a"><w:r><w:delText>删去</w:delText></w:r></w:del>'
        '<w:ins w:id="2" w:author="a"><w:r><w:t>新收</w:t></w:r></w:ins>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>3</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:tab/><w:t>件</w:t></w:r></w:p>'
        + tbl('<w:sdt><w:sdtContent>' + tr(tc("甲"), tc("12")) + '</w:sdtContent></w:sdt>', columns=2)
        + '<w:p/>'
    )
    items = read_docx(docx_with_body(tmp_path / "t.docx", body).read_bytes())
    assert items[0] == Line(("一、总体情况",))
    assert items[1] == Line(("本年新收3\t件",))
    assert [(b.text, b.x0, b.y0) for b in items[2].boxes] == [("甲", 0, 0), ("12", 1, 0)]
    assert len(items) == 3


def test_docx_title_empty_when_not_set(tmp_path):
    assert docx_title(docx_with_body(tmp_path / "t.docx", p("x")).read_bytes()) == ""


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("name, geometry", [("ruled.pdf", GRID), ("plain.pdf", WORDS)])
def test_pdf_headings_are_lines_and_tables_are_grids(made, name, geometry):
    items = read_pdf(made[name])
    texts = [squeeze(t) for t in lines(items)]
    for heading in SECTIONS:
        assert texts.count(heading) == 1, heading
    assert texts[0] == TITLE
    assert all(g.geometry == geometry for g in grids(items))
    assert not any(re.fullmatch(r"[-—\d\s]+", t) for t in lines(items))  # page numbers left out
    by_section = sections(items)
    assert set(by_section) == {t.title for t in FORM.tables}  # tables under their headings, none elsewhere
    ys = [b.y0 for g in grids(items) for b in g.boxes]
    assert max(ys) > PAGE_OFFSET  # the report runs over pages: y says which


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["ruled.pdf", "plain.pdf"])
def test_pdf_every_value_is_its_own_box(made, name):
    assert_each_value_once(read_pdf(made[name]))


@pytest.mark.libreoffice
def test_pdf_ruled_cells_are_the_merged_rectangles(made):
    by_section = sections(read_pdf(made["ruled.pdf"]))
    (requests, *_) = by_section[FORM.tables[1].title]
    corner = next(b for b in requests.boxes if squeeze(b.text) == squeeze(FORM.tables[1].blocks[0].corner))
    natural = next(b for b in requests.boxes if squeeze(b.text) == "自然人")
    business = next(b for b in requests.boxes if squeeze(b.text) == "商业企业")
    applicant = next(b for b in requests.boxes if squeeze(b.text) == "申请人情况")
    assert corner.y0 == applicant.y0 and corner.y1 == natural.y1 == business.y1  # 3 header rows
    assert applicant.x0 == natural.x0 and applicant.x1 > business.x1  # 申请人情况 over the columns
    results = next(b for b in requests.boxes if squeeze(b.text) == "三、本年度办理结果")
    granted = next(b for b in requests.boxes if b.text == text_of(VALUES["requests.granted.natural"]))
    assert results.y0 == granted.y0 and results.y1 - results.y0 > 10 * (granted.y1 - granted.y0)
    (appeals,) = by_section[FORM.tables[2].title]
    review = next(b for b in appeals.boxes if b.text == "行政复议")
    upheld = sorted((b for b in appeals.boxes if squeeze(b.text) == "结果维持"), key=lambda b: b.x0)
    assert review.x0 == upheld[0].x0 and upheld[0].y1 == upheld[1].y1 and upheld[0].y0 < upheld[1].y0


@pytest.mark.libreoffice
def test_pdf_numbers_in_running_text_stay_text(made):
    items = read_pdf(made["plain.pdf"])
    text = "".join(squeeze(t) for t in lines(items))
    assert squeeze(NUMBERS_IN_TEXT["text.overview"]) in text


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["ruled.docx", "ruled.pdf", "plain.pdf", "plain.docx", "centred.pdf"])
def test_all_200_values_placed(made, name):
    reader = read_docx if name.endswith(".docx") else read_pdf
    assert_all_placed(reader(made[name]))


@pytest.mark.libreoffice
def test_all_200_values_placed_unruled_and_centred(made):
    items = read_pdf(made["centred_plain.pdf"])
    assert_each_value_once(items)
    assert_all_placed(items)


@pytest.mark.libreoffice
def test_pdf_title_on_one_line_and_wrapped(made):
    assert pdf_title(made["ruled.pdf"]) == TITLE
    assert pdf_title(made["plain.pdf"]) == TITLE
    assert pdf_title(made["long_title.pdf"]) == LONG_TITLE
    assert squeeze(lines(read_pdf(made["long_title.pdf"]))[0]) != LONG_TITLE  # it did wrap


def test_pdf_without_text_gives_nothing(tmp_path):
    data = textless_pdf(tmp_path / "scan.pdf").read_bytes()
    assert read_pdf(data) == []
    assert pdf_title(data) == ""


def test_headings():
    for heading in SECTIONS:
        assert is_heading(heading) and is_heading(heading.replace("、", ".")) and is_heading(heading + "（续）")
    assert not is_heading("三、本年度办理结果")
    assert not is_heading("四、结转下年度继续办理")
    assert not is_heading("二、上年结转政府信息公开申请数量")


@pytest.mark.libreoffice
@pytest.mark.parametrize("name, texts", [("ruled.pdf", TEXTS), ("ruled.docx", TEXTS), ("long_title.pdf", TEXTS)])
def test_narrative_comes_back_as_written(made, name, texts):
    """A paragraph wrapped over printed lines is one paragraph again: the narrative checks read sentences."""
    reader = read_docx if name.endswith(".docx") else read_pdf
    imported = parse_items(reader(made[name]))
    assert imported.texts == texts


def test_a_pdf_of_too_many_pages_is_refused_before_its_pages_are_read(tmp_path, monkeypatch):
    from nianbao.flows.documents import pdf as pdf_module
    from nianbao.flows.documents.published import ImportFailed, read_items

    data = textless_pdf(tmp_path / "scan.pdf").read_bytes()
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 0)
    with pytest.raises(ImportFailed, match=r"scan\.pdf 有 1 页，超过年报的合理篇幅（0 页），不予读取。"):
        read_items(data, "scan.pdf")


def test_look_alike_radicals_from_pdf_writers_become_the_ideographs():
    from nianbao.flows.documents.pdf import plain_hanzi

    # Chromium's PDFs map 一, 工, 山 to Kangxi radicals and 页, 黄 to CJK radicals
    assert plain_hanzi("巫⼭县2024年政府信息公开⼯作年度报告 第 1 ⻚ ⻩⾊ ⼀、总体情况") == \
        "巫山县2024年政府信息公开工作年度报告 第 1 页 黄色 一、总体情况"
    assert is_heading(plain_hanzi("⼆、主动公开政府信息情况"))
