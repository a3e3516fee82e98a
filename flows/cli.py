"""The ``nianbao`` command: a thin layer that parses options and calls functions.

Every message is Chinese; no traceback reaches a user.  Exit status: 0 when
all went well (warnings allowed), 1 when a file has an error or cannot be
read, 2 for wrong usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from nianbao.flows.errors import CommandLineError, InputError
from nianbao.flows.interrupt import EXIT_INTERRUPTED, interruptible
from nianbao.schemas.form import DEFAULT_LEVEL, LEVELS

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
DEMO_FOLDER = "nianbao-demo"


_ARGPARSE_MESSAGES = (  # argparse's English, as Python 3.11 words it, and how a Chinese user reads it
    (re.compile(r"the following arguments are required: (.+)"), "缺少必须给出的参数：{0}"),
    (re.compile(r"argument (\S+): invalid choice: '?([^']*)'? \(choose from (.+)\)"), "参数 {0} 的值“{1}”无效，可选：{2}"),
    (re.compile(r"argument (\S+): invalid (\w+) value: '?([^']*)'?"), "参数 {0} 的值“{2}”无效（应为{1}）"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 {0} 后面需要给出一个值"),
    (re.compile(r"argument (\S+): expected at least one argument"), "参数 {0} 后面至少需要给出一个值"),
    (re.compile(r"unrecognized arguments: (.+)"), "无法识别的参数：{0}"),
    (re.compile(r"ambiguous option: (\S+) could match (.+)"), "参数 {0} 不明确，可能是：{1}"),
    (re.compile(r"argument (\S+): not allowed with argument (\S+)"), "参数 {0} 不能与 {1} 同时使用"),
)
_TYPE_NAMES = {"int": "整数", "float": "数字"}


def chinese_error(message: str) -> str:
    """argparse's error message in Chinese (unknown ones are passed through)."""
    for pattern, text in _ARGPARSE_MESSAGES:
        m = pattern.fullmatch(message)
        if m:
            return text.format(*(_TYPE_NAMES.get(g, g) for g in m.groups()))
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    """argparse with its own words in Chinese: usage, headings, the help option and error messages."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _Formatter)
        kw["add_help"] = False
        super().__init__(*args, **kw)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}：错误：{chinese_error(message)}（详见 {self.prog} -h）\n")


def build_parser() -> argparse.ArgumentParser:
    p = ChineseParser(
        prog="nianbao",
        description="政府信息公开工作年度报告（2021 年格式）：生成模板、校验报表、收件汇总。",
    )
    sub = p.add_subparsers(dest="command", metavar="命令", title="命令")

    i = sub.add_parser("init", help="创建县政府办公室的工作区（nianbao.toml 和各文件夹）",
                       description="在指定文件夹（默认当前文件夹）写入工作区设置 nianbao.toml，并创建收件、输出、台账文件夹和单位名单 "
                                   "roster.csv（只有表头，请填写）。之后在该文件夹或其子文件夹中运行的命令都使用这些设置。")
    i.add_argument("folder", nargs="?", default=".", metavar="文件夹", help="工作区文件夹（默认当前文件夹）")
    i.add_argument("--county", required=True, metavar="NAME", help="本级政府名称，如 奉节县（写在汇总表封面和年度报告上）")
    i.add_argument("--county-uscc", default="", metavar="CODE", help="本级政府的统一社会信用代码（可不填）")
    i.add_argument("--year", type=int, metavar="Y", help="正在收集的报告年度，如 2024")
    i.add_argument("--level", choices=LEVELS, default=DEFAULT_LEVEL, help=f"本级层级（默认{DEFAULT_LEVEL}）")
    i.add_argument("--force", action="store_true", help="覆盖已有的 nianbao.toml")

    t = sub.add_parser("template", help="生成空白年报模板（.xlsx）", description="生成国家格式的年报 Excel 模板。")
    t.add_argument("-o", "--output", required=True, metavar="FILE.xlsx", help="输出文件")
    t.add_argument("--year", type=int, metavar="Y", help="报告年度，如 2024")
    t.add_argument("--agency", default="", metavar="NAME", help="单位名称")
    t.add_argument("--uscc", default="", metavar="CODE", help="统一社会信用代码（18 位）")
    t.add_argument("--force", action="store_true", help="覆盖已存在的文件")

    c = sub.add_parser("check", help="校验填好的年报", description="读取并校验一个或多个年报工作簿（可给文件夹）。")
    c.add_argument("files", nargs="+", metavar="FILE", help="年报文件（.xlsx）或文件夹")
    c.add_argument("--json", action="store_true", help="以 JSON 输出全部问题")
    c.add_argument("--level", choices=LEVELS, default=DEFAULT_LEVEL,
                   help=f"填报单位的层级（{'、'.join(LEVELS)}；默认{DEFAULT_LEVEL}），与层级有关的规则据此适用")

    def folders(cmd, roster=True):
        cmd.add_argument("--inbound", metavar="DIR", help="收件文件夹（默认 inbound/，或环境变量 NIANBAO_INBOUND）")
        cmd.add_argument("--outbound", metavar="DIR", help="输出文件夹（默认 outbound/，或 NIANBAO_OUTBOUND）")
        if roster:
            cmd.add_argument("--roster", metavar="FILE", help="单位名单（CSV 或 xlsx，列：单位名称,统一社会信用代码）")

    r = sub.add_parser("run", help="处理收件夹：校验、归档、汇总、生成报告", description="运行一次：收件校验，然后生成相关年度的汇总和报告。")
    folders(r)
    r.add_argument("--year", type=int, metavar="Y", help="只汇总该年度（默认：本次涉及的所有年度）")
    r.add_argument("--settle", type=float, metavar="SECONDS", help="修改时间在此秒数内的文件视为仍在写入，留待下次（默认 5）")

    sv = sub.add_parser("serve", help="常驻运行：定时检查收件夹（Prefect 服务）",
                        description="启动（或连接）Prefect 服务，按固定间隔处理收件夹；Prefect 界面中可查看每次运行。")
    folders(sv)
    sv.add_argument("--interval", type=int, default=300, metavar="SECONDS", help="检查间隔秒数（默认 300）")
    sv.add_argument("--port", type=int, default=4200, help="本机 Prefect 服务端口（默认 4200）")

    st = sub.add_parser("status", help="查看各单位报送状态和最近收到的文件", description="列出各单位的状态（已通过/未通过/未报送）和最近的报送记录。")
    st.add_argument("--year", type=int, metavar="Y", help="报告年度（默认：最近的年度）")
    st.add_argument("--roster", metavar="FILE", help="单位名单")

    rp = sub.add_parser("reprocess", help="重新校验已归档的原件", description="按当前规则重新校验一份已归档的原件（给出文件名或 sha256 前缀），并更新该年度的汇总。")
    rp.add_argument("target", metavar="FILE-or-SHA", help="归档文件的路径或文件名，或 sha256（至少 8 位）")
    rp.add_argument("--roster", metavar="FILE", help="单位名单")
    rp.add_argument("--outbound", metavar="DIR", help="输出文件夹")

    im = sub.add_parser("import", help="导入已发布的年报（Word、PDF、网页或文本）为填好的模板",
                        description="读取已发布或起草的年报（Word .docx、PDF、网页 HTML、纯文本或 markdown），按行名和表头把"
                                    "表二、表三、表四的每个数字对应到国家格式的单元格，连同一、五、六部分的文字写入年报模板（.xlsx），"
                                    "并按常规规则校验。只有 200 个数字全部按行和列确定时才写出文件。单位名称和年度默认取自标题。")
    im.add_argument("file", nargs="+", metavar="FILE", help="已发布的年报（.docx/.pdf/.html/.htm/.txt/.md），或包含它们的文件夹")
    im.add_argument("--agency", metavar="NAME", help="单位名称（默认取自标题；只能用于一份文件）")
    im.add_argument("--year", type=int, metavar="Y", help="报告年度，如 2024（默认取自标题）")
    im.add_argument("--uscc", default="", metavar="CODE", help="统一社会信用代码（18 位，可不填；只能用于一份文件）")
    im.add_argument("-o", "--output", metavar="OUT.xlsx", help="输出文件（只能用于一份文件；默认：<单位名称>-<年度>年报.xlsx）")
    im.add_argument("--outdir", metavar="DIR", help="输出文件夹（默认：当前文件夹）")
    im.add_argument("--force", action="store_true", help="覆盖已存在的文件")

    pb = sub.add_parser("publish", help="根据全县汇总生成本县年度报告（网页和 Word）",
                        description="读取 outbound/<年度>/rollup.xlsx，按国家格式的六个部分生成本县政府信息公开工作年度报告："
                                    "年度报告.html 和 年度报告.docx；第一部分的统计语句据数字起草，其余部分标明【请填写】。")
    pb.add_argument("--year", type=int, metavar="Y", help="报告年度（默认：已有汇总表的最近年度）")
    pb.add_argument("--outbound", metavar="DIR", help="输出文件夹（默认 outbound/，或 NIANBAO_OUTBOUND）")

    b = sub.add_parser("bench", help="性能基准：N 份仿真年报跑完整流程，并与三种读取方式比较",
                       description="生成 N 份接近实际的仿真年报（约一半带警告：文字部分空白、过短或与表格不符、与上年相比突变；约 10% 带常见错误；"
                                   "合计有的带缓存值、有的只有公式；文字部分长度接近实际）和 N 个单位的名单，计时完整流程（收件、汇总、报告）"
                                   "和无新文件的重跑，并在同一批文件上测量 openpyxl 只读加载、python-calamine 和朴素 pandas 脚本；"
                                   "每项在新的子进程中测量峰值内存。结果打印为表格并写入工作目录的 bench-results.json。")
    b.add_argument("--n", nargs="+", type=int, default=[60, 1000, 10000], metavar="N", help="报告份数，可给多个（默认 60 1000 10000）")
    b.add_argument("--workdir", default="var/bench", metavar="DIR", help="工作目录，生成的文件按份数和随机种子缓存于此（默认 var/bench）")
    b.add_argument("--seed", type=int, default=2024, help="随机种子（默认 2024）")
    b.add_argument("--skip-baselines", action="store_true", help="不测三种基线")
    b.add_argument("--skip-prefect", action="store_true", help="不测 Prefect 流程本身（临时服务的启动和一次流程运行）")

    d = sub.add_parser("demo", help="用巫山县示例数据演示完整流程（在单独的演示工作区中）",
                       description="在单独的演示工作区（默认 ./nianbao-demo/）中生成示例县的名单和各单位年报，放入收件夹，"
                                   "然后运行完整流程。演示数据不会进入您自己的工作区；看完后删除该文件夹即可。")
    d.add_argument("folder", nargs="?", default=DEMO_FOLDER, metavar="文件夹", help=f"演示工作区（默认 ./{DEMO_FOLDER}/）")
    d.add_argument("--year", type=int, default=2024, metavar="Y", help="报告年度（默认 2024）")
    return p


def _check_year(year: int) -> None:
    """The years ``nianbao check`` accepts on a cover: from the 2021 format's first year to this year."""
    from nianbao.schemas.form import FIRST_YEAR

    this_year = dt.date.today().year
    if not FIRST_YEAR <= year <= this_year:
        raise CommandLineError(f"报告年度应为 {FIRST_YEAR} 至 {this_year} 年之间的四位年份：{year}")


