"""The generated template: names, labels, protection, formulas, validations."""

from __future__ import annotations

import io
import re
import subprocess
import time

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from nianbao.flows.excel.fill import fill_workbook
from conftest import require_tool

from nianbao.flows.excel.template import (
    TEXT_LINE_CHARS,
    TEXT_SHOWN_CHARS,
    template_bytes,
    text_display,
    text_display_lines,
    text_display_rows,
    write_template,
)
from nianbao.schemas.catalogue import CATALOGUE
from nianbao.schemas.form import (
    COVER_SHEET,
    FORM,
    FORMAT_TITLE,
    INSTRUCTIONS_SHEET,
    TEMPLATE_VERSION,
    TEXT_FIELDS,
    TEXT_SHEET,
)
from nianbao.schemas.layout import LAYOUT, a1, parse_a1


@pytest.fixture(scope="module")
def template_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "template.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def wb(template_path):
    return openpyxl.load_workbook(template_path)


def _expand(ref: str) -> set[tuple[int, int]]:
    """``"D5:I5"`` or ``"D5"`` → the set of (row, col) it covers."""
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    return {(r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)}


def test_sheet_order_and_active(wb):
    assert wb.sheetnames == [INSTRUCTIONS_SHEET] + [s.name for s in LAYOUT.sheets]
    assert wb.active.title == COVER_SHEET
    selected = [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected]
    assert selected == [COVER_SHEET]


def test_every_code_is_a_defined_name_at_its_place(wb):
    for code in FORM.codes:
        assert code in wb.defined_names, code
        dests = list(wb.defined_names[code].destinations)
        assert len(dests) == 1, code
        sheet, coord = dests[0]
        assert (sheet, *parse_a1(coord)) == LAYOUT.place(code), code
        assert wb.defined_names[code].attr_text.startswith("'"), code


def test_every_label_text_and_merge(wb):
    for layout in LAYOUT.sheets:
        ws = wb[layout.name]
        for t in layout.texts:
            assert ws.cell(t.row, t.col).value == t.text, (layout.name, t)
        merged = {str(r) for r in ws.merged_cells.ranges}
        for r1, c1, r2, c2 in list(layout.merges) + list(layout.input_merges.values()):
            assert f"{a1(r1, c1)}:{a1(r2, c2)}" in merged, (layout.name, r1, c1, r2, c2)


def test_numeric_cells_sit_beside_their_labels(wb):
    """Each numeric cell's row and column paths are printed on its row / above it."""
    for cell in FORM.cells:
        sheet, row, col = LAYOUT.place(cell.code)
        layout = LAYOUT.by_name[sheet]
        texts = [t for t in layout.texts if t.role in ("label", "header", "corner")]
        on_row = {t.text for t in texts if t.col < col and _covers(layout, t, row=row)}
        above = {t.text for t in texts if t.row < row and _covers(layout, t, col=col)}
        assert set(cell.row.path) <= on_row, cell.code
        assert set(cell.column.path) <= above, cell.code


def _covers(layout, text, *, row=None, col=None) -> bool:
    r1, c1, r2, c2 = next(
        (m for m in layout.merges if (m[0], m[1]) == (text.row, text.col)),
        (text.row, text.col, text.row, text.col),
    )
    if row is not None:
        return r1 <= row <= r2
    return c1 <= col <= c2


def test_protection(wb):
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
    for layout in LAYOUT.sheets:
        ws = wb[layout.name]
        for t in layout.texts:
            assert ws.cell(t.row, t.col).protection.locked, (layout.name, t)
        for code, (r, c) in layout.inputs.items():
            locked = ws.cell(r, c).protection.locked
            fixed = code in FORM.sums or FORM.field_by_code.get(code, None) is not None and (
                FORM.field_by_code[code].locked
            )
            assert locked == fixed, code


def test_totals_are_sum_formulas_of_exactly_their_parts(wb):
    for total, parts in FORM.sums.items():
        sheet, r, c = LAYOUT.place(total)
        formula = wb[sheet].cell(r, c).value
        m = re.fullmatch(r"=SUM\(([A-Z0-9:,$]+)\)", formula or "")
        assert m, (total, formula)
        covered: list[tuple[int, int]] = []
        for ref in m.group(1).split(","):
            covered += sorted(_expand(ref))
        expected = [LAYOUT.place(p)[1:] for p in parts]
        assert sorted(covered) == sorted(expected), total
        assert {LAYOUT.place(p)[0] for p in parts} == {sheet}


