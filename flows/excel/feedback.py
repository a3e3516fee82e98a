"""Feedback to an agency: its own workbook, annotated, behind a list of findings.

Two ways to the same workbook.  The fast one edits the agency's .xlsx as a zip
(:mod:`.package`): every part the agency wrote keeps its bytes except the few that
must change (the workbook's sheet list, its relationships and content types, the
styles, the annotated worksheets with their comments), and the 问题清单 sheet is
written as XML.  When that path refuses a file (a layout it does not know, threaded
comments, form controls in a drawing it cannot parse …), openpyxl loads, annotates
and saves the workbook as before; when openpyxl cannot either, the feedback is the
list alone.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape, quoteattr
from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from nianbao.schemas.catalogue import ERROR, SEVERITY_LABELS
from nianbao.schemas.values import FORMULA_PREFIXES
from nianbao.schemas.findings import Finding
from nianbao.schemas.form import (
    TEXT_SHEET,
)
from nianbao.schemas.layout import LAYOUT, a1, column_letter
from .styles import (
    BODY_FONT, CENTRE, FONT_NAME, GRID, HEADER_FILL, HEADER_FONT, HEADER_FOOTER_MARGIN, LEFT, LINE_HEIGHT,
    MIN_TABLE_ROW, PAGE_MARGIN_END, PAGE_MARGIN_SIDE, PAPER_A4, ROW_PADDING, TITLE_FONT, clean_text, line_count,
    print_setup, span_width, style_cell, write_text,
)
from .internals import all_sheets, cells_with_comments
from .package import Note, Package
from .template import TEXT_STYLES, input_style



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
COMMENT_CHAR = 6.5  # px per text_width unit at the comments' 9 pt
COMMENT_LINE = 15  # px
MAX_ROW, MAX_COL = 1_048_576, 16_384


def _finding_row(i: int, f: Finding) -> tuple[tuple, PatternFill]:
    """The 问题清单 row of the ``i``-th finding (序号, 级别, 工作表, 单元格, 规则, 问题说明) and its fill."""
    label = SEVERITY_LABELS.get(f.severity, f.severity)
    return (i + 1, label, f.sheet, f.cell, f.title, f.message), _fill_for(f.severity)


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
    merges = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]
    return _target_place(cell, merges)


def _target_place(cell: str, merges) -> tuple[int, int] | None:
    """(row, col) of ``cell`` (a range's first cell) or of the top-left of the merge (r1, c1, r2, c2) it is in."""
    try:
        min_col, min_row, _, _ = range_boundaries(cell.replace("$", "").strip())
    except (ValueError, TypeError, AttributeError):
        return None
    if not (min_row and min_col and 1 <= min_row <= MAX_ROW and 1 <= min_col <= MAX_COL):
        return None
    for r1, c1, r2, c2 in merges:
        if r1 <= min_row <= r2 and c1 <= min_col <= c2:
            return r1, c1
    return min_row, min_col


def _template_fill(sheet: str, row: int, col: int) -> PatternFill:
    """The fill the template gives the cell (what a stale feedback fill is reset to)."""
    layout = LAYOUT.by_name.get(sheet)
    if layout is None:
        return PatternFill()
    for code, (r, c) in layout.inputs.items():
        if (r, c) == (row, col):
            return input_style(code)["fill"]
    for t in layout.texts:
        if (t.row, t.col) == (row, col):
            role = "section" if layout.name == TEXT_SHEET and t.role == "label" else t.role
            return TEXT_STYLES.get(role, {}).get("fill") or PatternFill()
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
        for cell in cells_with_comments(ws):
            if cell.comment.author != FEEDBACK_AUTHOR:
                continue
            cell.comment = None
            if _is_our_fill(cell.fill):
                cell.fill = _template_fill(ws.title, cell.row, cell.column)


def _comment_text(findings: list[Finding], previous: Comment | Note | None) -> tuple[str, int]:
    """One comment's text for a cell, every finding's "【rule title】 message", errors first; and its height."""
    ordered = sorted(findings, key=lambda f: f.severity != ERROR)
    lines = [f"【{f.title}】{f.severity_label}：{f.message}" for f in ordered]
    if previous is not None and previous.author != FEEDBACK_AUTHOR and previous.text:
        lines.append(f"（原批注）{previous.text}")
    text = clean_text("\n".join(lines))
    usable = (COMMENT_WIDTH - 12) / COMMENT_CHAR
    height = line_count(text, usable + 1.0) * COMMENT_LINE + 16
    return text, min(max(height, 60), 900)


def _comment(findings: list[Finding], previous: Comment | None) -> Comment:
    text, height = _comment_text(findings, previous)
    return Comment(text, FEEDBACK_AUTHOR, height=height, width=COMMENT_WIDTH)


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
    full = span_width(widths, 1, ncols)

    hint = FEEDBACK_HINT + (FEEDBACK_HINT_CELLS if links is not None else FEEDBACK_HINT_NO_WORKBOOK)
    for row, text, font, alignment in ((1, title, TITLE_FONT, CENTRE), (2, hint, BODY_FONT, LEFT)):
        cell = ws.cell(row=row, column=1)
        write_text(cell, text)
        style_cell(cell, font=font, alignment=alignment)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        scale = font.size / 11
        ws.row_dimensions[row].height = round(
            max(MIN_TABLE_ROW, line_count(clean_text(text), full / scale) * LINE_HEIGHT * scale + ROW_PADDING), 1
        )

    for i, (name, _) in enumerate(_FEEDBACK_COLUMNS):
        cell = ws.cell(row=_HEADER_ROW, column=i + 1)
        write_text(cell, name)
        style_cell(cell, font=HEADER_FONT, alignment=CENTRE, border=GRID, fill=HEADER_FILL)
    ws.row_dimensions[_HEADER_ROW].height = MIN_TABLE_ROW

    row = _HEADER_ROW
    for i, f in enumerate(findings):
        row += 1
        values, fill = _finding_row(i, f)
        for j, value in enumerate(values):
            cell = ws.cell(row=row, column=j + 1)
            if isinstance(value, int):
                cell.value = value
            else:
                write_text(cell, value)
            style_cell(cell, font=BODY_FONT, alignment=LEFT if j == ncols - 1 else CENTRE, border=GRID, fill=fill)
        if links and i in links:
            # the 单元格 column links to the cell; a finding about a whole sheet links from 工作表
            location, to_cell = links[i]
            cell = ws.cell(row=row, column=4 if to_cell else 3)
            tip = clean_text(f"转到 {f.where or f.sheet}")[:255]
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=location, tooltip=tip)
            cell.font = LINK_FONT
        need = max(line_count(clean_text(v), widths[j + 1]) for j, v in enumerate(values))
        ws.row_dimensions[row].height = round(max(MIN_TABLE_ROW, need * LINE_HEIGHT + ROW_PADDING), 1)
    if not findings:
        row += 1
        cell = ws.cell(row=row, column=1)
        write_text(cell, FEEDBACK_NONE)
        style_cell(cell, font=BODY_FONT, alignment=CENTRE)
        for c in range(1, ncols + 1):
            ws.cell(row=row, column=c).border = GRID
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = MIN_TABLE_ROW
    else:
        ws.auto_filter.ref = f"A{_HEADER_ROW}:{a1(row, ncols)}"
    ws.freeze_panes = a1(_HEADER_ROW + 1, 1)
    print_setup(ws, landscape=True, last_row=row, last_col=ncols)
    ws.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"


