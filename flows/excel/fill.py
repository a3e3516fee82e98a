"""Fill a workbook by name: each value goes into the cell its code names."""

from __future__ import annotations

from collections.abc import Mapping

from openpyxl import Workbook, load_workbook

from .styles import write_text





def set_value(wb: Workbook, code: str, value: object) -> None:
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
        write_text(cell, value)  # text, never a formula: values are data, not code
    else:
        cell.value = value



def fill_workbook(source, target, values: Mapping[str, object]) -> None:
    """Open ``source``, write each value into the cell named by its code, save to ``target``.

    ``source`` and ``target`` are paths or binary file objects.  An unknown
    code raises :class:`KeyError`.
    """
    wb = load_workbook(source, keep_vba=False)
    for code, value in values.items():
        set_value(wb, code, value)
    wb.save(target)


