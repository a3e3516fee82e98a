"""A county office's workspace, as the office uses it: the nianbao command in a subprocess, in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from nianbao.flows.settings import CONFIG_NAME, load
from nianbao.flows.steps.demo import write_sample
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.flows.steps.sample import roster as sample_roster

ENGLISH = ("usage:", "options:", "positional arguments", "the following arguments", "invalid choice", "error:",
           "Traceback")


def nianbao(*args, cwd: Path, timeout: float = 600, tz: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIANBAO_", "PREFECT_"))}
    if tz is not None:
        env["TZ"] = tz  # the clock of the machine or service that runs the command
    env["PREFECT_HOME"] = os.environ["PREFECT_HOME"]  # the tests' own Prefect home (conftest)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    done = subprocess.run([sys.executable, "-m", "nianbao", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert not any(word in done.stdout + done.stderr for word in ENGLISH), done.stdout + done.stderr
    return done


def test_init_writes_the_settings_and_the_folders(tmp_path):
    done = nianbao("init", "奉节", "--county", "奉节县", "--year", "2024", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ws = tmp_path / "奉节"
    assert {p.name for p in ws.iterdir()} == {CONFIG_NAME, "inbound", "outbound", "var", "roster.csv"}
    settings = load(environ={}, cwd=ws / "inbound")  # found from a subfolder, as git finds .git
    assert (settings.county, settings.year, settings.time_zone, settings.level) == ("奉节县", 2024, "Asia/Shanghai", "县")
    assert settings.inbound == ws / "inbound" and settings.config == ws / CONFIG_NAME
    again = nianbao("init", "奉节", "--county", "奉节县", cwd=tmp_path)
    assert again.returncode == 2 and "已存在" in again.stderr


def test_without_a_workspace_nothing_is_created(tmp_path):
    for command in (["run"], ["status"], ["reprocess", "abcdef12"]):
        done = nianbao(*command, cwd=tmp_path)
        assert done.returncode == 2 and "nianbao init" in done.stderr and CONFIG_NAME in done.stderr, command
    assert list(tmp_path.iterdir()) == []  # no var/, no inbound/, nothing


def test_wrong_paths_are_errors(tmp_path):
    assert nianbao("init", "ws", "--county", "奉节县", cwd=tmp_path).returncode == 0
    ws = tmp_path / "ws"
    done = nianbao("run", "--inbound", tmp_path / "no" / "such", cwd=ws)
    assert done.returncode == 2 and "收件文件夹不存在" in done.stderr and "no/such" in done.stderr
    done = nianbao("run", "--roster", ws / "名单.csv", cwd=ws)
    assert done.returncode == 2 and "单位名单文件不存在" in done.stderr and "名单.csv" in done.stderr
    done = nianbao("run", "--outbound", tmp_path / "gone" / "out", cwd=ws)
    assert done.returncode == 2 and "输出文件夹的上级文件夹不存在" in done.stderr
    assert not (tmp_path / "gone").exists() and not (tmp_path / "no").exists()


def test_a_county_office_runs_its_own_county(tmp_path):
    assert nianbao("init", "ws", "--county", "奉节县", "--year", "2024", cwd=tmp_path).returncode == 0
    ws = tmp_path / "ws"
    entries = [Entry(a.name.replace("巫山县", "奉节县"), a.uscc) for a in sample_roster()[:3]]
    (ws / "roster.csv").write_bytes(write_roster_csv(entries))
    write_sample(ws / "inbound", 2024)  # the sample county's reports: not on 奉节县's roster, still summed apart
    done = nianbao("run", "--settle", "0", cwd=ws / "inbound")  # from a subfolder of the workspace
    assert done.returncode == 0, done.stderr
    cover = openpyxl.load_workbook(ws / "outbound" / "2024" / "rollup.xlsx", read_only=True)["封面"]
    assert "奉节县" in [c for row in cover.iter_rows(values_only=True) for c in row if c]
    assert "奉节县" in (ws / "outbound" / "2024" / "index.html").read_text(encoding="utf-8")
    assert not (ws / "inbound" / "var").exists() and not (tmp_path / "var").exists()


@pytest.mark.parametrize("args, words", [
    (["check"], "缺少必须给出的参数"),
    (["frobnicate"], "无效"),
    (["template", "-o", "t.xlsx", "--year", "二〇二四"], "应为整数"),
    (["template", "-o", "t.xlsx", "--year", "2099"], "报告年度应为 2021 至"),
    (["check", "没有这个文件.xlsx"], "找不到文件：没有这个文件.xlsx"),
    (["run", "--bogus"], "无法识别的参数"),
])
def test_the_command_line_speaks_chinese(tmp_path, args, words):
    done = nianbao(*args, cwd=tmp_path)
    assert done.returncode == 2 and words in done.stderr, done.stderr


def test_help_is_chinese(tmp_path):
    done = nianbao("-h", cwd=tmp_path)
    assert done.returncode == 0 and "用法：" in done.stdout and "选项" in done.stdout and "命令" in done.stdout
    assert "init" in done.stdout and "显示本帮助并退出" in done.stdout


@pytest.mark.parametrize("cell, words", [
    ("1.15002E+17", "科学计数法"),
    ("11500237MB1234567X", "校验位"),
])
def test_roster_errors_name_the_row(tmp_path, cell, words):
    assert nianbao("init", "ws", "--county", "奉节县", cwd=tmp_path).returncode == 0
    (tmp_path / "ws" / "roster.csv").write_text(f"单位名称,统一社会信用代码\n奉节县教育委员会,\n奉节县公安局,{cell}\n",
                                                 encoding="utf-8")
    done = nianbao("run", cwd=tmp_path / "ws")
    assert done.returncode == 1 and "第 3 行（奉节县公安局）" in done.stderr and words in done.stderr, done.stderr


def test_roster_duplicates_name_both_rows(tmp_path):
    assert nianbao("init", "ws", "--county", "奉节县", cwd=tmp_path).returncode == 0
    (tmp_path / "ws" / "roster.csv").write_text("单位名称,统一社会信用代码\n奉节县公安局,\n奉节县教育委员会,\n奉节县公安局,\n",
                                                 encoding="utf-8")
    done = nianbao("run", cwd=tmp_path / "ws")
    assert done.returncode == 1 and "第 4 行（奉节县公安局）与第 2 行的单位名称重复" in done.stderr


def test_the_demo_stays_in_its_own_workspace(tmp_path):
    done = nianbao("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    demo = tmp_path / "nianbao-demo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nianbao-demo"]
    assert (demo / CONFIG_NAME).exists() and (demo / "outbound" / "2024" / "index.html").exists()
    assert "rm -rf nianbao-demo" in done.stdout
    published = nianbao("publish", cwd=demo)
    assert published.returncode == 0, published.stderr
    assert "名单上有 9 个单位的年报未计入汇总" in published.stdout  # 4 missing, 5 with mistakes
    # an office's own workspace is never turned into a demo
    assert nianbao("init", "office", "--county", "奉节县", cwd=tmp_path).returncode == 0
    refused = nianbao("demo", "office", cwd=tmp_path)
    assert refused.returncode == 1 and "不是演示工作区" in refused.stderr


def test_ctrl_c_stops_at_once_and_loses_nothing(tmp_path):
    import signal
    import sqlite3
    import time

    assert nianbao("init", "ws", "--county", "巫山县", "--year", "2024", cwd=tmp_path).returncode == 0
    ws = tmp_path / "ws"
    (ws / "roster.csv").write_bytes(write_roster_csv([Entry(a.name, a.uscc) for a in sample_roster()]))
    names = {p.name for p in write_sample(ws / "inbound", 2024)}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIANBAO_", "PREFECT_"))}
    env["PREFECT_HOME"] = os.environ["PREFECT_HOME"]
    proc = subprocess.Popen([sys.executable, "-m", "nianbao", "run", "--settle", "0"], cwd=ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(8)  # Prefect's temporary server is starting, or the intake has begun
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole process group
    sent = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 3, err
    assert proc.returncode == 130 and err.strip().endswith("已中断。"), err
    assert not any(word in out + err for word in (*ENGLISH, "Error", "内部错误")), err
    # nothing lost: a second run finds every file, each recorded once
    done = nianbao("run", "--settle", "0", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert list((ws / "inbound").iterdir()) == []
    db = sqlite3.connect(ws / "var" / "ledger.sqlite3")
    recorded = [r[0] for r in db.execute("SELECT file_name FROM submissions")]
    db.close()
    assert sorted(recorded) == sorted(names)


def test_every_file_in_inbound_is_accounted_for(tmp_path):
    import csv
    import io
    import zipfile

    import docx

    from nianbao.flows.excel.template import template_bytes
    from nianbao.flows.steps.sample import valid_values
    import random

    assert nianbao("init", "ws", "--county", "巫山县", "--year", "2024", cwd=tmp_path).returncode == 0
    ws, inbound = tmp_path / "ws", tmp_path / "ws" / "inbound"
    audit = Entry("巫山县审计局", "")
    (ws / "roster.csv").write_bytes(write_roster_csv([audit, Entry("巫山县统计局", "")]))
    (inbound / "审计局").mkdir()
    (inbound / "审计局" / "年报.xlsx").write_bytes(template_bytes(values={
        **valid_values(random.Random(7)), "meta.agency": audit.name, "meta.year": 2024,
        "text.overview": "总体情况。", "text.problems": "问题。"}))
    document = docx.Document()  # what an agency writes its report in
    document.add_paragraph("巫山县统计局2024年度政府信息公开工作年度报告")
    document.save(inbound / "统计局年报.docx")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("统计局/年报.xlsx", template_bytes())
    (inbound / "统计局材料.zip").write_bytes(packed.getvalue())
    (inbound / "扫描件.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    done = nianbao("run", "--settle", "0", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert [p for p in inbound.rglob("*") if p.is_file()] == []  # nothing left unexplained
    rows = {r["file"]: r for r in csv.DictReader(
        (ws / "outbound" / "2024" / "status.csv").read_text(encoding="utf-8-sig").splitlines())}
    assert rows["审计局-年报.xlsx"]["status"] == "accepted"
    findings = (ws / "outbound" / "2024" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "请解压后把其中的年报逐个放入收件夹" in findings
    assert "扫描件.pdf 无法作为 PDF 读取，可能已损坏或设置了密码" in findings  # no agency's name: listed apart
    with Ledger(ws / "var" / "ledger.sqlite3") as ledger:  # the .docx: read as a report, its tables missing
        docx_sub = next(s for s in ledger.submissions() if s.file_name == "统计局年报.docx")
    assert docx_sub.outcome == "rejected" and docx_sub.agency == "巫山县统计局"  # named by its title
    assert "未找到“二、主动公开政府信息情况”部分" in " ".join(f.message for f in docx_sub.findings)
    archived = [p.name for p in (ws / "var" / "archive").rglob("*") if p.is_file()]
    assert len(archived) == 4 and any(n.endswith("统计局材料.zip") for n in archived)


def test_a_report_of_another_year_is_shown_where_the_office_looks(tmp_path):
    import random

    from nianbao.flows.excel.template import write_template
    from nianbao.flows.steps.sample import valid_values

    assert nianbao("init", "ws", "--county", "巫山县", "--year", "2024", cwd=tmp_path).returncode == 0
    ws = tmp_path / "ws"
    a, b = Entry("巫山县审计局", ""), Entry("巫山县统计局", "")
    (ws / "roster.csv").write_bytes(write_roster_csv([a, b]))
    for entry, year, name in ((a, 2023, "巫山县审计局-2024年报.xlsx"), (b, 2024, "巫山县统计局-2024年报.xlsx")):
        write_template(ws / "inbound" / name, values={**valid_values(random.Random(year)), "meta.agency": entry.name,
                                                      "meta.year": year, "text.overview": "总体情况。",
                                                      "text.problems": "问题。"})
    done = nianbao("run", "--settle", "0", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "outbound" / "2023" / "rollup.xlsx").exists()  # filed for its own year
    page = (ws / "outbound" / "2024" / "index.html").read_text(encoding="utf-8")
    assert "收到 2023 年度报告" in page
    status = nianbao("status", "--year", "2024", cwd=ws)
    assert "未报送  巫山县审计局" in status.stdout and "收到 2023 年度报告" in status.stdout, status.stdout
    with Ledger(ws / "var" / "ledger.sqlite3") as ledger:
        (sub,) = [s for s in ledger.submissions() if s.agency == a.name]
    (warning,) = [f for f in sub.findings if f.rule == "meta.other_year"]
    assert warning.severity == "warning" and "本次收集的是 2024 年度" in warning.message


def test_an_agencys_corrections_as_the_office_sees_them(tmp_path):
    """Runs from a China-time shell and a UTC service; a newer failing file; the agency passing at last."""
    import random

    from nianbao.flows.excel.template import write_template
    from nianbao.flows.steps.sample import valid_values

    assert nianbao("init", "ws", "--county", "巫山县", "--year", "2024", cwd=tmp_path).returncode == 0
    ws = tmp_path / "ws"
    audit = Entry("巫山县审计局", "")
    (ws / "roster.csv").write_bytes(write_roster_csv([audit]))
    good = {**valid_values(random.Random(8)), "meta.agency": audit.name, "meta.year": 2024,
            "text.overview": "总体情况。", "text.problems": "问题。"}
    page, feedback = ws / "outbound" / "2024" / "index.html", ws / "outbound" / "2024" / "feedback"

    write_template(ws / "inbound" / "审计局-第一版.xlsx", values=good)
    assert nianbao("run", "--settle", "0", cwd=ws, tz="Asia/Shanghai").returncode == 0
    write_template(ws / "inbound" / "审计局-第二版.xlsx", values={**good, "requests.new.natural": "3件"})
    assert nianbao("run", "--settle", "0", cwd=ws, tz="UTC").returncode == 0  # a service on UTC, hours "earlier"
    text = page.read_text(encoding="utf-8")
    assert "最新报送（审计局-第二版.xlsx）未通过，汇总仍采用" in text  # the newer failing file is visible
    (sheet,) = feedback.glob("*.xlsx")
    status = nianbao("status", cwd=ws, tz="UTC").stdout
    assert "已通过  巫山县审计局  审计局-第一版.xlsx" in status and "最新报送（审计局-第二版.xlsx）未通过" in status

    write_template(ws / "inbound" / "审计局-第三版.xlsx", values=good | {"text.other": "无。"})
    assert nianbao("run", "--settle", "0", cwd=ws, tz="Asia/Shanghai").returncode == 0
    text = page.read_text(encoding="utf-8")
    assert "最新报送" not in text and "审计局-第三版.xlsx" in text
    assert not sheet.exists() and list(feedback.glob("*.xlsx")) == []  # passed: no stale feedback left
