"""The official-format template and its 填报说明 sheet.

Everything the template contains is derived from :mod:`nianbao.schemas.form`
(what the cells are) and :mod:`nianbao.schemas.layout` (where they stand); the
only text written by hand here is the generic instruction prose.  Every input
cell carries a workbook-level defined name equal to its code, so any program
can read or write a report by name whatever the visual layout.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
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
    TEXT_FIELDS,
    TEXT_SHEET,
    Field,
)
from nianbao.schemas.layout import LAYOUT, SheetLayout, a1, column_letter
from .styles import (
    BODY_FONT,
    CENTRE,
    GRID,
    HEADER_FILL,
    HEADER_FONT,
    HEADING_FONT,
    HINT_FONT,
    INPUT_FILL,
    LEFT,
    LEFT_INDENT,
    LINE_HEIGHT,
    LOCKED,
    MIN_TABLE_ROW,
    NUMBER_FORMATS,
    ROW_PADDING,
    SUBTITLE_FONT,
    TEXT_FORMAT,
    TITLE_FONT,
    TOP_LEFT,
    TOTAL_FILL,
    UNLOCKED,
    absolute_ref,
    clean_text,
    compact_ranges,
    line_count,
    print_setup,
    protect,
    span_width,
    style_cell,
    sum_formula,
    write_text,
)
from .fill import set_value



# --------------------------------------------------------------------------
# Instruction prose (generic; labels and rules come from the schemas)
# --------------------------------------------------------------------------

_RULE_COLUMNS = (("级别", 8.0), ("名称", 24.0), ("说明", 92.0))
def instruction_rules() -> list:
    """The rules the 填报说明 lists: those an agency can break in its own workbook."""
    return [rule for rule in CATALOGUE.values() if rule.in_workbook]


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
                "模板中每个填报单元格都设置了定义名称，系统据此读取数据，请勿删除或改动。",
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
                f"6. {TEXT_SHEET}工作表中，在黄色框内填写或粘贴{text_labels}的全文（换行用 Alt+Enter），"
                "每部分可写数千字。框内只显示开头部分；全文在本表下方逐行显示，打印本表即打印全文。",
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
                "级别为“警告”的，年报予以接收，但请核实。此外，文件须是用本模板填写、另存为 .xlsx 的工作簿"
                "（不加密码、不含宏），否则无法读取。",
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


def _write_texts(ws: Worksheet, layout: SheetLayout, *, result: bool = False) -> None:
    for t in layout.texts:
        if result and t.role == "hint":  # a result has nothing left to fill in
            continue
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


LONGTEXT_PROMPT = ("在此格填写或粘贴本部分全文，换行用 Alt+Enter。"
                   "框内只显示开头部分；全文在本表下方逐行显示，打印本表即打印全文。")


def _field_validation(ws: Worksheet, field: Field, ref: str) -> None:
    if field.kind == "year":
        dv = DataValidation(
            type="whole", operator="between", formula1=str(FIRST_YEAR), formula2=str(LAST_YEAR),
            allow_blank=True, showErrorMessage=True, showInputMessage=True,
            promptTitle=field.label, prompt=f"请填写四位年份，如 {FIRST_YEAR + 3}。",
            errorTitle="年度有误", error=f"报告年度应为 {FIRST_YEAR} 至 {LAST_YEAR} 之间的四位年份。",
        )
    elif field.kind == "longtext":
        dv = DataValidation(allow_blank=True, showInputMessage=True, promptTitle=field.label, prompt=LONGTEXT_PROMPT)
    elif field.hint and not field.locked:
        dv = DataValidation(
            allow_blank=True, showInputMessage=True, promptTitle=field.label, prompt=field.hint
        )
    else:
        return
    dv.sqref = ref
    ws.add_data_validation(dv)


def input_style(code: str, *, result: bool = False) -> dict:
    """The style of an input cell: yellow and unlocked, or grey and locked; in a result, no fill at all."""
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
        fill=PatternFill() if result else TOTAL_FILL if fixed else INPUT_FILL,
        protection=LOCKED if fixed else UNLOCKED,
    )


def _write_inputs(ws: Worksheet, layout: SheetLayout, *, result: bool = False) -> None:
    """Style every input cell of the sheet, add its merge, formula and (in a template) its validation."""
    for code, (r, c) in layout.inputs.items():
        if code in layout.input_merges:
            r1, c1, r2, c2 = layout.input_merges[code]
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        cell = ws.cell(row=r, column=c)
        style_cell(cell, **input_style(code, result=result))
        if code in FORM.sums:
            cell.value = sum_formula(FORM.sums[code])
        if code in FORM.field_by_code and not result:
            _field_validation(ws, FORM.field_by_code[code], a1(r, c))
    if not result:
        _numeric_validations(ws, layout)


# --------------------------------------------------------------------------
# The 文字部分's full text
# --------------------------------------------------------------------------
# Each long-text field is one named input cell, where the reader finds it; one cell shows at most
# 409 points of text (Excel's highest row).  Below the input boxes the sheet shows the fields'
# text again, one printed line per row: each row's formula takes the next line of the fields
# joined under their headings (up to a line feed, or a full line), so every character is on
# screen and on paper, and page breaks fall between lines.  A row holds one line that always fits
# the sheet's width: nothing depends on a spreadsheet application adjusting row heights.

TEXT_LINE_CHARS = 44
"""Characters per line: this many full-width characters at 11 pt fit the eight columns' width."""
TEXT_LINE_HEIGHT = 16.0
TEXT_SHOWN_CHARS = 5_000
"""Each long-text field shows and prints at least this many characters, all fields at once …"""
TEXT_PARAGRAPH_SLACK = 1.3
"""… counting lines left short at paragraph ends (a 40-character paragraph still takes a line)."""
TEXT_PART_CHARS = 10_000
"""Each field's share of the joined text (a cell holds at most 32,767 characters)."""
_NO_LINE_START = "，。、；：！？）》」』”’…,.;:!?)]%"
"""Punctuation that does not begin a line: a line before it takes one character more (there is room for it)."""
_NO_LINE_START_SET = set(_NO_LINE_START) | {""}  # "": past the end of the text, as FIND finds an empty text
TEXT_DISPLAY_HINT = ("说明：上方黄色框内只显示开头部分；各部分全文在下方逐行显示（自动生成，无需填写），"
                     "打印本表即打印全文。")


