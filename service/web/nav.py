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


def _unit_pages() -> list[Section]:
    """A unit administrator's own pages (service/web/unit.py), in the manual's words."""
    return [
        Section(
            "人员管理",
            [
                Item("单位人员档案", url_for("unit.archive")),
                Item("入会二维码", url_for("unit.codes")),
                Item("电子证书", url_for("unit.certificates")),
            ],
        ),
        Section(
            "普通会员教育学习进度",
            [Item("学习中", url_for("unit.learning_progress", status="学习中"))],
        ),
        Section(
            "单位与账号",
            [
                Item("单位信息", url_for("unit.info")),
                Item("子账号管理", url_for("unit.accounts_page")),
                Item("修改密码", url_for("account.password")),
            ],
        ),
    ]


def _finance_pages(actor: Actor) -> list[Section]:
    """协会财务's lists (service/web/finance.py); the payment review is the queue above."""
    if actor.role != "finance_reviewer":
        return []
    return [
        Section(
            "缴费业务",
            [
                Item("开票记录", url_for("finance.invoices_page")),
                Item("缴费单", url_for("finance.bills_page")),
            ],
        )
    ]


def _secretariat_pages() -> Section:
    """The secretariat's reference data (service/web/secretariat.py). A process catalogue page
    does not exist yet: its menu item comes with it."""
    return Section(
        "机构与账号",
        [
            Item("会员服务机构", url_for("secretariat.agencies")),
            Item("单位管理", url_for("secretariat.units")),
            Item("工作人员", url_for("secretariat.staff")),
        ],
    )


def _member_pages(notices: Item) -> Section:
    """个人会员's own pages (service/web/member.py)."""
    return Section(
        "个人会员",
        [
            Item("我的信息", url_for("member.profile_page")),
            Item("我的业务", url_for("forms.index")),
            notices,
            Item("修改密码", url_for("account.password")),
        ],
    )


def menu(actor: Actor) -> list[Section]:
    """The sections of the left menu for this person."""
    forms = Item("业务查询", url_for("forms.index"))
    home = Item("首页", url_for("home.index"))
    lookup = Item("证书查询", url_for("public.lookup"))
    notices = Item("系统通知", url_for("notices.index"))
    jobs = Item("后台任务", url_for("job_pages.index"))  # large exports, zips, imports
    if actor.role in ("agency_reviewer", "association_reviewer", "finance_reviewer"):
        return [
            _queue("审核工作台"),
            *_finance_pages(actor),
            Section("业务", [forms, home, notices, jobs]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "secretariat_admin":
        return [
            Section("任务管理", [Item("已认领任务", url_for("workbench.queue", scope="claimed"))]),
            _secretariat_pages(),
            Section("业务", [forms, home, notices, jobs]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "unit_admin":
        mine = Item("我的业务", url_for("forms.index"))
        return [
            Section(
                _unit_heading(actor),
                [home, Item("业务办理", url_for("business.index")), mine, jobs],
            ),
            _queue("待办事项", with_done=True),
            *_unit_pages(),
        ]
    if actor.role == "member":
        return [_member_pages(notices), _queue("待办事项")]
    return []
