"""What the parsers say of a broken file, said in Chinese for the designer who fixes it.

libxml2 (through lxml and SpiffWorkflow's BPMN/DMN schema check) and Python's json module
report in English. The messages a designer meets when editing by hand are matched here and
said again in Chinese, naming the element, attribute or character; anything not matched
keeps its own text after a Chinese lead, so nothing is lost.
"""

from __future__ import annotations

import re

_NAMESPACE = re.compile(r"\{[^}]*\}")
_EXPECTED_SHOWN = 8  # of a long "Expected is one of (…)", the first few


def _local(name: str) -> str:
    """An element's name without its namespace ({http://…/MODEL}userTask → userTask)."""
    return _NAMESPACE.sub("", name).strip()


def _expected(listing: str) -> str:
    names = [_local(n) for n in listing.split(",") if n.strip()]
    names = [n for n in dict.fromkeys(names) if n and n != "##other"]
    shown = "、".join(names[:_EXPECTED_SHOWN])
    return shown + ("等" if len(names) > _EXPECTED_SHOWN else "")


_SCHEMA = [  # the BPMN/DMN schema's check (XSD), libxml2's wording
    (
        re.compile(
            r"Element '([^']+)': This element is not expected\.(?: Expected is "
            r"(?:one of )?\( (.*) \)\.?)?"
        ),
        lambda m: (
            f"元素 <{_local(m[1])}> 不应出现在此处"
            + (f"（此处可以是：{_expected(m[2])}）" if m[2] else "")
        ),
    ),
    (
        re.compile(r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed"),
        lambda m: f"元素 <{_local(m[1])}> 不能有属性 {_local(m[2])}",
    ),
    (
        re.compile(
            r"Element '([^']+)', attribute '([^']+)': (?:\[[^\]]*\] )?'([^']*)' is not a "
            r"valid value of the atomic type '([^']+)'"
        ),
        lambda m: (
            f"元素 <{_local(m[1])}> 的属性 {_local(m[2])} 的值“{m[3]}”无效"
            f"（应为 {_local(m[4])} 类型）"
        ),
    ),
    (
        re.compile(r"Element '([^']+)': The attribute '([^']+)' is required but missing"),
        lambda m: f"元素 <{_local(m[1])}> 缺少必需的属性 {_local(m[2])}",
    ),
    (
        re.compile(r"Element '([^']+)': Missing child element\(s\)\. Expected is \( (.*) \)"),
        lambda m: f"元素 <{_local(m[1])}> 缺少子元素（应有：{_expected(m[2])}）",
    ),
    (
        re.compile(r"Element '([^']+)': Character content other than whitespace is not allowed"),
        lambda m: f"元素 <{_local(m[1])}> 里不能直接写文字",
    ),
]

_SYNTAX = [  # libxml2's well-formedness errors
    (
        re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)"),
        lambda m: f"开始标签与结束标签不匹配：第 {m[2]} 行的 <{m[1]}> 遇到了 </{m[3]}>",
    ),
    (
        re.compile(r"Premature end of data in tag (\S+) line (\d+)"),
        lambda m: f"文件在第 {m[2]} 行的 <{m[1]}> 结束之前就结束了（缺少结束标签？）",
    ),
    (
        re.compile(r"Couldn't find end of Start Tag (\S+)"),
        lambda m: f"<{m[1]}> 的开始标签没有写完（缺少 > ？）",
    ),
    (re.compile(r"Extra content at the end of the document"), lambda m: "文档末尾有多余的内容"),
    (
        re.compile(r"Start tag expected, '<' not found"),
        lambda m: "找不到开始标签（文件不是 XML？）",
    ),
    (re.compile(r"StartTag: invalid element name"), lambda m: "标签名无效"),
    (re.compile(r"attributes construct error"), lambda m: "属性的写法有误（缺少引号或等号？）"),
    (
        re.compile(r"Attribute (\S+) redefined"),
        lambda m: f"属性 {m[1]} 在同一元素上写了两次",
    ),
    (
        re.compile(r"EntityRef: expecting ';'|xmlParseEntityRef: no name"),
        lambda m: "“&” 须写作 &amp;（或实体引用缺少分号）",
    ),
    (
        re.compile(r"Unescaped '<' not allowed in attributes values"),
        lambda m: "属性值里的 “<” 须写作 &lt;",
    ),
    (
        re.compile(r"Namespace prefix (\S+) (?:on (\S+) )?is not defined"),
        lambda m: f"命名空间前缀 {m[1]} 没有声明",
    ),
]

_JSON = [  # Python's json module
    (
        re.compile(r"Expecting property name enclosed in double quotes"),
        "属性名须用英文双引号括起来（或多了一个逗号）",
    ),
    (re.compile(r"Expecting value"), "此处应有一个值（或多了一个逗号）"),
    (re.compile(r"Expecting ',' delimiter"), "缺少逗号"),
    (re.compile(r"Expecting ':' delimiter"), "属性名后缺少冒号"),
    (re.compile(r"Unterminated string starting at"), "字符串缺少结束的双引号"),
    (re.compile(r"Extra data"), "JSON 结束后还有多余的内容"),
    (re.compile(r"Invalid control character at"), "字符串中有换行或控制字符（须写作 \\n 等）"),
    (re.compile(r"Invalid \\escape"), "字符串中的反斜杠转义无效"),
    (re.compile(r"Illegal trailing comma"), "最后一项后面多了一个逗号"),
]


