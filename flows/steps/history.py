"""Last year's report of each agency, from the ledger: what the cross-year checks compare with.

For a report of year Y, "last year's report" is the *current accepted*
submission of year Y−1 of the same agency: its latest accepted one, as the
rollup counts it.  The same agency is found, in this order:

1. through the roster: both reports belong to the same roster entry, by USCC,
   current name or former name (the roster's ``曾用名`` column), so that a
   renamed agency keeps its history and a merged one inherits its parts';
2. otherwise by USCC;
3. otherwise by normalised name.

When several agencies of last year now belong to one entry (a merger), their
accepted reports are summed, as the rollup would: the requests one of them
carried over are now the merged agency's to carry in.  If one of them has no
accepted report, the sum would be incomplete and there is no comparison.

An intake keeps one :class:`History` for the whole pass and passes each pair to
:func:`nianbao.schemas.crossyear.cross_year_findings`.
"""

from __future__ import annotations


from nianbao.schemas.form import FORM
from nianbao.schemas.report import Report
from nianbao.schemas.values import coerce_text, coerce_year

from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.store.roster import EMPTY, Roster, name_key


def _identity(agency: str, uscc: str, roster: Roster) -> tuple[str, str]:
    """A key under which two reports are the same agency."""
    entry = roster.resolve(agency, uscc)
    if entry is not None:
        return ("roster", name_key(entry.name))
    if uscc:
        return ("uscc", uscc.strip().upper())
    return ("name", name_key(agency))


def _current_accepted(subs: list[Submission]) -> Submission | None:
    accepted = [s for s in subs if s.accepted and s.numbers is not None]
    return max(accepted, key=lambda s: s.id) if accepted else None  # the ledger's sequence: the latest received


def _as_report(subs: list[Submission], year: int) -> Report:
    """One submission as a report; several (a merger) summed cell by cell."""
    if len(subs) == 1:
        sub = subs[0]
        fields = dict(sub.fields or {})
        fields.setdefault("meta.year", year)
        fields.setdefault("meta.agency", sub.agency)
        return Report.from_numbers({c: float(sub.numbers.get(c) or 0) for c in FORM.numeric_codes},
                                   fields, file=sub.file_name)
    numbers = {c: float(sum(float(s.numbers.get(c) or 0) for s in subs)) for c in FORM.numeric_codes}
    fields = {"meta.year": year, "meta.agency": "、".join(s.agency for s in subs)}
    return Report.from_numbers(numbers, fields, file="、".join(s.file_name for s in subs))


def _agencies(subs: list[Submission]) -> list[list[Submission]]:
    """Submissions grouped by agency: the same USCC or the same name is the same agency."""
    groups: list[tuple[set[str], set[str], list[Submission]]] = []
    for sub in subs:
        uscc, name = sub.uscc.strip().upper(), name_key(sub.agency)
        group = next((g for g in groups if (uscc and uscc in g[0]) or (name and name in g[1])), None)
        if group is None:
            group = (set(), set(), [])
            groups.append(group)
        if uscc:
            group[0].add(uscc)
        if name:
            group[1].add(name)
        group[2].append(sub)
    return [g[2] for g in groups]


class History:
    """Last year's reports by agency, indexed once per year (an intake asks for thousands)."""

    def __init__(self, ledger: Ledger, roster: Roster | None = None):
        self.ledger = ledger
        self.roster = roster or EMPTY
        self._years: dict[int, tuple[dict, dict, dict]] = {}

    def _index(self, year: int) -> tuple[dict, dict, dict]:
        if year not in self._years:
            by_identity: dict[tuple[str, str], list[Submission]] = {}
            by_uscc: dict[str, list[Submission]] = {}
            by_name: dict[str, list[Submission]] = {}
            for sub in self.ledger.submissions(year):
                by_identity.setdefault(_identity(sub.agency, sub.uscc, self.roster), []).append(sub)
                if sub.uscc:
                    by_uscc.setdefault(sub.uscc.strip().upper(), []).append(sub)
                if sub.agency:
                    by_name.setdefault(name_key(sub.agency), []).append(sub)
            self._years[year] = (by_identity, by_uscc, by_name)
        return self._years[year]

    def previous(self, report: Report) -> Report | None:
        """Last year's current accepted report of the same agency, or None."""
        year = coerce_year(report.fields.get("meta.year")) if report.readable else None
        agency = coerce_text(report.fields.get("meta.agency"))
        uscc = coerce_text(report.fields.get("meta.uscc"))
        if year is None or not (agency or uscc):
            return None
        by_identity, by_uscc, by_name = self._index(year - 1)
        key = _identity(agency, uscc, self.roster)
        if key[0] == "roster":
            same = by_identity.get(key, [])
        else:
            found = {s.id: s for s in by_uscc.get(uscc.strip().upper(), []) if uscc}
            found.update({s.id: s for s in by_name.get(name_key(agency), []) if agency})
            same = sorted(found.values(), key=lambda s: s.id)
        # one group per agency of last year (several when agencies merged into this one)
        current = [_current_accepted(g) for g in _agencies(same)]
        if not current or any(c is None for c in current):
            return None
        return _as_report(current, year - 1)
