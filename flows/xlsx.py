"""The Excel side of nianbao: write the official-format template, fill it by name.

This is the one module of the project that imports openpyxl.  Everything the
template contains is derived from :mod:`schemas.form` (what the cells are) and
:mod:`schemas.layout` (where they stand); the only text written by hand here is
the generic instruction prose of the 填报说明 sheet.

Every input cell carries a workbook-level defined name equal to its code
(``requests.new.natural``, ``meta.year`` …), so any program can read or write
a report by name whatever the visual layout: :func:`fill_workbook` does that.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from schemas.catalogue import CATALOGUE, ERROR, SEVERITY_LABELS
from schemas.findings import Finding
from schemas.form import (
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
from schemas.layout import LAYOUT, SheetLayout, a1, column_letter

__all__ = ["write_template", "fill_workbook", "template_bytes", "write_feedback", "write_rollup"]

# --------------------------------------------------------------------------
# Styles
# --------------------------------------------------------------------------

FONT_NAME = "宋体"
TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)
SUBTITLE_FONT = Font(name=FONT_NAME, size=11, bold=True)
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)
BODY_FONT = Font(name=FONT_NAME, size=11)
HINT_FONT = Font(name=FONT_NAME, size=9, color="808080")
HEADING_FONT = Font(name=FONT_NAME, size=12, bold=True)

THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # light yellow: to be filled
TOTAL_FILL = PatternFill("solid", fgColor="D9D9D9")  # grey: computed / written by us
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")

CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
LEFT_INDENT = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

NUMBER_FORMATS = {"integer": "0", "decimal": "0.00"}
TEXT_FORMAT = "@"

PAPER_A4 = 9
LINE_HEIGHT = 16.0  # points per wrapped line at 11 pt (CJK fonts run tall)
ROW_PADDING = 6.0
MIN_TABLE_ROW = 22.0
CJK_WIDTH = 1.8  # column-width units taken by one full-width character at 11 pt

YEAR_MIN, YEAR_MAX = 2021, 2100

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
# Small helpers
# --------------------------------------------------------------------------


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make spreadsheet software treat typed text as a formula."""

MAX_CELL_TEXT = 32_767  # Excel's limit on the characters of one cell


def _clean_text(value: object) -> str:
    """``value`` as text a worksheet can hold: no XML-illegal control characters, not too long."""
    text = value if isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_TEXT]


