"""The county office's page for a report year: ``Y/index.html``, in Chinese.

Every value that came from a submission is escaped: an agency called
``<script>…`` shows as text.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from nianbao.flows.outputs.rollup import ACCEPTED, MISSING, REJECTED, STATUS_LABELS, YearResult
from nianbao.flows.settings import Settings

STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #999;padding:.3em .6em;text-align:left}
th{background:#f2f2f2}.accepted{background:#e2f0d9}.rejected{background:#ffc7ce}.missing{background:#fff2cc}
.summary span{display:inline-block;margin-right:1.5em;font-size:1.1em}.note{color:#666;font-size:.9em}
"""


def _link(href: Path | str, text: str, base: Path) -> str:
    rel = os.path.relpath(href, base) if isinstance(href, Path) else href
    return f'<a href="{escape(rel.replace(os.sep, "/"), quote=True)}">{escape(text)}</a>'


def index_html(result: YearResult, settings: Settings, feedback: dict[str, Path]) -> str:
    base = result.outdir
    listed = [s for s in result.statuses if s.on_roster]
    unlisted = [s for s in result.statuses if not s.on_roster]
    counts = {k: sum(1 for s in listed if s.status == k) for k in (ACCEPTED, REJECTED, MISSING)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(settings.county)}{result.year}年度政府信息公开工作年度报告汇总</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(settings.county)} {result.year} 年度政府信息公开工作年度报告汇总</h1>",
        '<p class="summary">'
        + "".join(f"<span>{STATUS_LABELS[k]}：<b>{counts[k]}</b></span>" for k in (ACCEPTED, REJECTED, MISSING))
        + f"<span>名单共 {len(listed)} 个单位</span></p>",
        "<ul>",
        f"<li>全县汇总表：{_link(base / 'rollup.xlsx', 'rollup.xlsx', base)}（与年报模板格式相同，"
        f"另含“各单位数据”“报送情况”两个工作表）</li>",
        f"<li>报送情况：{_link(base / 'status.csv', 'status.csv', base)}；"
        f"全部问题清单：{_link(base / 'findings.csv', 'findings.csv', base)}；"
        f"各单位数据（每个单位一行）：{_link(base / 'agencies.csv', 'agencies.csv', base)}</li>",
    ]
    if result.reports_index:
        parts.append(f"<li>数据校验报告（Great Expectations）：{_link(result.reports_index, '校验报告首页', base)}</li>")
    parts.append("</ul>")
    if result.report_pages:
        parts.append("<h2>数据校验报告</h2><ul>")
        parts += [f"<li>{_link(page, name, base)}：{'通过' if ok else '<b>未通过</b>'}</li>"
                  for name, page, ok in result.report_pages]
        parts.append("</ul>")
    if result.rollup_findings:
        parts.append('<h2 class="rejected">汇总表复核未通过（请联系维护人员）</h2><ul>')
        parts += [f"<li>{escape(f.where)} [{escape(f.rule)}] {escape(f.message)}</li>" for f in result.rollup_findings]
        parts.append("</ul>")
    if result.expectation_failures:
        parts.append("<h2>校验报告中未满足的期望</h2><ul>")
        parts += [f"<li>{escape(x)}</li>" for x in result.expectation_failures]
        parts.append("</ul>")
    parts.append("<h2>各单位报送情况</h2>")
    parts.append(_table(listed, feedback, base))
    if unlisted:
        parts.append("<h2>不在名单中的报送单位（未计入汇总）</h2>")
        parts.append('<p class="note">如确属本县报送单位，请将其加入名单文件后重新运行。</p>')
        parts.append(_table(unlisted, feedback, base))
    parts.append(f'<p class="note">名单文件：{escape(str(settings.roster))}。本页由 nianbao 生成。</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(statuses, feedback: dict[str, Path], base: Path) -> str:
    rows = ["<table><tr><th>序号</th><th>单位名称</th><th>统一社会信用代码</th><th>状态</th><th>文件</th>"
            "<th>收到时间</th><th>错误</th><th>警告</th><th>反馈表</th></tr>"]
    for i, s in enumerate(statuses, 1):
        c = s.current
        fb = feedback.get(s.agency)
        rows.append(
            f'<tr class="{s.status}"><td>{i}</td><td>{escape(s.agency)}</td><td>{escape(s.uscc)}</td>'
            f"<td>{STATUS_LABELS[s.status]}</td><td>{escape(c.file_name) if c else ''}</td>"
            f"<td>{escape(c.received_at[:19].replace('T', ' ')) if c else ''}</td>"
            f"<td>{c.errors if c else ''}</td><td>{c.warnings if c else ''}</td>"
            f"<td>{_link(fb, '下载反馈表', base) if fb else ''}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)