def test_compact_ranges(wb):
    assert wb["表三"]["J5"].value == "=SUM(D5:I5)"
    assert wb["表三"]["D28"].value == "=SUM(D7:D27)"
    assert wb["表四"]["E5"].value == "=SUM(A5:D5)"


def test_data_validations_cover_numeric_inputs(wb):
    for layout in LAYOUT.sheets:
        ws = wb[layout.name]
        by_type: dict[str, set[tuple[int, int]]] = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                by_type.setdefault(dv.type, set()).update(_expand(rng.coord))
            if dv.type in ("whole", "decimal"):
                assert dv.showErrorMessage and dv.error and dv.prompt
        for code, (r, c) in layout.inputs.items():
            cell = FORM.cell_by_code.get(code)
            if cell is None or code in FORM.sums:
                continue
            kind = "whole" if cell.kind == "integer" else "decimal"
            assert (r, c) in by_type.get(kind, set()), code
            fmt = ws.cell(r, c).number_format
            assert fmt == ("0" if cell.kind == "integer" else "0.00"), code
    year = LAYOUT.place("meta.year")
    cover_dvs = wb[COVER_SHEET].data_validations.dataValidation
    assert any(
        dv.type == "whole" and (year[1], year[2]) in _expand(str(dv.sqref)) for dv in cover_dvs
    )


def _shown(ws) -> list[str]:
    """What a clerk can read on a sheet: the cells' text (not formulas), and the validations' messages."""
    out = [str(v) for row in ws.iter_rows(values_only=True) for v in row
           if v is not None and not (isinstance(v, str) and v.startswith("="))]
    for dv in ws.data_validations.dataValidation:
        out += [t for t in (dv.promptTitle, dv.prompt, dv.errorTitle, dv.error) if t]
    return out


def test_instructions_list_the_rules_an_agency_can_break_by_title(wb):
    ws = wb[INSTRUCTIONS_SHEET]
    text = "\n".join(_shown(ws))
    listed = [rule for rule in CATALOGUE.values() if rule.in_workbook]
    assert listed and len(listed) < len(CATALOGUE)
    for rule in CATALOGUE.values():
        if rule.in_workbook:
            assert rule.title in text and rule.description in text, rule.id
        else:  # which file was sent (file.*, a published report's import.*) is not the clerk's workbook
            assert rule.description not in text, rule.id
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "级别")
    assert header[:3] == ("级别", "名称", "说明")
    assert "国办公开办函〔2016〕201号" in text
    assert "复议机关" in text and "共同被告" in text
    assert "国办公开办函〔2021〕30号" in text


def test_no_rule_ids_or_cell_codes_where_a_clerk_reads(wb):
    code_like = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z_]*\.[a-z_]+")  # file.bomb, requests.new.natural
    for ws in wb.worksheets:
        for text in _shown(ws):
            for rule_id in CATALOGUE:
                assert rule_id not in text, (ws.title, rule_id, text)
            assert not code_like.search(text), (ws.title, text)
    assert not any(code_like.search(r.description) for r in CATALOGUE.values() if r.in_workbook)  # none at the source


def test_template_version(wb):
    sheet, r, c = LAYOUT.place("meta.template_version")
    assert wb[sheet].cell(r, c).value == TEMPLATE_VERSION
    assert wb.properties.title == FORMAT_TITLE


def test_print_setup(wb):
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == 9, ws.title
        assert ws.page_setup.fitToWidth in (1, "1")
        assert ws.sheet_properties.pageSetUpPr.fitToPage
    for layout in LAYOUT.sheets:
        expected = "landscape" if layout.landscape else "portrait"
        assert wb[layout.name].page_setup.orientation == expected


