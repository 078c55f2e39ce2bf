"""What a business type declares about itself in its BPMN, and the check of it at load time.

A process tells the service, as `spiffworkflow:property` extension properties, which
menu category it belongs to, which database facts its rules read, what reaching an end
event changes in the records, what a passed learning task issues, and so on. The
service keeps a registry of named functions for each kind (effects, facts, learning
effects); a BPMN chooses one by its name. The names allowed here are those registries'
names (a test keeps the two lists equal), so a typo stops start-up and `memberflow check`
with the file, the element and the line instead of silently doing nothing.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# the menu category a business type is listed under (the manual's words)
CATEGORIES = MappingProxyType(
    {
        "membership": "人员管理",
        "education": "普通会员教育学习",
        "certificate": "证书业务",
        "cpd": "专业会员（注师）继教",
        "unit": "单位业务",  # the unit's own business (manual 3.24): its name, its membership
        "payment": "缴费业务",  # the unit pays its members' fees (manual 3.5: 个人会员费缴纳)
    }
)
# which database facts the rules read before the engine runs (services/workflow/facts.py)
FACTS = ("applicant", "persons", "unit")
# what reaching an end event changes in the records (services/workflow/effects.py)
EFFECTS = (
    "admit_member",
    "change_member_info",
    "change_certificate_unit",
    "cancel_certificates",
    "record_cpd",
    "rename_unit",
    "admit_unit",
)
# what one person's passed learning does to the certificates (education/certificates.py)
LEARNING_EFFECTS = (
    "issue_certificate",
    "renew_certificate",
    "upgrade_certificate",
    "change_specialty",
)
# the exports whose rows a business type's forms appear in (documents/exports.py)
EXPORT_GROUPS = ("enrolment",)
TEMPLATE_FIELDS = ("certificate_type",)  # what a training_category text may insert


@dataclass(frozen=True)
class Property:
    """One declaration: the elements it may stand on, its allowed values (None: free)."""

    elements: tuple[str, ...]
    values: tuple[str, ...] | None
    meaning: str


PROPERTIES = MappingProxyType(
    {
        "category": Property(("process",), tuple(CATEGORIES), "业务分类"),
        "facts": Property(("process",), FACTS, "规则所需的数据库事实"),
        "export_group": Property(("process",), EXPORT_GROUPS, "所属导出表"),
        "training_category": Property(("process",), None, "培训类别名称"),
        "join_code": Property(("process",), ("true",), "单位申请码发起的入会流程"),
        "effect": Property(("endEvent",), EFFECTS, "到达该结束事件时对档案的改变"),
        "learning_effect": Property(
            ("intermediateCatchEvent",), LEARNING_EFFECTS, "考试通过后对证书的改变"
        ),
        "blank_fields": Property(("startEvent",), None, "申请人可不填、以空值交给脚本的字段"),
    }
)
# every process must declare these (checked for the folders, not for stored old versions)
REQUIRED = ("category", "facts")
# the properties the process element may carry (any other name there is a typo, reported)
PROCESS_PROPERTIES = frozenset(name for name, p in PROPERTIES.items() if "process" in p.elements)
ELEMENT_NAMES = {
    "process": "流程（bpmn:process）",
    "endEvent": "结束事件（bpmn:endEvent）",
    "intermediateCatchEvent": "消息捕获事件（bpmn:intermediateCatchEvent）",
    "startEvent": "开始事件（bpmn:startEvent）",
}


@dataclass(frozen=True)
class Declarations:
    """A business type's declared behaviour, read from its BPMN."""

    category: str | None = None
    facts: str | None = None
    export_group: str | None = None
    training_category: str | None = None
    join_code: bool = False
    effects: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    learning_effect: str | None = None
    blank_fields: tuple[str, ...] = ()
    blank_fields_on: str | None = None  # the start event that declares them
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def declared(self) -> bool:
        """False for a version stored before business types declared themselves."""
        return self.category is not None

    def training_label(self, name: str, certificate_type: str | None) -> str:
        """培训类别 as the manual writes it, e.g. 安全监理员初始教育; else the process name."""
        if self.training_category is None:
            return name
        return self.training_category.format(certificate_type=certificate_type or "")


@dataclass(frozen=True)
class Finding:
    """A mistake in a declaration: element id, line, message (the catalogue adds the file)."""

    element: str | None
    line: int | None
    message: str


def _properties(el) -> list:
    """The spiffworkflow:property elements of this element itself."""
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return []
    return list(ext.iterfind(f"{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"))


