"""The year's validation report (flows.outputs.validation): suites over every readable submission, a Chinese
review report, and Great Expectations' Data Docs that work offline."""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nianbao.flows.outputs import validation
from nianbao.flows.outputs.validation import (
    CDN,
    REVIEW_NAME,
    SUITE_AGENCIES,
    SUITE_PLAUSIBILITY,
    SUITE_ROLLUP,
    VENDOR,
    offline_html,
    peers_frame,
    shares_frame,
    wide_frame,
    write_validation_reports,
)
from nianbao.flows.steps.sample import apply_fault, roster, valid_values
from nianbao.schemas.expectations import (
    EXPECTATIONS,
    OUTLIER_CELLS,
    SHARE_MIN_REQUESTS,
    SKIPPED,
    SUITES,
    WITHHELD_CODES,
)
from nianbao.schemas.form import FORM, TEMPLATE_VERSION

YEAR = 2024
CODES = list(FORM.numeric_codes)
ASSETS = Path(validation.__file__).with_name("assets") / "gx"


def frame(rows: list[tuple[str, str, str, dict]]) -> pd.DataFrame:
    data = [{"单位名称": name, "统一社会信用代码": uscc, "状态": status, **{c: float(v[c]) for c in CODES}}
            for name, uscc, status, v in rows]
    return pd.DataFrame(data, columns=["单位名称", "统一社会信用代码", "状态", *CODES])


@pytest.fixture(scope="module")
def county():
    """Ten readable reports of a 12-agency roster (two missing): the second rejected for a broken R3.1
    balance, the third with a licensing count far above everyone's, the fourth tenfold its last year."""
    rng = random.Random(1)
    agencies = roster()[:12]
    rows = []
    for i, agency in enumerate(agencies[:10]):
        values = valid_values(rng)
        status = "已通过"
        if i == 1:
            assert apply_fault(values, "balance", agency)[0] == {"R3.1"}
            status = "未通过"
        if i == 2:
            values["active.licensing.decisions"] = 500_000
        rows.append((agency.name, agency.uscc, status, values))
    accepted = [v for _, _, status, v in rows if status == "已通过"]
    rollup = {c: float(sum(v[c] for v in accepted)) for c in CODES}
    last = {c: float(rows[3][3][c]) for c in CODES}
    last["active.normative.in_force"] = max(last["active.normative.in_force"], 5) * 40
    return {
        "agencies": frame(rows),
        "rollup": rollup,
        "roster": [a.name for a in agencies],
        "names": [a.name for a in agencies],
        "previous": {agencies[3].name: last},
        "last_totals": {c: v / 5 for c, v in rollup.items()},
    }


@pytest.fixture(scope="module")
def published(county, tmp_path_factory):
    out = tmp_path_factory.mktemp("gx") / "reports"
    names = county["names"]
    feedback = out.parent / "feedback" / f"{names[1]}-反馈.xlsx"
    feedback.parent.mkdir(parents=True)
    feedback.write_bytes(b"PK")
    level = logging.getLogger("great_expectations").level
    result = write_validation_reports(
        year=YEAR, agencies=county["agencies"], rollup=county["rollup"], roster=county["roster"], out_dir=out,
        previous=county["previous"], last_totals=county["last_totals"], county="巫山县",
        feedback={names[1]: feedback},
    )
    assert logging.getLogger("great_expectations").level == level  # quieted only for the run
    return out, result


def outcome(result, part: str, key: str):
    (found,) = [o for o in result.outcomes if o.part == part and o.key == key]
    return found


def test_the_site_and_the_review_report_are_written_into_out_dir(published):
    out, result = published
    assert result.index_html == out.resolve() / "index.html" and result.index_html.is_file()
    assert result.review_html == out.resolve() / REVIEW_NAME and result.review_html.is_file()
    assert any((out / "validations").rglob("*.html"))
    assert [r.suite for r in result.reports] == [s.key for s in SUITES] == [SUITE_AGENCIES, SUITE_PLAUSIBILITY,
                                                                           SUITE_ROLLUP]