def _select_only(wb: Workbook, index: int) -> None:
    for i, sheet in enumerate(all_sheets(wb)):
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
    wb.properties.title = clean_text(title)[:255]
    wb.properties.creator = FEEDBACK_AUTHOR
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _save_bytes(data: bytes, target) -> None:
    if hasattr(target, "write"):
        target.write(data)
    else:
        Path(target).write_bytes(data)


# --------------------------------------------------------------------------
# The fast path: the agency's zip edited in place
# --------------------------------------------------------------------------


def _is_our_colour(fill: tuple[str | None, str | None]) -> bool:
    pattern, rgb = fill
    return pattern == "solid" and isinstance(rgb, str) and rgb[-6:].upper() in (ERROR_COLOUR, WARNING_COLOUR)


def _zip_clear_previous(pkg: Package) -> None:
    """What :func:`_clear_previous_feedback` does, on the zip."""
    if any(s.name == FEEDBACK_SHEET for s in pkg.sheets):
        pkg.remove_sheet(FEEDBACK_SHEET)
    for name in pkg.worksheet_notes_authored():
        ws = pkg.worksheet(name)
        notes = ws.notes()
        ours = [place for place, note in notes.items() if note.author == FEEDBACK_AUTHOR]
        if not ours:
            continue
        for row, col in ours:
            del notes[(row, col)]
            xf = ws.style(row, col)
            if _is_our_colour(pkg.styles.fill_of(xf)):
                ws.set_style(row, col, pkg.styles.with_fill(xf, _template_fill(name, row, col)))
        ws.set_notes(notes)