def cmd_init(args) -> int:
    from nianbao.schemas.uscc import problem

    from nianbao.flows.settings import CONFIG_NAME, init_workspace

    if args.county_uscc and (why := problem(args.county_uscc)):
        raise CommandLineError(f"统一社会信用代码“{args.county_uscc}”有误：{why}")
    if args.year is not None:
        _check_year(args.year)
    settings = init_workspace(Path(args.folder), county=args.county, county_uscc=args.county_uscc.upper(),
                              year=args.year, level=args.level, force=args.force)
    folder = Path(args.folder)
    print(f"已创建{settings.county}的工作区：{(folder / CONFIG_NAME).resolve()}")
    print(f"  收件文件夹：{settings.inbound}")
    print(f"  输出文件夹：{settings.outbound}")
    print(f"  台账和原件归档：{settings.state}")
    print(f"  单位名单：{settings.roster}（请填写：单位名称,统一社会信用代码；市级、省级单位可填层级）")
    print(f"下一步：cd {folder} 后，把各单位的年报放入 inbound/，运行 nianbao run。")
    return EXIT_OK


def cmd_template(args) -> int:
    from nianbao.schemas.uscc import problem

    from nianbao.flows.excel.template import write_template

    out = Path(args.output)
    if out.suffix.lower() != ".xlsx":
        raise CommandLineError(f"输出文件须以 .xlsx 结尾：{out}")
    if out.exists() and not args.force:
        raise CommandLineError(f"文件已存在：{out}（如需覆盖请加 --force）")
    if args.uscc and (why := problem(args.uscc)):
        raise CommandLineError(f"统一社会信用代码“{args.uscc}”有误：{why}")
    if args.year is not None:
        _check_year(args.year)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_template(out, year=args.year, agency=args.agency, uscc=args.uscc.upper())
    print(f"已生成年报模板：{out}")
    return EXIT_OK


