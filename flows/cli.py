"""The ``nianbao`` command: a thin layer that parses options and calls functions.

Every message is Chinese; no traceback reaches a user.  Exit status: 0 when
all went well (warnings allowed), 1 when a file has an error or cannot be
read, 2 for wrong usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Wrong arguments, said in Chinese; exit status 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nianbao",
        description="政府信息公开工作年度报告（2021 年格式）：生成模板、校验报表。",
    )
    sub = p.add_subparsers(dest="command", metavar="命令")

    t = sub.add_parser("template", help="生成空白年报模板（.xlsx）", description="生成国家格式的年报 Excel 模板。")
    t.add_argument("-o", "--output", required=True, metavar="FILE.xlsx", help="输出文件")
    t.add_argument("--year", type=int, metavar="Y", help="报告年度，如 2024")
    t.add_argument("--agency", default="", metavar="NAME", help="单位名称")
    t.add_argument("--uscc", default="", metavar="CODE", help="统一社会信用代码（18 位）")
    t.add_argument("--force", action="store_true", help="覆盖已存在的文件")

    c = sub.add_parser("check", help="校验填好的年报", description="读取并校验一个或多个年报工作簿（可给文件夹）。")
    c.add_argument("files", nargs="+", metavar="FILE", help="年报文件（.xlsx）或文件夹")
    c.add_argument("--json", action="store_true", help="以 JSON 输出全部问题")

    d = sub.add_parser("demo", help="生成示例县的年报并校验", description="在收件夹中放入巫山县示例单位的年报，并逐份校验。")
    d.add_argument("--inbound", metavar="DIR", help="收件文件夹（默认 inbound/）")
    d.add_argument("--outbound", metavar="DIR", help="输出文件夹（默认 outbound/）")
    d.add_argument("--year", type=int, default=2024, metavar="Y", help="报告年度（默认 2024）")
    return p


def cmd_template(args) -> int:
    from schemas.checks import FIRST_YEAR
    from schemas.uscc import problem

    from .xlsx import write_template

    out = Path(args.output)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"输出文件须以 .xlsx 结尾：{out}")
    if out.exists() and not args.force:
        raise UsageError(f"文件已存在：{out}（如需覆盖请加 --force）")
    if args.uscc and (why := problem(args.uscc)):
        raise UsageError(f"统一社会信用代码“{args.uscc}”有误：{why}")
    if args.year is not None and not FIRST_YEAR <= args.year <= 2100:
        raise UsageError(f"报告年度应为 {FIRST_YEAR} 年以后的四位年份：{args.year}")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_template(out, year=args.year, agency=args.agency, uscc=args.uscc.upper())
    print(f"已生成年报模板：{out}")
    return EXIT_OK


def cmd_check(args) -> int:
    from .checking import check_files, expand_paths

    paths = expand_paths(args.files)
    if not paths:
        raise UsageError("没有找到要校验的 .xlsx 文件：" + "、".join(args.files))
    results = check_files(paths)
    if args.json:
        rows = [f.as_dict() for result in results for f in result.findings]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(render_text(results))
    return EXIT_FINDINGS if any(r.rejected for r in results) else EXIT_OK


def render_text(results) -> str:
    lines = []
    for result in results:
        errors, warnings = result.counts
        if not result.readable:
            verdict = "无法读取"
        elif errors:
            verdict = f"未通过：{errors} 个错误" + (f"，{warnings} 个警告" if warnings else "")
        else:
            verdict = "通过" + (f"（{warnings} 个警告）" if warnings else "")
        who = f"（{result.agency}）" if result.agency else ""
        lines.append(f"{result.file}{who}：{verdict}")
        for f in result.findings:
            lines.append("  " + " ".join(p for p in (f.severity_label, f.where, f"[{f.rule}]", f.message) if p))
    passed = sum(1 for r in results if not r.rejected)
    lines.append(f"共 {len(results)} 个文件：{passed} 个通过，{len(results) - passed} 个未通过。")
    return "\n".join(lines)


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .settings import load

    settings = load().with_overrides(inbound=args.inbound, outbound=args.outbound)
    print(run_demo(settings.inbound, settings.outbound, args.year))
    return EXIT_OK


COMMANDS = {"template": cmd_template, "check": cmd_check, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"nianbao {args.command}：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"nianbao {args.command}：无法访问文件 {exc.filename or ''}：{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except Exception as exc:  # noqa: BLE001 - never show a traceback to a user
        if os.environ.get("NIANBAO_DEBUG"):
            raise
        print(
            f"nianbao {args.command}：内部错误（{type(exc).__name__}: {exc}）。"
            "请设置环境变量 NIANBAO_DEBUG=1 重试以查看详细信息，并报告给维护人员。",
            file=sys.stderr,
        )
        return EXIT_FINDINGS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
