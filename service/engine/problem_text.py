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


def _owner(m) -> str:
    """元素 <X> or 元素 <X> 的属性 Y, from a schema message's Element '…'(, attribute '…')."""
    return f"元素 <{_local(m[1])}> " + (f"的属性 {_local(m[2])} " if m[2] else "")


def _choices(listing: str) -> str:
    """The values an enumeration allows ('UNIQUE', 'FIRST' → UNIQUE、FIRST)."""
    return "、".join(v.strip().strip("'") for v in listing.split(",") if v.strip())


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
            r"Element '([^']+)'(?:, attribute '([^']+)')?: (?:\[[^\]]*\] )?'([^']*)' is not a "
            r"valid value of the (?:atomic|list|local union|union) type(?: '([^']+)')?"
        ),
        lambda m: (
            f"{_owner(m)}的值“{m[3]}”无效" + (f"（应为 {_local(m[4])} 类型）" if m[4] else "")
        ),
    ),
    (
        re.compile(
            r"Element '([^']+)'(?:, attribute '([^']+)')?: \[facet 'enumeration'\] The value "
            r"'([^']*)' is not an element of the set \{(.*)\}"
        ),
        lambda m: f"{_owner(m)}的值“{m[3]}”无效（可以是：{_choices(m[4])}）",
    ),
    (
        re.compile(
            r"Element '([^']+)'(?:, attribute '([^']+)')?: \[facet 'pattern'\] The value "
            r"'([^']*)' is not accepted by the pattern '(.*)'"
        ),
        lambda m: f"{_owner(m)}的值“{m[3]}”格式不对（应符合 {m[4]}）",
    ),
    (
        re.compile(
            r"Element '([^']+)'(?:, attribute '([^']+)')?: \[facet '(\w+)'\] The value "
            r"(?:'([^']*)' )?"
        ),
        lambda m: (
            f"{_owner(m)}的值"
            + (f"“{m[4]}”" if m[4] is not None else "")
            + f"超出了规范允许的范围（{m[3]}）"
        ),
    ),
    (
        re.compile(r"Element '([^']+)': No matching global declaration available"),
        lambda m: (
            f"根元素 <{_local(m[1])}> 不是 BPMN 或 DMN 文件的根元素"
            "（应为 definitions，文件是否选错了？）"
        ),
    ),
    (
        re.compile(r"Element '([^']+)': Element content is not allowed"),
        lambda m: f"元素 <{_local(m[1])}> 里不能包含子元素",
    ),
    (
        re.compile(r"Element '([^']+)': Character content is not allowed"),
        lambda m: f"元素 <{_local(m[1])}> 里不能写文字",
    ),
    (
        re.compile(r"Element '([^']+)'(?:, attribute '([^']+)')?: Duplicate value '([^']*)'"),
        lambda m: f"{_owner(m)}的值“{m[3]}”重复（同一文件中 id 不能重复）",
    ),
    (
        re.compile(
            r"Element '([^']+)'(?:, attribute '([^']+)')?: The (?:QName )?value '([^']*)'"
            r"(?: of simple type '[^']*')? has no corresponding namespace declaration"
        ),
        lambda m: f"{_owner(m)}的值“{m[3]}”所用的命名空间前缀没有声明",
    ),
    (
        re.compile(r"Element '([^']+)'(?:, attribute '([^']+)')?: The attribute '([^']+)' is not"),
        lambda m: f"元素 <{_local(m[1])}> 不能有属性 {_local(m[3])}",
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
        re.compile(
            r"Namespace prefix (\S+) (?:(?:for|of attribute) \S+ )?(?:on \S+ )?is not defined"
        ),
        lambda m: f"命名空间前缀 {m[1]} 没有声明",
    ),
    (re.compile(r"Document is empty"), lambda m: "文件是空的"),
    (
        re.compile(r"AttValue: .*expected"),
        lambda m: "属性值须用引号括起来（或文件在此处被截断）",
    ),
    (re.compile(r"EndTag: '</' not found"), lambda m: "缺少结束标签（文件被截断？）"),
    (
        re.compile(r"Specification mandates value for attribute (\S+)"),
        lambda m: f'属性 {m[1]} 缺少值（应写作 {m[1]}="…"）',
    ),
    (re.compile(r"expected '>'"), lambda m: "此处应有 “>”（标签没有写完？）"),
    (re.compile(r"expected '='"), lambda m: "属性名后缺少 “=”"),
    (re.compile(r"error parsing attribute name"), lambda m: "属性名有误"),
    (re.compile(r"Comment not terminated"), lambda m: "注释没有结束（缺少 -->）"),
    (
        re.compile(r"Double hyphen within comment|Comment must not contain '--'"),
        lambda m: "注释中不能含有 “--”",
    ),
    (re.compile(r"CData section not finished"), lambda m: "CDATA 段没有结束（缺少 ]]>）"),
    (re.compile(r"Sequence ']]>' not allowed"), lambda m: "正文中不能出现 “]]>”"),
    (
        re.compile(r"(?:PCDATA invalid Char value|xmlParseCharRef: invalid xmlChar value) (\d+)"),
        lambda m: f"文件中有 XML 不允许的字符（字符编码 {m[1]}）",
    ),
    (
        re.compile(r"Char 0x0 out of allowed range|Char out of XML range|invalid character"),
        lambda m: "文件中有 XML 不允许的字符",
    ),
    (
        re.compile(
            r"Input is not proper UTF-8|Invalid bytes in character encoding"
            r"|Incomplete UTF-8 sequence|Invalid UTF-8|Document labelled UTF-16"
        ),
        lambda m: "文件不是有效的 UTF-8 编码",
    ),
    (
        re.compile(r"Entity '([^']+)' not defined"),
        lambda m: f"未定义的实体 &{m[1]};（XML 中只能用 &amp; &lt; &gt; &quot; &apos;）",
    ),
    (re.compile(r"CharRef: invalid"), lambda m: "字符引用（&#…;）无效"),
    (
        re.compile(r"XML declaration allowed only at the start"),
        lambda m: "XML 声明（<?xml …?>）只能写在文件最开头",
    ),
    (re.compile(r"String not (?:closed|started) expecting"), lambda m: "缺少引号"),
    (re.compile(r"Blank needed|Space required"), lambda m: "此处缺少空格"),
    (re.compile(r"Unsupported encoding:? ?(\S*)"), lambda m: f"不支持的编码 {m[1]}".strip()),
    (re.compile(r"Excessive depth in document"), lambda m: "元素嵌套层数过深"),
    (re.compile(r"Unexpected end tag : (\S+)"), lambda m: f"多余的结束标签 </{m[1]}>"),
    (
        re.compile(r"Opening and ending tag mismatch: (\S+) and (\S+)"),
        lambda m: f"开始标签与结束标签不匹配：<{m[1]}> 遇到了 </{m[2]}>",
    ),
    (
        re.compile(r"ParsePI: PI (\S+) never end"),
        lambda m: f"处理指令 <?{m[1]} 没有结束（缺少 ?>）",
    ),
    (re.compile(r"Malformed declaration expecting version"), lambda m: "XML 声明缺少 version"),
]
# where libxml2 says it found a problem, at the end of its message
_XML_WHERE = re.compile(r",? line (\d+), column (\d+)\s*$")