def cmd_check(args) -> int:
    from nianbao.flows.steps.checking import check_files, expand_paths

    missing = [f for f in args.files if not os.path.exists(f)]
    if missing:
        raise CommandLineError("找不到文件：" + "、".join(missing))
    paths = expand_paths(args.files)
    if not paths:
        raise CommandLineError("没有找到要校验的 .xlsx 文件：" + "、".join(args.files))
    results = check_files(paths, level=args.level)
    if args.json:
        rows = [{**f.as_dict(), "agency": result.agency, "title": f.title, "params": dict(f.params)}
                for result in results for f in result.findings]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(render_text(results))
    return EXIT_FINDINGS if any(r.rejected for r in results) else EXIT_OK


def finding_line(f) -> str:
    """``错误 「表三」D29 【表三各列收支平衡】 表三“自然人”列不平衡：……``"""
    return " ".join(p for p in (f.severity_label, f.where, f"【{f.title}】", f.message) if p)


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
            lines.append("  " + finding_line(f))
    passed = sum(1 for r in results if not r.rejected)
    lines.append(f"共 {len(results)} 个文件：{passed} 个通过，{len(results) - passed} 个未通过。")
    return "\n".join(lines)


def _settings(args, *, workspace: bool = True):
    """The workspace's settings with the command's options over them; ``workspace``: the command needs one."""
    from nianbao.flows.settings import load, require_workspace

    settings = load().with_overrides(
        inbound=getattr(args, "inbound", None), outbound=getattr(args, "outbound", None),
        roster=getattr(args, "roster", None),
    )
    if workspace:
        require_workspace(settings)
    return settings


