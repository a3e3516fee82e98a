"""The submission ledger: one SQLite file recording every file received.

A submission is identified by the sha256 of its bytes, so the same file
dropped twice is recorded once (the second drop is kept as a *duplicate*
receipt).  The ledger stores what the rollup needs (the numbers of readable
reports) and what agencies and reviewers need (the findings), so that a
rollup never has to re-read a workbook.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from nianbao.schemas.findings import Finding

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    file_name     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    archived_path TEXT NOT NULL,
    agency        TEXT NOT NULL DEFAULT '',
    uscc          TEXT NOT NULL DEFAULT '',
    year          INTEGER,
    outcome       TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
    errors        INTEGER NOT NULL,
    warnings      INTEGER NOT NULL,
    findings      TEXT NOT NULL,
    numbers       TEXT,
    fields        TEXT,
    state         TEXT NOT NULL DEFAULT 'archived' CHECK (state IN ('moving', 'archived'))
);
CREATE INDEX IF NOT EXISTS submissions_year ON submissions (year);
CREATE TABLE IF NOT EXISTS duplicates (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    archived_path TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL DEFAULT 'archived' CHECK (state IN ('moving', 'archived'))
);
"""
FINDINGS_AS_DATA = 1
"""``PRAGMA user_version`` from which findings are stored as data: rule, severity, place and parameters.
Query them with SQLite's JSON functions, e.g. ``SELECT agency, json_extract(f.value, '$.params')
FROM submissions, json_each(submissions.findings) AS f WHERE json_extract(f.value, '$.rule') = 'R3.1'``."""


def _findings_json(records) -> str:
    return json.dumps(list(records), ensure_ascii=False)


def _legacy_record(old: dict) -> dict:
    """A finding as stored before :data:`FINDINGS_AS_DATA` (with ``message``) → a record of today."""
    if "params" in old:
        return old
    record = {k: old.get(k, "") for k in ("rule", "severity", "sheet", "cell", "code", "file")}
    return {**record, "params": {}, "text": old.get("message", "")}


# A row is written with state 'moving' before its file leaves the inbound folder and
# set to 'archived' once the file is in the archive: a run that dies in between is
# completed by the next one (see nianbao.flows.steps.intake.finish_moves).


@dataclass
class Submission:
    id: int
    sha256: str
    file_name: str
    received_at: str
    archived_path: str
    agency: str
    uscc: str
    year: int | None
    outcome: str
    errors: int
    warnings: int
    findings: list[Finding]
    numbers: dict[str, float] | None
    fields: dict[str, object] | None
    loaded: bool = True
    """False when read with ``Ledger.submissions(numbers=False)``: ``numbers`` and ``fields`` were then
    not decoded and are ``{}`` for a readable file, ``None`` for an unreadable one."""

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"

    def received_in(self, time_zone: str) -> str:
        """When it was received, as people in ``time_zone`` read it: ``2024-03-01 10:15:00``.

        Times are stored in UTC (earlier releases stored local time with its offset: read alike).
        """
        try:
            when = dt.datetime.fromisoformat(self.received_at)
        except ValueError:
            return self.received_at[:19].replace("T", " ")
        if when.tzinfo is not None:
            when = when.astimezone(ZoneInfo(time_zone))
        return when.strftime("%Y-%m-%d %H:%M:%S")


def _row_to_submission(row: sqlite3.Row, *, light: bool = False) -> Submission:
    """A ledger row; ``light`` leaves the numbers and fields unloaded (see ``Submission.loaded``)."""
    if light:
        readable = bool(row["readable"])
        numbers, fields, extra = ({} if readable else None), ({} if readable else None), {"loaded": False}
    else:
        numbers = json.loads(row["numbers"]) if row["numbers"] else None
        fields = json.loads(row["fields"]) if row["fields"] else None
        extra = {}
    return Submission(
        id=row["id"],
        sha256=row["sha256"],
        file_name=row["file_name"],
        received_at=row["received_at"],
        archived_path=row["archived_path"],
        agency=row["agency"],
        uscc=row["uscc"],
        year=row["year"],
        outcome=row["outcome"],
        errors=row["errors"],
        warnings=row["warnings"],
        findings=[Finding.from_record(f) for f in json.loads(row["findings"])] if row["findings"] != "[]" else [],
        numbers=numbers,
        fields=fields,
        **extra,
    )


def _row_to_light_submission(row: sqlite3.Row) -> Submission:
    return _row_to_submission(row, light=True)