def test_a_rejected_agency_is_counted_where_it_breaks_a_rule(published, county):
    _, result = published
    broken = county["names"][1]
    r31 = outcome(result, "各单位数据·勾稽关系", "R3.1")
    assert r31.status == "failed" and r31.checked == 10
    assert [(h.name, h.status) for h in r31.hits] == [(broken, "未通过")] and r31.rejected == 1
    assert any("自然人" in d for d in r31.hits[0].details)
    assert r31.hits[0].feedback.name == f"{broken}-反馈.xlsx"
    agencies = result.reports[0]
    assert not agencies.success and agencies.failed == 1 and agencies.warned == 0
    assert agencies.failures == [f"【未满足】R3.1 表三各列收支平衡——1 个单位不满足（其中 1 个的报告未通过）：{broken}"]
    for key in ("R3.2", "R3.3", "R4.1", "cell.empty", "cell.negative", "columns", "unique"):
        assert next(o for o in result.outcomes if o.suite == SUITE_AGENCIES and o.key == key).status == "passed"


def test_completeness_is_progress_not_a_failed_check(published, county):
    _, result = published
    progress = result.progress
    assert (progress.listed, progress.reported, progress.accepted, progress.rejected) == (12, 10, 9, 1)
    assert progress.missing == sorted(county["names"][10:])
    missing = county["names"][10]
    assert not any(missing in line for r in result.reports for line in r.failures)
    assert {o.key for o in result.outcomes} <= set(EXPECTATIONS)  # no roster or row-count expectation
    html = result.review_html.read_text(encoding="utf-8")
    assert re.search(r"报送进度 <span[^>]*>10/12</span>", html)
    assert f"尚未报送（2 个）：{'、'.join(progress.missing)}" in html


def test_far_outside_its_peers_is_a_warning(published, county):
    _, result = published
    outlier = outcome(result, "合理性·同类比较", "outlier")
    assert outlier.severity == "warning" and outlier.status == "failed" and outlier.checked == 10
    hit = next(h for h in outlier.hits if h.name == county["names"][2])
    assert any(d.startswith("表二“行政许可／本年处理决定数量”为 500000；同为县级的 10 个单位通常为") for d in hit.details)
    plausibility = result.reports[1]
    assert plausibility.success and plausibility.warned == plausibility.failed >= 1  # warnings never fail a suite


def test_a_tenfold_jump_against_its_own_last_year(published, county):
    _, result = published
    jump = outcome(result, "合理性·与上年比较", "jump")
    assert jump.status == "failed" and jump.checked == 1
    (hit,) = jump.hits
    assert hit.name == county["names"][3] and hit.status == "已通过"
    assert any("现行有效件数" in d and "只有上年的 1/" in d for d in hit.details)


def test_the_county_total_against_last_years(published):
    _, result = published
    county = outcome(result, "全县汇总·与上年比较", "county.jump")
    assert county.status == "failed" and county.hits[0].name == "全县汇总" and county.hits[0].status == ""
    assert all("是上年的 5 倍" in d for d in county.hits[0].details)
    rollup = result.reports[2]
    assert rollup.success and rollup.failed == rollup.warned == 1
    for key in ("R3.1", "R3.2", "R3.3", "R4.1", "cell.empty", "cell.negative"):
        assert outcome(result, f"全县汇总·{'勾稽关系' if key[0] == 'R' else '栏目数值'}", key).status == "passed"


def test_the_review_report_is_chinese_and_says_what_it_checked(published, county):
    out, result = published
    html = result.review_html.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "巫山县2024年度政府信息公开工作年度报告" in html
    assert f"规则版本 {TEMPLATE_VERSION}" in html and "Great Expectations 1." in html and "生成于 20" in html
    for o in result.outcomes:
        assert o.title in html and o.meaning in html
    broken = county["names"][1]
    assert f'<a href="../feedback/{broken}-反馈.xlsx" title="下载该单位的反馈表">{broken}</a>' in html
    assert 'data-count="1">1 个单位</b>不满足（其中 <span class="nowrap">1 个</span>的报告未通过）' in html
    assert '<a href="index.html">技术附录首页</a>' in html
    pages = re.findall(r'href="(validations/[^"]+)"', html)
    assert pages and all((out / p).is_file() for p in pages)


def test_gx_pages_link_back_to_the_review_report(published):
    out, _ = published
    for page in [out / "index.html", *(out / "validations").rglob("*.html")]:
        up = "../" * (len(page.relative_to(out).parts) - 1)
        assert f'<a href="{up}{REVIEW_NAME}"' in page.read_text(encoding="utf-8"), page


