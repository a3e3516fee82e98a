"""Crash safety and concurrent runs: every original ends up in exactly one place, counted once.

The fault injection kills an intake (``os._exit``, like ``kill -9``: no cleanup, no
``finally``) at every distinct line it executes in the modules that record and move
files, then a normal run must reach the same final state as a run that never crashed.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

import nianbao.flows.steps.intake
import nianbao.flows.store.ledger
import nianbao.flows.store.locking
from nianbao.flows.steps.intake import intake
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.settings import Settings
from nianbao.flows.excel.template import write_template

TRACED = {nianbao.flows.steps.intake.__file__, nianbao.flows.store.ledger.__file__, nianbao.flows.store.locking.__file__}


def report(agency: str, seed: int, **overrides) -> bytes:
    buf = io.BytesIO()
    write_template(buf, values={**valid_values(random.Random(seed)), "meta.agency": agency, "meta.year": 2024,
                                "text.overview": "总体情况", "text.problems": "问题", **overrides})
    return buf.getvalue()


FILES = {
    "good.xlsx": report("巫山县教育委员会", 1),
    "bad.xlsx": report("巫山县公安局", 2, **{"appeals.review.total": 99}),
    "twin-1.xlsx": report("巫山县民政局", 3),
    "broken.xlsx": b"not a workbook",
}
FILES["twin-2.xlsx"] = FILES["twin-1.xlsx"]
EARLIER = {"earlier.xlsx": report("巫山县财政局", 4)}
FILES["earlier-again.xlsx"] = EARLIER["earlier.xlsx"]  # a duplicate of a file of an earlier run


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def county(root: Path) -> Settings:
    return Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var", roster=root / "roster.csv")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    """A county after an earlier run, with this run's files waiting in the inbound folder."""
    root = tmp_path_factory.mktemp("snapshot")
    s = county(root)
    s.inbound.mkdir(parents=True)
    for name, data in EARLIER.items():
        (s.inbound / name).write_bytes(data)
    intake(s, settle_seconds=0)
    for name, data in FILES.items():
        (s.inbound / name).write_bytes(data)
    return root


def fresh_county(snapshot: Path, root: Path) -> Settings:
    """A copy of the snapshot at ``root`` (archived paths are absolute, so the copy lives at one place)."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(snapshot, root, symlinks=True)
    with Ledger(root / "var" / "ledger.sqlite3") as ledger:
        ledger.db.execute("UPDATE submissions SET archived_path = replace(archived_path, ?, ?)",
                          (str(snapshot), str(root)))
    return county(root)


def in_child(fn) -> int:
    """Run ``fn`` in a forked child; its exit status."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def traced_intake(settings: Settings, stop_at: int | None, log: Path) -> None:
    """Intake that dies at the ``stop_at``-th traced line (or logs every traced line when None)."""
    seen = []

    def local(frame, event, arg):
        if event == "line":
            seen.append((frame.f_code.co_filename, frame.f_lineno))
            if len(seen) == stop_at:
                log.write_text(f"{frame.f_code.co_filename}:{frame.f_lineno}")
                os._exit(137)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in TRACED else None

    sys.settrace(tracer)
    try:
        intake(settings, settle_seconds=0)
    finally:
        sys.settrace(None)
    if stop_at is None:
        log.write_text("\n".join(f"{f}:{n}" for f, n in seen))


def assert_final_state(s: Settings) -> None:
    originals = list(EARLIER.values()) + list(FILES.values())
    assert list(s.inbound.iterdir()) == []
    archived = [p for p in s.archive.rglob("*") if p.is_file()]
    assert not [p for p in archived if p.name.endswith(".part")]
    assert Counter(sha(p.read_bytes()) for p in archived) == Counter(sha(d) for d in originals)
    with Ledger(s.ledger) as ledger:
        subs = ledger.submissions()
        dups = ledger.duplicates()
        assert ledger.moving() == []
    assert sorted(x.sha256 for x in subs) == sorted({sha(d) for d in originals})
    referenced = [x.archived_path for x in subs] + [d["archived_path"] for d in dups]
    assert sorted(referenced) == sorted(str(p) for p in archived)  # ledger and archive agree, one to one
    for x in subs:
        assert sha(Path(x.archived_path).read_bytes()) == x.sha256
    assert len(dups) == len(originals) - len(subs)
    outcomes = {x.file_name: x.outcome for x in subs}
    assert outcomes["bad.xlsx"] == outcomes["broken.xlsx"] == "rejected"
    assert outcomes["good.xlsx"] == "accepted"


def test_killed_at_every_step_then_rerun(tmp_path, snapshot):
    root = tmp_path / "county"
    log = tmp_path / "trace.log"
    s = fresh_county(snapshot, root)
    assert in_child(lambda: traced_intake(s, None, log)) == 0
    assert_final_state(s)
    events = log.read_text().splitlines()
    first_index = {}
    for i, where in enumerate(events, 1):
        first_index.setdefault(where, i)
    # every distinct line once, and more points spread over the whole run
    stops = sorted(set(first_index.values()) | set(range(1, len(events) + 1, max(1, len(events) // 20))))
    assert len(stops) >= 50, len(stops)
    print(f"{len(stops)} trials over {len(events)} traced steps, {len(first_index)} distinct lines")
    crashed_at = set()
    for stop in stops:
        s = fresh_county(snapshot, root)
        status = in_child(lambda: traced_intake(s, stop, log))
        assert status == 137, f"the run did not die at step {stop}"
        crashed_at.add(log.read_text())
        intake(s, settle_seconds=0)  # the next run
        assert_final_state(s)
    assert crashed_at == set(first_index), "some step was never interrupted"


def test_two_intakes_at_once_process_each_file_once(tmp_path):
    s = Settings(inbound=tmp_path / "inbound", outbound=tmp_path / "outbound", state=tmp_path / "var",
                 roster=tmp_path / "roster.csv")
    s.inbound.mkdir()
    names = [f"agency-{i}.xlsx" for i in range(12)]
    for i, name in enumerate(names):
        (s.inbound / name).write_bytes(report(f"巫山县单位{i}", 10 + i))
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the children
            code = 1
            try:
                intake(s, settle_seconds=0)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    assert all(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in pids)
    with Ledger(s.ledger) as ledger:
        subs = ledger.submissions()
        assert ledger.duplicates() == []
    assert sorted(x.file_name for x in subs) == sorted(names)
    assert len([p for p in s.archive.rglob("*") if p.is_file()]) == len(names)
