"""The county office's page for a report year: ``Y/index.html``, in Chinese.

Rendered from ``templates/office.html.j2`` with autoescaping: every value that
came from a submission is escaped by the template, so an agency called
``<script>…`` shows as text.  This module only gathers the data and computes
the links, relative to the year's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from nianbao.flows.outputs.html import render
from nianbao.flows.outputs.rollup import ACCEPTED, MISSING, REJECTED, STATUS_LABELS, AgencyStatus, YearResult
from nianbao.flows.settings import Settings

TEMPLATE = "office.html.j2"


def _href(target: Path, base: Path) -> str:
    """``target`` relative to the page's folder, with forward slashes."""
    return os.path.relpath(target, base).replace(os.sep, "/")


def _rows(statuses: list[AgencyStatus], feedback: dict[str, Path], base: Path) -> list[dict]:
    rows = []
    for s in statuses:
        c = s.current
        fb = feedback.get(s.agency)
        rows.append({
            "status": s.status,
            "agency": s.agency,
            "uscc": s.uscc,
            "label": STATUS_LABELS[s.status],
            "file": c.file_name if c else "",
            "received": c.received_shown if c else "",
            "errors": c.errors if c else "",
            "warnings": c.warnings if c else "",
            "feedback": _href(fb, base) if fb else "",
        })
    return rows


def index_html(result: YearResult, settings: Settings, feedback: dict[str, Path]) -> str:
    base = result.outdir
    listed = [s for s in result.statuses if s.on_roster]
    unlisted = [s for s in result.statuses if not s.on_roster]
    return render(
        TEMPLATE,
        county=settings.county,
        year=result.year,
        counts=[(STATUS_LABELS[k], sum(1 for s in listed if s.status == k)) for k in (ACCEPTED, REJECTED, MISSING)],
        listed_total=len(listed),
        links={
            "rollup": _href(base / "rollup.xlsx", base),
            "status": _href(base / "status.csv", base),
            "findings": _href(base / "findings.csv", base),
            "agencies": _href(base / "agencies.csv", base),
            "reports": _href(result.reports_index, base) if result.reports_index else "",
        },
        report_pages=[{"name": name, "href": _href(page, base), "ok": ok} for name, page, ok in result.report_pages],
        rollup_findings=[{"where": f.where, "rule": f.rule, "message": f.message} for f in result.rollup_findings],
        expectation_failures=list(result.expectation_failures),
        listed=_rows(listed, feedback, base),
        unlisted=_rows(unlisted, feedback, base),
        roster=str(settings.roster),
    )