def test_prefill_and_values():
    data = template_bytes(
        year=2024, agency="某县人民政府办公室", uscc="11100000000013127D",
        values={"requests.new.natural": 3, "active.fees.amount": 1.25},
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    get = lambda code: wb[LAYOUT.place(code)[0]].cell(*LAYOUT.place(code)[1:]).value  # noqa: E731
    assert get("meta.year") == 2024
    assert get("meta.agency") == "某县人民政府办公室"
    assert get("meta.uscc") == "11100000000013127D"
    assert get("requests.new.natural") == 3
    assert get("active.fees.amount") == 1.25


def test_fill_workbook_by_name(template_path, tmp_path):
    values = {code: i for i, code in enumerate(FORM.numeric_codes)}
    values["text.overview"] = "本年度……"
    values["meta.phone"] = "0371-12345678"
    out = tmp_path / "filled.xlsx"
    fill_workbook(template_path, out, values)
    wb = openpyxl.load_workbook(out)
    for code, value in values.items():
        sheet, r, c = LAYOUT.place(code)
        assert wb[sheet].cell(r, c).value == value, code
    # names, protection and version survive the round trip
    assert all(code in wb.defined_names for code in FORM.codes)
    assert wb["表三"].protection.sheet


def test_fill_workbook_file_objects(template_path):
    src = io.BytesIO(template_path.read_bytes())
    dst = io.BytesIO()
    fill_workbook(src, dst, {"appeals.review.upheld": 2})
    wb = openpyxl.load_workbook(io.BytesIO(dst.getvalue()))
    assert wb["表四"].cell(*LAYOUT.place("appeals.review.upheld")[1:]).value == 2


def test_fill_workbook_unknown_code(template_path, tmp_path):
    with pytest.raises(KeyError, match="requests.nope"):
        fill_workbook(template_path, tmp_path / "x.xlsx", {"requests.nope": 1})


def test_fast_enough():
    template_bytes()  # warm up imports and cached properties
    start = time.perf_counter()
    template_bytes()
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------
# 文字部分: real reports run to thousands of characters; every one shows and prints
# --------------------------------------------------------------------------

_SENTENCES = (
    "2024年，本单位高度重视政府信息公开工作，将其作为推进依法行政、建设法治政府的重要举措。",
    "严格执行科室负责人初审、分管负责人复审、主要负责人终审的“三审三校”制度，切实做好保密审查。",
    "截至12月31日，主动发布信息19条,其中机构职能11条,政府信息公开指南1条,政策文件1条。",
    "通过政府门户网站和“政务新媒体”微信公众号发布信息，及时修订更新政府信息公开指南。",
    "将政府信息公开工作纳入目标考核体系，确保其与其他工作同步推进；",
    "下一步将加强政策解读（包括图解、问答等形式），提升公开内容的深度和广度。",
)


def long_text(chars: int, tag: str) -> str:
    """About ``chars`` characters of report prose in paragraphs, headings among them, every paragraph unique."""
    paragraphs, i = [], 0
    while sum(len(p) + 1 for p in paragraphs) < chars:
        if i % 5 == 0:
            paragraphs.append(f"（{tag}{i}）政府信息公开工作情况")
        paragraphs.append(f"{tag}{i}：" + "".join(_SENTENCES[(i + k) % len(_SENTENCES)] for k in range(1 + i % 4)))
        i += 1
    return "\n".join(paragraphs)[:chars]


def test_the_display_lines_hold_every_character_and_fit_the_width():
    texts = {f.code: long_text(TEXT_SHOWN_CHARS, tag) for f, tag in zip(TEXT_FIELDS, "甲乙丙")}
    lines = text_display(texts)
    assert len(lines) <= text_display_lines()  # every field's 5,000 characters at once
    assert max(len(line) for line in lines) <= TEXT_LINE_CHARS + 1
    shown = "".join(lines)
    for f in TEXT_FIELDS:
        assert f.label in lines
        assert texts[f.code].replace("\n", "") in shown
    assert not any(line.startswith(("，", "。", "、", "；")) for line in lines)


def test_the_text_sheet_keeps_the_input_cells_and_adds_the_display(wb):
    layout = LAYOUT.by_name[TEXT_SHEET]
    ws = wb[TEXT_SHEET]
    first, last = text_display_rows(layout)
    assert last - first + 1 == text_display_lines()
    assert first > layout.last_row and ws.print_area == f"'{TEXT_SHEET}'!$A${first}:$H${last}"
    assert ws.print_title_rows == "$1:$1"
    for row in (first, last):
        assert ws.cell(row, 1).value.startswith("=") and ws.cell(row, 1).protection.locked
    # the named inputs, labels and merges are the template's (tests above); nothing else is merged there
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert all(int(re.sub(r"\D", "", m.split(":")[0])) < first for m in merged)
    text_dvs = [dv for dv in ws.data_validations.dataValidation if dv.prompt]
    assert {str(dv.sqref) for dv in text_dvs} == {a1(*LAYOUT.place(f.code)[1:]) for f in TEXT_FIELDS}


def _soffice_pdf(path, tmp_path):
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-calc")
    require_tool("pdftotext", package="poppler-utils")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=240)
    return tmp_path / (path.stem + ".pdf")


