"""End to end: the Prefect flow over an inbound folder with every kind of submission."""

from __future__ import annotations

import csv
import hashlib
import random
import re
import urllib.parse
import time
from pathlib import Path

import openpyxl
import pytest

from nianbao.flows.cli import main
from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.settings import Settings
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

AGENCIES = [Entry(name, complete(f"11500237MB{i:07d}")) for i, name in enumerate(
    ["巫山县教育委员会", "巫山县公安局", "巫山县民政局", "巫山县财政局", "巫山县审计局", "巫山工业园区管委会"], 1)]
EDU, POLICE, CIVIL, FINANCE, AUDIT, PARK = AGENCIES


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drop(inbound: Path, name: str, entry: Entry, seed: int, **overrides) -> dict:
    numbers = valid_values(random.Random(seed))
    write_template(inbound / name, values={
        **numbers, "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": 2024,
        "text.overview": "2024年总体情况。", "text.problems": "存在的问题。", **overrides})
    return numbers


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


@pytest.fixture
def county(settings, tmp_path):
    s = settings.with_overrides(roster=tmp_path / "名单.csv")
    s.roster.write_bytes(write_roster_csv(AGENCIES))
    return s


def run_flow(settings: Settings) -> dict:
    from nianbao.flows.pipeline import flow_parameters, nianbao_run

    return nianbao_run(**flow_parameters(settings, settle_seconds=0))