def _check_folders(settings) -> None:
    """The folders and the roster a run reads must exist: a wrong path is an error, never a new empty folder."""
    if not settings.inbound.is_dir():
        raise CommandLineError(f"收件文件夹不存在：{settings.inbound}（请检查 nianbao.toml 或 --inbound）")
    if not settings.outbound.parent.is_dir():
        raise CommandLineError(f"输出文件夹的上级文件夹不存在：{settings.outbound.parent}（请检查 nianbao.toml 或 --outbound）")
    if not settings.roster.is_file():
        raise CommandLineError(f"单位名单文件不存在：{settings.roster}（请检查 nianbao.toml 或 --roster）")


def _check_roster(settings) -> None:
    from nianbao.flows.store.roster import load_roster

    roster = load_roster(settings.roster)  # a RosterError is a InputError: its message is shown
    if not roster.entries:
        print(f"提示：单位名单 {settings.roster} 中还没有单位，将按实际报送的单位汇总，无法列出未报送单位。", file=sys.stderr)


def _run_pipeline(settings, *, year=None, settle=None) -> dict:
    from nianbao.flows.settings import configure_prefect

    configure_prefect(settings)
    print("正在启动本地 Prefect 并处理收件夹……", file=sys.stderr, flush=True)
    from nianbao.flows.pipeline import flow_parameters, nianbao_run, temporary_server

    extra = {"year": year}
    if settle is not None:
        extra["settle_seconds"] = settle
    server = temporary_server(settings)
    try:
        return nianbao_run(**flow_parameters(settings, **extra))
    finally:
        server.stop()



