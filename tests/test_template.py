"""The generated template: names, labels, protection, formulas, validations."""

from __future__ import annotations

import io
import re
import time

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from nianbao.flows.excel.fill import fill_workbook
from nianbao.flows.excel.template import template_bytes, write_template
from nianbao.schemas.catalogue import CATALOGUE
from nianbao.schemas.form import (
    COVER_SHEET,
    FORM,
    FORMAT_TITLE,
    INSTRUCTIONS_SHEET,
    TEMPLATE_VERSION,
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


def test_instructions_mention_every_rule(wb):
    ws = wb[INSTRUCTIONS_SHEET]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    for rule_id, rule in CATALOGUE.items():
        assert rule_id in text, rule_id
        assert rule.description in text, rule_id
    assert "国办公开办函〔2016〕201号" in text
    assert "复议机关" in text and "共同被告" in text
    assert "国办公开办函〔2021〕30号" in text


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
