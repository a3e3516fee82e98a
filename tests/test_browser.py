"""The pages people open, in a real browser with every network request blocked.

Debian's Chromium (``make test`` installs it) driven by Playwright for Python, with no browser download:
``chromium.launch(executable_path=...)``.  Each page is opened from disk in a context that is offline,
resolves no host name and aborts every request that is not a ``file:``/``data:`` one (and records it):
what a county office without network sees.

The sample county (``nianbao demo``'s) is run through the plain functions the flow's tasks call, for
2023 and then 2024, and its 2024 report is published, so every page has real content.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require_tool
from nianbao.flows.outputs.annual_report import write_annual_report
from nianbao.flows.settings import Settings
from nianbao.flows.steps.demo import prepare_demo, write_sample
from nianbao.flows.steps.intake import intake
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import load_roster
from test_gx_reports import outside_references

WIDTHS = (390, 1280)
LOCAL = ("file:", "data:", "about:")


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        if os.environ.get("CI"):
            pytest.fail("playwright is required in CI: it is in the test extra (pip install -e '.[test]')")
        pytest.skip("playwright is not installed (pip install playwright; no browser download is needed)")
    return sync_playwright


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_tool("chromium", package="chromium")


@pytest.fixture(scope="module")
def browser(chromium):
    sync_playwright = _sync_playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """The sample county's outbound/2024 after a run of 2023 and 2024 and ``nianbao publish``."""
    root = tmp_path_factory.mktemp("county")
    settings = Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var",
                        roster=root / "roster.csv")
    settings.inbound.mkdir()
    prepare_demo(settings, 2024)
    early = settings.inbound.parent / "2024-later"
    shutil.move(settings.inbound, early)  # 2023 first, as the years come
    settings.inbound.mkdir()
    write_sample(settings.inbound, 2023, seed=2023)
    intake(settings, settle_seconds=0)
    roster = load_roster(settings.roster)
    write_year_outputs(settings, 2023, roster)
    for path in early.iterdir():
        shutil.move(path, settings.inbound / path.name)
    intake(settings, settle_seconds=0)
    write_year_outputs(settings, 2024, roster)
    write_annual_report(settings, 2024)
    write_year_outputs(settings, 2024, roster, force=True)  # the office page now links the published report
    return settings.outbound / "2024"


class Opened:
    """A page opened offline: the page, and what it tried to fetch from outside or failed to load."""

    def __init__(self, browser, path: Path, width: int):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.evaluate("document.fonts.ready.then(() => true)")

    def _route(self, route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def overflow(self) -> tuple[int, int]:
        return self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser):
    pages: list[Opened] = []

    def _open(path: Path, width: int = 1280) -> Opened:
        pages.append(Opened(browser, path, width))
        return pages[-1]

    yield _open
    for page in pages:
        page.close()


def _validation_page(county: Path, part: str) -> Path:
    (page,) = (county / "reports" / "validations" / part).rglob("*.html")
    return page


def test_no_file_of_the_year_refers_to_anything_outside(county):
    """Every HTML, CSS and JS file under outbound/Y/ (pages, review report, Data Docs, vendored files)."""
    assert {"index.html", "年度报告.html", "reports/校验报告.html", "reports/index.html"} <= {
        str(p.relative_to(county)) for p in county.rglob("*.html")}
    assert outside_references(county) == {}


def test_the_data_docs_index_lists_the_runs_offline(county, opened):
    shown = opened(county / "reports" / "index.html")
    page = shown.page
    page.wait_for_selector("#Validation-Results table tbody tr[data-index]")
    runs = page.locator("#Validation-Results table tbody tr[data-index]")
    parts = {p.name for p in (county / "reports" / "validations").iterdir()}
    assert runs.count() == len(parts) >= 6
    listed = page.locator("#Validation-Results table tbody").inner_text()
    assert all(part in listed for part in parts)
    assert page.evaluate("typeof window.jQuery") == "function"
    assert shown.blocked == [] and shown.failed == [] and shown.errors == []


def test_a_validation_page_shows_its_status_icons_and_styles(county, opened):
    shown = opened(_validation_page(county, "各单位数据·勾稽关系"))
    page = shown.page
    icons = page.locator("i.fas")
    assert icons.count() > 0
    widths = page.evaluate("[...document.querySelectorAll('i.fas')].map(i => i.getBoundingClientRect().width)")
    assert min(widths) > 0  # the glyphs are drawn: the vendored webfont loaded
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status == 'loaded')")
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"  # bootstrap
    assert "返回中文校验报告" in page.locator("footer").inner_text()
    assert shown.blocked == [] and shown.failed == [] and shown.errors == []


