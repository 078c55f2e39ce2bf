"""Business types that share one diagram: a template in processes/shared/ and, per type, a
small file saying what differs.

The four education businesses (初始教育, 继续教育, 员升师, 专业变更) run the same chain of
checks, reviews, payment and learning. Their diagram is drawn once, in
`processes/shared/education.bpmn`, a normal BPMN file a modeler opens, in which the parts
that differ are placeholders written `__name__`: `__key__` (the process key, in ids such
as `__key__` and `__key___eligibility`) and any others the template uses (the business
name, its training category, its learning effect). Each type is a file
`processes/<key>.shared.json`:

    {"template": "shared/education.bpmn",
     "values": {"name": "普通会员继续教育", "training_category": "…", "learning_effect": "…"}}

The catalogue renders the type's BPMN from the two before parsing it. A version's files are
both (its content hash covers both), so a change to the template is a new version of every
type that uses it, and an instance keeps running on the template it started with.
"""

from __future__ import annotations

import re
from html import escape

from service.engine import json_files

SUFFIX = ".shared.json"
SHARED_FOLDER = "processes/shared/"
_PLACEHOLDER = re.compile(r"__([a-z][a-z0-9]*(?:_[a-z0-9]+)*)__")


class TemplateProblem(ValueError):
    """A shared type's file or its template is wrong: file, line and a Chinese message."""

    def __init__(self, file: str, line: int | None, message: str):
        super().__init__(message)
        self.file, self.line, self.message = file, line, message


def variant_name(key: str) -> str:
    return f"processes/{key}{SUFFIX}"


def template_of(key: str, text: str) -> str:
    """The template file a type's `.shared.json` names (its path under the repository)."""
    name = variant_name(key)
    spec = _read(name, text)
    template = spec.get("template")
    if not isinstance(template, str) or not re.fullmatch(r"shared/[A-Za-z0-9_]+\.bpmn", template):
        raise TemplateProblem(
            name,
            _line(text, "template"),
            "template 应为 processes/shared/ 中的 BPMN 文件，如 shared/education.bpmn",
        )
    return f"processes/{template}"


def render(key: str, files: dict[str, str]) -> str:
    """The BPMN text of a shared type, from its `.shared.json` and the template it names."""
    name = variant_name(key)
    text = files[name]
    spec = _read(name, text)
    template_name = template_of(key, text)
    if template_name not in files:
        raise TemplateProblem(name, _line(text, "template"), f"模板文件 {template_name} 不存在")
    values = spec.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise TemplateProblem(name, _line(text, "values"), "values 应为 名称 → 文字 的对象")
    if "key" in values:
        raise TemplateProblem(name, _line(text, '"key"'), "key 由文件名决定，不能在 values 中填写")
    template = files[template_name]
    used = set(_PLACEHOLDER.findall(template))
    missing = sorted(used - set(values) - {"key"})
    if missing:
        raise TemplateProblem(
            name,
            _line(text, "values"),
            f"模板 {template_name} 的占位符没有取值：{'、'.join(missing)}",
        )
    unused = sorted(set(values) - used)
    if unused:
        raise TemplateProblem(
            name,
            _line(text, unused[0]),
            f"模板 {template_name} 中没有这些占位符：{'、'.join(unused)}",
        )
    filled = {"key": key, **values}
    return _PLACEHOLDER.sub(lambda m: escape(filled[m.group(1)], quote=True), template)


def _read(name: str, text: str) -> dict:
    try:
        spec = json_files.read(text)
    except json_files.JsonFileProblem as exc:
        raise TemplateProblem(name, exc.line, exc.message) from exc
    if not isinstance(spec, dict):
        raise TemplateProblem(name, 1, '应为对象：{"template": …, "values": {…}}')
    return spec


def _line(text: str, word: str) -> int | None:
    for number, row in enumerate(text.splitlines(), 1):
        if word in row:
            return number
    return None
