"""Values placed by row label and column header: web pages and text as agencies publish them.

Every value of these fixtures is distinct (code i holds i + 1), so a value placed in
any cell but its own shows.  The Word and PDF readers have their own tests
(tests/test_documents.py); the refusals here are the exact messages a clerk reads.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_roundtrip import valid_reports

from nianbao.flows.cli import main
from nianbao.flows.excel.reader import read_report
from nianbao.flows.outputs.annual_report import Draft, Paragraph, draft_report, render_docx, render_html
from nianbao.flows.steps.importing import import_report, read_document
from nianbao.schemas.form import APPEALS, FORM, TEXT_FIELDS
from nianbao.schemas.placement import WORDS, Box, Grid, place_table
from nianbao.schemas.published import parse_published, title_of

DATA = Path(__file__).resolve().parent / "data"
ROW_PER_LINE = DATA / "row_per_line_巫山县司法局_2024.txt"
HTML = DATA / "html_巫山县教育委员会_2024.html"
DISTINCT = {code: i + 1 for i, code in enumerate(FORM.numeric_codes)}


def official_html(values=DISTINCT, county="巫山县") -> str:
    return render_html(draft_report(county, 2024, values))


def placed(text: str) -> dict[str, object]:
    imported = parse_published(text)
    assert imported.findings == [], [f.message for f in imported.findings]
    return imported.values


def messages(text: str) -> list[str]:
    return [f.message for f in parse_published(text).findings]


def test_the_official_page_places_every_value_in_its_own_cell():
    assert placed(official_html()) == DISTINCT


def test_what_real_pages_do_to_headers_and_labels():
    page = official_html()
    for official, printed in [
        ("结果纠正", "结果"), ("尚未审结", "尚未"),  # truncated headers
        ("商业企业", "商业<br>企业"), ("法律服务机构", "法律服务<br>机构"),  # headers split over lines
        ("2.其他法律行政法规禁止公开", "2.其他法律行政止公开"), ("7.属于行政执法案卷", "7.属于行政执法卷宗"),  # typos
        ("（一）予以公开", "(一)予以公开"), ("第二十条第（五）项", "第二十条第(五)项"),  # half-width
        ("3.危及“三安全一稳定”", '3.危及"三安全一稳定"'), ("本年制发件数", "本年制发 件数"),
    ]:
        assert official in page, official
        page = page.replace(official, printed)
    # a title row written as a cell and blank cells (&nbsp;) rather than one merged cell
    page = page.replace('<td colspan="4" class="subtitle">第二十条第（一）项</td>',
                        '<td class="subtitle">第二十条第（一）项</td>' + '<td>&nbsp;</td>' * 3)
    assert "&nbsp;" in page
    assert placed(page) == DISTINCT


def test_a_blank_value_cell_is_placed_blank_and_named():
    page = official_html().replace('data-code="requests.granted.research">', 'data-code="x">&nbsp;<!--')
    page = page.replace("<!--" + str(DISTINCT["requests.granted.research"]) + "</td>", "</td>")
    imported = parse_published(page)
    assert imported.unambiguous and imported.values["requests.granted.research"] == ""
    (f,) = imported.findings
    assert (f.rule, f.severity, f.sheet, f.code) == ("import.blank", "warning", "表三", "requests.granted.research")
    assert f.message.startswith("「表三」") and "（一）予以公开／科研机构" in f.message and "补填" in f.message


def test_a_pdf_table_read_in_scrambled_order_is_placed_by_position():
    """表四 as a PDF without rules gives its words: placed by where they stand, whatever their order."""
    headers = [("行政复议", 0, 5, 0), ("行政诉讼", 5, 15, 0), ("未经复议直接起诉", 5, 10, 1), ("复议后起诉", 10, 15, 1)]
    outcomes = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    boxes = [Box(text, 40 * a + 2, 40 * b - 2, 20 * y, 20 * y + 12) for text, a, b, y in headers]
    for k in range(15):
        y = 1 if k < 5 else 2  # 行政复议's outcomes stand a line higher (merged over two rows)
        boxes.append(Box(outcomes[k % 5], 40 * k + 2, 40 * k + 38, 20 * y + 10 * (k < 5), 20 * y + 12 + 10 * (k < 5)))
    codes = [c.code for c in FORM.cells if c.table is APPEALS]
    values = {code: v for code, v in zip(codes, [72, 64, 178, 37, 351, 12, 1, 1, 6, 20, 0, 3, 0, 2, 5])}
    for k, code in enumerate(codes):
        text = str(values[code])
        boxes.append(Box(text, 40 * k + 20 - 3 * len(text), 40 * k + 20 + 3 * len(text), 60, 72))
    random.Random(7).shuffle(boxes)
    result = place_table(APPEALS, [Grid(tuple(boxes), WORDS)])
    assert result.problems == [] and result.values == values


def test_the_other_handling_printed_as_one_row_is_refused_naming_it(tmp_path):
    text = ROW_PER_LINE.read_text(encoding="utf-8")
    start = text.index("（六）其他处理 |")
    end = text.index("（七）总计")
    text = text[:start] + "（六）其他处理 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n" + text[end:]
    assert len([line for line in text.split("\n") if "| 0 |" in line or re.search(r"\| \d+ \|$", line)]) > 20
    assert messages(text) == [
        "表三（六）其他处理只有一行，国家格式分为 3 行（1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请；"
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请；3.其他），无法确定各行的数值，未导入。"
    ]
    source = tmp_path / "23行.txt"
    source.write_text(text, encoding="utf-8")
    result = import_report(source, agency="巫山县司法局", year=2024, output=tmp_path / "out.xlsx")
    assert not result.written and not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("row", [
    "一、本年新收政府信息公开申请数量 | 5200108 |",  # the cells of a row as one number
    "一、本年新收政府信息公开申请数量5200108",  # crawler text: label and numbers run together
])
def test_cells_run_together_are_refused_with_the_cause(row):
    text = ROW_PER_LINE.read_text(encoding="utf-8").replace(
        "一、本年新收政府信息公开申请数量 | 5 | 2 | 0 | 0 | 1 | 0 | 8 |", row)
    assert messages(text) == ["表三“一、本年新收政府信息公开申请数量”一行的数值连在一起（“5200108”），"
                              "单元格之间没有分隔，无法确定各数值，未导入。"]


def test_an_unknown_row_and_a_missing_column_are_named():
    text = ROW_PER_LINE.read_text(encoding="utf-8").replace("4.保护第三方合法权益", "4.另行处理的事项")
    assert messages(text) == ["表三中找不到国家格式的 1 行：“4.保护第三方合法权益”（行名缺失、无法识别，或该行没有数值），未导入。"]
    page = official_html().replace("复议后起诉", "其它")
    page = re.sub(r'(<td class="header">结果维持</td>)(?!.*结果维持)', '<td class="header">附注</td>', page, flags=re.S)
    found = messages(page)
    assert found == ["表四中找不到国家格式的 1 列：“行政诉讼／复议后起诉／结果维持”（表头缺失或无法识别），未导入。"], found


OLD_2019 = """<html><head><title>某某局2019年政府信息公开工作年度报告</title></head><body>
<h1>某某局2024年政府信息公开工作年度报告</h1>
<p>一、总体情况</p><p>本局认真贯彻落实《条例》。</p>
<p>二、主动公开政府信息情况</p>
<table><tr><td colspan="4">第二十条第（一）项</td></tr>
<tr><td>信息内容</td><td>本年新制作数量</td><td>本年新公开数量</td><td>对外公开总数量</td></tr>
<tr><td>规章</td><td>0</td><td>0</td><td>0</td></tr>
<tr><td>规范性文件</td><td>2</td><td>2</td><td>15</td></tr>
<tr><td colspan="4">第二十条第（五）项</td></tr>
<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td>处理决定数量</td></tr>
<tr><td>行政许可</td><td>12</td><td>0</td><td>45</td></tr>
<tr><td>其他对外管理服务事项</td><td>3</td><td>0</td><td>8</td></tr></table>
<p>三、收到和处理政府信息公开申请情况</p><p>（略）</p>
<p>四、政府信息公开行政复议、行政诉讼情况</p><p>（略）</p>
<p>五、存在的主要问题及改进情况</p><p>无。</p><p>六、其他需要报告的事项</p><p>无。</p></body></html>"""


def test_a_2019_format_page_is_recognised_as_such(tmp_path, capsys):
    source = tmp_path / "旧版.html"
    source.write_text(OLD_2019, encoding="utf-8")
    result = import_report(source, agency="某某局", year=2024, output=tmp_path / "o.xlsx")
    assert not result.written
    (f,) = result.findings
    assert f.rule == "import.old_format"
    assert f.message == ("这是 2019 年旧版格式（发现旧栏目“本年新制作数量”），各表的行列与国办公开办函〔2021〕30号规定的格式不同，"
                         "无法对应，未导入。请按新格式重新填写年报模板。")
    assert main(["import", str(source), "--year", "2024", "--outdir", str(tmp_path)]) == 1
    assert "2019 年旧版格式" in capsys.readouterr().out and not list(tmp_path.glob("*.xlsx"))


@pytest.mark.parametrize("title, expected", [
    ("平潭综合实验区2024年度政府信息公开工作年度报告", ("平潭综合实验区", 2024)),
    ("巫山县教育委员会2024年政府信息公开工作年度报告_巫山县人民政府", ("巫山县教育委员会", 2024)),
    ("关于印发 重庆市巫山县民政局 2023 年度政府信息公开工作年度报告", ("重庆市巫山县民政局", 2023)),
    ("重庆市巫山县民政局 2023 年度政府信息公开工作年度报告", ("重庆市巫山县民政局", 2023)),
    ("一、总体情况", None),
])
def test_agency_and_year_from_the_title(title, expected):
    assert title_of([title]) == expected


def test_import_takes_a_folder_prints_a_line_per_file_and_a_summary(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "已发布"
    folder.mkdir()
    (folder / "司法局.txt").write_bytes(ROW_PER_LINE.read_bytes())
    (folder / "教委.html").write_bytes(HTML.read_bytes())
    (folder / "说明.xlsx").write_bytes(b"not read: not a document")
    outdir = tmp_path / "模板"
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(folder), "--outdir", str(outdir)]) == 0
    out = capsys.readouterr().out
    assert "—— 司法局.txt" in out and "—— 教委.html" in out and "说明.xlsx" not in out
    assert "共 2 份：写出 2 份（其中通过校验 2 份），未导入 0 份。" in out
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["巫山县司法局-2024年报.xlsx", "巫山县教育委员会-2024年报.xlsx"]
    assert read_report(outdir / names[0]).fields["meta.agency"] == "巫山县司法局"
    # one more that cannot be placed: the others are still written, the exit status says not all were
    text = ROW_PER_LINE.read_text(encoding="utf-8").replace("| 5 | 2 | 0 | 0 | 1 | 0 | 8 |", "| 5 | 2 | 0 | 0 | 1 | 0 |")
    (folder / "少一格.txt").write_text(text.replace("巫山县司法局", "巫山县审计局"), encoding="utf-8")
    assert main(["import", str(folder), "--outdir", str(tmp_path / "再次")]) == 1
    out = capsys.readouterr().out
    assert "共 3 份：写出 2 份（其中通过校验 2 份），未导入 1 份。" in out and "一行有 6 个数值" in out
    assert main(["import", str(folder), "--agency", "甲"]) == 2  # one agency for several files: a usage error


def _draft(values: dict, overview: str, problems: str, other: str) -> Draft:
    draft = draft_report("巫山县", 2024, {c: values[c] for c in FORM.numeric_codes})
    texts = {TEXT_FIELDS[0].label: overview, TEXT_FIELDS[1].label: problems, TEXT_FIELDS[2].label: other}
    draft.sections = [(title, [Paragraph.of(line) for line in texts[title].split("\n")] if title in texts else content)
                      for title, content in draft.sections]
    return draft


paragraphs = st.lists(st.text(st.sampled_from(list("我单位认真贯彻落实政府信息公开条例工作，。；、")), min_size=1, max_size=80),
                      min_size=1, max_size=4).map("\n".join)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(valid_reports(), paragraphs, paragraphs, paragraphs)
def test_round_trip_through_the_published_page_and_word_document(tmp_path, values, overview, problems, other):
    draft = _draft(values, overview, problems, other)
    expected_texts = {"text.overview": overview, "text.problems": problems, "text.other": other}
    html = tmp_path / "report.html"
    html.write_text(render_html(draft), encoding="utf-8")
    docx = tmp_path / "report.docx"
    render_docx(draft, docx)
    for source in (html, docx):
        imported, _ = read_document(source)
        assert imported.findings == [], (source.suffix, [f.message for f in imported.findings])
        assert {c: float(v) for c, v in imported.values.items()} == {c: float(values[c]) for c in FORM.numeric_codes}
        assert imported.texts == expected_texts, source.suffix
        assert imported.title == ("巫山县", 2024)