# SpiffWorkflow's own checks of a diagram, as it words them
_SPIFF = [
    (re.compile(r"No start event found"), lambda m: "流程没有开始事件"),
    (
        re.compile(r"Process (\S+) is not executable"),
        lambda m: f"流程 {m[1]} 未设为可执行（isExecutable）",
    ),
    (re.compile(r"The process '([^']+)' was not found"), lambda m: f"找不到流程“{m[1]}”"),
    (re.compile(r"No Script Provided"), lambda m: "脚本任务没有填写脚本"),
    (
        re.compile(r"^(\w+(?: \w+)?) (identifier|name) is missing from bpmn xml"),
        lambda m: f"{m[1]} 缺少{'标识（id）' if m[2] == 'identifier' else '名称（name）'}",
    ),
    (re.compile(r"no support implemented for this task type"), lambda m: "不支持这种任务类型"),
    (
        re.compile(r"Unknown Time Specification|Time Specification Error"),
        lambda m: "定时器的时间写法有误",
    ),
]
_CJK = re.compile(r"[\u3400-\u9fff]")

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
    """A BPMN or DMN file's schema or parse problem, as SpiffWorkflow reports it: said in
    Chinese, or (a wording not known here) what kind of problem, with the original after it."""
    text = text.split("\n")[0].strip()
    said = _said(_SCHEMA, text) or _said(_SYNTAX, text) or _said(_SPIFF, text)
    if said:
        return said
    original = _NAMESPACE.sub("", text).rstrip(". ") + "."
    element = re.match(r"Element '([^']+)'(?:, attribute '([^']+)')?", text)
    if element:
        return f"不符合 BPMN/DMN 规范：{_owner(element)}有误。原文：{original}"
    if not text or _CJK.search(text):  # our own checks speak Chinese already
        return text
    return f"流程或决策表的定义有误。原文：{original}"