def test_the_whole_pipeline(county, prefect_harness, capsys):
    inbound = county.inbound
    edu = drop(inbound, "教委.xlsx", EDU, 1)
    drop(inbound, "公安局-初稿.xlsx", POLICE, 2, **{"requests.granted.total": 999})     # rejected …
    civil = drop(inbound, "民政局.xlsx", CIVIL, 3, **{"active.rules.issued": 1, "active.rules.in_force": 1})  # warned
    (inbound / "财政局.xlsx").write_bytes(b"\x00\x01 not a workbook at all")           # unreadable
    drop(inbound, "园区.xlsx", PARK, 5, **{"appeals.review.upheld": 1})                 # rejected, stays so
    originals = {p.name: p.read_bytes() for p in inbound.iterdir()}
    first = run_flow(county)
    assert (first["new"], first["accepted"], first["rejected"]) == (5, 2, 3)

    # … then the police resubmit a correct report, and the education board's file arrives twice
    time.sleep(0.01)
    police = drop(inbound, "公安局-定稿.xlsx", POLICE, 4)
    (inbound / "教委 (副本).xlsx").write_bytes(originals["教委.xlsx"])
    originals.update({p.name: p.read_bytes() for p in inbound.iterdir()})
    second = run_flow(county)
    assert (second["new"], second["accepted"], second["duplicates"]) == (1, 1, 1)

    out = county.outbound / "2024"
    status = {r["agency"]: r for r in read_csv(out / "status.csv")}
    assert {a: r["status"] for a, r in status.items()} == {
        EDU.name: "accepted", POLICE.name: "accepted", CIVIL.name: "accepted",
        FINANCE.name: "rejected", AUDIT.name: "missing", PARK.name: "rejected"}
    assert status[POLICE.name]["file"] == "公安局-定稿.xlsx"
    assert status[EDU.name]["sha256"] == hashlib.sha256(originals["教委.xlsx"]).hexdigest()
    assert status[CIVIL.name]["warnings"] == "2" and status[CIVIL.name]["errors"] == "0"
    assert list(status[EDU.name]) == ["agency", "uscc", "status", "file", "sha256", "received_at", "errors", "warnings"]

    # the rollup: the sums of the current accepted reports, computed here independently
    expected = {code: edu[code] + police[code] + civil[code] for code in edu}
    expected["active.rules.issued"] = civil["active.rules.issued"] + 1 + edu["active.rules.issued"] + police["active.rules.issued"]
    expected["active.rules.in_force"] += 1
    wb = openpyxl.load_workbook(out / "rollup.xlsx")
    for code, value in expected.items():
        ((sheet, ref),) = wb.defined_names[code].destinations
        assert wb[sheet][ref.replace("$", "")].value == pytest.approx(value), code
    assert {"各单位数据", "报送情况"} <= set(wb.sheetnames)
    assert main(["check", str(out / "rollup.xlsx")]) == 0  # warnings (规章) allowed, no error

    # findings of each bad file
    findings = read_csv(out / "findings.csv")
    by_file = {}
    for f in findings:
        by_file.setdefault(f["file"], set()).add((f["rule"], f["sheet"], f["cell"]))
    assert by_file["财政局.xlsx"] == {("file.unreadable", "", "")}
    assert by_file["民政局.xlsx"] == {("R2.3", "表二", "B4"), ("R2.3", "表二", "D4")}
    assert by_file["园区.xlsx"] == {("R4.1", "表四", "E5")}
    assert "公安局-初稿.xlsx" not in by_file  # superseded: no longer the current submission

    # the archive holds every original byte for byte, and the inbound folder is empty
    archived = {sha(p): p for p in county.archive.rglob("*") if p.is_file()}
    for name, data in originals.items():
        assert hashlib.sha256(data).hexdigest() in archived, name
    assert len(archived) == len(originals) - 1  # the duplicate has the same bytes as 教委.xlsx
    assert sum(1 for p in county.archive.rglob("*") if p.is_file()) == len(originals)
    assert list(inbound.iterdir()) == []

    # feedback: each agency's own workbook, failing cells red (warnings yellow) with comments;
    # for the unreadable file, the list of findings alone
    feedback = {p.name.split("-")[0]: p for p in (out / "feedback").iterdir()}
    fb = openpyxl.load_workbook(feedback[PARK.name])
    assert fb.sheetnames[0] == "问题清单" and fb["问题清单"].max_row >= 4
    bad = fb["表四"]["E5"]
    assert bad.fill.fgColor.rgb.endswith("FFC7CE") and "【表四总计】" in bad.comment.text and "A5:D5" in bad.comment.text
    assert fb["表四"]["A5"].comment is None and not fb["表四"]["A5"].fill.fgColor.rgb.endswith("FFC7CE")
    fb = openpyxl.load_workbook(feedback[CIVIL.name])
    assert fb.sheetnames[0] == "问题清单"
    cell = fb["表二"]["B4"]
    assert "【县级单位制发规章】" in cell.comment.text and cell.fill.fgColor.rgb.endswith("FFD966")
    assert fb["表二"]["B5"].comment is None
    assert openpyxl.load_workbook(feedback[FINANCE.name]).sheetnames == ["问题清单"]
    assert EDU.name not in feedback

    # the reviewers' reports and the office's page
    html = (out / "index.html").read_text(encoding="utf-8")
    for name in (EDU.name, AUDIT.name, "未报送", "rollup.xlsx", "reports/"):
        assert name in html
    assert (out / "reports" / "index.html").exists()
    links = re.findall(r'href="([^"]+)"', html)
    assert "reports/校验报告.html" in links  # the review report; GX's pages are its technical appendix
    for link in links:  # every link of the page leads to a file that exists
        assert (out / urllib.parse.unquote(link)).is_file(), link

    # the review report counts a rejected agency where it breaks a rule, and shows completeness as progress
    review = (out / "reports" / "校验报告.html").read_text(encoding="utf-8")
    r41 = review.split('data-key="R4.1"', 1)[1].split("</article>", 1)[0]  # the agencies' R4.1 (表四总计)
    assert "未满足" in r41 and "其中 <span class=\"nowrap\">1 个</span>的报告未通过" in r41
    assert re.search(rf'<a href="\.\./feedback/[^"]+"[^>]*>{PARK.name}</a><span class="tag rejected">未通过</span>', r41)
    assert re.search(r"报送进度 <span[^>]*>5/6</span>", review) and f"尚未报送（1 个）：{AUDIT.name}" in review
    assert f"报送了文件但无法读取（不参加下面的比较）：{FINANCE.name}" in review
    for page in (out / "reports").rglob("*.html"):  # offline: nothing loaded from outside
        assert not re.search(r"""(?:src|href)=["']https?://|url\(['"]?https?://""", page.read_text(encoding="utf-8")), page

    # a run with nothing new changes nothing and counts nothing twice
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in county.outbound.rglob("*") if p.is_file()}
    third = run_flow(county)
    assert (third["new"], third["duplicates"]) == (0, 0)
    assert all(not y["rebuilt"] for y in third["years"])
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in county.outbound.rglob("*") if p.is_file()}
    assert after == before
    capsys.readouterr()


def test_a_rejected_rollup_bad_agency_name_is_escaped(county, prefect_harness):
    drop(county.inbound, "x.xlsx", Entry("<script>alert(1)</script>", ""), 7)
    run_flow(county)
    html = (county.outbound / "2024" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
