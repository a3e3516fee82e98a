"""Reports sent as documents: a Word file, a PDF and a web page in the inbound folder beside templates.

They are read through the importer, checked with the same rules, archived byte for byte, counted in the
rollup; one that cannot be read with certainty is rejected with the reason and gets a template
pre-filled with what was placed.
"""

from __future__ import annotations

import random
import re

import pytest

from conftest import require_tool, sum_reports
from documents_fixtures import to_pdf

from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.template import write_template
from nianbao.flows.outputs.annual_report import draft_report, render_docx, render_html
from nianbao.flows.steps.intake import intake
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv
from nianbao.schemas.form import FORM
from nianbao.schemas.layout import LAYOUT
from nianbao.schemas.uscc import complete

WORD = Entry("巫山县教育委员会", complete("11500237MB0000001"))
PDF = Entry("巫山县公安局", complete("11500237MB0000002"))
PAGE = Entry("巫山县民政局", complete("11500237MB0000003"))
TEMPLATE = Entry("巫山县审计局", complete("11500237MB0000004"))
BROKEN = Entry("巫山县司法局", complete("11500237MB0000005"))


def numbers(seed: int) -> dict[str, float]:
    return valid_values(random.Random(seed))


@pytest.fixture
def county(settings, tmp_path):
    """The inbound folder with one report in each form; returns the values each agency sent."""
    settings.roster.write_bytes(write_roster_csv([WORD, PDF, PAGE, TEMPLATE, BROKEN]))
    values = {e.name: numbers(seed) for seed, e in enumerate((WORD, PDF, PAGE, TEMPLATE, BROKEN), start=1)}
    render_docx(draft_report(WORD.name, 2024, values[WORD.name]), settings.inbound / "教委年报.docx")
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-writer")
    staging = tmp_path / "staging"
    staging.mkdir()
    render_docx(draft_report(PDF.name, 2024, values[PDF.name]), staging / "公安局年报.docx")
    (pdf,) = to_pdf(soffice, [staging / "公安局年报.docx"], staging, tmp_path / "lo-profile")
    (settings.inbound / "公安局年报.pdf").write_bytes(pdf.read_bytes())
    (settings.inbound / "民政局年报.html").write_text(render_html(draft_report(PAGE.name, 2024, values[PAGE.name])),
                                                   encoding="utf-8")
    write_template(settings.inbound / "审计局.xlsx", values={
        **values[TEMPLATE.name], "meta.agency": TEMPLATE.name, "meta.uscc": TEMPLATE.uscc, "meta.year": 2024,
        "text.overview": "总体情况", "text.problems": "存在的问题"})
    # a page whose 表三 lost the row 2.其他法律行政法规禁止公开: it cannot be placed with certainty
    page = render_html(draft_report(BROKEN.name, 2024, values[BROKEN.name]))
    page, removed = re.subn(r'<tr>(?:(?!<tr>).)*?data-code="requests\.withheld_law\.natural".*?</tr>', "", page,
                            count=1, flags=re.S)
    assert removed == 1
    # and the merged cells over it one row shorter, as an editor deleting a row leaves them
    page = page.replace('rowspan="8" class="label">（三）不予公开', 'rowspan="7" class="label">（三）不予公开')
    page = page.replace('rowspan="22" class="label">三、本年度办理结果', 'rowspan="21" class="label">三、本年度办理结果')
    (settings.inbound / "司法局年报.htm").write_text(page, encoding="utf-8")
    return values


def test_documents_in_the_inbound_folder_are_read_checked_archived_and_summed(settings, county):
    originals = {p.name: p.read_bytes() for p in settings.inbound.iterdir()}
    result = intake(settings, settle_seconds=0)
    statuses = {o.file_name: (o.status, o.agency, o.year) for o in result.outcomes}
    assert statuses == {
        "教委年报.docx": ("accepted", WORD.name, 2024), "公安局年报.pdf": ("accepted", PDF.name, 2024),
        "民政局年报.html": ("accepted", PAGE.name, 2024), "审计局.xlsx": ("accepted", TEMPLATE.name, 2024),
        "司法局年报.htm": ("rejected", BROKEN.name, 2024),
    }
    assert list(settings.inbound.iterdir()) == []
    with Ledger(settings.ledger) as ledger:
        subs = {s.file_name: s for s in ledger.submissions()}
    for name, data in originals.items():  # archived byte for byte as received
        assert (settings.inbound.parent / subs[name].archived_path).read_bytes() == data, name
    for name, entry in (("教委年报.docx", WORD), ("公安局年报.pdf", PDF), ("民政局年报.html", PAGE)):
        assert subs[name].numbers == {c: float(v) for c, v in county[entry.name].items()}, name
        assert all(not f.is_error for f in subs[name].findings)
        assert all(f.cell == "" for f in subs[name].findings), name  # a document has no cells

    (refusal,) = [f for f in subs["司法局年报.htm"].findings if f.is_error]
    assert (refusal.rule, refusal.sheet, refusal.cell) == ("import.rows", "表三", "")
    assert refusal.code == "requests.withheld_law.natural"  # where the pre-filled template marks it
    assert "“2.其他法律行政法规禁止公开”" in refusal.message

    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    status = {s.agency: s.status for s in year.statuses}
    assert status == {WORD.name: "accepted", PDF.name: "accepted", PAGE.name: "accepted",
                      TEMPLATE.name: "accepted", BROKEN.name: "rejected"}
    accepted = [county[e.name] for e in (WORD, PDF, PAGE, TEMPLATE)]
    assert year.totals == pytest.approx(sum_reports(accepted))

    # the refused page's feedback: the findings, beside a template pre-filled with what was placed
    (feedback,) = [p for p in (year.outdir / "feedback").glob("*.xlsx") if p.name.startswith(BROKEN.name)]
    prefilled = read_report(feedback)
    assert prefilled.fields["meta.agency"] == BROKEN.name
    sent = county[BROKEN.name]
    placed = {c: v for c, v in prefilled.numbers.items() if not c.startswith("requests.") and v is not None}
    assert placed == {c: float(sent[c]) for c in FORM.numeric_codes if not c.startswith("requests.")}
    assert prefilled.numbers["requests.granted.natural"] == sent["requests.granted.natural"]
    assert prefilled.numbers["requests.withheld_law.natural"] is None  # its row was not in the page
    from openpyxl import load_workbook

    marked = load_workbook(feedback)["表三"]
    sheet, cell = LAYOUT.address("requests.withheld_law.natural")
    assert sheet == "表三" and "行名无法识别" in marked[cell].comment.text


def test_a_documents_narrative_goes_through_the_narrative_checks(tmp_path):
    from documents_fixtures import official_docx

    from nianbao.flows.steps.checking import check_files

    values = numbers(11)
    stated = int(values["requests.new.total"]) + 7
    path = official_docx(tmp_path / "某某局.docx", values, texts={
        "text.overview": f"2024年，本局共新收政府信息公开申请{stated}件，均按期答复。"})
    (result,) = check_files([str(path)], last_year=2026)
    (count,) = [f for f in result.findings if f.rule == "text.count"]
    assert count.sheet == "文字部分" and count.cell == "" and f"{stated} 件" in count.message
    assert not result.rejected  # a warning: the tables were placed, the text disagrees with them