def _zip_annotate(pkg: Package, findings: Sequence[Finding]) -> dict[int, tuple[str, bool]]:
    """What :func:`_annotate` does, on the zip."""
    links: dict[int, tuple[str, bool]] = {}
    by_cell: dict[tuple[str, int, int], list[Finding]] = {}
    merges: dict[str, list] = {}
    for i, f in enumerate(findings):
        ws = pkg.worksheet(f.sheet) if f.sheet and f.sheet != FEEDBACK_SHEET else None
        if ws is None:
            continue
        if f.sheet not in merges:
            merges[f.sheet] = ws.merged()
        place = _target_place(f.cell, merges[f.sheet]) if f.cell else None
        if place is None:
            links[i] = (_location(f.sheet, "A1"), False)
            continue
        links[i] = (_location(f.sheet, a1(*place)), True)
        by_cell.setdefault((f.sheet, *place), []).append(f)
    for (sheet, row, col), found in by_cell.items():
        ws = pkg.worksheet(sheet)
        fill = ERROR_FILL if any(f.severity == ERROR for f in found) else WARNING_FILL
        ws.set_style(row, col, pkg.styles.with_fill(ws.style(row, col), fill))
        notes = ws.notes()
        text, height = _comment_text(found, notes.get((row, col)))
        notes[(row, col)] = Note(FEEDBACK_AUTHOR, text, height=height, width=COMMENT_WIDTH)
        ws.set_notes(notes)
    return links


def _text_cell(ref: str, xf_of, text: object, **style) -> str:
    value = clean_text(text)
    xf = xf_of(quote_prefix=value.startswith(FORMULA_PREFIXES), **style)
    body = escape(value).replace("\r", "&#13;")
    return f'<c r="{ref}" s="{xf}" t="inlineStr"><is><t xml:space="preserve">{body}</t></is></c>'


