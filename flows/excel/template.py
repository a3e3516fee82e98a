"""The official-format template and its 填报说明 sheet.

Everything the template contains is derived from :mod:`nianbao.schemas.form`
(what the cells are) and :mod:`nianbao.schemas.layout` (where they stand); the
only text written by hand here is the generic instruction prose.  Every input
cell carries a workbook-level defined name equal to its code, so any program
can read or write a report by name whatever the visual layout.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from nianbao.schemas.catalogue import CATALOGUE, SEVERITY_LABELS
from nianbao.schemas.form import (
    FIRST_YEAR,
    LAST_YEAR,
    COVER_SHEET,
    FORM,
    FORMAT_SOURCE,
    FORMAT_TITLE,
    INSTRUCTIONS_SHEET,
    REQUESTS,
    TEMPLATE_VERSION,
    TEXT_SHEET,
    Field,
)
from nianbao.schemas.layout import LAYOUT, SheetLayout, a1, column_letter
from .styles import BODY_FONT, CENTRE, GRID, HEADER_FILL, HEADER_FONT, HEADING_FONT, HINT_FONT, INPUT_FILL, LEFT, LEFT_INDENT, LINE_HEIGHT, LOCKED, MIN_TABLE_ROW, NUMBER_FORMATS, ROW_PADDING, SUBTITLE_FONT, TEXT_FORMAT, TITLE_FONT, TOP_LEFT, TOTAL_FILL, UNLOCKED, compact_ranges, line_count, print_setup, protect, absolute_ref, span_width, style_cell, sum_formula
from .fill import set_value



# --------------------------------------------------------------------------
# Instruction prose (generic; labels and rules come from the schemas)
# --------------------------------------------------------------------------

_RULE_COLUMNS = (("规则编号", 20.0), ("级别", 8.0), ("名称", 22.0), ("说明", 74.0))


def _instruction_sections() -> list[tuple[str, list[str]]]:
    """The prose of the 填报说明 sheet: (heading, paragraphs)."""
    req = {a.code: a.label for a in REQUESTS.blocks[0].rows}
    table_sheets = "、".join(f"{t.sheet}（{t.title}）" for t in FORM.tables)
    text_labels = "、".join(f.label for f in FORM.fields if f.kind == "longtext")
    fee = FORM.cell_by_code["active.fees.amount"]
    return [
        (
            "一、模板说明",
            [
                f"本模板按照{FORMAT_SOURCE}规定的《{FORMAT_TITLE}》格式制作（模板版本 {TEMPLATE_VERSION}），"
                "适用于 2021 年度起的政府信息公开工作年度报告。",
                f"工作簿包括：{COVER_SHEET}（单位名称、报告年度等基本信息）、{table_sheets}、"
                f"{TEXT_SHEET}（{text_labels}）。",
                "模板中每个填报单元格都设置了定义名称（如 requests.new.natural），系统据此读取数据。",
            ],
        ),
        (
            "二、填写方法",
            [
                "1. 填写所有黄色单元格。没有发生的事项填 0，不要留空，也不要填写“/”“-”“无”“不适用”等文字。",
                "2. 数字单元格只填写阿拉伯数字，不带单位（单位已在表头注明），不用全角数字。",
                f"3. {fee.row.label}以“{fee.unit}”为单位，可以有小数（如 1.25 表示 1.25 {fee.unit}），"
                "其余各项均为整数件数。",
                "4. 灰色单元格为“总计”，由公式自动计算，无需填写。",
                "5. 请勿修改表格中的文字，请勿重命名、删除或移动工作表，请勿插入、删除行列或剪切、移动单元格。",
                f"6. {TEXT_SHEET}工作表中填写{text_labels}的正文。",
                "7. 填写完成后保存为 Excel 工作簿（.xlsx）格式（不要另存为 .xls、.et 或 PDF），"
                "将文件放入本县年报收件文件夹。",
            ],
        ),
        (
            "三、统计口径",
            [
                f"1. 表三各列须满足格式印明的勾稽关系：“{req['new']}”加“{req['carried_in']}”之和，"
                f"等于“{req['total']}”加“{req['carried_out']}”之和。",
                f"2. 表三“{req['carried_in']}”应与上一年度年报的“{req['carried_out']}”一致。",
                f"3. 表三办理结果中，区分处理的申请只计入“{req['partial']}”，不计其他情形；"
                "每件申请只按一种办理结果统计。",
                "4. 复议机关与作出原行政行为的行政机关作为共同被告的行政诉讼案件，只由作出原行政行为的行政机关统计，"
                "复议机关不再统计（国办公开办函〔2016〕201号）。",
                "5. 县级行政机关无权制定规章，表二“规章”一行通常应填 0。",
            ],
        ),
        (
            "四、审核规则",
            [
                "提交的年报按下列规则自动审核。级别为“错误”的，年报将被退回，须修改后重新提交；"
                "级别为“警告”的，年报予以接收，但请核实。",
            ],
        ),
    ]


# --------------------------------------------------------------------------
# The form sheets
# --------------------------------------------------------------------------

TEXT_STYLES = {
    "title": dict(font=TITLE_FONT, alignment=CENTRE),
    "subtitle": dict(font=SUBTITLE_FONT, alignment=CENTRE),
    "corner": dict(font=BODY_FONT, alignment=CENTRE, fill=HEADER_FILL),
    "header": dict(font=HEADER_FONT, alignment=CENTRE, fill=HEADER_FILL),
    "label": dict(font=BODY_FONT, alignment=CENTRE),
    "hint": dict(font=HINT_FONT, alignment=LEFT_INDENT),
    # the 文字部分 headings (labels there are section titles over a text box)
    "section": dict(font=HEADER_FONT, alignment=LEFT_INDENT, fill=HEADER_FILL),
}

_FIELD_FORMATS = {"uscc": TEXT_FORMAT, "text": TEXT_FORMAT, "year": "0", "longtext": TEXT_FORMAT}


def _is_table_sheet(layout: SheetLayout) -> bool:
    return layout.name not in (COVER_SHEET, TEXT_SHEET)


def _bordered_area(layout: SheetLayout) -> Iterable[tuple[int, int]]:
    """Cells that get the thin grid: the table, or the label/input boxes."""
    if _is_table_sheet(layout):
        for r in range(2, layout.last_row + 1):
            for c in range(1, layout.width + 1):
                yield r, c
        return
    merged = {(m[0], m[1]): m for m in layout.merges}
    labels = [(t.row, t.col) for t in layout.texts if t.role == "label"]
    boxes = [merged.get(rc, rc + rc) for rc in labels]
    boxes += [layout.input_merges.get(code, (r, c, r, c)) for code, (r, c) in layout.inputs.items()]
    for r1, c1, r2, c2 in boxes:
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                yield r, c


def _row_heights(layout: SheetLayout) -> dict[int, float]:
    """Row heights: the layout's, raised so that every wrapped text is readable."""
    heights: dict[int, float] = {}
    if _is_table_sheet(layout):
        for r in range(2, layout.last_row + 1):
            heights[r] = MIN_TABLE_ROW
    for code, (r, _) in layout.inputs.items():
        heights.setdefault(r, MIN_TABLE_ROW)
    spans = {(m[0], m[1]): m for m in layout.merges}
    multi = []
    for t in layout.texts:
        r1, c1, r2, c2 = spans.get((t.row, t.col), (t.row, t.col, t.row, t.col))
        font_scale = 16 / 11 if t.role == "title" else (9 / 11 if t.role == "hint" else 1.0)
        width = span_width(layout.widths, c1, c2) / font_scale
        need = line_count(t.text, width) * LINE_HEIGHT * font_scale + ROW_PADDING
        if r1 == r2:
            heights[r1] = max(heights.get(r1, MIN_TABLE_ROW), need)
        else:
            multi.append((r1, r2, need))
    for r1, r2, need in multi:  # spread what a tall merged label still lacks
        rows = range(r1, r2 + 1)
        have = sum(heights.get(r, MIN_TABLE_ROW) for r in rows)
        if have < need:
            extra = (need - have) / len(rows)
            for r in rows:
                heights[r] = heights.get(r, MIN_TABLE_ROW) + extra
    for r, h in layout.heights.items():
        heights[r] = max(heights.get(r, 0.0), h)
    return heights


