"""The ledger keeps findings as data; a ledger written by the previous release is migrated in place."""

import json
import shutil
import sqlite3
from pathlib import Path

from nianbao.flows.store.ledger import FINDINGS_AS_DATA, Ledger
from nianbao.schemas.catalogue import CATALOGUE
from nianbao.schemas.findings import Finding, make

OLD_LEDGER = Path(__file__).parent / "data" / "ledger-0.1.0.sqlite3"  # written by nianbao 0.1.0's intake


def _raw(path: Path) -> dict[str, list[dict]]:
    db = sqlite3.connect(path)
    try:
        return {name: json.loads(f) for name, f in db.execute("SELECT file_name, findings FROM submissions")}
    finally:
        db.close()


def test_a_ledger_of_the_previous_release_is_migrated(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(OLD_LEDGER, path)
    before = _raw(path)
    assert all("message" in f and "params" not in f for fs in before.values() for f in fs)

    with Ledger(path) as ledger:
        subs = {s.file_name: s for s in ledger.submissions()}
        version = ledger.db.execute("PRAGMA user_version").fetchone()[0]
    assert version == FINDINGS_AS_DATA
    assert set(subs) == set(before)
    for name, old in before.items():
        # every finding keeps its rule, severity and place, and reads exactly as it was recorded
        assert [(f.rule, f.severity, f.sheet, f.cell, f.code, f.file, f.message) for f in subs[name].findings] == [
            (f["rule"], f["severity"], f["sheet"], f["cell"], f["code"], f["file"], f["message"]) for f in old]
    assert subs["巫山县审计局-2024年报.xlsx"].outcome == "rejected"
    assert subs["巫山县司法局-2024年报.xlsx"].accepted

    migrated = _raw(path)
    assert all("message" not in f and f["params"] == {} and f["text"] for fs in migrated.values() for f in fs)
    with Ledger(path):
        pass
    assert _raw(path) == migrated  # once only


def test_findings_are_stored_as_data_and_can_be_queried(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(OLD_LEDGER, path)
    finding = make("R3.1", sheet="表三", cell="D29", code="requests.total.natural", file="审计局.xlsx",
                   scope="自然人", left_cells="D5:D6", right_cells="D28:D29", left_value="3", right_value="2",
                   diff="1", hint="")
    with Ledger(path) as ledger:
        sub = next(s for s in ledger.submissions() if s.outcome == "rejected" and s.numbers)
        ledger.update_findings(sub.id, "rejected", 1, 0, [finding], sub.numbers, sub.fields, sub.agency, sub.uscc,
                               sub.year)
        stored = json.loads(ledger.db.execute("SELECT findings FROM submissions WHERE id = ?", (sub.id,)).fetchone()[0])
        hits = ledger.db.execute(
            "SELECT s.file_name, json_extract(f.value, '$.params.diff') FROM submissions AS s, json_each(s.findings) AS f"
            " WHERE json_extract(f.value, '$.rule') = 'R3.1'").fetchall()
        again = next(s for s in ledger.submissions() if s.id == sub.id)
    assert stored == [{"rule": "R3.1", "severity": "error", "sheet": "表三", "cell": "D29",
                       "code": "requests.total.natural", "file": "审计局.xlsx", "params": dict(finding.params)}]
    assert [tuple(h) for h in hits] == [(sub.file_name, "1")]
    (back,) = again.findings
    assert back == finding and back.message == finding.message and "相差 1" in back.message
    assert back.title == CATALOGUE["R3.1"].title


def test_a_record_round_trips():
    finding = make("cell.unit", sheet="表三", cell="D5", code="requests.new.natural", label="D5“自然人”",
                   value="3件", suggestion=" 3")
    assert Finding.from_record(json.loads(json.dumps(finding.as_record()))) == finding
    assert hash(Finding.from_record(finding.as_record())) == hash(finding)


def test_a_finding_travels_to_a_worker_process():
    import pickle

    finding = make("cell.unit", sheet="表三", cell="D5", code="requests.new.natural", label="D5“自然人”",
                   value="3件", suggestion=" 3")
    again = pickle.loads(pickle.dumps(finding))
    assert again == finding and hash(again) == hash(finding) and again.message == finding.message