def _pdf_pages(pdf) -> list[str]:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split("\f")


@pytest.fixture(scope="module")
def long_report_pdf(template_path, tmp_path_factory):
    """A template filled by name with 5,000 characters in each long-text field, printed by LibreOffice."""
    tmp = tmp_path_factory.mktemp("long")
    texts = {f.code: long_text(TEXT_SHOWN_CHARS, tag) for f, tag in zip(TEXT_FIELDS, "甲乙丙")}
    filled = tmp / "长文本.xlsx"
    fill_workbook(template_path, filled, {"meta.agency": "巫山县司法局", "meta.year": 2024, **texts})
    return texts, _soffice_pdf(filled, tmp)


@pytest.mark.libreoffice
def test_five_thousand_characters_per_section_show_and_print(long_report_pdf):
    texts, pdf = long_report_pdf
    footer = re.compile(rf"{TEXT_SHEET}第\d+页，共\d+页")
    title = LAYOUT.by_name[TEXT_SHEET].texts[0].text
    printed = []
    for page in _pdf_pages(pdf):
        if not page.startswith(title):
            continue
        for line in page.splitlines()[1:]:  # the title repeats at the top of every page
            line = re.sub(r"\s", "", line)
            if line and not footer.fullmatch(line):
                printed.append(line)
    # every line as the formulas make it, in order, nothing cut at the right or the bottom
    assert printed == [re.sub(r"\s", "", line) for line in text_display(texts) if line.strip()]
    flat = "".join(printed)
    for code, text in texts.items():
        assert len(text) == TEXT_SHOWN_CHARS
        assert re.sub(r"\s", "", text) in flat, code


def _ink_height(pdf, page: int, top_pt: float, bottom_pt: float, dpi: int = 100) -> int:
    """Rows of dark pixels between two heights of a page (in points from the top), as pdftoppm renders it."""
    data = subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), str(pdf)],
                          capture_output=True, check=True).stdout
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+\d+\s", data)
    width, height = int(head.group(1)), int(head.group(2))
    pixels = data[head.end():]
    rows = [y for y in range(int(top_pt * dpi / 72), min(height, int(bottom_pt * dpi / 72)))
            if min(pixels[y * width:(y + 1) * width]) < 128]
    return rows[-1] - rows[0] + 1 if rows else 0


@pytest.mark.libreoffice
def test_every_footer_prints_whole(wb, long_report_pdf):
    for ws in wb.worksheets:  # the footer sits inside the bottom margin, with room for its line
        m = ws.page_margins
        assert m.footer < m.bottom and m.bottom - m.footer >= 0.4, ws.title
    _, pdf = long_report_pdf
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = bbox.split("<page ")[1:]
    assert len(pages) == len(_pdf_pages(pdf)) - 1
    for number, page in enumerate(pages, start=1):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        words = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</word>', page)
        footer = [(float(a), float(b)) for a, b, w in words if "页，共" in w]
        assert footer, number
        top, bottom = footer[-1]
        assert bottom < height
        # a clipped footer shows half its height (the measured fault: 5 of 14.6 pixels)
        assert _ink_height(pdf, number, top - 4, bottom + 4) >= 0.6 * (bottom - top) * 100 / 72, number
