"""The county's roster of reporting agencies, and matching submissions to it.

A roster is a CSV (UTF-8, with or without BOM, or GB18030 as Excel saves it
in China) or an ``.xlsx`` with the columns ``单位名称`` and
``统一社会信用代码``.  A submission matches by USCC, else by normalised name.

An optional column ``曾用名`` lists an agency's former names (separated by
``、`` ``;`` or ``,``): an agency renamed, or several merged into one, keeps
its history.  :meth:`Roster.match` looks at current names only, as before;
:meth:`Roster.resolve` also follows former names to the current entry.

An optional column ``层级`` gives an agency's government level (省、市、县 or 乡;
县 when empty): the rules that depend on level follow it (a city may make 规章).

An optional column ``汇总目录`` gives, for a member that is itself an office
running nianbao (a county in a city's roster, a city in a province's), the
folder of its outputs (its ``outbound/``; relative to the roster's folder or
absolute): the office page links each member's own page for the year when it
is reachable there.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from nianbao.flows.errors import InputError

from nianbao.schemas.form import DEFAULT_LEVEL, LEVELS
from nianbao.schemas.uscc import problem as uscc_problem
from nianbao.schemas.report import Report
from nianbao.schemas.values import coerce_text, normalise_text

NAME_COLUMN = "单位名称"
USCC_COLUMN = "统一社会信用代码"
FORMER_COLUMN = "曾用名"
LEVEL_COLUMN = "层级"
OUTBOUND_COLUMN = "汇总目录"
FORMER_SEPARATORS = re.compile(r"[、;；,，\n]+")


class RosterError(InputError):
    """The roster file cannot be used; the message says why, in Chinese."""


@dataclass(frozen=True)
class Entry:
    name: str
    uscc: str = ""
    former: tuple[str, ...] = ()  # former names (曾用名): renamed, or merged into this agency
    level: str = DEFAULT_LEVEL  # 层级: 省/市/县/乡
    outbound: str = ""  # 汇总目录: a member office's outputs folder (resolved against the roster's folder)

    def page(self, year: int) -> Path | None:
        """The member office's own page for ``year``, when its folder is given and the page is there."""
        if not self.outbound:
            return None
        page = Path(self.outbound) / str(year) / "index.html"
        return page if page.is_file() else None


def name_key(name: str) -> str:
    """Names compare after NFKC, without white space and without the brackets' width."""
    return normalise_text(name).replace("（", "(").replace("）", ")")


_ADMIN_PREFIX = re.compile(r"^.{1,8}?(?:自治县|县|市|区|旗)")


def _name_forms(name: str) -> list[str]:
    """A name as a file name may carry it: in full, or without the county prefix (巫山县财政局 → 财政局)."""
    key = name_key(name)
    short = _ADMIN_PREFIX.sub("", key, count=1)
    return [key] + ([short] if short != key and len(short) >= 2 else [])


@dataclass
class Roster:
    entries: list[Entry]

    def __post_init__(self):
        self._by_uscc = {e.uscc.upper(): e for e in self.entries if e.uscc}
        self._by_name = {name_key(e.name): e for e in self.entries}
        self._by_former: dict[str, Entry] = {}
        for e in self.entries:
            for old in e.former:
                key = name_key(old)
                if key and key not in self._by_name:  # a current name always wins over a former one
                    self._by_former.setdefault(key, e)

    def match(self, name: str, uscc: str = "") -> Entry | None:
        if uscc and (entry := self._by_uscc.get(uscc.strip().upper())):
            return entry
        return self._by_name.get(name_key(name)) if name else None

    def resolve(self, name: str, uscc: str = "") -> Entry | None:
        """Like :meth:`match`, then by former name (曾用名): the entry an agency now belongs to."""
        entry = self.match(name, uscc)
        if entry is None and name:
            entry = self._by_former.get(name_key(name))
        return entry

    def level_of(self, name: str, uscc: str = "") -> str:
        """The government level of the agency (by :meth:`resolve`); :data:`DEFAULT_LEVEL` when not on the roster."""
        entry = self.resolve(name, uscc)
        return entry.level if entry is not None else DEFAULT_LEVEL

    def level_of_report(self, report: Report) -> str:
        """:meth:`level_of` the agency a report names on its cover."""
        if not report.readable:
            return DEFAULT_LEVEL
        return self.level_of(coerce_text(report.fields.get("meta.agency")), coerce_text(report.fields.get("meta.uscc")))

    def find_in(self, text: str) -> Entry | None:
        """The one roster agency named in ``text`` (a file name), in full or without its county prefix."""
        key = name_key(text)
        best: list[tuple[int, Entry]] = []
        for entry in self.entries:
            for form in _name_forms(entry.name):
                if form in key:
                    best.append((len(form), entry))
                    break
        if not best:
            return None
        best.sort(key=lambda x: -x[0])
        if len(best) > 1 and best[0][0] == best[1][0]:
            return None  # ambiguous
        return best[0][1]

