"""The catalogue of rules: every finding nianbao can report, as data.

Each rule has a stable id, a severity, a Chinese title, a description (shown
on the template's instructions sheet and in the docs) and a message template
filled from the finding's parameters.  The CLI, the annotated workbooks, the
CSV files and the HTML reports all render from here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        return self.message.format(**params)


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
        "缺少工作表“{sheet}”。请勿删除或重命名模板中的工作表，请用原模板重新填写。",
    ),
    Rule(
        "layout.name", ERROR, "定义名称缺失或被改动",
        "模板为每个填报单元格设置了定义名称（如 requests.new.natural），不得删除或改动。",
        "定义名称“{code}”{problem}（应指向 {expected}）。请勿删除或移动模板中的单元格，请用原模板重新填写。",
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
        "而第三项（七）总计与第四项 {right_cells} 之和为 {right_value}，相差 {diff}。",
    ),
    Rule(
        "R3.2", ERROR, "表三各行总计",
        "表三每一行的“总计”等于自然人、商业企业、科研机构、社会公益组织、法律服务机构、其他六列之和。",
        "表三“{scope}”行的总计 {left_cells} 为 {left_value}，但 {right_cells} 六列之和为 {right_value}，相差 {diff}。",
    ),
    Rule(
        "R3.3", ERROR, "表三办理结果总计",
        "表三每一列的“（七）总计”等于（一）至（六）全部 21 项办理结果之和。",
        "表三“{scope}”列的（七）总计 {left_cells} 为 {left_value}，但（一）至（六）各项 {right_cells} 之和为 {right_value}，相差 {diff}。",
    ),
    Rule(
        "R4.1", ERROR, "表四总计",
        "表四行政复议、未经复议直接起诉、复议后起诉各自的“总计”等于结果维持、结果纠正、其他结果、尚未审结四项之和。",
        "表四“{scope}”的总计 {left_cells} 为 {left_value}，但四项结果 {right_cells} 之和为 {right_value}，相差 {diff}。",
    ),
    Rule(
        "R2.3", WARNING, "县级单位制发规章",
        "县级机关无权制定规章，“规章”一行通常应为 0。",
        "{label}为 {value}。县级机关无权制定规章，请核实是否应计入“行政规范性文件”。",
    ),
    Rule(
        "fee.unit", WARNING, "收费金额单位",
        "行政事业性收费的单位是“万元”，金额过大时可能误填为“元”。",
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
        "meta.uscc", ERROR, "统一社会信用代码有误",
        "统一社会信用代码为 18 位，须符合 GB 32100-2015 的字符集和校验位规则。",
        "封面“统一社会信用代码”“{value}”有误：{reason}。请对照营业执照或事业单位法人证书核对。",
    ),
    Rule(
        "text.empty", WARNING, "文字部分未填写",
        "“一、总体情况”和“五、存在的主要问题及改进情况”应当填写。",
        "“{label}”未填写（或只写了“无”）。请补充该部分内容。",
    ),
)

CATALOGUE: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    return CATALOGUE[rule_id]
