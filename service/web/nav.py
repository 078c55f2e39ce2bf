"""The left menu of each role, in the manual's words (UI.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request, url_for

from service.domain.actor import Actor
from service.services import accounts
from service.web.pages import uow


@dataclass
class Item:
    label: str
    url: str

    @property
    def active(self) -> bool:
        path = self.url.split("?")[0]
        return request.path == path or request.path.startswith(path.rstrip("/") + "/")


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)


def _queue(title: str, with_done: bool = True) -> Section:
    items = [
        Item("待办任务", url_for("workbench.queue", scope="todo")),
        Item("我的认领", url_for("workbench.queue", scope="mine")),
    ]
    if with_done:
        items.append(Item("已办任务", url_for("workbench.queue", scope="done")))
    return Section(title, items)


def _unit_heading(actor: Actor) -> str:
    unit = accounts.own_unit(uow(), actor)
    return "单位（会员）" if unit is not None and unit["member_unit"] else "单位（非会员）"


def menu(actor: Actor) -> list[Section]:
    """The sections of the left menu for this person."""
    forms = Item("业务查询", url_for("forms.index"))
    home = Item("首页", url_for("home.index"))
    lookup = Item("证书查询", url_for("public.lookup"))
    if actor.role in ("agency_reviewer", "association_reviewer", "finance_reviewer"):
        return [
            _queue("审核工作台"),
            Section("业务", [forms, home]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "secretariat_admin":
        return [
            Section("任务管理", [Item("已认领任务", url_for("workbench.queue", scope="claimed"))]),
            Section("业务", [forms, home]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "unit_admin":
        mine = Item("我的业务", url_for("forms.index"))
        return [Section(_unit_heading(actor), [home, mine]), _queue("待办事项", with_done=True)]
    if actor.role == "member":
        return [Section("个人会员", [Item("我的业务", url_for("forms.index"))]), _queue("待办事项")]
    return []
