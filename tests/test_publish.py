"""nianbao publish: the county's report from the rollup, as HTML and Word, in the official layout."""

from __future__ import annotations

import random
import re
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import require_tool
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph

from nianbao.flows.cli import main
from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.outputs.annual_report import Draft, PublishError, draft_report, write_annual_report
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import Entry, Roster
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.settings import Settings
from nianbao.flows.excel.tables import write_rollup
from nianbao.schemas.form import FORM, REQUEST_COLUMNS, RESULT_ROWS, SECTIONS
from nianbao.schemas.layout import LAYOUT
from nianbao.schemas.narrative import narrative_findings
from nianbao.schemas.published import parse_published
from nianbao.schemas.report import Report
from nianbao.schemas.values import format_number

YEAR = 2024
PARTS = [c.code for c in REQUEST_COLUMNS[:-1]]


def distinct_values(seed: int = 7) -> dict[str, float]:
    """A rollup that passes every rule, with values that differ from cell to cell (a misplaced one shows)."""
    rng = random.Random(seed)
    pool = iter(rng.sample(range(1, 5000), 400))
    values: dict[str, float] = {}
    for col in PARTS:
        for row in RESULT_ROWS:
            values[f"requests.{row}.{col}"] = next(pool)
        total = sum(values[f"requests.{row}.{col}"] for row in RESULT_ROWS)
        carried_out, carried_in = next(pool), next(pool) % total
        values.update({f"requests.total.{col}": total, f"requests.carried_out.{col}": carried_out,
                       f"requests.carried_in.{col}": carried_in,
                       f"requests.new.{col}": total + carried_out - carried_in})
    for row in ("new", "carried_in", *RESULT_ROWS, "total", "carried_out"):
        values[f"requests.{row}.total"] = sum(values[f"requests.{row}.{c}"] for c in PARTS)
    for group in ("review", "suit_direct", "suit_after_review"):
        parts = {o: next(pool) for o in ("upheld", "corrected", "other", "pending")}
        values.update({f"appeals.{group}.{o}": v for o, v in parts.items()})
        values[f"appeals.{group}.total"] = sum(parts.values())
    for code in FORM.numeric_codes:
        if code.startswith("active."):
            values[code] = next(pool)
    values["active.rules.issued"] = values["active.rules.repealed"] = values["active.rules.in_force"] = 0
    values["active.fees.amount"] = 123.45
    assert set(values) == set(FORM.numeric_codes)
    return {k: float(v) for k, v in values.items()}


def make_rollup(settings: Settings, values: dict[str, float], year: int = YEAR) -> Path:
    path = settings.outbound / str(year) / "rollup.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {"meta.agency": "巫山县", "meta.year": year, "text.overview": f"巫山县{year}年度汇总数据。",
              "text.problems": "（由县政府办公室填写）"}
    status = ("报送情况", ["单位名称", "统一社会信用代码", "状态", "是否计入汇总"],
              [["巫山县司法局", "", "已通过", "是"], ["巫山县民政局", "", "已通过", "是"],
               ["巫山县审计局", "", "未报送", "否"], ["某协会", "", "已通过（不在名单中）", "否"]])
    write_rollup(path, values={**values, **fields}, extra_sheets=[status])
    return path


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(inbound=tmp_path / "inbound", outbound=tmp_path / "outbound", state=tmp_path / "var",
                    roster=tmp_path / "roster.csv")


@pytest.fixture
def published(settings):
    values = distinct_values()
    make_rollup(settings, values)
    return write_annual_report(settings, YEAR), values


# --------------------------------------------------------------------------
# reading the outputs back
# --------------------------------------------------------------------------


class _Cells(HTMLParser):
    """td elements of the page: data-code → text, and every td's attributes and text in order."""

    def __init__(self):
        super().__init__()
        self.by_code: dict[str, str] = {}
        self.cells: list[tuple[dict, str]] = []
        self.h2: list[str] = []
        self._td: dict | None = None
        self._h2 = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._td, self._text = dict(attrs), []
        elif tag == "h2":
            self._h2, self._text = True, []

    def handle_endtag(self, tag):
        if tag == "td" and self._td is not None:
            text = "".join(self._text)
            self.cells.append((self._td, text))
            if "data-code" in self._td:
                self.by_code[self._td["data-code"]] = text
            self._td = None
        elif tag == "h2":
            self.h2.append("".join(self._text))
            self._h2 = False

    def handle_data(self, data):
        if self._td is not None or self._h2:
            self._text.append(data)


