"""The paths a province-sized intake takes: several batches with the reader process ahead, that process
killed mid-run, the whole intake killed inside and between batches, and moves across file systems.

Everything runs for real: the reader is a spawned process, the kill is SIGKILL, and the inbound folder
sits on another file system than the archive (/dev/shm, a tmpfs) when the machine has one, so that
``os.link`` fails with a real EXDEV; only where it has none is that error injected.  After each run:
every file recorded exactly once (by its sha256), every original in the archive byte for byte, the
inbound folder empty, no ``.part`` left, and the rollup equal to the plain sum of the accepted reports.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import linecache
import os
import random
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest

from conftest import sum_reports

import nianbao.flows.steps.intake as intake_module
import nianbao.flows.steps.parallel
import nianbao.flows.store.files
import nianbao.flows.store.ledger
import nianbao.flows.store.locking
from nianbao.flows.settings import Settings
from nianbao.flows.steps.intake import intake, move_into
from nianbao.flows.steps.parallel import Ahead
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

AGENCIES = [Entry(f"巫山县单位{i}", complete(f"11500237MC{i:07d}")) for i in range(1, 8)]
BATCH = 2


def filled(entry: Entry, seed: int, **overrides) -> tuple[bytes, dict]:
    numbers = valid_values(random.Random(seed))
    buf = io.BytesIO()
    write_template(buf, values={**numbers, "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": 2024,
                                "text.overview": "总体情况。", "text.problems": "问题。", **overrides})
    return buf.getvalue(), numbers


def _files() -> tuple[dict[str, bytes], list[dict]]:
    """Nine files, five batches of two (by name): [a b] [c c2-again] [d e] [f-bad g-broken] [zz-a-again]:
    a twin within a batch, a file of the first batch again in the last, a rejected report, not a workbook."""
    files, accepted = {}, []
    for i, name in enumerate("abcde"):
        files[f"{name}.xlsx"], numbers = filled(AGENCIES[i], 100 + i)
        accepted.append(numbers)
    files["c2-again.xlsx"] = files["c.xlsx"]
    files["f-bad.xlsx"], _ = filled(AGENCIES[5], 105, **{"appeals.review.total": 99})
    files["g-2024-broken.xlsx"] = b"not a workbook"
    files["zz-a-again.xlsx"] = files["a.xlsx"]
    return files, accepted


FILES, ACCEPTED = _files()
UNIQUE = {hashlib.sha256(d).hexdigest() for d in FILES.values()}
N_BATCHES = -(-len(FILES) // BATCH)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clock() -> dt.datetime:
    return dt.datetime(2024, 3, 1, 10, 15, tzinfo=dt.timezone.utc)


# -- the folders -------------------------------------------------------------------------------------------


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> tuple[Path, str]:
    """(a folder on another file system than tmp_path, "real"): /dev/shm where it is another device.
    Where there is none, (a folder under tmp_path, "injected"), and ``os.link`` fails with EXDEV."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and os.stat(shm).st_dev != os.stat(tmp_path).st_dev:
        folder = Path(tempfile.mkdtemp(prefix="nianbao-test-", dir=shm))
        try:
            yield folder, "real"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return

    def no_link(src, dst, *, follow_symlinks=True):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(dst))

    monkeypatch.setattr(os, "link", no_link)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    yield folder, "injected"


def county(root: Path, inbound: Path | None = None, files: dict[str, bytes] = FILES) -> Settings:
    """A county's folders under ``root`` (its inbound folder at ``inbound`` if given), made afresh, with
    ``files`` waiting."""
    inbound = inbound or root / "inbound"
    for folder in (root, inbound):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    s = Settings(inbound=inbound, outbound=root / "outbound", state=root / "var", roster=root / "roster.csv")
    s.roster.write_bytes(write_roster_csv(AGENCIES))
    for name, data in files.items():
        (inbound / name).write_bytes(data)
    return s


# -- what must hold after every run that finished --------------------------------------------------------


