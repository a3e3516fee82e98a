"""Intake: pick up the files in the inbound folder, check them, record them, archive them.

Each file is hashed; a hash already in the ledger is a duplicate and is not
counted again.  New files are read and checked in batches (one vectorised
check per batch), recorded in the ledger, and then moved byte for byte into
the archive.  Nothing is ever modified or deleted: a file leaves the inbound
folder only by a rename into the archive, after its ledger row is committed,
and a rerun completes a move that an earlier run did not finish.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.checks import check_reports
from schemas.findings import count, has_errors
from schemas.report import Report
from schemas.values import coerce_text, coerce_year

from .ledger import Ledger, Submission
from .reader import Limits, read_report
from .settings import Settings

CANDIDATE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods", ".csv")
"""What agencies drop: workbooks, and the formats a wrong "save as" produces (rejected with a reason)."""

DEFAULT_SETTLE_SECONDS = 5.0  # a file modified more recently may still be being written
DEFAULT_BATCH = 200


@dataclass
class Outcome:
    file_name: str
    sha256: str
    status: str  # accepted | rejected | duplicate | resumed
    agency: str = ""
    year: int | None = None
    errors: int = 0
    warnings: int = 0
    archived_path: str = ""


@dataclass
class IntakeResult:
    outcomes: list[Outcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # files left for the next pass

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def years(self) -> set[int]:
        return {o.year for o in self.outcomes if o.year is not None and o.status in ("accepted", "rejected")}


def now_iso(clock: Callable[[], dt.datetime] | None = None) -> str:
    return (clock() if clock else dt.datetime.now().astimezone()).isoformat(timespec="microseconds")


def pending_files(inbound: Path, settle_seconds: float = DEFAULT_SETTLE_SECONDS) -> tuple[list[Path], list[Path]]:
    """(ready, still being written) candidate files of the inbound folder, by name."""
    ready, waiting = [], []
    if not inbound.is_dir():
        return ready, waiting
    now = time.time()
    for path in sorted(inbound.iterdir()):
        name = path.name
        if name.startswith((".", "~$")) or path.suffix.lower() not in CANDIDATE_SUFFIXES:
            continue
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if not path.is_file() or path.is_symlink():
            continue
        (waiting if now - st.st_mtime < settle_seconds else ready).append(path)
    return ready, waiting


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SAFE = re.compile(r"[^\w\-（）\u4e00-\u9fff]+")
_SUFFIX = re.compile(r"^(.*)\.([A-Za-z0-9]{1,8})$", re.S)


def safe_name(name: str, limit: int = 80) -> str:
    """A file name fit for the archive: no separators, dots or shell characters in the stem, bounded length."""
    m = _SUFFIX.match(name)
    stem, suffix = (m.group(1), m.group(2)) if m else (name, "")
    stem = _SAFE.sub("_", stem).strip("_") or "file"
    return stem[:limit] + (f".{suffix}" if suffix else "")


def move_into(src: Path, dst: Path, *, exact: bool = True) -> Path:
    """Move ``src`` to ``dst`` byte for byte and never overwrite; returns the final path.

    With ``exact`` an existing ``dst`` is an error (the ledger names that path);
    without it a free name beside ``dst`` is taken.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    final, n = dst, 1
    while not exact and final.exists():
        final = dst.with_name(f"{dst.stem}-{n}{dst.suffix}")
        n += 1
    try:
        os.link(src, final)  # atomic, and fails rather than overwrite
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        if final.exists():
            raise FileExistsError(errno.EEXIST, "archive file exists", str(final)) from None
        tmp = final.with_name(final.name + ".part")
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    os.unlink(src)
    return final


_YEAR_IN_NAME = re.compile(r"(?<!\d)(20[2-9]\d)(?!\d)")


def guess_year(report: Report, file_name: str, default_year: int | None) -> int | None:
    if report.readable:
        year = coerce_year(report.fields.get("meta.year"))
        if year:
            return year
    m = _YEAR_IN_NAME.search(file_name)
    return int(m.group(1)) if m else default_year