_LIGHT_COLUMNS = ("id, sha256, file_name, received_at, archived_path, agency, uscc, year, outcome, errors, warnings, "
                  "findings, numbers IS NOT NULL AS readable")


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a ledger written by an earlier release up to date (in place, once).

        - Before the ``state`` column: every row of theirs was archived.
        - Before :data:`FINDINGS_AS_DATA` (``PRAGMA user_version`` 0): findings were stored as
          prose.  Each keeps its rule, severity and place; its recorded sentence becomes the
          finding's ``text`` (its parameters were never kept).  ``nianbao reprocess`` checks the
          archived originals again and records their findings with parameters.
        """
        for table in ("submissions", "duplicates"):
            columns = {r["name"] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if "state" not in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN state TEXT NOT NULL DEFAULT 'archived'")
        if self.db.execute("PRAGMA user_version").fetchone()[0] >= FINDINGS_AS_DATA:
            return
        with self.transaction():
            if self.db.execute("PRAGMA user_version").fetchone()[0] >= FINDINGS_AS_DATA:
                return  # another process migrated it while this one waited
            rows = self.db.execute("SELECT id, findings FROM submissions WHERE findings != '[]'").fetchall()
            for row in rows:
                records = [_legacy_record(r) for r in json.loads(row["findings"])]
                self.db.execute("UPDATE submissions SET findings = ? WHERE id = ?", (_findings_json(records), row["id"]))
            self.db.execute(f"PRAGMA user_version = {FINDINGS_AS_DATA}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- reading ------------------------------------------------------------

    def known(self, sha256: str) -> tuple[str, int | None] | None:
        """(agency, year) of the submission with these bytes, or None."""
        row = self.db.execute("SELECT agency, year FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()
        return (row["agency"], row["year"]) if row else None

    def submissions(self, year: int | None = None, *, numbers: bool = True) -> list[Submission]:
        """Every submission (of ``year``), oldest first.

        With ``numbers=False`` the numbers and fields are not decoded (see :attr:`Submission.loaded`):
        what a rollup with nothing new needs, at a fraction of the cost; :meth:`numbers_matrix` reads
        the numbers of the submissions that are wanted.
        """
        columns, convert = ("*", _row_to_submission) if numbers else (_LIGHT_COLUMNS, _row_to_light_submission)
        if year is None:
            rows = self.db.execute(f"SELECT {columns} FROM submissions ORDER BY id")  # the sequence received
        else:
            rows = self.db.execute(f"SELECT {columns} FROM submissions WHERE year = ? ORDER BY id",
                                   (year,))
        return [convert(r) for r in rows]

    def numbers_matrix(self, ids: list[int], codes: list[str]):
        """The numbers of the submissions ``ids`` as a float array (one row per id, one column per code).

        A missing or empty number is 0.  Rows are decoded one at a time, so memory stays at the array.
        """
        import numpy as np

        matrix = np.zeros((len(ids), len(codes)), dtype="float64")
        row_of = {sub_id: i for i, sub_id in enumerate(ids)}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for sub_id, text in self.db.execute(f"SELECT id, numbers FROM submissions WHERE id IN ({marks})", chunk):
                if not text:
                    continue
                values = json.loads(text)
                matrix[row_of[sub_id]] = [float(values.get(code) or 0) for code in codes]
        return matrix

    def years(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT year FROM submissions WHERE year IS NOT NULL ORDER BY 1")]

    def duplicates(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM duplicates ORDER BY id")]

    def moving(self) -> list[tuple[str, int, str, str, str]]:
        """(table, id, sha256, file_name, archived_path) of every move not known to be finished."""
        rows = []
        for table in ("submissions", "duplicates"):
            rows += [(table, r["id"], r["sha256"], r["file_name"], r["archived_path"]) for r in self.db.execute(
                f"SELECT id, sha256, file_name, archived_path FROM {table} WHERE state = 'moving' ORDER BY id")]
        return rows

    def mark_archived_many(self, table: str, row_ids: list[int]) -> None:
        """Set rows' state to 'archived', in one transaction (one commit, one sync to disk)."""
        assert table in ("submissions", "duplicates")
        if not row_ids:
            return
        with self.transaction():
            self.db.executemany(f"UPDATE {table} SET state = 'archived' WHERE id = ?", [(i,) for i in row_ids])

    # -- writing ------------------------------------------------------------

    def add(self, sub: Submission) -> int:
        cur = self.db.execute(
            """INSERT INTO submissions (sha256, file_name, received_at, archived_path, agency, uscc, year, outcome,
                                        errors, warnings, findings, numbers, fields, state)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'moving')""",
            (
                sub.sha256, sub.file_name, sub.received_at, sub.archived_path, sub.agency, sub.uscc, sub.year,
                sub.outcome, sub.errors, sub.warnings,
                _findings_json(f.as_record() for f in sub.findings),
                json.dumps(sub.numbers) if sub.numbers is not None else None,
                json.dumps(sub.fields, ensure_ascii=False, default=str) if sub.fields is not None else None,
            ),
        )
        return int(cur.lastrowid)

    def add_duplicate(self, sha256: str, file_name: str, received_at: str, archived_path: str) -> int:
        cur = self.db.execute(
            "INSERT INTO duplicates (sha256, file_name, received_at, archived_path, state) VALUES (?, ?, ?, ?, 'moving')",
            (sha256, file_name, received_at, archived_path),
        )
        return int(cur.lastrowid)

    def update_findings(self, sub_id: int, outcome: str, errors: int, warnings: int, findings: list[Finding],
                        numbers: dict | None, fields: dict | None, agency: str, uscc: str, year: int | None) -> None:
        """Re-checked (``nianbao reprocess``): the new verdict replaces the old."""
        self.db.execute(
            """UPDATE submissions SET outcome = ?, errors = ?, warnings = ?, findings = ?, numbers = ?, fields = ?,
                   agency = ?, uscc = ?, year = ? WHERE id = ?""",
            (outcome, errors, warnings, _findings_json(f.as_record() for f in findings),
             json.dumps(numbers) if numbers is not None else None,
             json.dumps(fields, ensure_ascii=False, default=str) if fields is not None else None,
             agency, uscc, year, sub_id),
        )