def render_summary(summary: dict, settings) -> str:
    lines = [
        f"收件：新收 {summary['new']} 份（通过 {summary['accepted']}，未通过 {summary['rejected']}），"
        f"重复 {summary['duplicates']} 份" + (f"，补完上次未完成的归档 {summary['resumed']} 份" if summary["resumed"] else "")
        + "。"
    ]
    if summary["waiting"]:
        lines.append(f"仍在写入、留待下次处理：{'、'.join(summary['waiting'])}")
    for y in summary["years"]:
        state = "已更新" if y["rebuilt"] else "无变化"
        line = (f"{y['year']} 年度（{state}）：已通过 {y['accepted']}，未通过 {y['rejected']}，未报送 {y['missing']}")
        if y["unlisted"]:
            line += f"，不在名单中 {y['unlisted']}"
        lines.append(line + f"。汇总页面：{y['index']}")
        if y["rollup_findings"]:
            lines.append(f"  注意：汇总表复核发现 {y['rollup_findings']} 个问题，请查看汇总页面并报告维护人员。")
    if not summary["years"]:
        lines.append("没有任何年度的报告。请把填好的年报（.xlsx）放入收件夹：" + str(settings.inbound))
    return "\n".join(lines)


def cmd_run(args) -> int:
    settings = _settings(args)
    _check_folders(settings)
    _check_roster(settings)
    if args.settle is not None and args.settle < 0:
        raise CommandLineError("--settle 不能为负数")
    summary = _run_pipeline(settings, year=args.year, settle=args.settle)
    print(render_summary(summary, settings))
    return EXIT_OK


def cmd_serve(args) -> int:
    from nianbao.flows.serve import serve

    settings = _settings(args)
    _check_folders(settings)
    _check_roster(settings)
    if args.interval < 10:
        raise CommandLineError("--interval 至少 10 秒")
    return serve(settings, interval=args.interval, port=args.port)


def cmd_status(args) -> int:
    from nianbao.flows.steps.recovery import status_text

    print(status_text(_settings(args), args.year))
    return EXIT_OK


def cmd_reprocess(args) -> int:
    from nianbao.flows.steps.recovery import reprocess

    settings = _settings(args)
    _check_roster(settings)
    print(reprocess(settings, args.target))
    return EXIT_OK


def cmd_import(args) -> int:
    from nianbao.schemas.uscc import problem

    from nianbao.flows.documents.published import ImportFailed
    from nianbao.flows.steps.importing import default_output, document_sources, import_report

    agency = args.agency.strip() if args.agency is not None else None
    if args.agency is not None and not agency:
        raise CommandLineError("--agency 单位名称不能为空")
    if args.year is not None:
        _check_year(args.year)
    if args.uscc and (why := problem(args.uscc)):
        raise CommandLineError(f"统一社会信用代码“{args.uscc}”有误：{why}")
    sources = document_sources(args.file)
    for given in map(Path, args.file):
        if given.is_dir() and not any(s.parent == given for s in sources):
            raise CommandLineError(f"文件夹中没有可导入的年报（.docx/.pdf/.html/.htm/.txt/.md）：{given}")
    single = len(sources) == 1
    if not single and (args.output or agency or args.uscc):
        raise CommandLineError("导入多份文件时不能使用 -o/--output、--agency 或 --uscc（各份的单位名称取自标题），请用 --outdir")
    out = Path(args.output) if args.output else None
    if out is None and single and agency and args.year is not None:
        out = default_output(agency, args.year, Path(args.outdir) if args.outdir else None)
    if out is not None and out.suffix.lower() != ".xlsx":
        raise CommandLineError(f"输出文件须以 .xlsx 结尾：{out}")
    if out is not None and out.exists() and not args.force:
        raise CommandLineError(f"文件已存在：{out}（如需覆盖请加 --force）")
    outdir = Path(args.outdir) if args.outdir else None
    if outdir is not None and outdir.exists() and not outdir.is_dir():
        raise CommandLineError(f"--outdir 不是文件夹：{outdir}")

    def accept_year(year: int) -> None:
        try:
            _check_year(year)
        except CommandLineError as exc:
            raise ImportFailed(f"标题中的年度不可用：{exc}，请用 --year 指定") from None

    written = passed = 0
    for source in sources:
        if not single:
            print(f"—— {source.name}")
        try:
            result = import_report(source, agency=agency, year=args.year, uscc=args.uscc.upper(), output=out,
                                   outdir=outdir, force=args.force, accept_year=accept_year)
        except ImportFailed as exc:
            if single:
                raise
            print(f"未导入：{exc}")
            continue
        print(f"读取：{result.source}（{result.kind}）")
        for f in result.findings:
            print("  " + finding_line(f))
        if not result.written:
            print("未导入：并非每个数字都能按行名和表头确定其单元格（原因见上），没有写出文件。")
            continue
        written += 1
        passed += result.ok
        print(f"已写出：{result.output}（{result.agency}，{result.year} 年度）")
        print("校验结果：")
        print(render_text([result.check]))
    if not single:
        print(f"共 {len(sources)} 份：写出 {written} 份（其中通过校验 {passed} 份），未导入 {len(sources) - written} 份。")
    return EXIT_OK if passed == len(sources) else EXIT_FINDINGS