def xml_syntax(message: str) -> str:
    """XML 格式错误 and what is wrong, with its line and column, from libxml2's message."""
    message = message.strip()
    where = _XML_WHERE.search(message)
    text = message[: where.start()] if where else message
    at = f"（第 {where[1]} 行第 {where[2]} 列）" if where else ""
    said = _said(_SYNTAX, text)
    if said:
        return f"XML 格式错误：{said}{at}"
    return f"XML 格式错误{at}，文件无法解析。原文：{text}"


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
    "ZeroDivisionError": "除数为零（除法或取余运算的除数是 0，请先判断除数不为 0）",
    "KeyError": "数据中没有要取的项",
    "TypeError": "数据类型不符（如把文字当作数字计算，或对空值取值）",
    "AttributeError": "该对象没有这个属性或方法",
    "IndexError": "下标超出列表范围",
    "ValueError": "取值不合法",
    "SyntaxError": "语法错误",
    "RecursionError": "调用层数过深（函数直接或间接地调用自身而没有结束）",
    "OverflowError": "数值过大，超出了能计算的范围",
    "NotImplementedError": "使用了脚本中不支持的功能",
}
# what a text says that its kind alone does not (the sandbox's refusals at run time)
_ERROR_DETAILS = [
    (
        re.compile(r"format\*?\(\) methods of `?str`? is not safe|\.format(?:_map)?\("),
        "NotImplementedError",
        "不允许使用字符串的 format()、format_map() 方法（请改用 f-string 或 + 拼接）",
    ),
    (re.compile(r"maximum recursion depth exceeded"), "RecursionError", None),
    (re.compile(r"division by zero|modulo by zero"), "ZeroDivisionError", None),
]
_ERROR_NAME = re.compile(r"\b([A-Z]\w*Error)\b")


def runtime_error(error_type: str | None, detail: str) -> str:
    """A run-time failure said in Chinese first (its kind), then the engine's text."""
    kind = error_type if error_type and error_type != "unknown" else None
    if kind is None:
        found = _ERROR_NAME.search(detail)
        kind = found[1] if found else None
    lead = _ERROR_KINDS.get(kind or "")
    for pattern, known, said in _ERROR_DETAILS:
        if kind in (None, known) and pattern.search(detail):
            kind, lead = known, said or _ERROR_KINDS[known]
            break
    original = detail if not kind or kind in detail else f"{detail}（{kind}）"
    return f"{lead or '执行出错'}。原文：{original}"


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


# A script or expression refused at check: Python's syntax errors and RestrictedPython's
# refusals ("Line N: …" each, "；" between), said in Chinese with the names they mention
_PY_SYNTAX = [
    (r"unmatched '(.)'", lambda m: f"多了一个 “{m[1]}”（前面没有与之配对的括号）"),
    (r"'(.)' was never closed", lambda m: f"“{m[1]}” 没有闭合（缺少对应的右括号）"),
    (
        r"closing parenthesis '(.)' does not match opening parenthesis '(.)'",
        lambda m: f"右括号 “{m[1]}” 与左括号 “{m[2]}” 不匹配",
    ),
    (r"invalid syntax\. Perhaps you forgot a comma", lambda m: "写法有误（是否漏了逗号？）"),
    (r"invalid syntax\. Maybe you meant '==' or ':='", lambda m: "写法有误（判断相等请用 ==）"),
    (r"invalid syntax$", lambda m: "写法有误，无法解析（多了或缺少运算符、括号、引号？）"),
    (
        r"invalid character '(.)' \(U\+(\w+)\)",
        lambda m: f"有不能使用的字符 “{m[1]}”（U+{m[2]}），标点须用英文半角",
    ),
    (
        r"invalid non-printable character U\+(\w+)",
        lambda m: f"有看不见的特殊字符（U+{m[1]}），请删除",
    ),
    (r"unterminated triple-quoted string", lambda m: "三引号字符串没有结束"),
    (
        r"unterminated string literal|EOL while scanning string literal",
        lambda m: "字符串缺少结束的引号",
    ),
    (r"unexpected EOF while parsing", lambda m: "表达式或脚本没有写完"),
    (r"expected ':'", lambda m: "此处缺少冒号 “:”"),
    (r"expected an indented block", lambda m: "此处缺少缩进的语句"),
    (r"unexpected indent", lambda m: "多余的缩进"),
    (r"unindent does not match", lambda m: "缩进与前面的行对不齐"),
    (r"expected 'else' after 'if' expression", lambda m: "条件表达式缺少 else"),
    (r"invalid (?:decimal|hexadecimal|octal|binary) literal", lambda m: "数字的写法有误"),
    (r"leading zeros in decimal integer literals", lambda m: "整数不能以 0 开头"),
    (r"positional argument follows keyword argument", lambda m: "位置参数不能写在关键字参数之后"),
    (r"keyword argument repeated: (\w+)", lambda m: f"关键字参数 {m[1]} 写了两次"),
    (r"cannot assign to ", lambda m: "此处不能赋值（判断相等请用 ==）"),
    (r"iterable unpacking cannot be used in comprehension", lambda m: "推导式中不能使用 * 解包"),
    (r"'(\w+)' outside function", lambda m: f"{m[1]} 只能写在函数内"),
    (r"'(\w+)' outside loop", lambda m: f"{m[1]} 只能写在循环内"),
    (r"f-string: expecting '}'", lambda m: "f-string 中的花括号 { } 没有成对"),
    (r"f-string: (.*)", lambda m: f"f-string 的写法有误。原文：{m[1]}"),
    (r"inconsistent use of tabs and spaces", lambda m: "缩进混用了制表符和空格"),
    (r"unexpected character after line continuation", lambda m: "续行符 “\\” 后面不能再有字符"),
]
_RESTRICTED = [  # RestrictedPython's refusals: the sentence, {} the names it is about
    (
        r'"(.+)" is an invalid variable name because it starts with "_"',
        "不能使用以下划线开头的变量名 {}",
    ),
    (
        r'"(.+)" is an invalid attribute name because it starts with "_"',
        "不能使用以下划线开头的属性名 {}",
    ),
    (
        r'"(.+)" is an invalid \w+ name because it ends with "__roles__"',
        "不能使用以 __roles__ 结尾的名称 {}",
    ),
    (r'"(.+)" is a reserved name', "{} 是保留的名称，不能使用"),
    (r'"(.+)" is a restricted name', "不允许访问 {}"),
    (r"(Exec|Eval) calls are not allowed", "不允许调用 {}"),
    (r"(\w+) statements? (?:are not allowed|is not known)", "不允许使用 {} 语句"),
    (r"\"(\*)\" imports are not allowed", "不允许使用 import {}"),
    (r"(Lazy) import statements are not allowed", "不允许使用 import{}"),
    (r"Augmented assignment of attributes", "不允许对属性使用 += 等复合赋值"),
    (r"Augmented assignment of object items", "不允许对下标或切片使用 += 等复合赋值"),
    (r"Unpacking in comprehensions", "推导式中不能使用解包"),
    (r'The keyword argument "(metaclass)" is not allowed', "不允许使用参数 {}"),
    (r"Assignment expressions are only allowed for simple targets", ":= 只能给变量赋值"),
]
_LINE = re.compile(r"^Line (\w+): (.*)$", re.S)
_SYNTAX_PART = re.compile(
    r"^(?:SyntaxError|IndentationError|TabError): (.*?)(?: at statement: .*)?$", re.S
)


