"""Turning what an agency typed into numbers, or saying why it cannot be done.

Pure functions over raw cell values as a reader yields them: ``None``,
``str``, ``int``/``float``, ``bool``, ``datetime``/``date``, or a
:class:`CellError` for a spreadsheet error value such as ``#REF!``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make spreadsheet software treat typed text as a formula
(what every writer of a workbook or CSV cell escapes)."""


@dataclass(frozen=True)
class CellError:
    """A spreadsheet error value (``#REF!``, ``#DIV/0!``, ``#VALUE!`` …)."""

    text: str


@dataclass(frozen=True)
class ExternalRef:
    """A formula that takes its value from another workbook (``[1]Sheet1!A1``)."""

    formula: str


@dataclass(frozen=True)
class Coerced:
    value: float | None  # the number read, or None when there is none
    rule: str | None = None  # catalogue id of the problem, if any
    params: dict | None = None  # parameters of its message


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_WITH_UNIT = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(万元|元|件|个|条|次|项|份|宗|起|人次|人)")
_PLACEHOLDERS = {"/", "-", "—", "－", "--", "——", "无", "没有", "不适用", "空", "暂无", "null", "none", "n/a", "na"}


def _has_fullwidth(text: str) -> bool:
    return any("\uff10" <= ch <= "\uff19" or ch in "．－＋" for ch in text)


def normalise_text(value: object) -> str:
    """NFKC and no white space: how labels and free text are compared."""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(text.split())


def shown(value: object) -> str:
    """How a raw value is quoted back to the agency."""
    if isinstance(value, bool):
        return f"逻辑值 {'TRUE' if value else 'FALSE'}"
    if isinstance(value, (dt.datetime, dt.date)):
        return f"日期 {value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if len(text) > 40:
        text = text[:40] + "…"
    return f"“{text}”"


def coerce_number(raw: object, unit: str = "件") -> Coerced:
    """Read a numeric cell.  Integer-ness and ranges are left to the schemas."""
    if raw is None:
        return Coerced(None, "cell.empty", {})
    if isinstance(raw, CellError):
        return Coerced(None, "cell.formula_error", {"value": raw.text})
    if isinstance(raw, ExternalRef):
        return Coerced(None, "cell.external", {"formula": "=" + raw.formula[:60]})
    if isinstance(raw, bool) or isinstance(raw, (dt.date, dt.datetime, dt.time)):
        return Coerced(None, "cell.not_number", {"shown": shown(raw)})
    if isinstance(raw, (int, float)):
        value = float(raw)
        if not math.isfinite(value):
            return Coerced(None, "cell.not_number", {"shown": shown(raw)})
        return Coerced(value)
    text = str(raw).strip()
    if not text:
        return Coerced(None, "cell.empty", {})
    norm = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")
    if _NUMBER.fullmatch(norm):
        value = float(norm)
        if _has_fullwidth(text):
            return Coerced(value, "cell.fullwidth", {"value": text, "number": _fmt(value)})
        return Coerced(value)
    m = _WITH_UNIT.fullmatch(norm)
    if m:
        number, found = float(m.group(1)), m.group(2)
        if unit == "万元" and found == "元":
            suggestion = f" {_fmt(number / 10000)}（{_fmt(number)} 元＝{_fmt(number / 10000)} 万元）"
        else:
            suggestion = f" {_fmt(number)}"
        return Coerced(None, "cell.unit", {"value": text, "suggestion": suggestion})
    return Coerced(None, "cell.not_number", {"shown": shown(text)})


DECIMALS = 6
"""万元 amounts keep up to this many decimals, as entered (the form's :data:`~nianbao.schemas.form.TOLERANCE`)."""


def _fmt(value: float) -> str:
    """The one way a number is shown: counts as whole numbers, amounts with the decimals entered (up to
    :data:`DECIMALS`, trailing zeros dropped), never in exponent form: 12345.67, 1234567.89, 11398889."""
    v = round(float(value), DECIMALS) + 0.0  # + 0.0: no "-0"
    if v.is_integer():
        return str(int(v))
    return f"{v:.{DECIMALS}f}".rstrip("0").rstrip(".")


def format_number(value: float | None) -> str:
    """:func:`_fmt`, and "" for a missing value: used by messages, pages, CSV files and the docx alike."""
    return "" if value is None else _fmt(value)


_END_PUNCTUATION = "。.，,；;！!、"


def is_placeholder(text: object) -> bool:
    """Text that means "nothing" (``/``, ``无``, ``无。`` …)."""
    norm = normalise_text(text).lower()
    return norm in _PLACEHOLDERS or norm.strip(_END_PUNCTUATION) in _PLACEHOLDERS


def coerce_text(raw: object) -> str:
    """A text field: numbers written back without a spurious ``.0``."""
    if raw is None or isinstance(raw, (CellError, ExternalRef)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def coerce_year(raw: object) -> int | None:
    """``2024``, ``"2024"``, ``"2024年"``, ``"２０２４年度"`` → 2024; else None."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, (CellError, ExternalRef)):
        return None
    if isinstance(raw, (int, float)):
        return int(raw) if float(raw).is_integer() else None
    text = normalise_text(raw)
    m = re.fullmatch(r"(\d{4})(?:年度?|年)?", text)
    return int(m.group(1)) if m else None
