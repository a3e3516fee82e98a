"""The county office's page for a report year: ``Y/index.html``, in Chinese.

Rendered from ``templates/office.html.j2`` with autoescaping: every value that
came from a submission is escaped by the template, so an agency called
``<script>…`` shows as text.  This module only gathers the data (counts, the
rules most often broken, links relative to the year's folder, the time of the
update); the template draws the page, its small charts (inline SVG) included.
The page works from disk with no network: no script, no outside address.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo
import os
from collections import Counter
from pathlib import Path

from nianbao.flows.outputs.annual_report import DOCX_NAME, HTML_NAME
from nianbao.flows.outputs.html import render
from nianbao.flows.outputs.rollup import ACCEPTED, MISSING, REJECTED, STATUS_LABELS, AgencyStatus, YearResult
from nianbao.flows.outputs.validation import REVIEW_NAME
from nianbao.flows.settings import Settings
from nianbao.flows.store.roster import EMPTY, Roster
from nianbao.schemas.catalogue import CATALOGUE, ERROR

TEMPLATE = "office.html.j2"
TOP_RULES = 6
"""Rules shown in the chart of the rules most often broken."""


def _href(target: Path, base: Path) -> str:
    """``target`` relative to the page's folder, with forward slashes."""
    return os.path.relpath(target, base).replace(os.sep, "/")


def _rows(statuses: list[AgencyStatus], feedback: dict[str, Path], base: Path, time_zone: str,
          pages: dict[str, Path]) -> list[dict]:
    rows = []
    for s in statuses:
        c = s.current
        fb = feedback.get(s.agency)
        page = pages.get(s.agency)
        rows.append({
            "status": s.status,
            "agency": s.agency,
            "uscc": s.uscc,
            "label": STATUS_LABELS[s.status],
            "file": c.file_name if c else "",
            "received": c.received_in(time_zone) if c else "",
            "errors": c.errors if c else "",
            "warnings": c.warnings if c else "",
            "feedback": _href(fb, base) if fb else "",
            "page": _href(page, base) if page else "",  # a member office's own page (a county's, for a city)
            "note": s.note(time_zone),
        })
    return rows


def rules_broken(statuses: list[AgencyStatus], top: int = TOP_RULES) -> list[dict]:
    """The rules most often broken by the current submissions of the roster's agencies: one entry per rule,
    counted once per agency, most frequent first (errors before warnings on a tie)."""
    counts: Counter[str] = Counter()
    for s in statuses:
        if s.on_roster and s.current is not None:
            counts.update({f.rule for f in s.current.findings})
    known = [(rule, n) for rule, n in counts.items() if rule in CATALOGUE]
    known.sort(key=lambda item: (-item[1], CATALOGUE[item[0]].severity != ERROR, item[0]))
    return [{"rule": rule if rule[:1] == "R" else "", "title": CATALOGUE[rule].title, "count": n,
             "severity": "error" if CATALOGUE[rule].severity == ERROR else "warning"} for rule, n in known[:top]]


def _existing(path: Path | None, base: Path) -> str:
    return _href(path, base) if path is not None and path.is_file() else ""


def index_html(result: YearResult, settings: Settings, feedback: dict[str, Path],
               updated: dt.datetime | None = None, roster: Roster = EMPTY) -> str:
    base = result.outdir
    pages = {e.name: page for e in roster.entries if (page := e.page(result.year)) is not None}
    listed = [s for s in result.statuses if s.on_roster]
    unlisted = [s for s in result.statuses if not s.on_roster]
    count = {k: sum(1 for s in listed if s.status == k) for k in (ACCEPTED, REJECTED, MISSING)}
    reports_dir = result.reports_index.parent if result.reports_index else None
    when = (updated or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(settings.time_zone))
    return render(
        TEMPLATE,
        county=settings.county,
        year=result.year,
        updated=when.strftime("%Y-%m-%d %H:%M"),
        updated_iso=when.isoformat(timespec="seconds"),
        counts=[(STATUS_LABELS[k], count[k]) for k in (ACCEPTED, REJECTED, MISSING)],
        chart={"accepted": count[ACCEPTED], "rejected": count[REJECTED], "missing": count[MISSING]},
        listed_total=len(listed),
        reported=count[ACCEPTED] + count[REJECTED],
        missing_names=[s.agency for s in listed if s.status == MISSING],
        rules=rules_broken(result.statuses),
        links={
            "rollup": _href(base / "rollup.xlsx", base),
            "status": _href(base / "status.csv", base),
            "findings": _href(base / "findings.csv", base),
            "agencies": _href(base / "agencies.csv", base),
            "reports": _href(result.reports_index, base) if result.reports_index else "",
            "review": _existing(reports_dir / REVIEW_NAME, base) if reports_dir else "",
            "annual_html": _existing(base / HTML_NAME, base),
            "annual_docx": _existing(base / DOCX_NAME, base),
        },
        rollup_findings=[{"where": f.where, "rule": f.rule, "message": f.message} for f in result.rollup_findings],
        expectation_failures=list(result.expectation_failures),
        listed=_rows(listed, feedback, base, settings.time_zone, pages),
        unlisted=_rows(unlisted, feedback, base, settings.time_zone, pages),
        roster=str(settings.roster),
    )