def _write_texts(ws: Worksheet, layout: SheetLayout) -> None:
    for t in layout.texts:
        cell = ws.cell(row=t.row, column=t.col, value=t.text)
        role = "section" if layout.name == TEXT_SHEET and t.role == "label" else t.role
        style_cell(cell, **TEXT_STYLES.get(role, TEXT_STYLES["label"]))
    for r1, c1, r2, c2 in layout.merges:
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)


def _numeric_validations(ws: Worksheet, layout: SheetLayout) -> None:
    """One data validation per kind of numeric input, one prompt for the totals."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for code, (r, c) in layout.inputs.items():
        cell = FORM.cell_by_code.get(code)
        if cell is None:
            continue
        key = "total" if code in FORM.sums else cell.kind
        groups.setdefault(key, []).append((r, c))
    specs = {
        "integer": dict(
            type="whole", operator="greaterThanOrEqual", formula1="0",
            promptTitle="填写件数", prompt="请填写大于或等于 0 的整数；没有发生的填 0。",
            errorTitle="输入有误", error="此处只能填写大于或等于 0 的整数（件数），不带单位；没有发生的填 0。",
        ),
        "decimal": dict(
            type="decimal", operator="greaterThanOrEqual", formula1="0",
            promptTitle="填写金额（万元）", prompt="请填写以万元为单位的金额，可有小数；没有收费的填 0。",
            errorTitle="输入有误", error="此处只能填写大于或等于 0 的数字（单位：万元），不带单位；没有收费的填 0。",
        ),
        "total": dict(promptTitle="自动合计", prompt="本格由公式自动计算，无需填写。"),
    }
    for key, cells in groups.items():
        spec = specs[key]
        dv = DataValidation(
            allow_blank=True,
            showInputMessage=True,
            showErrorMessage="type" in spec,
            errorStyle="stop" if "type" in spec else None,
            **spec,
        )
        dv.sqref = " ".join(compact_ranges(cells))
        ws.add_data_validation(dv)


def _field_validation(ws: Worksheet, field: Field, ref: str) -> None:
    if field.kind == "year":
        dv = DataValidation(
            type="whole", operator="between", formula1=str(FIRST_YEAR), formula2=str(LAST_YEAR),
            allow_blank=True, showErrorMessage=True, showInputMessage=True,
            promptTitle=field.label, prompt=f"请填写四位年份，如 {FIRST_YEAR + 3}。",
            errorTitle="年度有误", error=f"报告年度应为 {FIRST_YEAR} 至 {LAST_YEAR} 之间的四位年份。",
        )
    elif field.hint and not field.locked:
        dv = DataValidation(
            allow_blank=True, showInputMessage=True, promptTitle=field.label, prompt=field.hint
        )
    else:
        return
    dv.sqref = ref
    ws.add_data_validation(dv)


def input_style(code: str) -> dict:
    """The style of an input cell: yellow and unlocked, or grey and locked."""
    numeric = FORM.cell_by_code.get(code)
    if numeric is not None:
        fixed = code in FORM.sums
        fmt, alignment = NUMBER_FORMATS[numeric.kind], CENTRE
    else:
        field = FORM.field_by_code[code]
        fixed = field.locked
        fmt = _FIELD_FORMATS.get(field.kind, TEXT_FORMAT)
        alignment = TOP_LEFT if field.kind == "longtext" else LEFT_INDENT
    return dict(
        font=BODY_FONT,
        alignment=alignment,
        fmt=fmt,
        fill=TOTAL_FILL if fixed else INPUT_FILL,
        protection=LOCKED if fixed else UNLOCKED,
    )


def _write_inputs(ws: Worksheet, layout: SheetLayout) -> None:
    """Style every input cell of the sheet, add its merge, formula and validation."""
    for code, (r, c) in layout.inputs.items():
        if code in layout.input_merges:
            r1, c1, r2, c2 = layout.input_merges[code]
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        cell = ws.cell(row=r, column=c)
        style_cell(cell, **input_style(code))
        if code in FORM.sums:
            cell.value = sum_formula(FORM.sums[code])
        if code in FORM.field_by_code:
            _field_validation(ws, FORM.field_by_code[code], a1(r, c))
    _numeric_validations(ws, layout)


def _write_form_sheet(ws: Worksheet, layout: SheetLayout) -> None:
    _write_texts(ws, layout)
    _write_inputs(ws, layout)
    for r, c in _bordered_area(layout):
        ws.cell(row=r, column=c).border = GRID
    for c, w in layout.widths.items():
        ws.column_dimensions[column_letter(c)].width = w
    for r, h in _row_heights(layout).items():
        ws.row_dimensions[r].height = round(h, 1)
    if _is_table_sheet(layout) and layout.last_row > 20:
        first = min(r for r, _ in layout.inputs.values())
        ws.freeze_panes = a1(first, 1)
    print_setup(
        ws,
        landscape=layout.landscape,
        last_row=layout.last_row,
        last_col=layout.width,
        one_page=_is_table_sheet(layout),
    )
    protect(ws)


# --------------------------------------------------------------------------
# The instructions sheet
# --------------------------------------------------------------------------


def _write_instructions(ws: Worksheet) -> None:
    ncols = len(_RULE_COLUMNS)
    widths = {i + 1: w for i, (_, w) in enumerate(_RULE_COLUMNS)}
    for c, w in widths.items():
        ws.column_dimensions[column_letter(c)].width = w
    full = span_width(widths, 1, ncols)

    def line(row: int, text: str, font: Font, height: float | None = None) -> None:
        cell = ws.cell(row=row, column=1, value=text)
        style_cell(cell, font=font, alignment=CENTRE if font is TITLE_FONT else LEFT)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        scale = font.size / 11
        need = line_count(text, full / scale) * LINE_HEIGHT * scale + ROW_PADDING
        ws.row_dimensions[row].height = round(max(height or 0, need), 1)

    row = 1
    line(row, f"{FORMAT_TITLE}填报说明", TITLE_FONT, 30)
    row += 2
    for heading, paragraphs in _instruction_sections():
        line(row, heading, HEADING_FONT)
        row += 1
        for text in paragraphs:
            line(row, text, BODY_FONT)
            row += 1
        row += 1
    row -= 1  # the rule table follows its section directly
    for i, (title, _) in enumerate(_RULE_COLUMNS):
        cell = ws.cell(row=row, column=i + 1, value=title)
        style_cell(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    ws.row_dimensions[row].height = MIN_TABLE_ROW
    for rule in CATALOGUE.values():
        row += 1
        values = (rule.id, SEVERITY_LABELS[rule.severity], rule.title, rule.description)
        for i, value in enumerate(values):
            cell = ws.cell(row=row, column=i + 1, value=value)
            style_cell(cell, font=BODY_FONT, alignment=CENTRE if i < 2 else LEFT, border=GRID)
        need = max(line_count(str(v), widths[i + 1]) for i, v in enumerate(values))
        ws.row_dimensions[row].height = max(MIN_TABLE_ROW, need * LINE_HEIGHT + ROW_PADDING)
    print_setup(ws, landscape=False, last_row=row, last_col=ncols)
    protect(ws)


def write_template(
    target: str | BinaryIO | object,
    *,
    year: int | None = None,
    agency: str = "",
    uscc: str = "",
    values: Mapping[str, object] | None = None,
) -> None:
    """Write the official-format template (optionally pre-filled) to ``target``.

    ``target`` is a path or a writable binary file object.  ``year``,
    ``agency`` and ``uscc`` pre-fill the cover; ``values`` (code → value)
    are written into the named cells, overwriting the formulas of totals.
    """
    build_template(year=year, agency=agency, uscc=uscc, values=values).save(target)


def build_template(
    *,
    year: int | None = None,
    agency: str = "",
    uscc: str = "",
    values: Mapping[str, object] | None = None,
) -> Workbook:
    """The template workbook of :func:`write_template`, not yet saved."""
    wb = Workbook()
    instructions = wb.active
    instructions.title = INSTRUCTIONS_SHEET
    _write_instructions(instructions)
    for layout in LAYOUT.sheets:
        _write_form_sheet(wb.create_sheet(layout.name), layout)
    for code in FORM.codes:
        sheet, row, col = LAYOUT.place(code)
        wb.defined_names[code] = DefinedName(code, attr_text=absolute_ref(sheet, row, col))

    wb[COVER_SHEET].cell(*LAYOUT.place("meta.template_version")[1:]).value = TEMPLATE_VERSION
    prefill: dict[str, object] = {}
    if year is not None:
        prefill["meta.year"] = year
    if agency:
        prefill["meta.agency"] = agency
    if uscc:
        prefill["meta.uscc"] = uscc
    prefill.update(values or {})
    for code, value in prefill.items():
        set_value(wb, code, value)

    cover = wb.sheetnames.index(COVER_SHEET)
    for i, ws in enumerate(wb.worksheets):
        ws.sheet_view.tabSelected = i == cover
    wb.active = cover
    wb.calculation.fullCalcOnLoad = True
    wb.properties.title = FORMAT_TITLE
    wb.properties.subject = f"{FORMAT_SOURCE}格式"
    wb.properties.creator = "nianbao"
    wb.properties.version = TEMPLATE_VERSION
    wb.custom_doc_props.append(
        StringProperty(name="nianbao.template_version", value=TEMPLATE_VERSION)
    )
    return wb


def template_bytes(**kw) -> bytes:
    """The template as bytes; keyword arguments as for :func:`write_template`."""
    buf = io.BytesIO()
    write_template(buf, **kw)
    return buf.getvalue()