def test_the_review_report_opens_offline(county, opened):
    shown = opened(county / "reports" / "校验报告.html")
    page = shown.page
    assert "校验报告" in page.locator("h1").inner_text()
    assert page.locator("#progress-title").inner_text().replace(" ", "").startswith("报送进度37/41")
    rule = page.locator('article[data-key="R3.1"]').first
    assert "未满足" in rule.locator(".badge").inner_text()
    assert rule.locator(".tag.rejected").count() >= 1  # a rejected agency counted where it breaks the rule
    assert rule.locator("a[href^='../feedback/']").count() >= 1
    assert shown.blocked == [] and shown.failed == [] and shown.errors == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["index.html", "reports/校验报告.html", "年度报告.html"])
def test_no_page_scrolls_sideways(county, opened, name, width):
    shown = opened(county / name, width)
    scroll, inner = shown.overflow()
    assert scroll <= inner, f"{name} at {width}px is {scroll}px wide"
    assert shown.blocked == [] and shown.failed == [] and shown.errors == []


def _lines(page, selector: str) -> list[int]:
    """How many lines the text of each element takes."""
    return page.evaluate("""sel => [...document.querySelectorAll(sel)].filter(e => e.offsetParent).map(e => {
        const r = document.createRange(); r.selectNodeContents(e);
        return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })""", selector)


@pytest.mark.parametrize("width", WIDTHS)
def test_short_labels_never_break(county, opened, width):
    office = opened(county / "index.html", width).page
    assert set(_lines(office, "td.label")) == {1}  # 已通过 never becomes 已通/过
    assert set(_lines(office, ".summary span")) == {1}
    review = opened(county / "reports" / "校验报告.html", width).page
    assert set(_lines(review, ".badge")) == {1} and set(_lines(review, ".tag")) == {1}


def test_the_office_page_on_a_phone_shows_cards(county, opened):
    page = opened(county / "index.html", 390).page
    assert page.evaluate("getComputedStyle(document.querySelector('table.status thead')).display") == "none"
    card = page.locator("table.status tbody tr").first
    assert card.evaluate("e => getComputedStyle(e).display") in ("block", "grid")  # a card, not a table row
    labels = card.evaluate("""e => [...e.querySelectorAll('td')].filter(td => td.offsetParent)
        .map(td => [td.dataset.label, getComputedStyle(td, '::before').content])""")
    assert ["单位名称", 'attr(data-label)'] in labels or ["单位名称", '"单位名称"'] in labels  # each value labelled
    assert page.locator("svg.bar").count() >= 2


def test_the_office_page_links_the_published_report_and_the_review(county, opened):
    page = opened(county / "index.html").page
    hrefs = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert {"年度报告.html", "年度报告.docx", "reports/校验报告.html", "reports/index.html"} <= set(hrefs)
    assert page.locator("p.updated time").inner_text()[:2] == "20"


def test_the_published_report_prints_with_page_numbers(county, chromium, tmp_path):
    """Chromium prints @page margin boxes: every page carries its number; headings stay with their tables."""
    pdftotext = require_tool("pdftotext", package="poppler-utils")
    pdf = tmp_path / "年度报告.pdf"
    profile = tmp_path / "profile"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
                    f"--print-to-pdf={pdf}", (county / "年度报告.html").resolve().as_uri()],
                   capture_output=True, timeout=180, check=True)
    pages = []
    while True:
        n = len(pages) + 1
        done = subprocess.run([pdftotext, "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], check=False,
                              capture_output=True, text=True)
        if done.returncode != 0 or n > 30:
            break
        pages.append(done.stdout)
    total = len(pages)
    assert total >= 3
    for n, text in enumerate(pages, 1):
        assert f"第 {n} 页，共 {total} 页" in text.replace("\u3000", " ")
    for heading, header in (("三、收到和处理政府信息公开申请情况", "申请人情况"), ("四、政府信息公开行政复议", "行政复议")):
        (page,) = [text for text in pages if heading in text]
        assert header in page.split(heading, 1)[1]  # the table's header is on the heading's page
