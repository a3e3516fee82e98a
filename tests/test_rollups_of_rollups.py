"""A city collects its counties' rollups, a province its cities': the same pipeline, one level up.

Two counties run as any county does; the city's roster lists them (层级 县, 汇总目录: where their outputs
are) and one city department (层级 市, which may make 规章); their ``rollup.xlsx`` files are the city's
submissions.  The city's rollup is the sum of what it collected, checked at the city's own level
(nianbao.toml's ``level``), and its page links each county's own page.  A province does the same with the
city's rollup.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from conftest import sum_reports

from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.template import write_template
from nianbao.flows.settings import Settings
from nianbao.flows.steps.intake import intake
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv
from nianbao.schemas.checks import check_report
from nianbao.schemas.uscc import complete

YEAR = 2024


def office(root: Path, name: str, uscc: str, level: str, members: list[Entry]) -> Settings:
    settings = Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var",
                        roster=root / "名单.csv", county=name, county_uscc=uscc, level=level, year=YEAR)
    settings.inbound.mkdir(parents=True)
    settings.roster.write_bytes(write_roster_csv(members))
    return settings


def send(settings: Settings, entry: Entry, values: dict, name: str) -> None:
    write_template(settings.inbound / name, values={
        **values, "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": YEAR,
        "text.overview": "总体情况。", "text.problems": "存在的问题。"})


def run(settings: Settings):
    intake(settings, settle_seconds=0)
    return write_year_outputs(settings, YEAR, load_roster(settings.roster), with_reports=False)


def county(root: Path, name: str, code: str, seed: int) -> tuple[Settings, dict[str, float]]:
    agencies = [Entry(f"{name}{dept}", complete(f"{code}{i:07d}")) for i, dept in enumerate(("教委", "公安局"), 1)]
    settings = office(root / name, name, complete(f"{code}0000000"), "县", agencies)
    sent = []
    for i, entry in enumerate(agencies):
        values = valid_values(random.Random(seed + i))
        send(settings, entry, values, f"{entry.name}.xlsx")
        sent.append(values)
    result = run(settings)
    assert result.rollup_findings == [] and {s.status for s in result.statuses} == {"accepted"}
    assert result.totals == pytest.approx(sum_reports(sent))
    return settings, result.totals


def test_a_city_collects_its_counties_rollups_and_a_province_the_citys(tmp_path):
    wushan, wushan_totals = county(tmp_path, "巫山县", "11500237MB", 1)
    fengjie, fengjie_totals = county(tmp_path, "奉节县", "11500236MB", 5)

    members = [Entry("巫山县", wushan.county_uscc, level="县", outbound="../巫山县/outbound"),
               Entry("奉节县", fengjie.county_uscc, level="县", outbound=str(fengjie.outbound)),
               Entry("某某市司法局", complete("11500100MB0000001"), level="市")]
    city = office(tmp_path / "某某市", "某某市", complete("11500100MB0000000"), "市", members)
    assert load_roster(city.roster).entries[0].outbound == str(tmp_path / "某某市" / "../巫山县/outbound")
    for settings in (wushan, fengjie):  # as the counties send them: their rollup, renamed
        shutil.copyfile(settings.outbound / str(YEAR) / "rollup.xlsx", city.inbound / f"{settings.county}-汇总.xlsx")
    department = valid_values(random.Random(9))
    department.update({"active.rules.issued": 2, "active.rules.in_force": 7})  # a city may make 规章
    send(city, members[2], department, "司法局.xlsx")

    result = run(city)
    assert {s.agency: s.status for s in result.statuses} == {
        "巫山县": "accepted", "奉节县": "accepted", "某某市司法局": "accepted"}
    assert all(not f.is_error for s in result.statuses for f in s.current.findings)
    assert result.totals == pytest.approx(sum_reports([wushan_totals, fengjie_totals, department]))
    rollup = read_report(result.outdir / "rollup.xlsx")
    assert rollup.fields["meta.agency"] == "某某市" and rollup.numbers["active.rules.issued"] == 2
    # the city's total is checked at the city's level; at a county's, 规章 would be an error
    assert result.rollup_findings == []
    assert "R2.3" in {f.rule for f in check_report(rollup, last_year=2026, levels=["县"])}

    page = (result.outdir / "index.html").read_text(encoding="utf-8")
    for settings in (wushan, fengjie):
        target = settings.outbound / str(YEAR) / "index.html"
        href = Path("../../..") / settings.county / "outbound" / str(YEAR) / "index.html"
        assert f'<a href="{href.as_posix()}">{settings.county}</a>' in page
        assert (result.outdir / href).resolve() == target.resolve()
    assert '<a href' not in page.split("某某市司法局")[0].rsplit("<tr", 1)[-1]  # no page of its own: no link

    province = office(tmp_path / "某某省", "某某省", complete("11500000MB0000000"), "省",
                      [Entry("某某市", city.county_uscc, level="市", outbound=str(city.outbound))])
    shutil.copyfile(result.outdir / "rollup.xlsx", province.inbound / "某某市-汇总.xlsx")
    top = run(province)
    assert [(s.agency, s.status) for s in top.statuses] == [("某某市", "accepted")]
    assert top.totals == pytest.approx(result.totals) and top.rollup_findings == []
    assert '<a href="../../../某某市/outbound/2024/index.html">某某市</a>' in (top.outdir / "index.html").read_text(
        encoding="utf-8")
