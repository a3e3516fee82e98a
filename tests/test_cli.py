"""The nianbao command: output, --json, exit status, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nianbao.schemas.catalogue import CATALOGUE

from nianbao.flows.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_the_seed(build, capsys):
    code, out, _ = run(capsys, "check", str(build("巫山工业园区管委会.xlsx")))
    assert code == 0
    assert "巫山工业园区管委会.xlsx（巫山工业园区管委会）：通过" in out


def test_check_reports_errors_grouped_by_file(build, capsys):
    good = build("good.xlsx")
    bad = build("bad.xlsx", {"appeals.review.upheld": 1})
    code, out, _ = run(capsys, "check", str(good), str(bad))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith("：通过")
    assert "bad.xlsx" in lines[1] and "未通过：1 个错误" in lines[1]
    assert lines[2].startswith("  错误 「表四」E5 【表四总计】")
    assert lines[-1] == "共 2 个文件：1 个通过，1 个未通过。"


def test_warnings_alone_exit_zero(build, capsys):
    code, out, _ = run(capsys, "check", str(build(values={"active.rules.issued": 1, "active.rules.in_force": 1})))
    assert code == 0 and "警告" in out


def test_json_output(build, capsys):
    path = build("bad.xlsx", {"requests.new.natural": "3件"})
    code, out, _ = run(capsys, "check", "--json", str(path))
    assert code == 1
    rows = json.loads(out)
    assert rows and all(set(r) == {"file", "sheet", "cell", "code", "rule", "severity", "message",
                                    "agency", "title", "params"} for r in rows)
    assert rows[0] == {
        "file": str(path), "sheet": "表三", "cell": "D5", "code": "requests.new.natural", "rule": "cell.unit",
        "severity": "error", "message": rows[0]["message"], "agency": "巫山工业园区管委会",
        "title": CATALOGUE["cell.unit"].title, "params": rows[0]["params"],
    }
    assert "3件" in rows[0]["message"] and "3件" in rows[0]["params"].values()
    # the message is the catalogue's template filled with the parameters, nothing else
    assert rows[0]["message"] == CATALOGUE["cell.unit"].render(sheet="表三", cell="D5", code="requests.new.natural",
                                                               **rows[0]["params"])


def test_folder_argument(build, capsys):
    path = build("a.xlsx")
    build("b.xlsx")
    code, out, _ = run(capsys, "check", str(path.parent))
    assert code == 0 and "共 2 个文件" in out


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04broken", b"a,b\n1,2\n", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 100])
def test_unreadable_files_get_one_line(tmp_path, capsys, content):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    code, out, err = run(capsys, "check", str(path))
    assert code == 1 and err == ""
    assert out.splitlines()[0] == f"{path}：无法读取"
    assert len(out.splitlines()) == 3 and "Traceback" not in out


def test_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path / "none.xlsx"))
    assert code == 2 and "找不到文件" in err and out == "" and ".xlsx 再提交" not in err


def test_usage_errors_exit_two(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2
    assert main([]) == 2
    code, _, err = run(capsys, "template", "-o", str(tmp_path / "t.xlsx"), "--uscc", "123")
    assert code == 2 and "统一社会信用代码" in err
    code, _, err = run(capsys, "template", "-o", str(tmp_path / "t.csv"))
    assert code == 2


def test_template_command(capsys, tmp_path):
    out = tmp_path / "模板.xlsx"
    code, text, _ = run(capsys, "template", "-o", str(out), "--year", "2024", "--agency", "巫山县教育委员会")
    assert code == 0 and out.exists() and "已生成" in text
    code, _, err = run(capsys, "template", "-o", str(out))
    assert code == 2 and "已存在" in err
    # an empty template is not a report yet: every number is missing
    code, text, _ = run(capsys, "check", str(out))
    assert code == 1 and "未填写" in text


def test_console_script_runs_without_traceback(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("不是表格", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "nianbao", "check", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