def _findings_sheet_xml(pkg: Package, findings: Sequence[Finding], title: str,
                        links: Mapping[int, tuple[str, bool]]) -> tuple[bytes, list[tuple[str, str, bool]]]:
    """The 问题清单 worksheet as :func:`_write_findings_sheet` draws it: its XML and its local defined names."""
    styles = pkg.styles
    ncols = len(_FEEDBACK_COLUMNS)
    widths = {i + 1: w for i, (_, w) in enumerate(_FEEDBACK_COLUMNS)}
    full = span_width(widths, 1, ncols)
    last = column_letter(ncols)
    rows: list[str] = []
    merges: list[str] = []
    hyperlinks: list[str] = []

    def row_xml(r: int, height: float, cells: list[str]) -> str:
        return f'<row r="{r}" ht="{height:g}" customHeight="1">' + "".join(cells) + "</row>"

    hint = FEEDBACK_HINT + FEEDBACK_HINT_CELLS
    for r, text, font, alignment in ((1, title, TITLE_FONT, CENTRE), (2, hint, BODY_FONT, LEFT)):
        scale = font.size / 11
        height = round(max(MIN_TABLE_ROW, line_count(clean_text(text), full / scale) * LINE_HEIGHT * scale
                           + ROW_PADDING), 1)
        rows.append(row_xml(r, height, [_text_cell(f"A{r}", styles.new_xf, text, font=font, alignment=alignment)]))
        merges.append(f"A{r}:{last}{r}")
    rows.append(row_xml(_HEADER_ROW, MIN_TABLE_ROW, [
        _text_cell(a1(_HEADER_ROW, i + 1), styles.new_xf, name, font=HEADER_FONT, alignment=CENTRE, border=GRID,
                   fill=HEADER_FILL)
        for i, (name, _) in enumerate(_FEEDBACK_COLUMNS)]))

    row = _HEADER_ROW
    for i, f in enumerate(findings):
        row += 1
        values, fill = _finding_row(i, f)
        link_col = None
        if i in links:
            location, to_cell = links[i]
            link_col = 4 if to_cell else 3
            tip = clean_text(f"转到 {f.where or f.sheet}")[:255]
            hyperlinks.append(f'<hyperlink ref="{a1(row, link_col)}" location={quoteattr(location)} '
                              f'tooltip={quoteattr(tip)}/>')
        cells = []
        for j, value in enumerate(values):
            style = {"font": LINK_FONT if j + 1 == link_col else BODY_FONT,
                     "alignment": LEFT if j == ncols - 1 else CENTRE, "border": GRID, "fill": fill}
            ref = a1(row, j + 1)
            if isinstance(value, int):
                cells.append(f'<c r="{ref}" s="{styles.new_xf(**style)}"><v>{value}</v></c>')
            elif value is None:
                cells.append(f'<c r="{ref}" s="{styles.new_xf(**style)}"/>')
            else:
                cells.append(_text_cell(ref, styles.new_xf, value, **style))
        need = max(line_count(clean_text(v), widths[j + 1]) for j, v in enumerate(values))
        rows.append(row_xml(row, round(max(MIN_TABLE_ROW, need * LINE_HEIGHT + ROW_PADDING), 1), cells))
    if not findings:
        row += 1
        cells = [_text_cell(f"A{row}", styles.new_xf, FEEDBACK_NONE, font=BODY_FONT, alignment=CENTRE, border=GRID)]
        cells += [f'<c r="{a1(row, c)}" s="{styles.new_xf(border=GRID)}"/>' for c in range(2, ncols + 1)]
        rows.append(row_xml(row, MIN_TABLE_ROW, cells))
        merges.append(f"A{row}:{last}{row}")

    quoted = "'" + FEEDBACK_SHEET.replace("'", "''") + "'"
    names: list[tuple[str, str, bool]] = []
    auto_filter = ""
    if findings:
        auto_filter = f'<autoFilter ref="A{_HEADER_ROW}:{last}{row}"/>'
        names.append(("_xlnm._FilterDatabase", f"{quoted}!$A${_HEADER_ROW}:${last}${row}", True))
    names.append(("_xlnm.Print_Titles", f"{quoted}!${_HEADER_ROW}:${_HEADER_ROW}", False))
    names.append(("_xlnm.Print_Area", f"{quoted}!$A$1:${last}${row}", False))
    cols = "".join(f'<col min="{c}" max="{c}" width="{w:g}" customWidth="1"/>' for c, w in widths.items())
    footer = escape("&C&A　第 &P 页，共 &N 页")
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheetPr><outlinePr summaryBelow="1" summaryRight="1"/><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}{row}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        f'<pane ySplit="{_HEADER_ROW}" topLeftCell="{a1(_HEADER_ROW + 1, 1)}" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A1" sqref="A1"/></sheetView></sheetViews>'
        '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
        f'<cols>{cols}</cols>'
        f'<sheetData>{"".join(rows)}</sheetData>'
        f'{auto_filter}'
        f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + '</mergeCells>'
        + (f'<hyperlinks>{"".join(hyperlinks)}</hyperlinks>' if hyperlinks else "")
        + '<printOptions horizontalCentered="1"/>'
        f'<pageMargins left="{PAGE_MARGIN_SIDE}" right="{PAGE_MARGIN_SIDE}" top="{PAGE_MARGIN_END}" '
        f'bottom="{PAGE_MARGIN_END}" header="{HEADER_FOOTER_MARGIN}" footer="{HEADER_FOOTER_MARGIN}"/>'
        f'<pageSetup paperSize="{PAPER_A4}" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        f'<headerFooter><oddFooter>{footer}</oddFooter></headerFooter>'
        '</worksheet>'
    )
    return xml.encode("utf-8"), names


def _zip_annotated(original: bytes, findings: Sequence[Finding], title: str) -> bytes:
    """The agency's workbook with the list sheet first and its cells annotated, by editing its zip."""
    pkg = Package(original)
    _zip_clear_previous(pkg)
    links = _zip_annotate(pkg, findings)
    xml, names = _findings_sheet_xml(pkg, findings, title, links)
    pkg.insert_first(FEEDBACK_SHEET, xml, names)
    return pkg.save()


def write_feedback(original: bytes | None, findings: Sequence[Finding], target, *, title: str) -> None:
    """Write the feedback workbook for one submitted file to ``target`` (a path or binary file object).

    With ``original`` (the bytes of the agency's .xlsx), the result is that
    workbook with a first sheet 问题清单 listing the findings (each linked to its
    cell) and every cell a finding points at filled red (error) or yellow
    (warning) with one comment giving the rule and the message.  The zip is edited
    in place where it can be (every other part keeps its bytes), else openpyxl
    loads and saves it.  Without it, or when neither can handle it, the result
    holds the list only.  The original bytes are only read; all text is written
    as text.
    """
    data = None
    if original is not None:
        try:
            data = _zip_annotated(original, findings, title)
        except Exception:  # noqa: BLE001 - Unsupported, or anything unforeseen: openpyxl's way
            data = None
        if data is None:
            try:
                data = _annotated(original, findings, title)
            except Exception:  # noqa: BLE001 - any workbook openpyxl cannot handle gets the list alone
                data = None
    if data is None:
        data = _list_only(findings, title)
    _save_bytes(data, target)