# --------------------------------------------------------------------------
# Offline: no file of the site refers to anything by an outside address
# --------------------------------------------------------------------------

REFERENCE = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?|\bimport\s*\(\s*["'])(https?://[^"')\s>]+)""",
    re.IGNORECASE)
"""An address used to load something: an attribute, a CSS url() or @import, a JS dynamic import."""


def outside_references(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.suffix.lower() in (".html", ".htm", ".css", ".js") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)  # licence banners and comments are no reference
            hits = [m.group(1) for m in REFERENCE.finditer(text) if not m.group(1).startswith("http://www.w3.org/")]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_no_outside_reference_in_the_site(published):
    out, _ = published
    assert outside_references(out) == {}


def test_every_local_reference_of_the_site_exists(published):
    out, _ = published
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for ref in re.findall(r'\b(?:src|href)="([^"#?][^"]*)"', text):
            if ref.startswith(("javascript:", "mailto:")):
                continue
            target = (page.parent / ref.split("?")[0]).resolve()
            if page.name == "index.html" or "favicon" not in ref:  # GX's own favicon path is one level short
                assert target.exists(), (page.relative_to(out), ref)


def test_vendored_files_referenced_by_the_stylesheets_exist(published):
    out, _ = published
    css = (out / VENDOR / "fontawesome-free" / "css" / "all.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((\.\./webfonts/[^)]+\.woff2)\)", css))
    assert len(fonts) == 4
    for font in fonts:
        assert (out / VENDOR / "fontawesome-free" / "css" / font).resolve().is_file()


def test_every_cdn_address_of_gx_templates_is_vendored_or_dropped():
    """A new GX release with other CDN files fails here, not in a county office without network."""
    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    used = set()
    for path in templates.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']""", path.read_text(encoding="utf-8")))
    dropped = {u for u in used if u.startswith(("https://cdn.jsdelivr.net/npm/vega", "https://greatexpectations.io"))}
    assert used - dropped - set(CDN) == set()
    for path in CDN.values():
        assert (ASSETS / path).is_file(), path


def test_the_vendored_files_are_the_ones_gx_asks_for():
    """bootstrap.min.js and popper.min.js carry the sha384 GX's templates pin them to."""
    def sri(path: Path) -> str:
        return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()

    assert sri(ASSETS / "bootstrap/js/bootstrap.min.js") == "sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM"
    assert sri(ASSETS / "popper.js/umd/popper.min.js") == "sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q"
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    for folder in sorted(p for p in ASSETS.iterdir() if p.is_dir()):
        assert f"`{folder.name}/`" in readme
        assert any(f.name.startswith("LICENSE") for f in folder.iterdir()), folder
    assert sum(f.stat().st_size for f in ASSETS.rglob("*") if f.is_file()) < 1_500_000


def test_offline_html_rewrites_a_page_at_any_depth():
    page = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="https://example.org/new.js"></script>
