"""The catalogue of rules: every finding nianbao can report, as data.

Each rule has a stable id, a severity, a Chinese title, a description (shown
on the template's instructions sheet and in the docs) and a message template
filled from the finding's parameters.  The CLI, the annotated workbooks, the
CSV files and the HTML reports all render from here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .form import EXACT_VALUE, FEE_WARNING_WAN, JUMP_FLOOR, JUMP_RATIO, LARGE_AMOUNT_WAN, LARGE_COUNT

ERROR = "error"
WARNING = "warning"

SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告"}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    description: str
    message: str  # str.format template

    def render(self, **params) -> str:
        text = self.message.format(**params)
        if any(v == "" for v in params.values()):  # an empty place (a document has no cells): no gap left
            text = _GAP.sub("", text.replace("  ", " "))
        return text

    @property
    def in_workbook(self) -> bool:
        """Whether an agency can break the rule by what it types or changes in its own workbook (what the
        template's 填报说明 lists), rather than by the kind of file it sends or the import of a published report."""
        return not self.id.startswith(_NOT_IN_WORKBOOK)


_GAP = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")
_NOT_IN_WORKBOOK = ("file.", "import.", "layout.not_template", "layout.old_2019", "layout.version")  # which file, not what is in it


_RULES = (
    # -- the file itself ---------------------------------------------------
    Rule(
        "file.unreadable", ERROR, "文件无法读取",
        "文件不是有效的 .xlsx 工作簿（损坏、被截断，或其他格式改了扩展名）。",
        "无法读取该文件：{reason}。请用 Excel、WPS 或 LibreOffice 打开年报模板填写后，另存为 .xlsx 再提交。",
    ),
    Rule(
        "file.encrypted", ERROR, "文件已加密",
        "设置了打开密码的工作簿无法读取。",
        "文件设置了打开密码，无法读取。请在 Excel/WPS 中取消密码（文件→信息→保护工作簿）后重新保存为 .xlsx 提交。",
    ),
    Rule(
        "file.old_excel", ERROR, "旧版 Excel 文件",
        "Excel 97-2003（.xls）等旧格式不受支持。",
        "这是 Excel 97-2003 格式（.xls）的文件，无法读取。请用年报模板（.xlsx）填写，或在 Excel/WPS 中“另存为”Excel 工作簿（*.xlsx）。",
    ),
    Rule(
        "file.too_large", ERROR, "文件过大",
        "超过大小上限的文件不予读取。",
        "文件大小 {size} 超过上限 {limit}，不予读取。年报模板正常只有几十 KB，请检查是否插入了图片或其他内容。",
    ),
    Rule(
        "file.macro", ERROR, "含有宏",
        "含宏的工作簿（.xlsm 或带 VBA 工程的文件）为安全起见不予读取。",
        "文件含有宏（VBA 工程），为安全起见不予读取。请在 Excel/WPS 中“另存为”Excel 工作簿（*.xlsx）后重新提交。",
    ),
    Rule(
        "file.document", ERROR, "文档无法读取",
        "以 Word（.docx）、PDF 或网页报送的年报须能读出文字和表格。",
        "{reason}",
    ),
    Rule(
        "file.symlink", ERROR, "不是文件本身",
        "收件夹中的符号链接（快捷方式）不予读取。",
        "这是一个符号链接（快捷方式），不是年报文件本身，不予读取。请把年报文件直接放入收件夹。",
    ),
    Rule(
        "file.bomb", ERROR, "压缩内容异常",
        "解压后体积异常的文件（疑似压缩炸弹）不予读取。",
        "文件解压后达 {size}（压缩比 {ratio}），远超正常年报，疑似异常文件，不予读取。请用年报模板重新填写。",
    ),
    # -- the layout --------------------------------------------------------
    Rule(
        "layout.not_template", ERROR, "不是年报模板",
        "工作簿不是 nianbao 生成的 2021 版年报模板（缺少模板中的定义名称）。",
        "该文件不是本系统的年报模板（{reason}）。请下载最新年报模板，按模板填写后提交。",
    ),
    Rule(
        "layout.old_2019", ERROR, "2019 年旧版格式",
        "2019 年旧版年报格式（含“本年新制作数量”“对外公开总数量”等栏目）自 2021 年度起停用。",
        "该文件是 2019 年旧版年报格式（发现旧栏目“{marker}”）。自 2021 年度起须使用国办公开办函〔2021〕30号规定的新格式，请用新模板重新填写。",
    ),
    Rule(
        "layout.version", ERROR, "模板版本无法识别",
        "模板版本号必须是本系统认识的版本。",
        "模板版本“{version}”无法识别（本系统支持：{known}）。请下载最新年报模板重新填写。",
    ),
    Rule(
        "layout.sheet", ERROR, "工作表缺失",
        "模板中的工作表不得删除或改名。",
        "缺少工作表“{sheet}”{detail}。请勿删除或重命名模板中的工作表，请用原模板重新填写。",
    ),
    Rule(
        "layout.name", ERROR, "定义名称缺失或被改动",
        "模板为每个填报单元格设置了定义名称（程序据此找到各单元格），不得删除或改动。",
        "定义名称“{code}”{problem}（应指向 {expected}）。请勿删除或移动模板中的单元格，请用原模板重新填写。",
    ),
    Rule(
        "layout.moved", ERROR, "单元格位置被改动",
        "插入或删除行、列会使填报单元格离开模板规定的位置。",
        "「{sheet}」中有 {count} 个填报单元格不在模板规定的位置（如 {example}），可能插入或删除了行、列。请用原模板重新填写。",
    ),
    Rule(
        "layout.merged", ERROR, "填报单元格被合并",
        "填报单元格不得合并；合并后只保留左上角的值。",
        "{label}所在的单元格被合并（{range}），合并后只保留左上角的值。请取消合并，逐格填写。",
    ),
    Rule(
        "layout.label", ERROR, "标签被修改",
        "表格的标题、表头和栏目名称须与国家格式完全一致，不得修改。",
        "标签被修改：应为“{expected}”，实为“{actual}”。请勿修改模板中的文字，请用原模板重新填写。",
    ),
    # -- single cells ------------------------------------------------------
    Rule(
        "cell.empty", ERROR, "未填写",
        "每个数字单元格都必须填写；没有发生的事项填 0。",
        "{label}未填写。没有发生的事项请填 0。",
    ),
    Rule(
        "cell.not_number", ERROR, "不是数字",
        "数字单元格只能填写数字；“/”“-”“无”“不适用”等文字均不可。",
        "{label}填写了{shown}，不是数字。请只填写数字，没有发生的事项填 0。",
    ),
    Rule(
        "cell.unit", ERROR, "数字带单位",
        "数字单元格不得带单位，单位已在表头注明。",
        "{label}填写了“{value}”，带有单位。请只填写数字{suggestion}。",
    ),
    Rule(
        "cell.formula_error", ERROR, "公式错误",
        "单元格的公式计算出错（如 #REF!、#DIV/0!）。",
        "{label}的公式出错（{value}）。请改为直接填写数字。",
    ),
    Rule(
        "cell.external", ERROR, "引用其他工作簿",
        "填报单元格的公式不得引用其他工作簿：提交的文件里没有那个工作簿，数字无从核对。",
        "{label}的公式引用了其他工作簿（{formula}）。请改为直接填写数字。",
    ),
    Rule(
        "cell.too_large", ERROR, "数值超出范围",
        f"数字超出可以精确计算的范围（件数 {EXACT_VALUE['integer']:,}，金额 {EXACT_VALUE['decimal']:,} 万元），"
        "不可能是真实的数字。",
        "{label}填写了 {value}，超出可以精确计算的范围（上限 {limit}），请改正。",
    ),
    Rule(
        "cell.large", WARNING, "数值很大",
        f"数字很大（件数超过 {LARGE_COUNT:,}，金额超过 {LARGE_AMOUNT_WAN:,} 万元）时请核实；市、省的数字可能确实如此。",
        "{label}填写了 {value}，超过 {limit}，请核实是否准确。",
    ),
    Rule(
        "cell.fullwidth", WARNING, "全角数字",
        "全角数字（如“１２”）已自动按半角读取，请核对。",
        "{label}填写了全角数字“{value}”，已按 {number} 读取，请核对。",
    ),
    Rule(
        "cell.integer", ERROR, "不是整数",
        "件数、决定数量等只能是整数。",
        "{label}应为整数，填写了 {value}。",
    ),
    Rule(
        "cell.negative", ERROR, "负数",
        "所有数字都不能小于 0。",
        "{label}不能为负数，填写了 {value}。",
    ),
    # -- arithmetic between cells (勾稽关系) ---------------------------------
    Rule(
        "R3.1", ERROR, "表三各列收支平衡",
        "表三每一列：一、本年新收 ＋ 二、上年结转 ＝ 三、（七）总计 ＋ 四、结转下年度继续办理（格式中印明的勾稽关系）。",
        "表三“{scope}”列不平衡：第一项与第二项 {left_cells} 之和为 {left_value}，"
        "而第三项（七）总计与第四项 {right_cells} 之和为 {right_value}，相差 {diff}。{hint}",
    ),
    Rule(
        "R3.2", ERROR, "表三各行总计",
        "表三每一行的“总计”等于自然人、商业企业、科研机构、社会公益组织、法律服务机构、其他六列之和。",
        "表三“{scope}”行的总计 {left_cells} 为 {left_value}，但 {right_cells} 六列之和为 {right_value}，相差 {diff}。{hint}",
    ),
    Rule(
        "R3.3", ERROR, "表三办理结果总计",
        "表三每一列的“（七）总计”等于（一）至（六）全部 21 项办理结果之和。",
        "表三“{scope}”列的（七）总计 {left_cells} 为 {left_value}，但（一）至（六）各项 {right_cells} 之和为 {right_value}，相差 {diff}。{hint}",
    ),
    Rule(
        "R4.1", ERROR, "表四总计",
        "表四行政复议、未经复议直接起诉、复议后起诉各自的“总计”等于结果维持、结果纠正、其他结果、尚未审结四项之和。",
        "表四“{scope}”的总计 {left_cells} 为 {left_value}，但四项结果 {right_cells} 之和为 {right_value}，相差 {diff}。{hint}",
    ),
    Rule(
        "R2.3", WARNING, "县级单位制发规章",
        "县级、乡级机关无权制定规章，“规章”一行通常应为 0（单位名单“层级”为市、省的单位不做此项校验）。",
        "{label}为 {value}。县级机关无权制定规章，请核实是否应计入“行政规范性文件”。",
    ),
    Rule(
        "fee.unit", WARNING, "收费金额单位",
        "行政事业性收费的单位是“万元”，金额过大时可能误填为“元”（界限按单位层级："
        + "，".join(f"{level} {bound:,} 万元" for level, bound in FEE_WARNING_WAN.items()) + "）。",
        "{label}为 {value} 万元，金额异常偏大，请核实是否误按“元”填写（单位应为万元）。",
    ),
    # -- metadata ----------------------------------------------------------
    Rule(
        "meta.agency", ERROR, "单位名称未填写",
        "封面必须填写单位名称。",
        "封面“单位名称”未填写。请填写单位全称。",
    ),
    Rule(
        "meta.year", ERROR, "报告年度无效",
        "报告年度须为 2021 年（新格式启用）以来的四位年份，且不晚于当前年度。",
        "封面“报告年度”填写为{shown}，不是有效的报告年度（应为 {first} 至 {last} 之间的四位年份）。",
    ),
    Rule(
        "meta.other_year", WARNING, "不是本次收集的年度",
        "封面的报告年度不是县政府办公室本次收集的年度：报告按其封面年度登记，"
        "本次收集的年度仍显示该单位未报送。多半是误用了往年的文件。",
        "封面的报告年度为 {year} 年，而本次收集的是 {collecting} 年度的年报；本报告按 {year} 年度登记。"
        "如果是误用了往年的文件，请按 {collecting} 年度重新填写后提交。",
    ),
    Rule(
        "meta.uscc", ERROR, "统一社会信用代码有误",
        "统一社会信用代码为 18 位，须符合 GB 32100-2015 的字符集和校验位规则。",
        "封面“统一社会信用代码”“{value}”有误：{reason}。请对照营业执照或事业单位法人证书核对。",
    ),
    Rule(
        "text.empty", WARNING, "文字部分未填写",
        "“一、总体情况”和“五、存在的主要问题及改进情况”应当填写。",
        "“{label}”未填写（或只写了“无”）。请补充该部分内容。",
    ),
    # -- the narrative against the tables (schemas.narrative) ----------------
    Rule(
        "text.count", WARNING, "文字与表格件数不符",
        "“一、总体情况”中写明的件数（本年新收、上年结转、结转下年度的申请，行政复议、行政诉讼案件）应与表三、表四一致。",
        "“{section}”中写道“{quote}”（{stated} 件），但{cells}为 {value}。请核对文字或表格。",
    ),
    Rule(
        "text.none", WARNING, "文字称“无”而表格有数",
        "文字中写明未收到申请、无行政复议或行政诉讼的，表三、表四相应栏目应为 0。",
        "“{section}”中写道“{quote}”，但{cells}为 {value}。请核对文字或表格。",
    ),
    Rule(
        "text.year", WARNING, "文字中的年度与报告年度不符",
        "文字部分出现的年份应为报告年度（或次年，如成文日期）；出现此前三年内的年份（比较、起始年份和法规日期除外），"
        "多半是沿用了往年的报告。",
        "“{section}”中出现“{year}年”（“{quote}”），而报告年度为 {report_year} 年，可能沿用了往年的报告，请核对。",
    ),
    # -- across years (schemas.crossyear) ------------------------------------
    Rule(
        "RX.1", WARNING, "上年结转与上年年报不衔接",
        "表三“二、上年结转政府信息公开申请数量”各列应等于本单位上一年度已通过年报的“四、结转下年度继续办理”。",
        "{label}为 {value}，但本单位 {previous_year} 年度已通过年报的“四、结转下年度继续办理”同列为 {previous}，"
        "相差 {diff}。请核对本年或上年的数字。",
    ),
    Rule(
        "R2.2", WARNING, "现行有效件数与上年不衔接",
        "表二规章、行政规范性文件的“现行有效件数”应约等于上年现行有效件数加本年制发件数、减本年废止件数"
        "（文件也会因有效期届满而失效，故只作提示）。",
        "{label}为 {value}，按上年年报推算应为 {expected}（{previous_year} 年现行有效 {previous} ＋ 本年制发 {issued} "
        "－ 本年废止 {repealed}），相差 {diff}。如有文件因有效期届满等原因失效，请在文字部分说明。",
    ),
    Rule(
        "RX.2", WARNING, "与上年相比变化十倍以上",
        f"同一栏目的数字与本单位上一年度已通过年报相比增减 {JUMP_RATIO} 倍以上（两年都不少于 {JUMP_FLOOR} 时才比较），"
        "可能填错了栏目或单位。",
        "{label}为 {value}，{previous_year} 年度为 {previous}，{change}，请核实是否填错了栏目或单位。",
    ),
    # -- importing a published report (schemas.published, schemas.placement) ------
    Rule(
        "import.section", ERROR, "未找到表格部分",
        "导入已发布的年报时，须按标题找到“二、”“三、”“四、”三个表格部分，才能读取各表的数字。",
        "未找到“{title}”部分（应以该标题单独成行），无法读取表{number}的数字，未导入。",
    ),
    Rule(
        "import.title", ERROR, "标题中没有单位名称和年度",
        "以 Word、PDF 或网页报送的年报，按标题（如“××局2024年度政府信息公开工作年度报告”）确定单位和年度。",
        "未能从标题中读出单位名称和年度。请在文档开头写明标题，如“××局2024年度政府信息公开工作年度报告”，"
        "或改用年报模板（Excel）报送。",
    ),
    Rule(
        "import.old_format", ERROR, "2019 年旧版格式",
        "2019 年旧版年报格式（含“本年新制作数量”“对外公开总数量”等栏目）的表格与 2021 年起的国家格式不同，不能对应导入。",
        "这是 2019 年旧版格式（发现旧栏目“{marker}”），各表的行列与国办公开办函〔2021〕30号规定的格式不同，"
        "无法对应，未导入。请按新格式重新填写年报模板。",
    ),
    Rule(
        "import.grouped_row", ERROR, "合并了国家格式的行",
        "导入已发布的年报时，每个数值须按所在行的行名对应到国家格式的一行；把几行合成一行的表格无法拆分。",
        "表{number}{group}只有一行，国家格式分为 {expected} 行（{rows}），无法确定各行的数值，未导入。",
    ),
    Rule(
        "import.run_together", ERROR, "单元格之间没有分隔",
        "导入已发布的年报时，每个数值须是单独的单元格；几个数字连在一起的文字无法拆分。",
        "表{number}“{row}”一行的数值连在一起（“{value}”），单元格之间没有分隔，无法确定各数值，未导入。",
    ),
    Rule(
        "import.row_count", ERROR, "一行的数值个数不符",
        "导入已发布的年报时，没有可用表头的一行须有与国家格式相同个数的数值，才能按列对应。",
        "表{number}“{row}”一行有 {found} 个数值，国家格式为 {expected} 个，无法确定各数值属于哪一列，未导入。",
    ),
    Rule(
        "import.rows", ERROR, "行名无法识别",
        "导入已发布的年报时，每个数值按所在行的行名对应到国家格式的行；找不到的行无法导入。",
        "表{number}中找不到国家格式的 {count} 行：{rows}（行名缺失、无法识别，或该行没有数值），未导入。",
    ),
    Rule(
        "import.columns", ERROR, "表头无法识别",
        "导入已发布的年报时，每个数值按其上方的表头对应到国家格式的列；表头无法识别的列无法导入。",
        "表{number}中找不到国家格式的 {count} 列：{columns}（表头缺失或无法识别），未导入。",
    ),
    Rule(
        "import.cells", ERROR, "数值不在任何一列下",
        "导入已发布的年报时，每个数值须在某一列的表头之下，且每列只有一个数值。",
        "表{number}“{row}”一行中 {values} 不在任何一列表头之下（或与同列的数值重叠），无法确定其位置，未导入。",
    ),
    Rule(
        "import.value", WARNING, "表格中有非数字内容",
        "导入已发布的年报时，表格中“/”“-”“无”、带单位的数字或汉字数字按原样写入对应单元格，校验时按不是数字处理。",
        "{label}为“{value}”，不是数字，已按原样写入。",
    ),
    Rule(
        "import.blank", WARNING, "表格中有空白单元格",
        "导入已发布的年报时，空白的数字单元格按空白导入，校验时按未填写处理。",
        "{label}在原文中是空白，已按空白导入，请补填（没有的填 0）。",
    ),
    Rule(
        "import.text", WARNING, "未找到文字部分",
        "导入已发布的年报时，“一、”“五、”“六、”文字部分按标题查找；找不到的按空白导入。",
        "未找到“{title}”部分，该部分按空白导入，请在「文字部分」补充。",
    ),
)

CATALOGUE: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    return CATALOGUE[rule_id]


def _rules_version() -> str:
    """A digest of everything the checks decide by: the catalogue, the equations, the single-cell rules
    and the form's constants.  Outputs built under other rules are rebuilt."""
    from . import form

    facts = (sorted((r.id, r.severity, r.title, r.description, r.message) for r in CATALOGUE.values()),
             [(i.key, i.left, i.right, i.anchor) for i in form.FORM.rule_instances], form.CELL_RULES,
             {k: getattr(form, k) for k in dir(form) if k.isupper() and isinstance(getattr(form, k), (int, float, str, dict))})
    return f"{form.TEMPLATE_VERSION}+{hashlib.sha256(repr(facts).encode('utf-8')).hexdigest()[:12]}"


RULES_VERSION = _rules_version()
"""The template version and a digest of the rules (``nianbao-2021.1+683b78007cf2``): shown on the review
report, and part of a year's fingerprint, so that outputs built under other rules are rebuilt."""