def _likely_year(ledger: Ledger, reports: list[Report]) -> int:
    """The year a file that names none most likely belongs to: the one being collected now."""
    years = [y for r in reports if r.readable and (y := coerce_year(r.fields.get("meta.year")))]
    if years:
        return Counter(years).most_common(1)[0][0]
    known = ledger.years()
    return known[-1] if known else dt.date.today().year - 1


def archive_path(settings: Settings, year: int | None, status: str, received_at: str, sha: str, name: str) -> Path:
    stamp = received_at[:19].replace(":", "").replace("-", "")
    folder = settings.archive / (str(year) if year else "unknown") / status
    return folder / f"{stamp}-{sha[:8]}-{safe_name(name)}"


def submission_from(report: Report, findings, *, sha: str, file_name: str, received_at: str, archived: Path,
                    year: int | None) -> Submission:
    errors, warnings = count(findings)
    rejected = not report.readable or has_errors(findings)
    return Submission(
        id=0,
        sha256=sha,
        file_name=file_name,
        received_at=received_at,
        archived_path=str(archived),
        agency=coerce_text(report.fields.get("meta.agency")) if report.readable else "",
        uscc=coerce_text(report.fields.get("meta.uscc")).upper() if report.readable else "",
        year=year,
        outcome="rejected" if rejected else "accepted",
        errors=errors,
        warnings=warnings,
        findings=list(findings),
        numbers=report.numbers if report.readable else None,
        fields={k: coerce_text(v) for k, v in report.fields.items()} if report.readable else None,
    )


def intake(
    settings: Settings,
    *,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    default_year: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    clock: Callable[[], dt.datetime] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IntakeResult:
    """One pass over the inbound folder."""
    result = IntakeResult()
    ready, waiting = pending_files(settings.inbound, settle_seconds)
    result.waiting = [p.name for p in waiting]
    limits = Limits(max_file_bytes=settings.max_file_mb * 1024 * 1024)
    with Ledger(settings.ledger) as ledger:
        for start in range(0, len(ready), batch_size):
            _intake_batch(ledger, settings, ready[start:start + batch_size], limits, default_year, clock, result)
            if progress:
                progress(min(start + batch_size, len(ready)), len(ready))
    return result


def _intake_batch(ledger, settings, paths, limits, default_year, clock, result) -> None:
    fresh: list[tuple[Path, str, Report]] = []
    for path in paths:
        try:
            sha = sha256_of(path)
        except FileNotFoundError:  # taken by a concurrent run
            continue
        known = ledger.by_sha(sha)
        if known is not None:
            received = now_iso(clock)
            if Path(known.archived_path).exists():
                dst = settings.archive / "duplicates" / f"{received[:19].replace(':', '')}-{sha[:8]}-{safe_name(path.name)}"
                final = move_into(path, dst, exact=False)
                ledger.add_duplicate(sha, path.name, received, str(final))
                result.outcomes.append(Outcome(path.name, sha, "duplicate", known.agency, known.year,
                                               archived_path=str(final)))
            else:  # an earlier run recorded it but did not finish the move
                move_into(path, Path(known.archived_path))
                result.outcomes.append(Outcome(path.name, sha, "resumed", known.agency, known.year,
                                               archived_path=known.archived_path))
            continue
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            report = read_report(path, name=path.name, limits=limits)  # refused by size, unread
        else:
            report = read_report(io.BytesIO(path.read_bytes()), name=path.name, limits=limits)
        fresh.append((path, sha, report))
    if not fresh:
        return
    all_findings = check_reports([r for _, _, r in fresh])
    fallback = default_year or _likely_year(ledger, [r for _, _, r in fresh])
    for (path, sha, report), findings in zip(fresh, all_findings):
        received = now_iso(clock)
        year = guess_year(report, path.name, fallback)
        status = "rejected" if not report.readable or has_errors(findings) else "accepted"
        target = archive_path(settings, year, status, received, sha, path.name)
        sub = submission_from(report, findings, sha=sha, file_name=path.name, received_at=received,
                              archived=target, year=year)
        ledger.add(sub)  # committed before the move: a crash in between is completed by the next run
        move_into(path, target)
        result.outcomes.append(Outcome(path.name, sha, status, sub.agency, year, sub.errors, sub.warnings, str(target)))