def text_display_lines(fields: tuple[Field, ...] = TEXT_FIELDS) -> int:
    """How many display rows the 文字部分 has: every field's shown characters, its heading and a blank line."""
    per_field = math.ceil(TEXT_SHOWN_CHARS / TEXT_LINE_CHARS * TEXT_PARAGRAPH_SLACK)
    return len(fields) * (per_field + 2)


def text_display_rows(layout: SheetLayout, lines: int | None = None) -> tuple[int, int]:
    """(first, last) row of the full text below the input boxes of the text sheet (``lines`` rows, by
    default :func:`text_display_lines`)."""
    first = layout.last_row + 3  # a row of explanation and a blank row between
    return first, first + (lines or text_display_lines()) - 1


def text_display(texts: Mapping[str, object]) -> list[str]:
    """The lines the 文字部分 shows for the long-text fields' ``texts`` (code → text), as its formulas
    compute them: each field under its heading, a blank line between fields, lines ending at a line
    feed or after :data:`TEXT_LINE_CHARS` characters (one more when that one is punctuation that
    cannot begin a line)."""
    layout = LAYOUT.by_name[TEXT_SHEET]
    parts = []
    for f in TEXT_FIELDS:
        r = LAYOUT.place(f.code)[1]
        label = next(t.text for t in layout.texts if t.role == "label" and t.row == r - 1)
        value = texts.get(f.code)
        parts.append(label + "\n" + (clean_text(value) if value is not None else "")[:TEXT_PART_CHARS])
    joined, lines, at = "\n\n".join(parts), [], 0
    while at < len(joined):
        window = joined[at:at + TEXT_LINE_CHARS + 1]
        if "\n" in window:
            line = window[:window.index("\n")]
        elif window[-1:] in _NO_LINE_START_SET:
            line = window
        else:
            line = window[:TEXT_LINE_CHARS]
        lines.append(line)
        at += len(line) + (joined[at + len(line):at + len(line) + 1] == "\n")
    return lines


def _write_text_display(ws: Worksheet, layout: SheetLayout, *, result: bool, lines: int | None = None) -> None:
    first, last = text_display_rows(layout, lines)
    helper = layout.width + 2  # two hidden columns beyond the printed width: the joined text, each line's start
    joined = f"${column_letter(helper)}${first}"
    parts = []
    for f in TEXT_FIELDS:
        _, r, c = LAYOUT.place(f.code)
        label = next(t for t in layout.texts if t.role == "label" and t.row == r - 1)
        parts.append(f"${column_letter(label.col)}${label.row}&CHAR(10)&LEFT(${column_letter(c)}${r},{TEXT_PART_CHARS})")
    hidden = Protection(locked=True, hidden=True)
    cell = ws.cell(row=first, column=helper, value="=" + "&CHAR(10)&CHAR(10)&".join(parts))
    cell.protection = hidden
    marks = f"${column_letter(helper)}${first + 1}"  # the punctuation that does not begin a line
    write_text(ws[marks.replace("$", "")], _NO_LINE_START)
    start = column_letter(helper + 1)  # where each line starts in the joined text
    n = TEXT_LINE_CHARS
    line_style = {"font": BODY_FONT, "alignment": Alignment(horizontal="left", vertical="center"), "protection": hidden}
    for row in range(first, last + 1):
        at = f"${start}{row}"
        if row == first:
            ws[at.replace("$", "")] = 1
        else:  # after the line before, and the line feed that ended it
            before, line = f"${start}{row - 1}", f"$A{row - 1}"
            ws[at.replace("$", "")] = f"={before}+LEN({line})+(MID({joined},{before}+LEN({line}),1)=CHAR(10))"
        ws[at.replace("$", "")].protection = hidden
        # the next n + 1 characters: up to a line feed, else n of them (n + 1 before punctuation)
        window = f"MID({joined},{at},{n + 1})"
        cell = ws.cell(row=row, column=1, value=(
            f"=IFERROR(LEFT({window},FIND(CHAR(10),{window})-1),"
            f"IF(ISNUMBER(FIND(RIGHT({window}),{marks})),{window},LEFT({window},{n})))"))
        style_cell(cell, **line_style)
        ws.row_dimensions[row].height = TEXT_LINE_HEIGHT
    headings = ",".join(f"$A{first}=${column_letter(t.col)}${t.row}" for t in layout.texts
                        if t.role == "label")
    ws.conditional_formatting.add(f"A{first}:A{last}",
                                  FormulaRule(formula=[f"OR({headings})"], font=Font(bold=True)))
    for c in (helper, helper + 1):
        ws.column_dimensions[column_letter(c)].hidden = True
    if result:  # the county's text is read below; the input boxes are for typing
        for r in range(2, first):
            ws.row_dimensions[r].hidden = True
    else:
        hint = ws.cell(row=layout.last_row + 1, column=1, value=TEXT_DISPLAY_HINT)
        style_cell(hint, **TEXT_STYLES["hint"])
        ws.merge_cells(start_row=hint.row, start_column=1, end_row=hint.row, end_column=layout.width)
        ws.row_dimensions[hint.row].height = 30.0
    ws.print_area = f"A{first}:{column_letter(layout.width)}{last}"
    ws.print_title_rows = "1:1"


