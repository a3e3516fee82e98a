"""The form definition, and that every consumer covers every code."""

import re
from pathlib import Path

from nianbao.schemas.catalogue import CATALOGUE
from nianbao.schemas.checks import report_schema
from nianbao.schemas.form import FORM, LINEAR_RULES
from nianbao.schemas.layout import LAYOUT

ROOT = Path(__file__).resolve().parents[1]


def test_two_hundred_numeric_cells():
    tables = {t.prefix: sum(1 for c in FORM.cells if c.table is t) for t in FORM.tables}
    assert tables == {"active": 10, "requests": 175, "appeals": 15}
    assert len(set(FORM.codes)) == len(FORM.codes)


def test_codes_are_valid_excel_names():
    a1 = re.compile(r"^[A-Za-z]{1,3}\d+$")
    r1c1 = re.compile(r"^[rRcC]\d*([cC]\d*)?$")
    for code in FORM.codes:
        assert re.fullmatch(r"[a-z][a-z0-9_.]*", code), code
        assert not a1.match(code) and not r1c1.match(code) and code.upper() not in ("TRUE", "FALSE")


def test_examples_from_the_format():
    for code in ("requests.new.natural", "requests.total.total", "requests.carried_out.legal",
                 "appeals.suit_after_review.pending", "active.normative.in_force", "active.fees.amount"):
        assert code in FORM.cell_by_code
    assert FORM.cell_by_code["active.fees.amount"].kind == "decimal"
    assert FORM.cell_by_code["active.fees.amount"].unit == "万元"


def test_rule_instances_cover_every_table_three_and_four_cell():
    instances = FORM.rule_instances
    assert {i.rule for i in instances} == {r.id for r in LINEAR_RULES}
    counts = {r.id: sum(1 for i in instances if i.rule == r.id) for r in LINEAR_RULES}
    assert counts == {"R3.1": 7, "R3.2": 25, "R3.3": 7, "R4.1": 3}
    covered = {c for i in instances for c in i.left + i.right}
    assert covered == {c for c in FORM.numeric_codes if not c.startswith("active.")}
    for inst in instances:
        assert inst.anchor in inst.left + inst.right


def test_every_rule_id_is_catalogued():
    for rule in LINEAR_RULES:
        assert CATALOGUE[rule.id].severity == "error"
    for r in CATALOGUE.values():
        assert r.title and r.description and r.message and r.severity in ("error", "warning")


def test_layout_places_every_code_once():
    places = [p for s in LAYOUT.sheets for p in ((s.name, rc) for rc in s.inputs.values())]
    assert len(places) == len(set(places)) == len(FORM.codes)
    assert set(LAYOUT.places) == set(FORM.codes)
    # no input cell sits on a label
    for s in LAYOUT.sheets:
        texts = {(t.row, t.col) for t in s.texts}
        assert not texts & set(s.inputs.values())


def test_schema_covers_every_numeric_code_and_equation():
    columns = set(report_schema(2030).columns)
    assert set(FORM.numeric_codes) <= columns
    assert {i.key for i in FORM.rule_instances} <= columns
