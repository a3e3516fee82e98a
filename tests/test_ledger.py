"""The ledger keeps findings as data; a ledger written by the previous release is migrated in place."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

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


def test_a_migrated_ledger_takes_a_full_intake_and_makes_the_year(settings):
    """The previous release's ledger in a county's state folder: the next intake migrates it, records new
    files after its rows (a rejected agency now accepted, a new agency), and the year's outputs count the
    old accepted report with the new ones, each once."""
    import datetime as dt
    import random

    from conftest import sum_reports

    from nianbao.flows.excel.template import write_template
    from nianbao.flows.steps.intake import intake
    from nianbao.flows.steps.sample import valid_values
    from nianbao.flows.steps.year import write_year_outputs
    from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv

    justice, audit, finance = "巫山县司法局", "巫山县审计局", "巫山县财政局"
    settings.state.mkdir(parents=True)
    shutil.copy(OLD_LEDGER, settings.ledger)
    settings.roster.write_bytes(write_roster_csv([Entry(justice), Entry(audit), Entry(finance)]))
    new = {}
    for seed, agency in enumerate((audit, finance), 1):
        new[agency] = valid_values(random.Random(seed))
        write_template(settings.inbound / f"{agency}-2024.xlsx", values={
            **new[agency], "meta.agency": agency, "meta.year": 2024, "text.overview": "总体情况。", "text.problems": "问题。"})

    result = intake(settings, settle_seconds=0, clock=lambda: dt.datetime(2027, 1, 10, tzinfo=dt.timezone.utc))
    assert sorted((o.agency, o.status) for o in result.outcomes) == sorted([(audit, "accepted"), (finance, "accepted")])
    assert list(settings.inbound.iterdir()) == []
    with Ledger(settings.ledger) as ledger:
        subs = ledger.submissions()
        assert ledger.moving() == [] and ledger.db.execute("PRAGMA user_version").fetchone()[0] == FINDINGS_AS_DATA
    assert [s.id for s in subs] == [1, 2, 3, 4, 5] and len({s.sha256 for s in subs}) == 5
    assert {s.file_name for s in subs[:3]} == set(_raw(OLD_LEDGER))  # the old rows kept, ahead of the new
    for sub in subs[3:]:
        assert Path(sub.archived_path).read_bytes() and sub.accepted

    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    status = {s.agency: (s.status, s.current.file_name if s.current else None) for s in year.statuses}
    assert status[justice] == ("accepted", "巫山县司法局-2024年报.xlsx")  # recorded by 0.1.0
    assert status[audit] == ("accepted", f"{audit}-2024.xlsx") and status[finance][0] == "accepted"
    old_justice = next(s for s in subs if s.agency == justice)
    assert year.totals == pytest.approx(sum_reports([old_justice.numbers, new[audit], new[finance]]))
    assert year.rollup_findings == [] and (year.outdir / "rollup.xlsx").exists()
    status_csv = (year.outdir / "status.csv").read_text(encoding="utf-8-sig")
    assert justice in status_csv and audit in status_csv and finance in status_csv