def cmd_publish(args) -> int:
    from nianbao.flows.outputs.annual_report import latest_year, write_annual_report

    settings = _settings(args, workspace=args.outbound is None)
    year = args.year or latest_year(settings.outbound)
    if year is None:
        raise CommandLineError(f"{settings.outbound} 下没有任何年度的汇总表，请先运行 nianbao run，或用 --year 指定年度")
    result = write_annual_report(settings, year)
    print(f"已生成 {year} 年度政府信息公开工作年度报告：")
    print(f"  网页：{result.html}")
    print(f"  Word：{result.docx}")
    if result.scope:
        print(f"  {result.scope}")
    if result.left_out:
        print(f"注意：名单上有 {result.left_out} 个单位的年报未计入汇总（未报送或未通过），年度报告的统计范围已写明。")
    print("第一部分的统计语句已根据汇总数字起草；标有【请填写】的部分请县政府办公室补充后发布。")
    return EXIT_OK


def cmd_bench(args) -> int:
    from nianbao.flows.bench import RESULTS_FILE, render, run

    if any(n < 1 for n in args.n):
        raise CommandLineError("--n 的份数须为正整数")
    results = run(args.n, Path(args.workdir), seed=args.seed, baselines=not args.skip_baselines,
                  with_prefect=not args.skip_prefect, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(render(results))
    print(f"结果已写入 {Path(args.workdir) / RESULTS_FILE}")
    return EXIT_OK


def cmd_demo(args) -> int:
    from nianbao.flows.steps.demo import demo_workspace, prepare_demo

    folder = Path(args.folder)
    settings = demo_workspace(folder, args.year)
    print(prepare_demo(settings, args.year))
    summary = _run_pipeline(settings, year=args.year, settle=0)
    print(render_summary(summary, settings))
    print(f"演示工作区：{folder.resolve()}（与您自己的工作区分开）。看完后删除即可：rm -rf {folder}")
    return EXIT_OK


COMMANDS = {
    "init": cmd_init,
    "template": cmd_template,
    "check": cmd_check,
    "run": cmd_run,
    "serve": cmd_serve,
    "status": cmd_status,
    "reprocess": cmd_reprocess,
    "import": cmd_import,
    "publish": cmd_publish,
    "bench": cmd_bench,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "serve":  # stopping a service is its normal end: exit 0, within 5 s
        stop = interruptible(4.0, message="正在停止……", code=EXIT_OK)
    else:
        stop = interruptible()
    with stop as interrupt:
        return _run_command(args, interrupt)


def _run_command(args, interrupt: dict) -> int:
    try:
        return COMMANDS[args.command](args)
    except CommandLineError as exc:
        print(f"nianbao {args.command}：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"nianbao {args.command}：{exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        if not interrupt["interrupted"]:  # raised by something else than our handler
            print("已中断。", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the output went to `head` or a closed pager: nothing to say
        sys.stderr.close()
        return EXIT_OK
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
