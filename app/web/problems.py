"""The deploy check's problems in the designer's language: the engine speaks English, designers read Chinese.

Each known message shape has a Chinese form; a message of an unknown shape is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from app.services.definitions.drafts import Problem
from app.web.i18n import select_locale

HINTS = {
    "choose a form (formJsonSchemaFilename) instead": "请改为选择表单（formJsonSchemaFilename）",
    "put the task in the lane of a role instead": "请把任务放进某个角色的泳道",
    "a Java class cannot run here; use a script task": "Java 类无法在此运行，请改用脚本任务",
    "a Java delegate cannot run here; use a script task": "Java 委托无法在此运行，请改用脚本任务",
    "a job worker cannot run here; use a script task": "Job worker 无法在此运行，请改用脚本任务",
    "this engine ignores it": "本系统会忽略它",
}

PATTERNS: tuple[tuple[str, str], ...] = (
    (r"unreachable: no sequence flow leads here", "不可达：没有顺序流指向这里"),
    (r"lane '(?P<a>.*)' names no known role", "泳道“{a}”不是已知角色"),
    (r"user task is not in a lane, so no role can see it", "人工任务不在任何泳道中，没有角色能看到它"),
    (r"gateway has no outgoing sequence flow", "网关没有流出的顺序流"),
    (r"(startEvent|boundaryEvent) has no outgoing sequence flow", "事件没有流出的顺序流"),
    (r"sequence flow (sourceRef|targetRef) '(?P<a>.*)' is not an element of this process",
     "顺序流的端点“{a}”不在本流程中"),
    (r"(script|preScript|postScript) does not compile: (?P<a>.*)", "脚本无法编译：{a}"),
    (r"condition does not compile: (?P<a>.*)", "条件无法编译：{a}"),
    (r"condition is empty", "条件为空"),
    (r"timer expression does not compile: (?P<a>.*)", "定时器表达式无法编译：{a}"),
    (r"timer expression is empty", "定时器表达式为空"),
    (r"timer expression uses (?P<a>.*), which no form, script or table sets",
     "定时器表达式用到了 {a}，但没有表单、脚本或决策表设置它"),
    (r"timer expression is not a valid ISO 8601 \w+: (?P<a>.*)", "定时器表达式不是有效的 ISO 8601 时间：{a}"),
    (r"property '(?P<a>\w+)' does not compile: (?P<b>.*)", "属性“{a}”无法编译：{b}"),
    (r"calls process '(?P<a>.*)', which is not deployed", "调用的流程“{a}”不存在"),
    (r"uses decision '(?P<a>.*)', which no DMN file defines", "决策“{a}”在任何 DMN 文件中都没有定义"),
    (r"form '(?P<a>.*)' does not exist", "表单“{a}”不存在"),
    (r"(?P<a>.*) is a (?P<b>.*) setting that this engine does not support: (?P<hint>.*)",
     "{a} 是 {b} 的设置，本系统不支持：{hint}"),
    (r"condition '(?P<a>.*)' is a Camunda expression \(JUEL/FEEL\); write it in Python, e\.g\. amount > 100",
     "条件“{a}”是 Camunda 表达式（JUEL/FEEL），请改写为 Python，例如 amount > 100"),
    (r"process is not executable .*", "流程未标记为可执行，也没有流程调用它，部署时不会包含它；请标记为可执行"),
    (r"input cell '(?P<a>.*)' (does not compile|joins the input into .*); .*",
     "输入单元格“{a}”无法正确运行；请写一个值，或用 ? 表示输入（如 ? in (\"a\", \"b\")）"),
    (r"(?P<w>.*) reads '(?P<a>.*)', which is not set on every path that reaches it; missing on the path (?P<b>.*)",
     "读取的变量“{a}”（{w}）并非在每条路径上都已设置，这条路径上就没有：{b}；请在前面的脚本中设默认值、"
     "改为必填字段，或在条件中先判断"),
    (r"hit policy UNIQUE, but rules (?P<a>.*) overlap .*",
     "命中策略为 UNIQUE，但规则 {a} 有重叠（同一输入同时符合）；请让各行互斥，或改用命中策略 FIRST"),
    (r"form is not valid JSON: (?P<a>.*)", "表单不是有效的 JSON：{a}"),
    (r"form is not a valid JSON Schema: (?P<a>.*)", "表单不是有效的 JSON Schema：{a}"),
    (r'form schema must have "type": "object"', '表单的 Schema 须为 "type": "object"'),
    (r"form is nested more than (?P<a>\d+) levels deep", "表单嵌套超过 {a} 层"),
    (r"pattern (?P<a>.*) at (?P<b>\S*) cannot be matched without backtracking: (?P<c>.*)",
     "{b} 的正则 {a} 无法以无回溯方式匹配：{c}"),
    (r"(?P<k>\$ref|\$dynamicRef) (?P<a>.*) at (?P<b>\S*) leaves the form: .*",
     "{b} 的 {k} {a} 指向表单之外：只允许表单内的引用（#/...）"),
    (r"a file name uses letters, digits and underscores and ends in \.bpmn, \.dmn or \.json",
     "文件名只能用字母、数字、下划线，以 .bpmn、.dmn 或 .json 结尾"),
    (r"process id also defined in (?P<a>.*)", "流程 ID 与 {a} 中的重复"),
    (r"no process in this file is executable, so nothing of it would be deployed: .*",
     '文件中没有可执行的流程，什么都不会部署：请在流程上设置 isExecutable="true"'
     '（<bpmn:process id="…" isExecutable="true">）'),
    (r"the file holds no process, so nothing of it would be deployed", "文件中没有流程，什么都不会部署"),
    (r"no process uses this file, so nothing of it would be deployed: .*",
     "没有流程使用此文件，什么都不会部署：请与使用它的流程一起上传"),
    (r"(?P<a>malformed XML: .*|DOCTYPE and ENTITY declarations are not allowed|file is larger than .*)",
     "XML 被拒绝：{a}"),
)
_COMPILED = tuple((re.compile(pattern + r"\Z", re.DOTALL), template) for pattern, template in PATTERNS)


def localized(message: str, locale: str) -> str:
    """The message in ``locale`` (``zh``: Chinese when its shape is known; ``en``: as the engine says it)."""
    if locale == "en":
        return message
    for pattern, template in _COMPILED:
        found = pattern.match(message)
        if found:
            values = found.groupdict()
            if "hint" in values:
                values["hint"] = HINTS.get(values["hint"], values["hint"])
            return template.format(**values)
    return message


def problem_json(problem: Problem, locale: str) -> dict[str, Any]:
    """A problem for the editor pages: the engine's English ``message`` and the ``text`` to show."""
    return {**asdict(problem), "text": localized(problem.message, locale)}


def shown(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """Problems as the editor pages show them, in the reader's language."""
    return [problem_json(problem, select_locale()) for problem in problems]