def html_cells(path: Path) -> _Cells:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def docx_as_text(path: Path) -> str:
    """The Word document as the row-per-line text a published page flattens to (merged cells once)."""
    doc = Document(str(path))
    lines = []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            lines.append(WordParagraph(child, doc).text)
        elif child.tag == qn("w:tbl"):
            for row in WordTable(child, doc).rows:
                seen, cells = set(), []
                for cell in row.cells:
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(cell.text)
                lines.append(" | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# the numbers
# --------------------------------------------------------------------------


def test_html_cells_hold_the_rollups_200_values(published):
    result, values = published
    cells = html_cells(result.html)
    assert set(cells.by_code) == set(FORM.numeric_codes)
    for code in FORM.numeric_codes:
        assert cells.by_code[code] == format_number(values[code]), code


def test_the_html_reads_back_by_position_into_the_same_values(published):
    result, values = published
    imported = parse_published(result.html.read_text(encoding="utf-8"))
    assert imported.findings == []
    assert {code: float(v) for code, v in imported.values.items()} == values


def test_docx_tables_hold_the_rollups_200_values_in_the_template_layout(published):
    result, values = published
    tables = Document(str(result.docx)).tables
    assert len(tables) == 3
    for table, word in zip(FORM.tables, tables):
        layout = LAYOUT.by_name[table.sheet]
        assert (len(word.rows), len(word.columns)) == (layout.last_row - 1, layout.width)
        for code, (row, col) in layout.inputs.items():
            assert word.cell(row - 2, col - 1).text == format_number(values[code]), code


def test_docx_reads_back_by_position_into_the_same_values(published):
    result, values = published
    imported = parse_published(docx_as_text(result.docx))
    assert imported.findings == []
    assert {code: float(v) for code, v in imported.values.items()} == values


def test_docx_headers_are_real_merged_cells(published):
    result, _ = published
    requests = Document(str(result.docx)).tables[1]
    corner = requests.cell(0, 0)
    assert corner._tc is requests.cell(2, 2)._tc  # （本列数据的勾稽关系为…） over 3 rows and 3 columns
    assert corner.text.startswith("（本列数据的勾稽关系为")
    assert requests.cell(0, 3)._tc is requests.cell(0, 9)._tc and requests.cell(0, 3).text == "申请人情况"
    results = requests.cell(5, 0)
    assert results.text == "三、本年度办理结果" and results._tc is requests.cell(26, 0)._tc
    appeals = Document(str(result.docx)).tables[2]
    assert appeals.cell(0, 5).text == "行政诉讼" and appeals.cell(0, 5)._tc is appeals.cell(0, 14)._tc
    assert appeals.cell(1, 0)._tc is appeals.cell(2, 0)._tc  # 结果维持 of 行政复议 over two header rows


def test_html_spans_come_from_the_layout(published):
    result, _ = published
    cells = html_cells(result.html).cells
    spans = {text: (a.get("rowspan", "1"), a.get("colspan", "1")) for a, text in cells}
    assert spans["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"] == ("3", "3")
    assert spans["申请人情况"] == ("1", "7") and spans["法人或其他组织"] == ("1", "5")
    assert spans["三、本年度办理结果"] == ("22", "1") and spans["（三）不予公开"] == ("8", "1")
    assert spans["行政诉讼"] == ("1", "10") and spans["行政复议"] == ("1", "5")
    assert spans["第二十条第（一）项"] == ("1", "4")


# --------------------------------------------------------------------------
# the text
# --------------------------------------------------------------------------


def test_six_sections_in_the_official_order_and_self_contained(published):
    result, _ = published
    page = result.html.read_text(encoding="utf-8")
    assert html_cells(result.html).h2 == list(SECTIONS)
    assert "<h1>巫山县2024年政府信息公开工作年度报告</h1>" in page
    for external in ("http://", "https://", "<link", "src=", "@import", "url("):
        assert external not in page, external
    assert page.count("【请填写：") >= 6  # 一 (several parts), 五, 六
    assert "本报告统计数据为全县2个单位政府信息公开工作年度报告的汇总（名单共3个单位，其中1个单位的年报未报送或未通过，未计入）。" in page
    assert result.left_out == 1
    assert result.html.stat().st_size and result.docx.stat().st_size


def test_section_one_is_drafted_from_the_numbers(published):
    result, values = published
    page = result.html.read_text(encoding="utf-8")
    n = lambda code: format_number(values[code])  # noqa: E731
    assert (f"全县共新收政府信息公开申请{n('requests.new.total')}件，上年结转{n('requests.carried_in.total')}件"
            in page)
    assert f"结转下年度继续办理{n('requests.carried_out.total')}件" in page
    assert f"行政复议{n('appeals.review.total')}件" in page
    suits = format_number(values["appeals.suit_direct.total"] + values["appeals.suit_after_review.total"])
    assert f"行政诉讼{suits}件" in page
    assert f"予以公开{n('requests.granted.total')}件" in page
    withheld = sum(values[f"requests.{r}.total"] for r in RESULT_ROWS if r.startswith("withheld_"))
    assert f"不予公开{format_number(withheld)}件" in page
    assert "行政事业性收费123.45万元" in page


def drafted_overview_text(draft: Draft) -> str:
    """Section 一 without the requests to the office: what the narrative checks should accept."""
    paragraphs = draft.sections[0][1]
    return "\n".join("".join(t for t, todo in p.parts if not todo) for p in paragraphs)


@pytest.mark.parametrize("values", [distinct_values(3), {c: 0.0 for c in FORM.numeric_codes}])
def test_drafted_sentences_agree_with_the_tables(values):
    draft = draft_report("巫山县", YEAR, values)
    text = drafted_overview_text(draft)
    report = Report.from_numbers(values, {"meta.year": YEAR, "meta.agency": "巫山县", "text.overview": text,
                                          "text.problems": "问题", "text.other": "无"})
    assert narrative_findings(report, last_year=2026) == []
    if not any(values.values()):
        assert "未收到政府信息公开申请" in text and "未发生政府信息公开行政复议、行政诉讼" in text


def test_docx_marks_what_the_office_must_write(published):
    result, _ = published
    doc = Document(str(result.docx))
    todo = [r for p in doc.paragraphs for r in p.runs if r.text.startswith("【请填写：")]
    assert len(todo) >= 6 and all(r.font.highlight_color is not None for r in todo)
    headings = [p.text for p in doc.paragraphs if p.text in SECTIONS]
    assert headings == list(SECTIONS)


# --------------------------------------------------------------------------
# where the numbers come from, and the command
# --------------------------------------------------------------------------


def test_publish_after_publish_year(settings):
    roster = Roster([Entry("巫山县司法局"), Entry("巫山县民政局")])
    parts = [valid_values(random.Random(s)) for s in (1, 2)]
    with Ledger(settings.ledger) as ledger:
        for i, (entry, numbers) in enumerate(zip(roster.entries, parts)):
            ledger.add(Submission(
                id=0, sha256=f"{i:064x}", file_name=f"{entry.name}.xlsx", received_at=f"2025-01-0{i + 1}T09:00:00",
                archived_path="", agency=entry.name, uscc="", year=YEAR, outcome="accepted", errors=0, warnings=0,
                findings=[], numbers=numbers, fields={"meta.agency": entry.name, "meta.year": YEAR}))
    year = write_year_outputs(settings, YEAR, roster, with_reports=False)
    assert year.rollup_findings == []
    result = write_annual_report(settings, YEAR)
    cells = html_cells(result.html).by_code
    for code in FORM.numeric_codes:
        assert cells[code] == format_number(year.totals[code]), code
    assert "全县2个单位" in result.scope


def test_the_command(settings, capsys):
    make_rollup(settings, distinct_values())
    assert main(["publish", "--outbound", str(settings.outbound)]) == 0  # the latest year with a rollup
    out = capsys.readouterr().out
    assert "年度报告.html" in out and "年度报告.docx" in out and "【请填写】" in out
    assert (settings.outbound / "2024" / "年度报告.html").exists()
    assert main(["publish", "--year", "2023", "--outbound", str(settings.outbound)]) == 1
    assert "请先运行 nianbao run" in capsys.readouterr().err
    assert main(["publish", "--outbound", str(settings.outbound / "none")]) == 2


def test_a_rollup_that_fails_its_rules_is_not_published(settings):
    values = distinct_values()
    values["requests.carried_out.natural"] += 1  # breaks R3.1
    make_rollup(settings, values)
    with pytest.raises(PublishError, match="表三各列收支平衡"):
        write_annual_report(settings, YEAR)
    assert not (settings.outbound / "2024" / "年度报告.html").exists()


# --------------------------------------------------------------------------
# the page in a real browser (Debian's chromium, installed by make test)
# --------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_screenshot_in_headless_chromium(published, tmp_path):
    result, _ = published
    chromium = require_tool("chromium", package="chromium")
    shot = tmp_path / "年度报告.png"
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1100,4200",
         f"--screenshot={shot}", result.html.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert shot.exists(), proc.stderr[-2000:]
    assert png_size(shot) == (1100, 4200)
    assert shot.stat().st_size > 50_000  # text and tables, not a blank page


# --------------------------------------------------------------------------
# the page is rendered from an autoescaped template: names are text, never markup
# --------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>\"&'<>"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_a_hostile_county_name_is_escaped_in_the_published_page(settings):
    path = settings.outbound / str(YEAR) / "rollup.xlsx"
    path.parent.mkdir(parents=True)
    status = ("报送情况", ["单位名称", "统一社会信用代码", "状态", "是否计入汇总"], [[HOSTILE, "", "已通过", "是"]])
    write_rollup(path, values={**distinct_values(), "meta.agency": HOSTILE, "meta.year": YEAR,
                               "text.overview": HOSTILE, "text.problems": HOSTILE}, extra_sheets=[status])
    result = write_annual_report(settings, YEAR)
    page = result.html.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _Text()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert "".join(parsed.text).count(f"{HOSTILE}{YEAR}年政府信息公开工作年度报告") == 2  # title and h1
    assert html_cells(result.html).h2 == list(SECTIONS)


def test_the_published_page_is_the_same_from_the_template_whatever_the_values(published):
    result, values = published
    page = result.html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</body></html>")
    assert page.count("<table class=\"form\"") == 3 and page.count("<style>") == 1
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "{{" not in page and "{%" not in page  # nothing of the template left over


# --------------------------------------------------------------------------
# the Word document prints: tables kept whole with their labels, headers whole, page numbers, true properties
# --------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _header_rows(word: WordTable) -> list:
    return [row for row in word.rows if row._tr.find(f"{W}trPr/{W}tblHeader") is not None]


def test_docx_tables_keep_together_with_their_labels_and_repeat_their_headers(published):
    result, _ = published
    doc = Document(str(result.docx))
    for table, word in zip(FORM.tables, doc.tables):
        rows = word._tbl.findall(f"{W}tr")
        assert all(tr.find(f"{W}trPr/{W}cantSplit") is not None for tr in rows), table.sheet
        for i, tr in enumerate(rows):  # every paragraph, merged continuations included, keeps with the next row
            keeps = [p.find(f"{W}pPr/{W}keepNext") is not None for p in tr.iter(f"{W}p")]
            assert all(keeps) if i < len(rows) - 1 else not any(keeps), (table.sheet, i)
        layout = LAYOUT.by_name[table.sheet]
        first_value_row = min(r for r, _ in layout.inputs.values()) - 2
        assert len(_header_rows(word)) == first_value_row, table.sheet
    headings = [p for p in doc.paragraphs if p.text in SECTIONS]
    assert all(p.paragraph_format.keep_with_next for p in headings)


def test_docx_headers_break_between_words_only(published):
    from nianbao.flows.outputs.annual_report import CELL_MARGIN_CM, CM_PER_PT, header_words

    result, _ = published
    doc = Document(str(result.docx))
    margins = {t: int(m.get(qn("w:w"))) for t in doc.tables for m in t._tbl.tblPr.iter()
               if m.tag in (qn("w:left"), qn("w:right"))}
    assert margins and set(margins.values()) == {round(CELL_MARGIN_CM / 2.54 * 1440)}
    headers = {t.text for layout in LAYOUT.sheets for t in layout.texts if t.role == "header"}
    whole = set()
    for word in doc.tables:
        seen = set()
        for row in word.rows:
            for cell in row.cells:
                if cell._tc in seen or cell.text.replace("\n", "") not in headers:
                    continue  # the corner's sentence (勾稽关系) wraps as prose does
                seen.add(cell._tc)  # the element itself: an id() of a freed lxml proxy is reused
                size = cell.paragraphs[0].runs[-1].font.size.pt
                room = cell.width.cm - 2 * CELL_MARGIN_CM
                lines = cell.text.split("\n")
                for line in lines:  # each line fits: the application never wraps it on its own
                    em = sum(1 if ord(ch) > 0x2e7f else 0.5 for ch in line)
                    assert em * size * CM_PER_PT <= room + 1e-6, (cell.text, room)
                ends, at = set(), 0
                for w in header_words(cell.text.replace("\n", "")):
                    at += len(w)
                    ends.add(at)
                breaks, at = [], 0
                for line in lines[:-1]:
                    at += len(line)
                    breaks.append(at)
                assert set(breaks) <= ends, cell.text  # 商业/企业, never 商业企/业
                if len(lines) == 1:
                    whole.add(cell.text)
    assert {"商业企业", "科研机构", "自然人", "本年制发件数", "本年收费金额（单位：万元）"} <= whole


def test_docx_page_numbers_and_properties(published):
    import datetime as dt
    import zipfile

    result, _ = published
    doc = Document(str(result.docx))
    footer = doc.sections[0].footer._element
    assert [t.text.strip() for t in footer.iter(qn("w:instrText"))] == ["PAGE"]
    assert {c.get(qn("w:fldCharType")) for c in footer.iter(qn("w:fldChar"))} == {"begin", "separate", "end"}
    props = doc.core_properties
    assert props.title == "巫山县2024年政府信息公开工作年度报告"
    assert props.author == props.last_modified_by == "巫山县人民政府办公室"
    now = dt.datetime.now(dt.timezone.utc)
    created = props.created if props.created.tzinfo else props.created.replace(tzinfo=dt.timezone.utc)
    assert abs((now - created).total_seconds()) < 600 and props.modified == props.created
    assert props.comments == ""
    with zipfile.ZipFile(result.docx) as z:
        for name in ("docProps/core.xml", "docProps/app.xml"):
            text = z.read(name).decode("utf-8")
            assert "python-docx" not in text and "2013" not in text and "Microsoft" not in text, name


@pytest.mark.libreoffice
def test_docx_in_libreoffice_keeps_each_table_on_one_page_with_page_numbers(published, tmp_path):
    result, _ = published
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-writer")
    require_tool("pdftotext", package="poppler-utils")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(result.docx)],
                   check=True, capture_output=True, timeout=240)
    text = subprocess.run(["pdftotext", str(tmp_path / "年度报告.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [re.sub(r"\s", "", p) for p in text.split("\f") if p.strip()]
    for number, page in enumerate(pages, start=1):
        assert re.findall(r"—(\d+)—", page) == [str(number)], number  # the footer's page number
    for table in FORM.tables:  # a table's title, its header and its last row on one page
        layout = LAYOUT.by_name[table.sheet]
        last = [t.text for t in layout.texts if t.role == "label" and t.row == layout.last_row] or ["总计"]
        page = next(p for p in pages if table.title in p)
        assert all(re.sub(r"\s", "", x) in page for x in last), table.title
    requests = next(p for p in pages if FORM.tables[1].title in p)
    for label in ("三、本年度办理结果", "（四）无法提供", "1.本机关不掌握相关政府信息", "商业企业", "科研机构"):
        assert label in requests, label