def _hide_empty_fields(ws: Worksheet, layout: SheetLayout) -> None:
    """A result's cover shows what is known: rows of empty fields and of the template version are left out."""
    for code, (r, c) in layout.inputs.items():
        field = FORM.field_by_code.get(code)
        if field is not None and (field.locked or ws.cell(row=r, column=c).value in (None, "")):
            ws.row_dimensions[r].hidden = True


def _write_form_sheet(ws: Worksheet, layout: SheetLayout, *, result: bool = False,
                      text_lines: int | None = None) -> None:
    _write_texts(ws, layout, result=result)
    _write_inputs(ws, layout, result=result)
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
    if layout.name == TEXT_SHEET:
        _write_text_display(ws, layout, result=result, lines=text_lines)
    if result and layout.name == COVER_SHEET:  # no hints beside the fields: the title centres over them
        ws.column_dimensions[column_letter(layout.width)].width = 2.0
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
    for rule in instruction_rules():
        row += 1
        values = (SEVERITY_LABELS[rule.severity], rule.title, rule.description)
        for i, value in enumerate(values):
            cell = ws.cell(row=row, column=i + 1, value=value)
            style_cell(cell, font=BODY_FONT, alignment=CENTRE if i == 0 else LEFT, border=GRID)
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


RESULT_DATE_LABEL = "汇总日期"


def _write_date(ws: Worksheet, layout: SheetLayout, day: dt.date) -> None:
    """A result's cover: the day it was made, a row below the fields, in the fields' box."""
    row = layout.last_row + 1
    label, value = ws.cell(row=row, column=1, value=RESULT_DATE_LABEL), ws.cell(row=row, column=2)
    write_text(value, f"{day.year}年{day.month}月{day.day}日")
    style_cell(label, **TEXT_STYLES["label"], border=GRID)
    style_cell(value, font=BODY_FONT, alignment=LEFT_INDENT, border=GRID)
    ws.row_dimensions[row].height = MIN_TABLE_ROW
    ws.print_area = f"A1:{column_letter(layout.width)}{row}"


def build_template(
    *,
    year: int | None = None,
    agency: str = "",
    uscc: str = "",
    values: Mapping[str, object] | None = None,
    result: bool = False,
    made: dt.date | None = None,
) -> Workbook:
    """The template workbook of :func:`write_template`, not yet saved.

    ``result=True`` makes it a result rather than a form to fill (the county rollup): no
    instructions sheet, input fills, fill-in hints or input prompts; the cover leaves out the
    fields without a value (and the template version), and shows the day ``made``; the 文字部分
    shows the full text only.  The sheets, labels, defined names and values are the template's,
    so it reads back as any report.
    """
    wb = Workbook()
    if result:
        wb.remove(wb.active)
    else:
        instructions = wb.active
        instructions.title = INSTRUCTIONS_SHEET
        _write_instructions(instructions)
    # a result's text is known: its 文字部分 has just the lines it shows, a template's has room for long texts
    text_lines = len(text_display(values or {})) if result else None
    for layout in LAYOUT.sheets:
        _write_form_sheet(wb.create_sheet(layout.name), layout, result=result, text_lines=text_lines)
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
    if result:
        _hide_empty_fields(wb[COVER_SHEET], LAYOUT.by_name[COVER_SHEET])
        if made is not None:
            _write_date(wb[COVER_SHEET], LAYOUT.by_name[COVER_SHEET], made)

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

