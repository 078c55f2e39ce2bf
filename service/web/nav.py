"""The left menu of each role, in the manual's words (UI.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from flask import request, url_for

from service.domain.actor import Actor
from service.services.membership import accounts
from service.services.workflow.scope import may_record_learning
from service.web.pages import ctx, uow


@dataclass
class Item:
    label: str
    url: str
    active: bool = False  # the page's own item (menu() marks one at most)

    def match(self) -> tuple[int, int] | None:
        """How closely the page is this item's: None unless the page is its path (or below
        it) with every parameter the item names; else the path's length and the number of
        parameters, so that the closest of several items wins (暂存表单 /business/drafts
        over 业务办理 /business)."""
        path, _, query = self.url.partition("?")
        if not (request.path == path or request.path.startswith(path.rstrip("/") + "/")):
            return None
        wanted = parse_qs(query)
        if not all(request.args.getlist(name) == values for name, values in wanted.items()):
            return None
        return len(path.rstrip("/")), len(wanted)


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


def _is_member_unit(actor: Actor) -> bool:
    unit = accounts.own_unit(uow(), actor)
    return unit is not None and bool(unit["member_unit"])


UNIT_JOIN = "unit_membership_join"  # a unit joins as 单位会员: offered to non-members only


def offered(actor: Actor) -> list[str]:
    """The businesses a unit administrator is offered to start, by key: those its role
    starts, without 单位会员入会 once the unit is a member (业务办理, the home page)."""
    keys = [
        k for k, d in sorted(ctx().definitions.current.items()) if "unit_admin" in d.start_roles
    ]
    if UNIT_JOIN in keys and _is_member_unit(actor):
        keys.remove(UNIT_JOIN)
    return keys


def _unit_menu(actor: Actor, home: Item, jobs: Item) -> list[Section]:
    """A unit administrator's menu in the manual's order and words (UI.md): 单位信息,
    人员管理, 缴费业务, 普通会员教育学习报名 and 学习进度, the certificate businesses, 注师继教."""

    current = ctx().definitions.current
    startable = [k for k, d in sorted(current.items()) if "unit_admin" in d.start_roles]
    shown: set[str] = set()

    def start(label: str, key: str) -> list[Item]:
        """The menu's link to start `key` (none when that business is not deployed)."""
        if key not in startable:
            return []
        shown.add(key)
        return [Item(label, url_for("business.pick", key=key))]

    member_unit = _is_member_unit(actor)
    join_unit = start("单位会员入会", UNIT_JOIN)  # for a non-member unit only
    shown.add("member_join")  # a unit's joins arrive as 个人会员申请预审 (the queue below)
    # FAQ 3.17: the learning-progress lookup is opened to member units (单位会员) only
    progress = [
        Section(
            "普通会员教育学习进度",
            [Item("学习中", url_for("unit.learning_progress", status="学习中"))],
        )
    ]
    sections = [
        Section(
            "单位（会员）" if member_unit else "单位（非会员）",
            [
                home,
                Item("单位信息", url_for("unit.info")),
                # 变更申请 (manual 3.24): the unit's own business; joining for non-members only
                *start("单位名称变更", "unit_name_change"),
                *([] if member_unit else join_unit),
                Item("业务办理", url_for("business.index")),
                Item("我的业务", url_for("forms.index")),
                Item("暂存表单", url_for("business.drafts_page")),
            ],
        ),
        _queue("待办事项", with_done=True),
        Section(
            "人员管理",
            [
                # the pre-reviews alone (as 首页 counts them): a member's join or own
                # information change waiting for the unit, not its 上传缴费凭证 or 修改并重新提交
                Item(
                    "个人会员申请预审",
                    url_for("workbench.queue", scope="todo", task_name="unit_pre_review"),
                ),
                Item("单位人员档案", url_for("unit.archive")),
                Item("入会二维码", url_for("unit.codes")),
                *start("个人信息变更", "member_info_change"),
                Item("电子证书", url_for("unit.certificates")),
            ],
        ),
        Section(
            "缴费业务",
            [
                *start("个人会员费缴纳", "membership_renewal"),
                Item("待缴费", url_for("forms.index", status="待缴费")),
                Item("开票记录", url_for("finance.invoices_page")),
            ],
        ),
        Section(
            "普通会员教育学习报名",
            [
                *start("初始教育", "initial_education"),
                *start("继续教育", "continuing_education"),
                *start("员升师", "upgrade_education"),
                *start("专业变更", "specialty_change"),
            ],
        ),
        *(progress if member_unit else []),
        Section(
            "证书与注师继教",
            [
                *start("证书变更（单位名称）", "certificate_unit_change"),
                *start("证书注销", "certificate_cancellation"),
                *start("专业会员（注师）继教", "engineer_cpd"),
            ],
        ),
        _feedback_submitter(),
    ]
    # a business deployed later (a designer's tenth type) has its link too, under 其他业务
    others = [k for k in startable if k not in shown]
    if others:
        sections.insert(
            -1, Section("其他业务", [i for k in others for i in start(current[k].name, k)])
        )
    return [
        *(s for s in sections if s.items),
        Section(
            "单位与账号",
            [
                Item("子账号管理", url_for("unit.accounts_page")),
                Item("修改密码", url_for("account.password")),
                Item("系统通知", url_for("notices.index")),
                jobs,
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
    """The secretariat's reference data (service/web/secretariat.py); the process catalogue
    is under 流程运维 (service/web/designer.py)."""
    return Section(
        "机构与账号",
        [
            Item("会员服务机构", url_for("secretariat.agencies")),
            Item("单位管理", url_for("secretariat.units")),
            Item("工作人员", url_for("secretariat.staff")),
            Item("专业字典", url_for("secretariat.specialties")),
            Item("密码重置申请", url_for("secretariat.password_requests")),
        ],
    )


def _learning_records(actor: Actor) -> list[Section]:
    """学习进度 of every unit and 导入学习记录, for those who record learning results
    (service/web/learning_records.py)."""
    if not may_record_learning(actor):
        return []
    return [
        Section(
            "普通会员教育学习",
            [
                Item("学习进度", url_for("learning_records.index")),
                Item("导入学习记录", url_for("learning_records.import_page")),
            ],
        )
    ]


def _feedback_submitter() -> Section:
    """系统问题 → 问题反馈 (service/web/feedback.py): 提交反馈 and 我的反馈."""
    return Section(
        "系统问题",
        [
            Item("问题反馈", url_for("feedback_pages.new")),
            Item("我的反馈", url_for("feedback_pages.index")),
        ],
    )


def _feedback_handler() -> Section:
    """问题反馈 of every unit and member, for the secretariat and the association's reviewers."""
    return Section("系统问题", [Item("问题反馈", url_for("feedback_pages.index"))])


def member_businesses() -> list[tuple[str, str]]:
    """(key, name) of the businesses a member starts for themself (their diagrams' start
    roles name `member`: 个人会员信息变更)."""
    current = ctx().definitions.current
    return [(k, d.name) for k, d in sorted(current.items()) if "member" in d.start_roles]


def _member_pages(notices: Item) -> Section:
    """个人会员's own pages (service/web/member.py) and the businesses a member starts."""
    own = [Item(name, url_for("business.own_form", key=k)) for k, name in member_businesses()]
    return Section(
        "个人会员",
        [
            Item("我的信息", url_for("member.profile_page")),
            *own,
            Item("我的业务", url_for("forms.index")),
            notices,
            Item("修改密码", url_for("account.password")),
        ],
    )


def menu(actor: Actor) -> list[Section]:
    """The sections of the left menu for this person, the page's own item marked: the one
    item closest to the page (the same page may be linked from two sections: each link of
    it is marked)."""
    sections = _sections(actor)
    matches = [(m, item) for sec in sections for item in sec.items if (m := item.match())]
    if matches:
        best = max(m for m, _ in matches)
        for m, item in matches:
            item.active = m == best
    return sections


def lists_forms(sections: list[Section]) -> bool:
    """Whether the menu leads to the forms' list (业务查询 / 我的业务), which the top bar's
    search box searches: a designer's does not (they read no forms)."""
    listed = url_for("forms.index")
    return any(item.url.split("?")[0] == listed for sec in sections for item in sec.items)


def _sections(actor: Actor) -> list[Section]:
    forms = Item("业务查询", url_for("forms.index"))
    home = Item("首页", url_for("home.index"))
    lookup = Item("证书查询", url_for("public.lookup"))
    notices = Item("系统通知", url_for("notices.index"))
    jobs = Item("后台任务", url_for("job_pages.index"))  # large exports, zips, imports
    cpd = Section("注师继教", [Item("周批次", url_for("cpd.batches"))])  # manual 2.11.2.2
    process_map = Item("流程运行图", url_for("operations.pick_map"))
    catalogue = Item("流程目录", url_for("designer.catalogue"))  # versions per process
    if actor.role in ("agency_reviewer", "association_reviewer", "finance_reviewer"):
        return [
            _queue("审核工作台"),
            *_finance_pages(actor),
            *_learning_records(actor),
            *(
                [cpd, Section("流程", [catalogue, process_map]), _feedback_handler()]
                if actor.role == "association_reviewer"
                else []
            ),
            Section("业务", [forms, home, notices, jobs]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "secretariat_admin":
        return [
            Section("任务管理", [Item("已认领任务", url_for("workbench.queue", scope="claimed"))]),
            _secretariat_pages(),
            Section(
                "流程运维",
                [catalogue, process_map, Item("流程出错", url_for("operations.incidents_page"))],
            ),
            *_learning_records(actor),
            cpd,
            _feedback_handler(),
            Section("业务", [forms, home, notices, jobs]),
            Section("公共服务", [lookup]),
        ]
    if actor.role == "designer":  # deploys processes, reads versions and incidents only
        return [
            Section(
                "流程设计",
                [
                    catalogue,
                    Item("部署流程", url_for("designer.deploy_page")),
                    process_map,
                    Item("流程出错", url_for("operations.incidents_page")),
                ],
            ),
            Section("账号", [Item("修改密码", url_for("account.password"))]),
        ]
    if actor.role == "unit_admin":
        return _unit_menu(actor, home, jobs)
    if actor.role == "member":
        # a queue only where some diagram gives a member a step of their own (none does now)
        current = ctx().definitions.current.values()
        works = any(t.role == "member" for d in current for t in d.user_tasks.values())
        queue = [_queue("待办事项")] if works else []
        return [_member_pages(notices), *queue, _feedback_submitter()]
    return []