<style>.b a{background:url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png')}
.c{background:url(https://example.org/x.png)}</style></head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261130T215111Z"/>
<p>Data Docs by <a href="https://greatexpectations.io">Great Expectations</a>.</p>
<footer><p>Newsletter <a href="https://greatexpectations.io/newsletter?utm=1">Subscribe</a></p></footer>
</body></html>"""
    done = offline_html(page, "../../", back=REVIEW_NAME)
    assert 'href="../../static/vendor/bootstrap/css/bootstrap.min.css"' in done
    assert '<script src="../../static/vendor/bootstrap/js/bootstrap.min.js"></script>' in done
    assert "vega" not in done and "example.org" not in done and "Newsletter" not in done
    assert "url('../../static/images/logo-long.png')" in done and 'src="../../static/images/logo-long.png"' in done
    assert "Data Docs by Great Expectations." in done
    assert f'<a href="../../{REVIEW_NAME}" style="white-space:nowrap">返回中文校验报告</a></footer>' in done
    assert not re.search(r"https?://", done)


# --------------------------------------------------------------------------
# The frames behind the plausibility checks
# --------------------------------------------------------------------------


def test_peers_are_agencies_of_the_same_level_when_there_are_enough():
    rows = [{"单位名称": f"县{i}", "层级": "县", "active.licensing.decisions": float(10 + i)} for i in range(9)]
    rows += [{"单位名称": f"乡{i}", "层级": "乡", "active.licensing.decisions": 0.0} for i in range(3)]
    rows[0]["active.licensing.decisions"] = 5000.0
    rows[-1]["active.licensing.decisions"] = 400.0  # large for a township, compared with the whole county
    peers = peers_frame(wide_frame(pd.DataFrame(rows)))
    licensing = peers[peers["代码"] == "active.licensing.decisions"].set_index("单位名称")
    assert set(peers["代码"]) == set(OUTLIER_CELLS) & {"active.licensing.decisions"}
    assert licensing.loc["县0", "比较对象"] == "同为县级的 9 个单位" and licensing.loc["乡2", "比较对象"] == "全县 12 个单位"
    assert licensing.loc["县0", "偏离程度"] > 2 and licensing.loc["县5", "偏离程度"] == 0
    assert licensing.loc["乡2", "偏离程度"] > 0
    assert peers_frame(wide_frame(pd.DataFrame(rows[:5]))).empty  # too few agencies to compare


def test_shares_compare_with_the_county_and_skip_small_numbers():
    def agency(name, handled, granted, withheld):
        row = {"单位名称": name, "requests.total.total": float(handled), "requests.granted.total": float(granted)}
        row.update({code: 0.0 for code in WITHHELD_CODES})
        row[WITHHELD_CODES[0]] = float(withheld)
        return row

    agencies = wide_frame(pd.DataFrame([agency("甲", 20, 2, 18), agency("乙", SHARE_MIN_REQUESTS - 1, 0, 0)]))
    rollup = {"requests.total.total": 100.0, "requests.granted.total": 80.0, WITHHELD_CODES[0]: 10.0}
    shares = shares_frame(agencies, rollup).set_index("办理结果")
    assert list(shares["单位名称"]) == ["甲", "甲"]  # 乙 handled too few requests
    assert shares.loc["予以公开", "比例"] == 0.1 and shares.loc["予以公开", "全县比例"] == 0.8
    assert shares.loc["予以公开", "偏差"] == pytest.approx(-0.7) and shares.loc["不予公开", "偏差"] == pytest.approx(0.8)
    assert shares_frame(agencies, {}).empty


def test_an_unreadable_cell_is_reported_once_not_as_an_imbalance(tmp_path):
    rng = random.Random(5)
    agencies = roster()[:2]
    rows = [(a.name, a.uscc, "未通过" if i else "已通过", valid_values(rng)) for i, a in enumerate(agencies)]
    table = frame(rows)
    table.loc[1, "requests.new.natural"] = np.nan  # a cell the gate found to hold no number
    result = write_validation_reports(year=YEAR, agencies=table, rollup={c: 0.0 for c in CODES},
                                      roster=[a.name for a in agencies], out_dir=tmp_path)
    empty = outcome(result, "各单位数据·栏目数值", "cell.empty")
    assert [h.name for h in empty.hits] == [agencies[1].name]
    assert empty.hits[0].details == ["表三“一、本年新收政府信息公开申请数量／自然人”没有可读取的数字（未填写或不是数字）"]
    assert all(o.status == "passed" for o in result.outcomes if o.part == "各单位数据·勾稽关系")


def test_an_empty_year_shows_progress_and_skips_the_comparisons(tmp_path):
    empty = frame([])
    rollup = {c: 0.0 for c in CODES}
    for _ in range(2):  # a second run replaces the first one's pages
        result = write_validation_reports(year=YEAR, agencies=empty, rollup=rollup, roster=["甲单位", "乙单位"],
                                          out_dir=tmp_path)
    assert result.progress.missing == ["乙单位", "甲单位"] and result.progress.reported == 0
    assert all(r.success and r.failed == 0 for r in result.reports)
    skipped = {o.part: o.note for o in result.outcomes if o.status == "skipped"}
    assert skipped["合理性·同类比较"] == SKIPPED["同类比较"] and skipped["合理性·与上年比较"] == SKIPPED["与上年比较"]
    assert "全县汇总·与上年比较" in skipped
    ran = {o.part for o in result.outcomes if o.status != "skipped"}
    assert len(list((tmp_path / "validations").rglob("*.html"))) == len(ran) == len(result.pages)  # this run only
    assert (tmp_path / REVIEW_NAME).is_file() and outside_references(tmp_path) == {}