def _write_text(cell, value: object) -> None:
    """Write ``value`` into ``cell`` as text, never as a formula (or an error value).

    openpyxl turns a string starting with ``=`` into a formula and ``#N/A`` into
    an error; text written here stays a string whatever it starts with.  Text
    that a spreadsheet would take for a formula when typed (``=`` ``+`` ``-``
    ``@``) also gets Excel's quote prefix, so that editing the cell keeps it text.
    ``None`` empties the cell.
    """
    if value is None:
        cell.value = None
        return
    text = _clean_text(value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def _text_width(text: str) -> float:
    """Approximate width of ``text`` in column-width units at 11 pt."""
    return sum(
        CJK_WIDTH if unicodedata.east_asian_width(ch) in "WFA" else 1.1 for ch in text
    )


def _lines(text: str, width: float) -> int:
    """How many wrapped lines ``text`` takes in a cell ``width`` units wide."""
    usable = max(width - 1.0, 1.0)
    return sum(max(1, math.ceil(_text_width(part) / usable)) for part in text.split("\n"))


def _span_width(widths: Mapping[int, float], c1: int, c2: int, default: float = 9.0) -> float:
    return sum(widths.get(c, default) for c in range(c1, c2 + 1))


def _ref(sheet: str, row: int, col: int) -> str:
    """An absolute, always-quoted reference: ``'表三'!$D$5``."""
    return f"'{sheet}'!${column_letter(col)}${row}"


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integers: [1,2,3,5] → [(1,3),(5,5)]."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _compact_ranges(cells: Iterable[tuple[int, int]]) -> list[str]:
    """A1 ranges covering exactly ``cells``: row runs per column, then equal columns joined."""
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    boxes: list[list[int]] = []  # [r1, r2, c1, c2]
    for c in sorted(by_col):
        for r1, r2 in _runs(by_col[c]):
            prev = next((b for b in boxes if b[:2] == [r1, r2] and b[3] == c - 1), None)
            if prev:
                prev[3] = c
            else:
                boxes.append([r1, r2, c, c])
    return [
        a1(r1, c1) if (r1, c1) == (r2, c2) else f"{a1(r1, c1)}:{a1(r2, c2)}"
        for r1, r2, c1, c2 in boxes
    ]


def _sum_formula(parts: Iterable[str]) -> str:
    """``=SUM(...)`` over the parts' cells, with compact ranges where contiguous."""
    places = [LAYOUT.place(code) for code in parts]
    sheets = {s for s, _, _ in places}
    if len(sheets) != 1:
        raise ValueError(f"sum parts on several sheets: {sorted(sheets)}")
    rows = {r for _, r, _ in places}
    cols = {c for _, _, c in places}
    if len(rows) == 1:
        (row,) = rows
        ranges = [(row, c1, row, c2) for c1, c2 in _runs(list(cols))]
    elif len(cols) == 1:
        (col,) = cols
        ranges = [(r1, col, r2, col) for r1, r2 in _runs(list(rows))]
    else:
        ranges = [(r, c, r, c) for _, r, c in places]
    refs = [
        a1(r1, c1) if (r1, c1) == (r2, c2) else f"{a1(r1, c1)}:{a1(r2, c2)}"
        for r1, c1, r2, c2 in ranges
    ]
    return "=SUM(" + ",".join(refs) + ")"


def _style(cell, *, font=None, alignment=None, border=None, fill=None, fmt=None, protection=None):
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt
    if protection is not None:
        cell.protection = protection


def _protect(ws: Worksheet) -> None:
    """Protect the sheet (no password): labels fixed, unlocked inputs editable."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # False = allowed
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _print_setup(
    ws: Worksheet, *, landscape: bool, last_row: int, last_col: int, one_page: bool = False
) -> None:
    """A4, fit to one page wide (and tall for a form table), centred, with a footer."""
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_area = f"A1:{a1(last_row, last_col)}"
    ws.oddFooter.center.text = "&A　第 &P 页，共 &N 页"


# --------------------------------------------------------------------------
# The form sheets
# --------------------------------------------------------------------------

_TEXT_STYLES = {
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
        width = _span_width(layout.widths, c1, c2) / font_scale
        need = _lines(t.text, width) * LINE_HEIGHT * font_scale + ROW_PADDING
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
        _style(cell, **_TEXT_STYLES.get(role, _TEXT_STYLES["label"]))
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
        dv.sqref = " ".join(_compact_ranges(cells))
        ws.add_data_validation(dv)


def _field_validation(ws: Worksheet, field: Field, ref: str) -> None:
    if field.kind == "year":
        dv = DataValidation(
            type="whole", operator="between", formula1=str(YEAR_MIN), formula2=str(YEAR_MAX),
            allow_blank=True, showErrorMessage=True, showInputMessage=True,
            promptTitle=field.label, prompt=f"请填写四位年份，如 {YEAR_MIN + 3}。",
            errorTitle="年度有误", error=f"报告年度应为 {YEAR_MIN} 至 {YEAR_MAX} 之间的四位年份。",
        )
    elif field.hint and not field.locked:
        dv = DataValidation(
            allow_blank=True, showInputMessage=True, promptTitle=field.label, prompt=field.hint
        )
    else:
        return
    dv.sqref = ref
    ws.add_data_validation(dv)


def _input_style(code: str) -> dict:
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
        _style(cell, **_input_style(code))
        if code in FORM.sums:
            cell.value = _sum_formula(FORM.sums[code])
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
    _print_setup(
        ws,
        landscape=layout.landscape,
        last_row=layout.last_row,
        last_col=layout.width,
        one_page=_is_table_sheet(layout),
    )
    _protect(ws)


# --------------------------------------------------------------------------
# The instructions sheet
# --------------------------------------------------------------------------


def _write_instructions(ws: Worksheet) -> None:
    ncols = len(_RULE_COLUMNS)
    widths = {i + 1: w for i, (_, w) in enumerate(_RULE_COLUMNS)}
    for c, w in widths.items():
        ws.column_dimensions[column_letter(c)].width = w
    full = _span_width(widths, 1, ncols)

    def line(row: int, text: str, font: Font, height: float | None = None) -> None:
        cell = ws.cell(row=row, column=1, value=text)
        _style(cell, font=font, alignment=CENTRE if font is TITLE_FONT else LEFT)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        scale = font.size / 11
        need = _lines(text, full / scale) * LINE_HEIGHT * scale + ROW_PADDING
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
        _style(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    ws.row_dimensions[row].height = MIN_TABLE_ROW
    for rule in CATALOGUE.values():
        row += 1
        values = (rule.id, SEVERITY_LABELS[rule.severity], rule.title, rule.description)
        for i, value in enumerate(values):
            cell = ws.cell(row=row, column=i + 1, value=value)
            _style(cell, font=BODY_FONT, alignment=CENTRE if i < 2 else LEFT, border=GRID)
        need = max(_lines(str(v), widths[i + 1]) for i, v in enumerate(values))
        ws.row_dimensions[row].height = max(MIN_TABLE_ROW, need * LINE_HEIGHT + ROW_PADDING)
    _print_setup(ws, landscape=False, last_row=row, last_col=ncols)
    _protect(ws)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _set_value(wb: Workbook, code: str, value: object) -> None:
    """Write ``value`` into the cell the workbook-level name ``code`` points to."""
    try:
        name = wb.defined_names[code]
    except KeyError:
        raise KeyError(
            f"no defined name {code!r} in the workbook (not a cell code of the template)"
        ) from None
    destinations = list(name.destinations)
    if len(destinations) != 1:
        raise KeyError(f"defined name {code!r} does not point to a single cell: {name.attr_text!r}")
    sheet, coord = destinations[0]
    if sheet not in wb.sheetnames:
        raise KeyError(f"defined name {code!r} points to a missing sheet {sheet!r}")
    cell = wb[sheet][coord.replace("$", "").split(":")[0]]
    if isinstance(value, str):
        _write_text(cell, value)  # text, never a formula: values are data, not code
    else:
        cell.value = value


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
    _build_template(year=year, agency=agency, uscc=uscc, values=values).save(target)


def _build_template(
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
        wb.defined_names[code] = DefinedName(code, attr_text=_ref(sheet, row, col))

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
        _set_value(wb, code, value)

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


def fill_workbook(source, target, values: Mapping[str, object]) -> None:
    """Open ``source``, write each value into the cell named by its code, save to ``target``.

    ``source`` and ``target`` are paths or binary file objects.  An unknown
    code raises :class:`KeyError`.
    """
    wb = load_workbook(source, keep_vba=False)
    for code, value in values.items():
        _set_value(wb, code, value)
    wb.save(target)


# --------------------------------------------------------------------------
# Feedback to an agency: its own workbook, annotated, behind a list of findings
# --------------------------------------------------------------------------

FEEDBACK_SHEET = "问题清单"
FEEDBACK_AUTHOR = "nianbao"
FEEDBACK_HINT = "红色为错误，必须修改后重新提交；深黄色为警告，请核实。"
FEEDBACK_HINT_CELLS = "点击“单元格”一栏可跳转到相应单元格，单元格上的批注说明了问题和修改方法。"
FEEDBACK_HINT_NO_WORKBOOK = "未能在原工作簿的单元格上标注问题，请按下表逐项核对。"
FEEDBACK_NONE = "未发现问题。"

ERROR_COLOUR = "FFC7CE"  # Excel's "bad" red
WARNING_COLOUR = "FFD966"  # a deeper yellow than the template's FFF2CC input cells
ERROR_FILL = PatternFill("solid", fgColor=ERROR_COLOUR)
WARNING_FILL = PatternFill("solid", fgColor=WARNING_COLOUR)
LINK_FONT = Font(name=FONT_NAME, size=11, color="0563C1", underline="single")

_FEEDBACK_COLUMNS = (("序号", 6.0), ("级别", 8.0), ("工作表", 12.0), ("单元格", 10.0), ("规则", 18.0), ("问题说明", 72.0))
_HEADER_ROW = 3  # title, hint, then the table

COMMENT_WIDTH = 360  # px
COMMENT_CHAR = 6.5  # px per _text_width unit at the comments' 9 pt
COMMENT_LINE = 15  # px
MAX_ROW, MAX_COL = 1_048_576, 16_384


def _fill_for(severity: str) -> PatternFill:
    return ERROR_FILL if severity == ERROR else WARNING_FILL


def _is_our_fill(fill) -> bool:
    colour = getattr(getattr(fill, "fgColor", None), "rgb", None)
    return (
        getattr(fill, "fill_type", None) == "solid"
        and isinstance(colour, str)
        and colour[-6:].upper() in (ERROR_COLOUR, WARNING_COLOUR)
    )


def _location(sheet: str, coord: str) -> str:
    """An internal hyperlink location: ``'表三'!D5`` (quotes in the name doubled)."""
    return "'" + sheet.replace("'", "''") + "'!" + coord


def _worksheet(wb: Workbook, sheet: str) -> Worksheet | None:
    """The worksheet called ``sheet`` (not a chartsheet, not our own list), if any."""
    if not sheet or sheet == FEEDBACK_SHEET or sheet not in wb.sheetnames:
        return None
    ws = wb[sheet]
    return ws if isinstance(ws, Worksheet) else None


def _target_cell(ws: Worksheet, cell: str) -> tuple[int, int] | None:
    """(row, col) a finding's cell is shown at: a range's first cell, a merge's top-left."""
    try:
        min_col, min_row, _, _ = range_boundaries(cell.replace("$", "").strip())
    except (ValueError, TypeError, AttributeError):
        return None
    if not (min_row and min_col and 1 <= min_row <= MAX_ROW and 1 <= min_col <= MAX_COL):
        return None
    for merged in ws.merged_cells.ranges:
        if merged.min_row <= min_row <= merged.max_row and merged.min_col <= min_col <= merged.max_col:
            return merged.min_row, merged.min_col
    return min_row, min_col


def _template_fill(sheet: str, row: int, col: int) -> PatternFill:
    """The fill the template gives the cell (what a stale feedback fill is reset to)."""
    layout = LAYOUT.by_name.get(sheet)
    if layout is None:
        return PatternFill()
    for code, (r, c) in layout.inputs.items():
        if (r, c) == (row, col):
            return _input_style(code)["fill"]
    for t in layout.texts:
        if (t.row, t.col) == (row, col):
            role = "section" if layout.name == TEXT_SHEET and t.role == "label" else t.role
            return _TEXT_STYLES.get(role, {}).get("fill") or PatternFill()
    return PatternFill()


def _clear_previous_feedback(wb: Workbook) -> None:
    """Remove what an earlier feedback left in a resubmitted feedback workbook.

    Agencies often correct the feedback workbook itself and send it back: its
    问题清单 sheet, our comments and our red/yellow fills would otherwise stay
    on cells that are now right.  A cell carrying our comment and our fill gets
    the template's fill back (agencies cannot change fills on the protected
    sheets, so such a fill is ours).
    """
    if FEEDBACK_SHEET in wb.sheetnames:
        wb.remove(wb[FEEDBACK_SHEET])
    for ws in wb.worksheets:
        for cell in [c for c in ws._cells.values() if c.comment is not None]:
            if cell.comment.author != FEEDBACK_AUTHOR:
                continue
            cell.comment = None
            if _is_our_fill(cell.fill):
                cell.fill = _template_fill(ws.title, cell.row, cell.column)


def _comment(findings: list[Finding], previous: Comment | None) -> Comment:
    """One comment for a cell: every finding's "[rule] message", errors first."""
    ordered = sorted(findings, key=lambda f: f.severity != ERROR)
    lines = [f"[{f.rule}] {f.severity_label}：{f.message}" for f in ordered]
    if previous is not None and previous.author != FEEDBACK_AUTHOR and previous.text:
        lines.append(f"（原批注）{previous.text}")
    text = _clean_text("\n".join(lines))
    usable = (COMMENT_WIDTH - 12) / COMMENT_CHAR
    height = _lines(text, usable + 1.0) * COMMENT_LINE + 16
    return Comment(text, FEEDBACK_AUTHOR, height=min(max(height, 60), 900), width=COMMENT_WIDTH)


def _annotate(wb: Workbook, findings: Sequence[Finding]) -> dict[int, tuple[str, bool]]:
    """Fill and comment every cell a finding points at.

    Returns finding index → (hyperlink location, whether it is the cell or only the sheet).
    """
    links: dict[int, tuple[str, bool]] = {}
    by_cell: dict[tuple[str, int, int], list[Finding]] = {}
    for i, f in enumerate(findings):
        ws = _worksheet(wb, f.sheet)
        if ws is None:
            continue
        place = _target_cell(ws, f.cell) if f.cell else None
        if place is None:
            links[i] = (_location(ws.title, "A1"), False)  # the sheet at least
            continue
        links[i] = (_location(ws.title, a1(*place)), True)
        by_cell.setdefault((ws.title, *place), []).append(f)
    for (sheet, row, col), found in by_cell.items():
        cell = wb[sheet].cell(row=row, column=col)
        cell.fill = ERROR_FILL if any(f.severity == ERROR for f in found) else WARNING_FILL
        previous = cell.comment
        cell.comment = None
        cell.comment = _comment(found, previous)
    return links


def _write_findings_sheet(
    ws: Worksheet, findings: Sequence[Finding], title: str, links: Mapping[int, tuple[str, bool]] | None
) -> None:
    """The 问题清单 sheet: title, hint, then one row per finding."""
    ncols = len(_FEEDBACK_COLUMNS)
    widths = {i + 1: w for i, (_, w) in enumerate(_FEEDBACK_COLUMNS)}
    for c, w in widths.items():
        ws.column_dimensions[column_letter(c)].width = w
    full = _span_width(widths, 1, ncols)

    hint = FEEDBACK_HINT + (FEEDBACK_HINT_CELLS if links is not None else FEEDBACK_HINT_NO_WORKBOOK)
    for row, text, font, alignment in ((1, title, TITLE_FONT, CENTRE), (2, hint, BODY_FONT, LEFT)):
        cell = ws.cell(row=row, column=1)
        _write_text(cell, text)
        _style(cell, font=font, alignment=alignment)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        scale = font.size / 11
        ws.row_dimensions[row].height = round(
            max(MIN_TABLE_ROW, _lines(_clean_text(text), full / scale) * LINE_HEIGHT * scale + ROW_PADDING), 1
        )

    for i, (name, _) in enumerate(_FEEDBACK_COLUMNS):
        cell = ws.cell(row=_HEADER_ROW, column=i + 1)
        _write_text(cell, name)
        _style(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    ws.row_dimensions[_HEADER_ROW].height = MIN_TABLE_ROW

    row = _HEADER_ROW
    for i, f in enumerate(findings):
        row += 1
        label = SEVERITY_LABELS.get(f.severity, f.severity)
        values = (i + 1, label, f.sheet, f.cell, f.rule, f.message)
        fill = _fill_for(f.severity)
        for j, value in enumerate(values):
            cell = ws.cell(row=row, column=j + 1)
            if isinstance(value, int):
                cell.value = value
            else:
                _write_text(cell, value)
            _style(cell, font=BODY_FONT, alignment=LEFT if j == ncols - 1 else CENTRE, border=GRID, fill=fill)
        if links and i in links:
            # the 单元格 column links to the cell; a finding about a whole sheet links from 工作表
            location, to_cell = links[i]
            cell = ws.cell(row=row, column=4 if to_cell else 3)
            tip = _clean_text(f"转到 {f.where or f.sheet}")[:255]
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=location, tooltip=tip)
            cell.font = LINK_FONT
        need = max(_lines(_clean_text(v), widths[j + 1]) for j, v in enumerate(values))
        ws.row_dimensions[row].height = round(max(MIN_TABLE_ROW, need * LINE_HEIGHT + ROW_PADDING), 1)
    if not findings:
        row += 1
        cell = ws.cell(row=row, column=1)
        _write_text(cell, FEEDBACK_NONE)
        _style(cell, font=BODY_FONT, alignment=CENTRE)
        for c in range(1, ncols + 1):
            ws.cell(row=row, column=c).border = GRID
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = MIN_TABLE_ROW
    else:
        ws.auto_filter.ref = f"A{_HEADER_ROW}:{a1(row, ncols)}"
    ws.freeze_panes = a1(_HEADER_ROW + 1, 1)
    _print_setup(ws, landscape=True, last_row=row, last_col=ncols)
    ws.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"


def _select_only(wb: Workbook, index: int) -> None:
    for i, sheet in enumerate(wb._sheets):  # worksheets (views) and chartsheets (sheetViews) alike
        views = getattr(sheet, "views", None) or getattr(sheet, "sheetViews", None)
        for view in getattr(views, "sheetView", None) or []:
            view.tabSelected = i == index
    wb.active = index
    for view in wb.views or []:
        view.firstSheet = 0


def _annotated(original: bytes, findings: Sequence[Finding], title: str) -> bytes:
    """The agency's workbook with the list sheet first and its cells annotated."""
    wb = load_workbook(io.BytesIO(original))
    _clear_previous_feedback(wb)
    links = _annotate(wb, findings)
    ws = wb.create_sheet(FEEDBACK_SHEET, 0)
    _write_findings_sheet(ws, findings, title, links)
    _select_only(wb, 0)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _list_only(findings: Sequence[Finding], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = FEEDBACK_SHEET
    _write_findings_sheet(ws, findings, title, None)
    wb.properties.title = _clean_text(title)[:255]
    wb.properties.creator = FEEDBACK_AUTHOR
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _save_bytes(data: bytes, target) -> None:
    if hasattr(target, "write"):
        target.write(data)
    else:
        Path(target).write_bytes(data)


def write_feedback(original: bytes | None, findings: Sequence[Finding], target, *, title: str) -> None:
    """Write the feedback workbook for one submitted file to ``target`` (a path or binary file object).

    With ``original`` (the bytes of the agency's .xlsx), the result is that
    workbook with a first sheet 问题清单 listing the findings (each linked to its
    cell) and every cell a finding points at filled red (error) or yellow
    (warning) with one comment giving the rule and the message.  Without it, or
    when openpyxl cannot load or re-save it, the result holds the list only.
    The original bytes are only read; all text is written as text.
    """
    data = None
    if original is not None:
        try:
            data = _annotated(original, findings, title)
        except Exception:  # noqa: BLE001 - any workbook openpyxl cannot handle gets the list alone
            data = None
    if data is None:
        data = _list_only(findings, title)
    _save_bytes(data, target)


# --------------------------------------------------------------------------
# The county rollup: the template, filled with the totals, plus plain tables
# --------------------------------------------------------------------------

_INVALID_SHEET_CHARS = set("[]:*?/\\")
TEXT_COLUMN_WIDTH = (10.0, 50.0)  # min, max
NUMBER_COLUMN_WIDTH = (8.0, 18.0)
FIT_COLUMNS = 12  # a table this wide or narrower is printed fitted to the page width


def _cell_value(value: object) -> object:
    """What a data cell holds: numbers stay numbers, non-finite numbers are empty."""
    if value is None or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    if isinstance(value, numbers.Real):
        try:
            return value if math.isfinite(float(value)) else None
        except (TypeError, ValueError, OverflowError):
            return None
    return _clean_text(value)


def _display(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _check_sheet_name(name: str, taken: set[str]) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"empty sheet name: {name!r}")
    if len(name) > 31 or _INVALID_SHEET_CHARS & set(name) or name.startswith("'") or name.endswith("'"):
        raise ValueError(f"not a valid Excel sheet name: {name!r}")
    if name.casefold() in taken:
        raise ValueError(f"duplicate sheet name: {name!r}")
    taken.add(name.casefold())


def _write_table_sheet(ws: Worksheet, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain table: bold filled header, rows below, frozen header, filter, fitted widths."""
    ncols = max([len(header)] + [len(r) for r in rows]) if (header or rows) else 0
    width_need = [_text_width(_clean_text(h)) * 1.1 + 2 if h is not None else 0.0 for h in header]
    width_need += [0.0] * (ncols - len(width_need))
    is_text = [False] * ncols
    for c, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=c)
        _write_text(cell, name)
        _style(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    # A rollup table can have tens of thousands of cells: their style (body font, grid border) is
    # looked up in the workbook's style tables once, not once per cell as ``cell.font = …`` would.
    wb = ws.parent
    body_style = StyleArray()
    body_style.fontId, body_style.borderId = wb._fonts.add(BODY_FONT), wb._borders.add(GRID)
    cleaned = []
    for r, raw in enumerate(rows, start=2):
        out = []
        for c, value in enumerate(raw, start=1):
            value = _cell_value(value)
            out.append(value)
            cell = ws.cell(row=r, column=c)
            cell._style = StyleArray(body_style)  # what cell.font = BODY_FONT; cell.border = GRID set
            if isinstance(value, str):
                if value:
                    _write_text(cell, value)
                    is_text[c - 1] = True
            else:
                cell.value = value
            width_need[c - 1] = max(width_need[c - 1], _text_width(_display(value)) + 2)
        cleaned.append(out)
        for c in range(len(raw) + 1, ncols + 1):
            ws.cell(row=r, column=c).border = GRID
    widths: dict[int, float] = {}
    for c in range(1, ncols + 1):
        low, high = TEXT_COLUMN_WIDTH if is_text[c - 1] else NUMBER_COLUMN_WIDTH
        widths[c] = round(min(max(width_need[c - 1], low), high), 1)
        ws.column_dimensions[column_letter(c)].width = widths[c]
    body = Alignment(vertical="center", wrap_text=True)
    body_alignment = wb._alignments.add(body)
    for r, values in enumerate(cleaned, start=2):
        lines = 1
        for c, value in enumerate(values, start=1):
            if isinstance(value, str) and value:
                ws.cell(row=r, column=c)._style.alignmentId = body_alignment  # as cell.alignment = body
                lines = max(lines, _lines(value, widths[c]))
        if lines > 1:
            ws.row_dimensions[r].height = round(lines * LINE_HEIGHT + ROW_PADDING, 1)
    if header:
        lines = max((_lines(_clean_text(h), widths[c]) for c, h in enumerate(header, start=1) if h is not None),
                    default=1)
        ws.row_dimensions[1].height = round(max(MIN_TABLE_ROW, lines * LINE_HEIGHT + ROW_PADDING), 1)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{a1(max(1, len(rows) + 1), ncols)}"
        ws.print_title_rows = "1:1"
    if ncols <= FIT_COLUMNS:
        _print_setup(ws, landscape=ncols > 6, last_row=max(1, len(rows) + 1), last_col=max(ncols, 1))
    else:  # too wide to shrink onto one page width: print as is, header on every page
        ws.page_setup.paperSize = PAPER_A4
        ws.page_setup.orientation = "landscape"


def write_rollup(
    target,
    *,
    values: Mapping[str, object],
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]],
) -> None:
    """Write the county rollup to ``target`` (a path or binary file object).

    The rollup is the template itself — same sheets, defined names, labels and
    protection — with ``values`` (code → value) written into the named cells,
    followed by ``extra_sheets``: (sheet name, header, rows) tables, unprotected.
    Non-finite numbers (NaN) are written as empty cells; text is always text.
    """
    wb = _build_template(values={code: _cell_value(v) for code, v in values.items()})
    taken = {name.casefold() for name in wb.sheetnames}
    for name, header, rows in extra_sheets:
        _check_sheet_name(name, taken)
        _write_table_sheet(wb.create_sheet(name), list(header), [list(r) for r in rows])
    wb.save(target)


def read_rows(source, sheet: str | None = None) -> list[list[object]]:
    """The values of a sheet of a workbook (by default the first: a roster), row by row.

    A ``sheet`` the workbook does not have raises ``KeyError``.
    """
    wb = load_workbook(source, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0] if sheet is None else wb[sheet]
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