def _said(rules, text: str) -> str | None:
    for pattern, say in rules:
        found = pattern.search(text)
        if found:
            return say(found)
    return None


def schema_message(text: str) -> str:
    """A BPMN or DMN file's schema or parse problem, as SpiffWorkflow reports it."""
    text = text.split("\n")[0].strip()
    said = _said(_SCHEMA, text) or _said(_SYNTAX, text)
    if said:
        return said
    if text.startswith("Element '"):
        return "不符合 BPMN/DMN 规范：" + _NAMESPACE.sub("", text)
    return text


def xml_syntax(message: str) -> str:
    """XML 格式错误 and what is wrong, from libxml2's message."""
    return "XML 格式错误：" + (_said(_SYNTAX, message) or message)


def json_syntax(message: str, column: int | None = None) -> str:
    """JSON 格式错误 and what is wrong, from the json module's message."""
    said = next((zh for pattern, zh in _JSON if pattern.search(message)), message)
    where = f"（第 {column} 列）" if column else ""
    return f"JSON 格式错误：{said}{where}"


def json_schema_problem(path: list, instance, validator: str) -> str:
    """A form file that is not a JSON Schema: which keyword, what value, which rule."""
    where = "/".join(str(p) for p in path)
    shown = repr(instance) if not isinstance(instance, dict | list) else "该对象"
    if where:
        return f"不是有效的 JSON Schema：「{where}」的值 {shown} 不符合规范（{validator}）"
    return f"不是有效的 JSON Schema：{shown} 不符合规范（{validator}）"


# A script's or expression's failure at run time, as Python names it: what it means, for the
# designer reading an incident (the engine's own words follow it, as they were)
_ERROR_KINDS = {
    "NameError": "使用了未定义的名称（拼写有误，或该变量此前没有赋值）",
    "ZeroDivisionError": "除数为零",
    "KeyError": "数据中没有要取的项",
    "TypeError": "数据类型不符（如把文字当作数字计算，或对空值取值）",
    "AttributeError": "该对象没有这个属性或方法",
    "IndexError": "下标超出列表范围",
    "ValueError": "取值不合法",
    "SyntaxError": "语法错误",
}
_ERROR_NAME = re.compile(r"\b([A-Z]\w*Error)\b")


def runtime_error(error_type: str | None, detail: str) -> str:
    """A run-time failure said in Chinese first (its kind), then the engine's text."""
    kind = error_type if error_type and error_type != "unknown" else None
    if kind is None:
        found = _ERROR_NAME.search(detail)
        kind = found[1] if found else None
    lead = _ERROR_KINDS.get(kind or "", "执行出错")
    original = detail if not kind or kind in detail else f"{detail}（{kind}）"
    return f"{lead}。原文：{original}"


_RESTRICTED_SYNTAX = re.compile(r"^Line (\d+): SyntaxError: (.*?)(?: at statement: .*)?$", re.S)


# a timer's expression (BPMN timeDuration, timeDate, timeCycle) -> what it gives, in Chinese
TIMER_KINDS = {"timeDuration": "时长", "timeDate": "日期", "timeCycle": "周期"}


def timer_event(el):
    """The event (start, boundary or intermediate) timer expression `el` belongs to: a
    problem in it names the event, which the designer sees, not its timerEventDefinition."""
    owner = el.getparent()
    if owner is not None and _local(str(owner.tag)) == "timerEventDefinition":
        owner = owner.getparent()
    return owner


def timer_lead(el) -> str:
    """The lead of a problem in timer expression `el`, naming its event and the kind of timer
    (定时器“缴费期限”的时长表达式（timeDuration）中，…)."""
    kind = _local(str(el.tag))
    event = timer_event(el)
    name = (event.get("name") or event.get("id") or "") if event is not None else ""
    named = f"“{name}”" if name else ""
    return f"定时器{named}的{TIMER_KINDS.get(kind, '')}表达式（{kind}）中，"


def code_problem(exc: Exception) -> str:
    """Why an expression or script of a file was refused at check: a syntax error said as
    one (with its line), else what the sandbox does not allow."""
    if isinstance(exc, SyntaxError):
        line = f"第{exc.lineno}行" if exc.lineno else ""
        return f"语法错误{('（' + line + '）') if line else ''}：{exc.msg}"
    text = str(exc)
    parts = [p.strip() for p in text.split("；")]
    syntax = [m for m in (_RESTRICTED_SYNTAX.match(p) for p in parts) if m]
    if syntax and len(syntax) == len(parts):
        return "；".join(f"语法错误（第{m[1]}行）：{m[2].strip()}" for m in syntax)
    return f"表达式或脚本不被允许：{text}"