def _owner_kind(el) -> str:
    """The element kind a declaration is judged by; an end event inside a sub-process, or
    in a process the main one calls (a learning branch), is not an end of the process (its
    effect would never run)."""
    local = etree.QName(el).localname
    parent = el.getparent()
    if local == "endEvent" and (
        etree.QName(parent).localname != "process"
        or parent is not parent.getparent().find(f"{{{BPMN_NS}}}process")
    ):
        return "subProcess endEvent"
    if (
        local == "intermediateCatchEvent"
        and el.find(f"{{{BPMN_NS}}}messageEventDefinition") is None
    ):
        return "intermediateCatchEvent without message"
    return local


def _check_value(name: str, value: str, where: tuple, prop, found: list[Finding]) -> bool:
    if prop.values is not None and value not in prop.values:
        found.append(
            Finding(*where, f"{name} 属性值“{value}”无效，可选值：" + "、".join(prop.values))
        )
        return False
    if name == "training_category":
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            found.append(Finding(*where, f"training_category 格式错误：{exc}"))
            return False
        unknown = [f for f in fields if f not in TEMPLATE_FIELDS]
        if unknown:
            found.append(
                Finding(
                    *where,
                    f"training_category 中只能插入 {{certificate_type}}，不能插入 {{{unknown[0]}}}",
                )
            )
            return False
    return True


def read_declarations(root) -> tuple[Declarations, list[Finding]]:
    """The declarations of one BPMN document (its first process), and the mistakes in them."""
    found: list[Finding] = []
    process = root.find(f"{{{BPMN_NS}}}process")
    values: dict[str, str] = {}
    effects: dict[str, str] = {}
    learning: dict[str, str] = {}
    lines: dict[str, int] = {"process": process.sourceline} if process is not None else {}
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("id") is None:
            continue
        kind = _owner_kind(el)
        if kind == "process" and el is not process:
            kind = "called process"  # a second process in the file declares nothing itself
        for prop_el in _properties(el):
            name, value = prop_el.get("name"), (prop_el.get("value") or "").strip()
            prop = PROPERTIES.get(name)
            line = prop_el.sourceline
            if prop is None:
                if el is process:
                    known = "、".join(sorted(PROCESS_PROPERTIES))
                    found.append(
                        Finding(el.get("id"), line, f"流程上不认识的属性 {name}（可用：{known}）")
                    )
                continue
            if kind not in prop.elements:
                allowed = "、".join(ELEMENT_NAMES[e] for e in prop.elements)
                found.append(
                    Finding(
                        el.get("id"),
                        line,
                        f"{name} 属性（{prop.meaning}）不能放在这里，只能放在{allowed}上"
                        + (
                            "（子流程或被调用流程内的结束事件不是本流程的结束）"
                            if kind.startswith("sub")
                            else ""
                        ),
                    )
                )
                continue
            if not _check_value(name, value, (el.get("id"), line), prop, found):
                continue
            if name == "effect":
                effects[el.get("id")] = value
            elif name == "learning_effect":
                learning[el.get("id")] = value
            else:
                values[name] = value
            lines[el.get("id") if name in ("effect", "learning_effect") else name] = line
            if name == "blank_fields":
                values["blank_fields_on"] = el.get("id")
    if len(set(learning.values())) > 1:
        kinds = "、".join(sorted(set(learning.values())))
        for element_id in sorted(learning)[1:]:
            found.append(
                Finding(
                    element_id, lines[element_id], f"一个流程只能有一种 learning_effect：{kinds}"
                )
            )
    blank = tuple(f.strip() for f in values.get("blank_fields", "").split(",") if f.strip())
    declarations = Declarations(
        category=values.get("category"),
        facts=values.get("facts"),
        export_group=values.get("export_group"),
        training_category=values.get("training_category"),
        join_code=values.get("join_code") == "true",
        effects=MappingProxyType(effects),
        learning_effect=next(iter(learning.values()), None),
        blank_fields=blank,
        blank_fields_on=values.get("blank_fields_on"),
        lines=MappingProxyType(lines),
    )
    return declarations, found


def check_blank_fields(declarations: Declarations, start_fields: Mapping) -> list[Finding]:
    """Every blank field must be a field of the start form."""
    return [
        Finding(
            declarations.blank_fields_on,
            declarations.lines.get("blank_fields"),
            f"blank_fields 中的 {f} 不是开始表单的字段",
        )
        for f in declarations.blank_fields
        if f not in start_fields
    ]


def check_required(key: str, declarations: Declarations) -> list[Finding]:
    """The declarations every process in the folders must make."""
    found, line = [], declarations.lines.get("process")
    for name in REQUIRED:
        if getattr(declarations, name) is None:
            prop = PROPERTIES[name]
            choices = "、".join(prop.values or ())
            found.append(
                Finding(key, line, f"流程缺少 {name} 属性（{prop.meaning}，可选值：{choices}）")
            )
    return found