def assert_complete(s: Settings, files: dict[str, bytes] = FILES) -> None:
    """Every file recorded exactly once, every original in the archive byte for byte, nothing left."""
    assert sorted(p.name for p in s.inbound.iterdir()) == []
    archived = [p for p in s.archive.rglob("*") if p.is_file()]
    assert [p for p in s.state.rglob("*.part")] == []
    assert Counter(sha(p.read_bytes()) for p in archived) == Counter(sha(d) for d in files.values())
    with Ledger(s.ledger) as ledger:
        subs = ledger.submissions()
        dups = ledger.duplicates()
        assert ledger.moving() == []
    assert sorted(x.sha256 for x in subs) == sorted({sha(d) for d in files.values()})  # each once
    names = [x.file_name for x in subs] + [d["file_name"] for d in dups]
    assert sorted(names) == sorted(files)  # every file, once
    referenced = [x.archived_path for x in subs] + [d["archived_path"] for d in dups]
    assert sorted(referenced) == sorted(str(p) for p in archived)  # ledger and archive agree, one to one
    for x in subs:
        assert Path(x.archived_path).read_bytes() == files[x.file_name]
    for d in dups:
        assert Path(d["archived_path"]).read_bytes() == files[d["file_name"]]
    outcomes = {x.file_name: x.outcome for x in subs}
    assert outcomes == {"a.xlsx": "accepted", "b.xlsx": "accepted", "c.xlsx": "accepted", "d.xlsx": "accepted",
                        "e.xlsx": "accepted", "f-bad.xlsx": "rejected", "g-2024-broken.xlsx": "rejected"}
    assert sorted(d["file_name"] for d in dups) == ["c2-again.xlsx", "zz-a-again.xlsx"]


def assert_rollup(s: Settings) -> None:
    """The county's totals are the plain sum of the five accepted reports, each counted once."""
    year = write_year_outputs(s, 2024, load_roster(s.roster), with_reports=False)
    assert year.totals == pytest.approx(sum_reports(ACCEPTED))
    assert year.rollup_findings == []
    status = {st.agency: st.status for st in year.statuses}
    assert [status[e.name] for e in AGENCIES] == ["accepted"] * 5 + ["rejected", "missing"]


def recorded(s: Settings) -> list:
    """What the ledger holds, with the archive's paths relative to it: to compare two runs."""
    with Ledger(s.ledger) as ledger:
        subs, dups = ledger.submissions(), ledger.duplicates()
    out = []
    for sub in subs:
        row = {f.name: getattr(sub, f.name) for f in fields(sub) if f.name != "id"}
        row["archived_path"] = str(Path(sub.archived_path).relative_to(s.archive))
        row["findings"] = [f.as_record() for f in sub.findings]
        out.append(row)
    return sorted(out, key=lambda r: r["file_name"]) + sorted(
        (d["file_name"], d["sha256"], str(Path(d["archived_path"]).relative_to(s.archive))) for d in dups)


# -- the reader process --------------------------------------------------------------------------------


def children() -> dict[int, str]:
    """{pid: state} of this process's children (from /proc)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                after = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(after[1]) == os.getpid():
                out[int(entry)] = after[0]
    return out


def resource_tracker() -> int | None:
    from multiprocessing import resource_tracker as rt

    return getattr(rt._resource_tracker, "_pid", None)


@pytest.fixture
def readers(monkeypatch) -> list:
    """The intake's reader processes (:class:`Ahead`), recorded as they are made, each with the pids of its
    worker; a reader whatever the machine's cores."""
    made = []

    class Recorded(Ahead):
        def __init__(self, fn, items):
            self.pids = set()
            super().__init__(fn, items)
            made.append(self)

        def _submit(self):
            super()._submit()
            if self._executor is not None:
                self.pids |= set(self._executor._processes or {})

    monkeypatch.setattr(intake_module, "processes", lambda: 2)
    monkeypatch.setattr(intake_module, "Ahead", Recorded)
    return made


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_several_batches_with_the_reader_process(tmp_path, readers):
    """Nine files in five batches of two, the next batches read by a spawned process: each file recorded
    once, archived byte for byte, and the rollup the sum of the accepted reports."""
    assert intake_module.AHEAD_FROM <= N_BATCHES
    s = county(tmp_path / "county")
    seen = []
    result = intake(s, settle_seconds=0, batch_size=BATCH, progress=lambda done, total: seen.append((done, total)))
    (reader,) = readers
    assert (reader.total, reader.taken, reader.lost) == (N_BATCHES, N_BATCHES, False)
    assert reader.pids and os.getpid() not in reader.pids  # read in another process
    assert seen == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]
    assert Counter(o.status for o in result.outcomes) == {"accepted": 5, "rejected": 2, "duplicate": 2}
    assert_complete(s)
    assert_rollup(s)
    assert all(pid not in children() for pid in reader.pids)  # the worker is gone, not even a zombie


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_reader_process_killed_mid_run(tmp_path, readers, monkeypatch):
    """SIGKILL to the reader process once the first batch is done (it is reading the next): the intake
    reads the rest itself, every file once, the same records as a run that never had a reader, and
    no process is left behind."""
    monkeypatch.setattr(intake_module, "AHEAD_FROM", 10**6)
    alone = county(tmp_path / "alone")
    intake(alone, settle_seconds=0, batch_size=BATCH, clock=clock)
    assert readers == []
    monkeypatch.setattr(intake_module, "AHEAD_FROM", 2)

    before = set(children())
    killed = []

    def kill_the_reader(done, total):
        if not killed:
            (reader,) = readers
            (pid,) = reader.pids
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    s = county(tmp_path / "county")
    result = intake(s, settle_seconds=0, batch_size=BATCH, clock=clock, progress=kill_the_reader)
    (reader,) = readers
    assert reader.lost and reader.taken == reader.total == N_BATCHES
    assert reader.pids == set(killed)  # never started again
    assert len(result.outcomes) == len(FILES)
    assert_complete(s)
    assert recorded(s) == recorded(alone)
    assert_rollup(s)
    left = {pid for pid in set(children()) - before if pid != resource_tracker()}
    assert left == set() and killed[0] not in children()


