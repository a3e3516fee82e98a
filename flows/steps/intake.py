"""Intake: pick up the files in the inbound folder, check them, record them, archive them.

Each file is read once and hashed; a hash already in the ledger is a duplicate
and is not counted again.  New files are read and checked in batches (one
vectorised check per batch), recorded in the ledger (one transaction per
batch), and then moved byte for byte into the archive.  Nothing is ever
modified or deleted: a file leaves the inbound folder only by a rename into
the archive, after its ledger row is committed, and a rerun completes a move
that an earlier run did not finish.  With several batches, a reader process
reads and parses the next batches while this one checks, records and moves.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import os
import re
import shutil
import stat
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.schemas.checks import check_reports
from nianbao.schemas.crossyear import cross_year_findings
from nianbao.schemas.findings import count, make, is_rejected
from nianbao.schemas.report import Report
from nianbao.schemas.values import coerce_text, coerce_year

from nianbao.flows.steps.documents import document_report, is_document
from nianbao.flows.steps.history import History
from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.store.locking import run_lock
from nianbao.flows.steps.parallel import Ahead, processes
from nianbao.flows.excel.reader import Limits, read_report
from nianbao.flows.store.roster import EMPTY, load_roster
from nianbao.flows.settings import Settings

NOT_SUBMISSIONS = ("~$", ".~lock.", "._")  # Excel/WPS and LibreOffice lock files, macOS resource forks
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
    """Now, in UTC (times are stored in UTC and shown in the office's time zone: :meth:`Submission.received_in`)."""
    now = clock() if clock else dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def bring_up(inbound: Path, settle_seconds: float = DEFAULT_SETTLE_SECONDS) -> list[Path]:
    """Files in subfolders of the inbound folder, moved up beside the others (``审计局/年报.xlsx`` becomes
    ``审计局-年报.xlsx``: the folder's name may name the agency), so that every file is accounted for.

    The bytes are not touched; a file still being written waits, in place, for the next pass.
    """
    moved = []
    if not inbound.is_dir():
        return moved
    now = time.time()
    for folder, dirs, files in os.walk(inbound):
        here = Path(folder)
        if here == inbound:
            continue
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if _state(path, now, settle_seconds) != "ready":
                continue
            stem = "-".join(path.relative_to(inbound).parts)
            target, n = inbound / stem, 1
            while os.path.lexists(target):
                n += 1
                target = inbound / f"{Path(stem).stem}-{n}{Path(stem).suffix}"
            os.rename(path, target)
            moved.append(target)
    return moved


def pending_files(inbound: Path, settle_seconds: float = DEFAULT_SETTLE_SECONDS) -> tuple[list[Path], list[Path]]:
    """(ready, still being written) files of the inbound folder, by name: every file, whatever its kind
    (what is not a report is rejected with the reason, never left unexplained), but lock files.

    A symbolic link is "ready" at once: it is never read, only rejected and archived.
    """
    ready, waiting = [], []
    if not inbound.is_dir():
        return ready, waiting
    now = time.time()
    for path in sorted(inbound.iterdir()):
        state = _state(path, now, settle_seconds)
        if state is not None:
            (ready if state == "ready" else waiting).append(path)
    return ready, waiting


def _state(path: Path, now: float, settle_seconds: float) -> str | None:
    """"ready", "waiting" (modified too recently: may still be being written), or None: a lock file, a folder,
    or gone.  A symbolic link is ready at once (never followed)."""
    if path.name.startswith(NOT_SUBMISSIONS):
        return None
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "ready"
    if not stat.S_ISREG(st.st_mode):
        return None
    return "waiting" if now - st.st_mtime < settle_seconds else "ready"


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

    On one file system this is a hard link then an unlink of ``src``: atomic, and a symbolic
    link moves as the link itself.  Across file systems (``EXDEV``: inbound a network share,
    say) it is a copy to ``<dst>.part``, an fsync of it, a rename to ``dst`` and an fsync of
    the archive's folder, and only then an unlink of ``src``: whenever the process dies,
    ``src`` is still there until ``dst`` is complete and on disk, and the next run completes
    the move (:func:`finish_moves`), over a ``.part`` an interrupted copy left behind.
    """
    from nianbao.flows.store.files import fsync_folder

    dst.parent.mkdir(parents=True, exist_ok=True)
    final, n = dst, 1
    while not exact and final.exists():
        final = dst.with_name(f"{dst.stem}-{n}{dst.suffix}")
        n += 1
    try:
        os.link(src, final, follow_symlinks=False)  # atomic, fails rather than overwrite; a link moves as a link
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "archive file exists", str(final)) from None
        tmp = final.with_name(final.name + ".part")
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)  # an interrupted copy's; never written through (it may be a link)
            shutil.copyfile(src, tmp, follow_symlinks=False)  # a symbolic link is copied as a link, never followed
            if not os.path.islink(tmp):
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            try:
                shutil.copystat(src, tmp, follow_symlinks=False)  # the agency's time stamp, as a link keeps it
            except OSError:
                pass  # a file system that keeps no such thing
            os.replace(tmp, final)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
        fsync_folder(final.parent)  # the new name on disk before the original goes
    os.unlink(src)
    return final


_YEAR_IN_NAME = re.compile(r"(?<!\d)(20[2-9]\d)(?!\d)")


def guess_year(report: Report, file_name: str, default_year: int | None) -> int | None:
    year = coerce_year(report.fields.get("meta.year"))  # a document refused may still name its year in its title
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
    folder = settings.archive / (str(year) if year else "unknown") / status
    return folder / f"{_stamp(received_at)}-{sha[:8]}-{safe_name(name)}"


def submission_from(report: Report, findings, *, sha: str, file_name: str, received_at: str, archived: Path,
                    year: int | None) -> Submission:
    errors, warnings = count(findings)
    rejected = is_rejected(report.readable, findings)
    return Submission(
        id=0,
        sha256=sha,
        file_name=file_name,
        received_at=received_at,
        archived_path=str(archived),
        agency=coerce_text(report.fields.get("meta.agency")),  # a refused document's title may name it
        uscc=coerce_text(report.fields.get("meta.uscc")).upper() if report.readable else "",
        year=year,
        outcome="rejected" if rejected else "accepted",
        errors=errors,
        warnings=warnings,
        findings=list(findings),
        numbers=report.numbers if report.readable else None,
        fields={k: coerce_text(v) for k, v in report.fields.items()} if report.readable else None,
    )


AHEAD_FROM = 2
"""From this many batches on, a worker process reads and parses the files of the next batches
while this one checks, records and moves the current one (see :class:`flows.steps.parallel.Ahead`)."""


def intake(
    settings: Settings,
    *,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    default_year: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    clock: Callable[[], dt.datetime] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IntakeResult:
    """One pass over the inbound folder, under the state folder's lock."""
    result = IntakeResult()
    limits = Limits(max_file_bytes=settings.max_file_mb * 1024 * 1024)
    with run_lock(settings.state), Ledger(settings.ledger) as ledger:
        history = History(ledger, load_roster(settings.roster))
        result.outcomes += finish_moves(ledger, settings.inbound)
        bring_up(settings.inbound, settle_seconds)
        ready, waiting = pending_files(settings.inbound, settle_seconds)
        result.waiting = [p.name for p in waiting]
        batches = [ready[start:start + batch_size] for start in range(0, len(ready), batch_size)]
        ahead = _reader_ahead(batches, limits)
        try:
            done = 0
            for batch in batches:
                read = next(ahead) if ahead is not None else None  # read here when the reading process is gone
                _intake_batch(ledger, settings, batch, limits, default_year, clock, result, read, history)
                done += len(batch)
                if progress:
                    progress(done, len(ready))
        finally:
            if ahead is not None:
                ahead.close()
    return result


def _reader_ahead(batches: list[list[Path]], limits: Limits) -> Ahead | None:
    if len(batches) < AHEAD_FROM or processes() < 2:
        return None
    try:
        return Ahead(read_files, [([str(p) for p in batch], limits) for batch in batches])
    except OSError:
        return None


def read_files(job: tuple[list[str], Limits]) -> list[tuple[str | None, Report | None]]:
    """(fingerprint, report) of each file of a batch, (None, None) for a file gone; what a reader process does."""
    paths, limits = job
    out = []
    for name in paths:
        try:
            out.append(_read_one(Path(name), limits))
        except FileNotFoundError:
            out.append((None, None))
    return out


def _read_one(path: Path, limits: Limits, *, taken: tuple[str, bytes | None] | None = None) -> tuple[str, Report]:
    sha, data = taken or _take(path, limits)
    if path.is_symlink():
        report = Report(numbers={}, fields={}, file=path.name, readable=False,
                        findings=[make("file.symlink", file=path.name)])
    elif data is None:
        report = read_report(path, name=path.name, limits=limits)  # refused by size, unread
    elif is_document(path.name, data):
        report = document_report(data, path.name)  # a Word, PDF or HTML report: read through the importer
    else:
        report = read_report(io.BytesIO(data), name=path.name, limits=limits)
    return sha, report


def finish_moves(ledger: Ledger, inbound: Path) -> list[Outcome]:
    """Complete the moves an interrupted run recorded but did not finish."""
    done = []
    finished: dict[str, list[int]] = {"submissions": [], "duplicates": []}
    for table, row_id, sha, file_name, archived in ledger.moving():
        src, dst = inbound / file_name, Path(archived)
        if os.path.lexists(src) and _same_content(src, sha):
            if os.path.lexists(dst):
                os.unlink(src)  # the archive already holds these bytes
            else:
                move_into(src, dst)
            done.append(Outcome(file_name, sha, "resumed", archived_path=archived))
        finished[table].append(row_id)
    for table, row_ids in finished.items():
        ledger.mark_archived_many(table, row_ids)
    return done


def _same_content(path: Path, sha: str) -> bool:
    return _fingerprint(path) == sha


def _fingerprint(path: Path) -> str:
    """The sha256 of a file's bytes; of a symbolic link, of the link itself (never followed)."""
    if path.is_symlink():
        return hashlib.sha256(b"symlink:" + os.fsencode(os.readlink(path))).hexdigest()
    return sha256_of(path)


def _take(path: Path, limits: Limits) -> tuple[str, bytes | None]:
    """(fingerprint, bytes) of a candidate, reading it once; no bytes for a link or an oversize file."""
    st = path.lstat()
    if stat.S_ISREG(st.st_mode) and st.st_size <= limits.max_file_bytes:
        data = path.read_bytes()
        return hashlib.sha256(data).hexdigest(), data
    return _fingerprint(path), None


def _archive_duplicates(ledger, settings, items: list[tuple[Path, str, tuple[str, int | None]]], clock,
                        result) -> None:
    """The same bytes again: kept in the archive, recorded as receipts, not counted."""
    if not items:
        return
    rows = []
    for path, sha, known in items:
        received = now_iso(clock)
        dst = settings.archive / "duplicates" / f"{_stamp(received)}-{sha[:8]}-{safe_name(path.name)}"
        rows.append((path, sha, known, received, dst))
    with ledger.transaction():  # recorded before any of the files moves; finish_moves completes a crash in between
        ids = [ledger.add_duplicate(sha, path.name, received, str(dst)) for path, sha, _, received, dst in rows]
    for path, sha, (agency, year), _, dst in rows:
        move_into(path, dst)
        result.outcomes.append(Outcome(path.name, sha, "duplicate", agency, year, archived_path=str(dst)))
    ledger.mark_archived_many("duplicates", ids)


def _intake_batch(ledger, settings, paths, limits, default_year, clock, result, read=None, history=None) -> None:
    """Read and check a batch of files, record them all in one transaction, then move them into the archive.

    ``read``: the batch's (fingerprint, report) pairs, already read by a reader process.
    ``history``: last year's reports, for the cross-year warnings.
    """
    fresh: list[tuple[Path, str, Report]] = []
    duplicates: list[tuple[Path, str, tuple[str, int | None]]] = []
    twins: list[tuple[Path, str]] = []  # same bytes as another file of this batch
    seen: set[str] = set()
    for i, path in enumerate(paths):
        report = None
        try:
            if read is not None:
                sha, report = read[i]
                if sha is None:
                    continue
            else:
                taken = _take(path, limits)
                sha = taken[0]
        except FileNotFoundError:
            continue
        known = ledger.known(sha)
        if known is not None:
            duplicates.append((path, sha, known))
            continue
        if sha in seen:
            twins.append((path, sha))
            continue
        seen.add(sha)
        if report is None:
            _, report = _read_one(path, limits, taken=taken)
            taken = None
        fresh.append((path, sha, report))
    _archive_duplicates(ledger, settings, duplicates, clock, result)
    roster = history.roster if history is not None else EMPTY
    all_findings = check_reports([r for _, _, r in fresh], levels=[roster.level_of_report(r) for _, _, r in fresh])
    if history is not None:
        for (_, _, report), findings in zip(fresh, all_findings):
            findings.extend(cross_year_findings(report, history.previous(report)))
    if settings.year is not None:  # filed for its own year, and said so: a copy of last year's file, often
        for (_, _, report), findings in zip(fresh, all_findings):
            own = coerce_year(report.fields.get("meta.year")) if report.readable else None
            if own is not None and own != settings.year:
                findings.append(report.finding("meta.other_year", "meta.year", year=own, collecting=settings.year))
    fallback = default_year or _likely_year(ledger, [r for _, _, r in fresh])
    moves = []
    for (path, sha, report), findings in zip(fresh, all_findings):
        received = now_iso(clock)
        year = guess_year(report, path.name, fallback)
        status = "rejected" if is_rejected(report.readable, findings) else "accepted"
        target = archive_path(settings, year, status, received, sha, path.name)
        sub = submission_from(report, findings, sha=sha, file_name=path.name, received_at=received,
                              archived=target, year=year)
        moves.append((path, target, sub, status))
    with ledger.transaction():  # recorded before any file moves; finish_moves completes a crash in between
        ids = [ledger.add(sub) for _, _, sub, _ in moves]
    for path, target, sub, status in moves:
        move_into(path, target)
        result.outcomes.append(Outcome(path.name, sub.sha256, status, sub.agency, sub.year, sub.errors, sub.warnings,
                                       str(target)))
    ledger.mark_archived_many("submissions", ids)
    known_now = {sub.sha256: (sub.agency, sub.year) for _, _, sub, _ in moves}
    _archive_duplicates(ledger, settings, [(path, sha, known_now[sha]) for path, sha in twins], clock, result)


def _stamp(received_at: str) -> str:
    return received_at[:26].replace(":", "").replace("-", "").replace(".", "")
