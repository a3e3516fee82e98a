"""The submission ledger: one SQLite file recording every file received.

A submission is identified by the sha256 of its bytes, so the same file
dropped twice is recorded once (the second drop is kept as a *duplicate*
receipt).  The ledger stores what the rollup needs (the numbers of readable
reports) and what agencies and reviewers need (the findings), so that a
rollup never has to re-read a workbook.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schemas.findings import Finding

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
    fields        TEXT
);
CREATE INDEX IF NOT EXISTS submissions_year ON submissions (year);
CREATE TABLE IF NOT EXISTS duplicates (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    archived_path TEXT NOT NULL
);
"""


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

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


def _row_to_submission(row: sqlite3.Row) -> Submission:
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
        findings=[Finding(**f) for f in json.loads(row["findings"])],
        numbers=json.loads(row["numbers"]) if row["numbers"] else None,
        fields=json.loads(row["fields"]) if row["fields"] else None,
    )


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

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

    def by_sha(self, sha256: str) -> Submission | None:
        row = self.db.execute("SELECT * FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()
        return _row_to_submission(row) if row else None

    def submissions(self, year: int | None = None) -> list[Submission]:
        if year is None:
            rows = self.db.execute("SELECT * FROM submissions ORDER BY received_at, id")
        else:
            rows = self.db.execute("SELECT * FROM submissions WHERE year = ? ORDER BY received_at, id", (year,))
        return [_row_to_submission(r) for r in rows]

    def years(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT year FROM submissions WHERE year IS NOT NULL ORDER BY 1")]

    def duplicates(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM duplicates ORDER BY id")]

    # -- writing ------------------------------------------------------------

    def add(self, sub: Submission) -> int:
        cur = self.db.execute(
            """INSERT INTO submissions (sha256, file_name, received_at, archived_path, agency, uscc, year, outcome,
                                        errors, warnings, findings, numbers, fields)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                sub.sha256, sub.file_name, sub.received_at, sub.archived_path, sub.agency, sub.uscc, sub.year,
                sub.outcome, sub.errors, sub.warnings,
                json.dumps([f.__dict__ for f in sub.findings], ensure_ascii=False),
                json.dumps(sub.numbers) if sub.numbers is not None else None,
                json.dumps(sub.fields, ensure_ascii=False, default=str) if sub.fields is not None else None,
            ),
        )
        return int(cur.lastrowid)

    def add_duplicate(self, sha256: str, file_name: str, received_at: str, archived_path: str) -> None:
        self.db.execute(
            "INSERT INTO duplicates (sha256, file_name, received_at, archived_path) VALUES (?, ?, ?, ?)",
            (sha256, file_name, received_at, archived_path),
        )

    def update_findings(self, sub_id: int, outcome: str, errors: int, warnings: int, findings: list[Finding],
                        numbers: dict | None, fields: dict | None, agency: str, uscc: str, year: int | None) -> None:
        """Re-checked (``nianbao reprocess``): the new verdict replaces the old."""
        self.db.execute(
            """UPDATE submissions SET outcome = ?, errors = ?, warnings = ?, findings = ?, numbers = ?, fields = ?,
                   agency = ?, uscc = ?, year = ? WHERE id = ?""",
            (outcome, errors, warnings, json.dumps([f.__dict__ for f in findings], ensure_ascii=False),
             json.dumps(numbers) if numbers is not None else None,
             json.dumps(fields, ensure_ascii=False, default=str) if fields is not None else None,
             agency, uscc, year, sub_id),
        )