# -- the whole intake killed, inside and between batches -------------------------------------------------

TRACED = {intake_module.__file__, nianbao.flows.steps.parallel.__file__, nianbao.flows.store.files.__file__,
          nianbao.flows.store.ledger.__file__, nianbao.flows.store.locking.__file__}


def in_child(fn) -> int:
    """Run ``fn`` in a forked child; its exit status (negative: killed by that signal)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            from multiprocessing import resource_tracker

            # a tracker of its own (started when needed), which cleans up after the child when it is killed
            resource_tracker._resource_tracker._fd = resource_tracker._resource_tracker._pid = None
            # which, when the child is killed, says it cleaned up its semaphores: expected here, not news
            os.environ["PYTHONWARNINGS"] = "ignore::UserWarning:multiprocessing.resource_tracker"
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def traced_intake(s: Settings, stop, log: Path) -> None:
    """Intake in batches with the reader, SIGKILLed at the line ``stop`` = (batch, function, text, nth): the
    ``nth`` line executed while ``batch`` batches are done, in ``function``, whose source contains ``text``
    (None: any).  With ``stop`` None, every traced line is logged as ``batch<TAB>function<TAB>source``."""
    batch = [0]
    seen = []
    matches = [0]

    def local(frame, event, arg):
        if event == "line":
            where = (batch[0], frame.f_code.co_name, linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip())
            if stop is None:
                seen.append(where)
            elif ((stop[0] is None or stop[0] == where[0]) and (stop[1] is None or stop[1] == where[1])
                  and (stop[2] is None or stop[2] in where[2])):
                matches[0] += 1
                if matches[0] == stop[3]:
                    log.write_text("\t".join(map(str, where)))
                    os.kill(os.getpid(), signal.SIGKILL)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in TRACED else None

    def progress(done, total):
        batch[0] += 1

    sys.settrace(tracer)
    try:
        intake(s, settle_seconds=0, batch_size=BATCH, clock=clock, progress=progress)
    finally:
        sys.settrace(None)
    if stop is None:
        log.write_text("\n".join("\t".join(map(str, w)) for w in seen))


# (batches done, function, text of the line, nth such line): where the intake is killed
STOPS = {
    "one-file-system": {
        "between the first batches": (1, "intake", None, 1),
        "waiting on the reader for batch 3": (2, "__next__", None, 1),
        "inside batch 2's transaction": (1, "add", None, 1),
        "among batch 3's moves": (2, "move_into", None, 6),
        "a move done, its original not yet removed": (2, "move_into", "os.unlink(src)", 1),
        "batch 4 moved, not yet marked": (3, "mark_archived_many", None, 1),
        "the last batch, recording a duplicate": (4, "add_duplicate", None, 1),
    },
    "across-file-systems": {
        "a copy made, not yet renamed": (3, "move_into", "os.replace(tmp, final)", 2),
        "the archive's folder being synced": (1, "fsync_folder", "os.fsync(fd)", 1),
        "among batch 3's moves": (2, "move_into", None, 6),  # and again in the rerun, below
        "a move done, its original not yet removed": (2, "move_into", "os.unlink(src)", 2),
    },
}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("kind", list(STOPS))
def test_killed_inside_and_between_batches_then_rerun(tmp_path, readers, request, monkeypatch, kind):
    """The intake (with its reader process) killed by SIGKILL at points inside and between batches, and at
    one drawn at random; then a normal run.  After it: the same records as a run never killed, every file
    once, every original in the archive byte for byte, nothing left in inbound, no ``.part``.  Across file
    systems, one trial is killed again while the rerun finishes the interrupted moves."""
    across = kind == "across-file-systems"
    elsewhere = request.getfixturevalue("elsewhere") if across else None
    root = tmp_path / "county"
    inbound = elsewhere[0] / "inbound" if across else None
    log = tmp_path / "trace.log"

    s = county(root, inbound)
    assert in_child(lambda: traced_intake(s, None, log)) == 0
    assert_complete(s)
    reference = recorded(s)
    events = [tuple(line.split("\t", 2)) for line in log.read_text().splitlines()]
    assert max(int(b) for b, _, _ in events) == N_BATCHES  # every batch, and what follows the last

    stops = dict(STOPS[kind])
    for name, (batch, function, text, nth) in stops.items():  # every point is on the run's way
        hits = [e for e in events if int(e[0]) == batch and e[1] == function and (text is None or text in e[2])]
        assert len(hits) >= nth, f"{name}: {function} reached {len(hits)} times in batch {batch + 1}"
    rng = random.Random(os.environ.get("NIANBAO_CRASH_SEED", "14"))
    drawn = rng.randrange(1, len(events) + 1)
    stops[f"at random, line {drawn} of {len(events)}"] = (None, None, None, drawn)
    print(f"{len(stops)} trials over {len(events)} traced lines ({elsewhere[1] if across else 'one file system'})")

    parts = 0
    for name, stop in stops.items():
        started = time.monotonic()
        s = county(root, inbound)
        status = in_child(lambda: traced_intake(s, stop, log))
        assert status == -signal.SIGKILL, f"the run was not killed {name}"
        parts += len(list(s.state.rglob("*.part")))
        if across and name == "among batch 3's moves":  # killed again, finishing the moves it left
            again = (0, "move_into", "os.replace(tmp, final)", 1)
            assert in_child(lambda: traced_intake(s, again, log)) == -signal.SIGKILL
            assert log.read_text().startswith("0\tmove_into")
        with monkeypatch.context() as m:
            m.setattr(intake_module, "AHEAD_FROM", 10**6)  # the rerun reads in this process: quicker
            intake(s, settle_seconds=0, batch_size=BATCH, clock=clock)
        assert_complete(s)
        assert recorded(s) == reference, name
        print(f"  killed {name}: {time.monotonic() - started:.1f} s with the rerun")
    if across:
        assert parts > 0  # some trial did leave an interrupted copy for the rerun
    assert_rollup(s)


# -- moves across file systems -------------------------------------------------------------------------


def test_a_move_across_file_systems(tmp_path, elsewhere, monkeypatch):
    """Copy to ``.part``, fsync, rename, fsync of the archive's folder, and only then the original removed:
    byte for byte, with its time stamp, no ``.part`` left.  A symbolic link moves as the link, never
    followed; a ``.part`` an interrupted copy left (even a link) is replaced, never written through."""
    folder, how = elsewhere
    src = folder / "审计局.xlsx"
    data = FILES["a.xlsx"]
    src.write_bytes(data)
    os.utime(src, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    mtime = src.stat().st_mtime_ns
    archive = tmp_path / "archive" / "2024" / "accepted"

    calls = []
    real_fsync, real_unlink = os.fsync, os.unlink

    def fsync(fd):
        st = os.fstat(fd)
        calls.append(("fsync", st.st_ino, stat.S_ISDIR(st.st_mode)))
        return real_fsync(fd)

    def unlink(path, *a, **k):
        calls.append(("unlink", str(path)))
        return real_unlink(path, *a, **k)

    if how == "real":  # the kernel's own EXDEV
        archive.mkdir(parents=True)
        with pytest.raises(OSError) as exc:
            os.link(src, archive / "x.xlsx")
        assert exc.value.errno == errno.EXDEV
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync)
        m.setattr(os, "unlink", unlink)
        final = move_into(src, archive / "x.xlsx")
    assert final == archive / "x.xlsx" and final.read_bytes() == data and not os.path.lexists(src)
    assert final.stat().st_mtime_ns == mtime
    assert [p.name for p in archive.iterdir()] == ["x.xlsx"]
    assert calls == [("fsync", final.stat().st_ino, False), ("fsync", archive.stat().st_ino, True),
                     ("unlink", str(src))]  # the copy and its name on disk, then the original removed

    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    os.symlink(victim, archive / "y.xlsx.part")  # left by an earlier run's interrupted copy
    src.write_bytes(data)
    move_into(src, archive / "y.xlsx")
    assert (archive / "y.xlsx").read_bytes() == data and victim.read_bytes() == b"keep me"
    assert sorted(p.name for p in archive.iterdir()) == ["x.xlsx", "y.xlsx"]

    os.symlink(victim, folder / "link.xlsx")
    linked = move_into(folder / "link.xlsx", archive / "link.xlsx")
    assert linked.is_symlink() and os.readlink(linked) == str(victim) and not os.path.lexists(folder / "link.xlsx")

    with pytest.raises(FileExistsError):  # never overwrite
        src.write_bytes(b"other")
        move_into(src, archive / "x.xlsx")
    assert final.read_bytes() == data and src.read_bytes() == b"other"
    assert sorted(p.name for p in archive.iterdir()) == ["link.xlsx", "x.xlsx", "y.xlsx"]


def test_an_interrupted_copy_is_finished_by_the_next_run(tmp_path, readers, elsewhere, monkeypatch):
    """The intake killed halfway through copying a file to the archive (on another file system): half a
    ``.part`` in the archive, the original still in the inbound folder, its row recorded as moving.  The
    next run finishes that move first: the whole file once, the rest taken in, nothing counted twice."""
    s = county(tmp_path / "county", elsewhere[0] / "inbound")
    real_copyfile = shutil.copyfile
    copies = []

    def dies_halfway(src, dst, *, follow_symlinks=True):
        copies.append(src)
        if len(copies) == 3:  # in the second batch
            data = Path(src).read_bytes()
            Path(dst).write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return real_copyfile(src, dst, follow_symlinks=follow_symlinks)

    def killed_run():
        shutil.copyfile = dies_halfway  # in the child only
        intake(s, settle_seconds=0, batch_size=BATCH, clock=clock)

    assert in_child(killed_run) == -signal.SIGKILL
    (part,) = s.state.rglob("*.part")
    with Ledger(s.ledger) as ledger:
        moving = ledger.moving()
    assert [m[3] for m in moving] == ["c.xlsx"]  # batch 2's submission, recorded before it moves
    interrupted = moving[0][3]
    assert (s.inbound / interrupted).read_bytes() == FILES[interrupted]  # the original, untouched
    assert 0 < part.stat().st_size < len(FILES[interrupted]) and part.name == Path(moving[0][4]).name + ".part"

    result = intake(s, settle_seconds=0, batch_size=BATCH, clock=clock)
    assert [(o.file_name, o.status) for o in result.outcomes if o.status == "resumed"] == [("c.xlsx", "resumed")]
    assert_complete(s)
    assert_rollup(s)


def test_a_link_in_an_inbound_folder_on_another_file_system(tmp_path, elsewhere):
    """A symbolic link dropped in the inbound folder is archived as the link itself across file systems
    too: its target is never read, nor copied into the archive."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for the archive")
    s = county(tmp_path / "county", elsewhere[0] / "inbound", files={"a.xlsx": FILES["a.xlsx"]})
    os.symlink(secret, s.inbound / "link.xlsx")
    intake(s, settle_seconds=0)
    with Ledger(s.ledger) as ledger:
        subs = {x.file_name: x for x in ledger.submissions()}
    link = Path(subs["link.xlsx"].archived_path)
    assert subs["link.xlsx"].findings[0].rule == "file.symlink" and link.is_symlink()
    assert os.readlink(link) == str(secret) and secret.read_bytes() == b"not for the archive"
    assert intake_module._fingerprint(link) == subs["link.xlsx"].sha256
    assert Path(subs["a.xlsx"].archived_path).read_bytes() == FILES["a.xlsx"]
    assert list(s.inbound.iterdir()) == [] and list(s.state.rglob("*.part")) == []