def python_syntax(message: str) -> str:
    """Python's SyntaxError message in Chinese; one not known here kept after 原文："""
    for pattern, say in _PY_SYNTAX:
        found = re.search(pattern, message)
        if found:
            return say(found)
    return f"写法有误，无法解析。原文：{message}"


def _refusal(text: str) -> tuple[str, str]:
    """(the sentence, the name it is about) of one RestrictedPython refusal; ("", text)
    for a wording not known here."""
    for pattern, sentence in _RESTRICTED:
        found = re.search(pattern, text)
        if found:
            return sentence, (found[1] if found.groups() else "")
    return "", text


def _at(line) -> str:
    return f"第{line}行" if str(line or "").isdigit() else ""


def code_problem(exc: Exception) -> str:
    """Why an expression or script of a file was refused at check: a syntax error said as
    one (with its line), else what the sandbox does not allow, each refusal with its line
    (those alike on one line said once, with all their names)."""
    if isinstance(exc, SyntaxError):
        where = f"（{_at(exc.lineno)}）" if _at(exc.lineno) else ""
        return f"语法错误{where}：{python_syntax(exc.msg)}"
    syntax, refused = [], {}
    for part in (p.strip() for p in str(exc).split("；") if p.strip()):
        found = _LINE.match(part)
        line, text = (found[1], found[2]) if found else (None, part)
        wrong = _SYNTAX_PART.match(text)
        if wrong:
            where = f"（{_at(line)}）" if _at(line) else ""
            syntax.append(f"语法错误{where}：{python_syntax(wrong[1].strip())}")
        elif _CJK.search(text):  # scripting.py's own refusals speak Chinese already
            refused.setdefault((line, text), [])
        else:
            sentence, name = _refusal(text)
            refused.setdefault((line, sentence), []).append(name)
    said = []
    for (line, sentence), names in refused.items():
        at = f"{_at(line)}：" if _at(line) else ""
        if sentence:
            said.append(at + sentence.format("、".join(dict.fromkeys(names))))
        else:  # a wording not known here: what kind of problem, then its own words
            said += [f"{at}沙箱不允许这种写法。原文：{n}" for n in names]
    if not said:
        return "；".join(syntax)
    return "表达式或脚本不被允许：" + "；".join(said + syntax)