EMPTY = Roster([])


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterError("名单文件的编码无法识别（请另存为 UTF-8 的 CSV）")


def parse_rows(rows: list[list[object]], source: str, base: Path | None = None) -> Roster:
    """The roster in ``rows`` (a header row first); ``base``: the folder relative 汇总目录 start from."""
    if not rows:
        raise RosterError(f"名单文件 {source} 是空的")
    header = [normalise_text(h or "") for h in rows[0]]
    if NAME_COLUMN not in header:
        raise RosterError(f"名单文件 {source} 缺少“{NAME_COLUMN}”列（第一行应为列名：{NAME_COLUMN},{USCC_COLUMN}）")
    ni = header.index(NAME_COLUMN)
    ui = header.index(USCC_COLUMN) if USCC_COLUMN in header else None
    fi = header.index(FORMER_COLUMN) if FORMER_COLUMN in header else None
    li = header.index(LEVEL_COLUMN) if LEVEL_COLUMN in header else None
    oi = header.index(OUTBOUND_COLUMN) if OUTBOUND_COLUMN in header else None
    entries, names, codes = [], {}, {}
    for number, row in enumerate(rows[1:], start=2):
        name = str(row[ni]).strip() if ni < len(row) and row[ni] is not None else ""
        if not name:
            continue
        where = f"名单文件 {source} 第 {number} 行（{name}）"
        if name_key(name) in names:
            raise RosterError(f"{where}与第 {names[name_key(name)]} 行的单位名称重复")
        names[name_key(name)] = number
        uscc = coerce_text(row[ui]).upper() if ui is not None and ui < len(row) and row[ui] is not None else ""
        if uscc:
            if why := uscc_problem(uscc):
                hint = "（像是被 Excel 改成了科学计数法，请把该列设为“文本”后重新输入）" if "E+" in uscc else ""
                raise RosterError(f"{where}的统一社会信用代码“{uscc}”有误：{why}{hint}")
            if uscc in codes:
                raise RosterError(f"{where}的统一社会信用代码与第 {codes[uscc]} 行重复：{uscc}")
            codes[uscc] = number
        former = split_former(row[fi]) if fi is not None and fi < len(row) and row[fi] is not None else ()
        level = normalise_text(row[li] or "") if li is not None and li < len(row) else ""
        level = level.removesuffix("级") or DEFAULT_LEVEL
        if level not in LEVELS:
            raise RosterError(f"名单文件 {source} 第 {number} 行（{name}）的“{LEVEL_COLUMN}”为“{level}”，"
                              f"应为{'、'.join(LEVELS)}之一（不填即为{DEFAULT_LEVEL}）")
        folder = str(row[oi] or "").strip() if oi is not None and oi < len(row) else ""
        if folder and base is not None and not Path(folder).is_absolute():
            folder = str(base / folder)
        entries.append(Entry(name, uscc, former, level, folder))
    return Roster(entries)


def split_former(cell: object) -> tuple[str, ...]:
    """``"巫山县工业园区管理委员会、巫山县经济开发区管委会"`` → both names."""
    return tuple(p.strip() for p in FORMER_SEPARATORS.split(str(cell)) if p.strip())


def load_roster(path: Path | None) -> Roster:
    """The roster at ``path``; an empty roster when there is none."""
    if path is None or not Path(path).exists():
        return EMPTY
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from nianbao.flows.excel.tables import read_rows

        try:
            rows = read_rows(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable roster is one message
            raise RosterError(f"名单文件 {path} 无法读取：{type(exc).__name__}") from None
    else:
        rows = list(csv.reader(io.StringIO(_decode(path.read_bytes()))))
    return parse_rows(rows, str(path), path.resolve().parent)


def write_roster_csv(entries: list[Entry]) -> bytes:
    """A roster as CSV bytes (UTF-8 with BOM, so that Excel opens it); 曾用名, 层级 and 汇总目录 only when used."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    former = any(e.former for e in entries)
    level = any(e.level != DEFAULT_LEVEL for e in entries)
    folder = any(e.outbound for e in entries)
    writer.writerow([NAME_COLUMN, USCC_COLUMN] + [FORMER_COLUMN] * former + [LEVEL_COLUMN] * level
                    + [OUTBOUND_COLUMN] * folder)
    writer.writerows([e.name, e.uscc] + ["、".join(e.former)] * former + [e.level] * level + [e.outbound] * folder
                     for e in entries)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")