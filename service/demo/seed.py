"""A realistic demo: the four agencies, units, staff of every role, members and applications.

Members are made by running real join applications through the workflow, so the demo
shows the queue at every stage. Running it twice changes nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.db import db
from service.db.models import Account, Agency, Unit
from service.db.uow import UnitOfWork
from service.demo.business import load_business_demo, receipt_number
from service.demo.images import sample_png
from service.domain.actor import Actor
from service.domain.validation import make_credit_code, make_resident_id
from service.limits import signin_guard
from service.services.membership import accounts, passwords, unit_information
from service.services.schedules.scheduler import cpd_batch_job, reminders_job
from service.services.workflow import drafts, files, instances, prefill, tasks

PASSWORD = "demo1234"
AGENCIES = [
    ("广州市建设监理行业协会", "广州"),
    ("梅州市工程建设综合服务中心", "梅州"),
    ("汕头市建筑业协会", "汕头"),
    ("揭阳市建设执业资格培训中心有限公司", "揭阳"),
]
# 服务机构信息 as the manual's 四.4 lists them (address, phone, QQ work group, website)
AGENCY_CONTACTS = [
    {
        "address": "广州市越秀区东风中路437号南塔3401",
        "phone": "020-83338979",
        "qq_group": "546013166",
    },
    {
        "address": "梅州市江南团结路14号",
        "phone": "0753-2243525、2265539",
        "qq_group": "427093485",
        "website": "http://www.mzgjzx.com/",
    },
    {
        "address": "汕头市中山路213号建设局大楼1901",
        "phone": "0754-88561829",
        "qq_group": "786761540",
        "website": "http://jzxh.stjs.org.cn/",
    },
    {
        "address": "揭阳市榕城区临江北路东市住建局二楼培训中心",
        "phone": "0663-8210438",
        "qq_group": "365255961",
    },
]
# the first unit's 单位信息 (manual 3.15): 工商信息 and qualifications
UNIT_REGISTRATION = {
    "founded_on": "1998-06-18",
    "registered_capital": "1000万人民币",
    "registration_status": "存续",
    "registration_authority": "广州市市场监督管理局",
    "approved_on": "2024-04-12",
    "industry": "专业技术服务业",
    "staff_size": 236,
    "address": "广州市天河区体育西路100号",
    "business_scope": "工程监理服务；工程管理服务；招投标代理服务；工程造价咨询业务",
}
UNIT_QUALIFICATIONS = [
    {
        "category": "住建监理资质",
        "name": "房屋建筑工程监理",
        "grade": "甲级",
        "number": "E144001234",
        "issuer": "广东省住房和城乡建设厅",
        "valid_until": "2028-12-31",
    },
    {
        "category": "住建监理资质",
        "name": "市政公用工程监理",
        "grade": "乙级",
        "number": "E244005678",
        "issuer": "广东省住房和城乡建设厅",
        "valid_until": "2027-06-30",
    },
    {"category": "其他资质", "name": "工程造价咨询", "grade": "甲级", "number": "G-0381"},
]
UNITS = [  # name, credit code prefix (17), agency index, member unit
    ("广州珠江工程建设监理有限公司", "91440101190468342", 0, True),
    ("广东华南建设项目管理有限公司", "91440106231245768", 0, True),
    ("梅州市嘉应工程监理有限公司", "91441400707654321", 1, True),
    ("汕头市潮海建设监理有限公司", "91440500192837465", 2, False),
    ("揭阳市榕江工程咨询有限公司", "91445200584736251", 3, True),
]
APPLICANTS = [  # name, ID prefix (17), mobile, stage reached
    ("陈志强", "44010619850315231", "13802511234", "审批完成"),
    ("李秀英", "44010219900620432", "13926087765", "审批完成"),
    ("黄伟明", "44140219880912653", "15018761234", "财务复核中"),
    ("林晓燕", "44050719920108324", "13715249988", "待缴费"),
    ("吴建华", "44520219790730517", "18902234567", "协会初审中"),
    ("郑丽娟", "44010519950214288", "13650887766", "机构初审中"),
    ("王俊杰", "44030419930501871", "19128765432", "单位预审中"),
    ("刘海涛", "44060419870403215", "13533445566", "退回"),
]
SAMPLE_NAMES = {
    "photo": "个人照片",
    "id_front": "身份证人像面",
    "id_back": "身份证国徽面",
    "diploma": "毕业证书",
    "diploma_verification": "学历验证报告",
    "voucher": "缴费凭证",
    "#ffd700": "缴费凭证",
}
STAGES = ["单位预审中", "机构初审中", "协会初审中", "待缴费", "财务复核中", "审批完成"]


def _png(kind: str) -> bytes:
    return sample_png(kind)


def _actor(username: str) -> Actor:
    account = db.session.scalars(select(Account).where(Account.username == username)).one()
    return accounts.actor_of(account)


def _upload(ctx, unit_actor: Actor, color: str) -> str:
    with UnitOfWork(db.session) as uow:
        return files.store_upload(
            ctx,
            uow,
            unit_actor,
            f"{SAMPLE_NAMES.get(color, '材料')}.png",
            _png(color),
        )["id"]


def _prefilled(ctx, view: dict, task_name: str) -> dict:
    """The form's values as the review page prefills them (a form is validated as sent)."""
    info = ctx.definitions.current[view["process_key"]].user_tasks[task_name]
    return prefill.form_values(info.form, view["data"])


def _advance(ctx, instance_id: int, target: str, reviewers: dict[str, Actor]) -> None:
    """Drive one application through the chain until it shows `target`."""
    forms = {
        "unit_pre_review": {"decision": "approve", "member_level": "普通会员"},
        "agency_review": {"decision": "approve", "remark": "材料齐全"},
        "association_review": {"decision": "approve", "remark": "同意"},
        "finance_review": {
            "decision": "approve",
            "remark": "已到账",
            "receipt_number": receipt_number("GDCZ2026", instance_id),
            "receipt_date": ctx.today().isoformat(),
        },
    }
    for _ in range(12):
        with UnitOfWork(db.session) as uow:
            view = instances.get_instance(
                ctx, uow, Actor(None, "系统", "secretariat_admin"), instance_id
            )
        if view["status"] == target or not view["open_tasks"]:
            return
        task = view["open_tasks"][0]
        who = reviewers[task["role"]]
        data = {**_prefilled(ctx, view, task["task_name"]), **forms.get(task["task_name"], {})}
        if task["task_name"] == "unit_pay":
            data = {"fee_voucher": _upload(ctx, who, "voucher")}
        if target == "退回" and task["task_name"] == "agency_review":
            data = {"decision": "return", "remark": "学历验证报告不清晰，请重新上传"}
        with UnitOfWork(db.session) as uow:
            tasks.complete_task(ctx, uow, who, task["id"], data)


def load_demo(app) -> list[tuple[str, str, str]]:
    """Create the demo once; return (role, username, password) of every login."""
    ctx = app.extensions["memberflow"]
    logins: list[tuple[str, str, str]] = [
        ("秘书处管理员", "admin", PASSWORD),
        ("协会审核", "xiehui", PASSWORD),
        ("协会财务", "caiwu", PASSWORD),
        ("流程设计", "sheji", PASSWORD),
    ]
    fresh = db.session.scalars(select(Account).where(Account.username == "admin")).first() is None
    if fresh:
        with UnitOfWork(db.session) as uow:
            accounts.create_admin(uow, "admin", PASSWORD)
    admin = _actor("admin")
    agency_ids = []
    for i, (name, city) in enumerate(AGENCIES):
        if fresh:
            with UnitOfWork(db.session) as uow:
                agency = accounts.create_agency(uow, admin, name, city, AGENCY_CONTACTS[i])
                agency_ids.append(agency["id"])
            with UnitOfWork(db.session) as uow:
                accounts.create_staff(
                    uow,
                    admin,
                    f"jigou{i + 1}",
                    f"{city}初审员",
                    PASSWORD,
                    "agency_reviewer",
                    agency_ids[-1],
                )
        logins.append((f"机构初审（{city}）", f"jigou{i + 1}", PASSWORD))
    if fresh:
        for username, name, role in (
            ("xiehui", "协会审核员", "association_reviewer"),
            ("caiwu", "协会财务", "finance_reviewer"),
            ("sheji", "流程设计员", "designer"),
        ):
            with UnitOfWork(db.session) as uow:
                accounts.create_staff(uow, admin, username, name, PASSWORD, role, None)
        agencies = db.session.scalars(select(Agency).order_by(Agency.id)).all()
        for name, prefix, agency, member in UNITS:
            with UnitOfWork(db.session) as uow:
                accounts.create_unit(
                    uow,
                    admin,
                    name,
                    make_credit_code(prefix),
                    agencies[agency].id,
                    member,
                    PASSWORD,
                )
        # the member units carried over joined years ago and are paid to the end of the year
        # (as 单位会员入会 leaves a unit: effects._admit_unit)
        for row in db.session.scalars(select(Unit).where(Unit.member_unit.is_(True))):
            row.joined_on = date(2019, 3, 1)
            row.membership_valid_until = date(ctx.today().year, 12, 31)
        db.session.commit()
        unit = _actor(UNITS[0][0])
        with UnitOfWork(db.session) as uow:
            accounts.create_sub_account(uow, unit, unit.unit_id, "张敏", "13800138000", PASSWORD)
        with UnitOfWork(db.session) as uow:
            unit_information.update_unit_information(
                uow, unit, unit.unit_id, UNIT_REGISTRATION, UNIT_QUALIFICATIONS, today=ctx.today()
            )
        with UnitOfWork(db.session) as uow:  # a join application left half-filled (暂存)
            drafts.save_draft(ctx, uow, unit, "member_join", {"variant": "full", "name": "何家豪"})
    logins += [("单位管理员", name, PASSWORD) for name, *_ in UNITS]
    logins.append(("单位子账号", "13800138000", PASSWORD))
    if fresh:
        unit = _actor(UNITS[0][0])
        reviewers = {
            "unit_admin": unit,
            "agency_reviewer": _actor("jigou1"),
            "association_reviewer": _actor("xiehui"),
            "finance_reviewer": _actor("caiwu"),
        }
        for name, prefix, mobile, target in APPLICANTS:
            materials = {
                k: _upload(ctx, unit, color)
                for k, color in (
                    ("photo", "photo"),
                    ("id_front", "id_front"),
                    ("id_back", "id_back"),
                    ("diploma", "diploma"),
                    ("diploma_verification", "diploma_verification"),
                )
            }
            data = {
                "variant": "full",
                "name": name,
                "id_type": "resident_id",
                "id_number": make_resident_id(prefix),
                "mobile": mobile,
                "address": "广州市天河区体育西路100号",
                "education": {
                    "level": "本科",
                    "school": "华南理工大学",
                    "major": "土木工程",
                    # a bachelor's degree at 22: the year of birth is in the ID's prefix
                    "graduated_on": f"{int(prefix[6:10]) + 22}-07-01",
                },
                "title": "中级",
                "declaration": True,
                **materials,
            }
            with UnitOfWork(db.session) as uow:
                view, _ = instances.start_process(ctx, uow, unit, "member_join", data)
            _advance(ctx, view["id"], target, reviewers)
        load_business_demo(ctx, reviewers, lambda color: _upload(ctx, unit, color))
        _unit_business_demo(ctx)
        # what the scheduler would have done by now: expiry notices, last week's CPD batch
        for job in (reminders_job, cpd_batch_job):
            with UnitOfWork(db.session) as uow:
                job(ctx, uow)
    members = [("个人会员", p) for _n, p, _m, target in APPLICANTS if target == "审批完成"]
    members += [
        ("谢国栋（专业会员）", "44010619700202789"),
        ("冯佩珊（持证）", "44010619910606912"),
    ]
    for label, prefix in members:
        number = make_resident_id(prefix)
        if fresh:
            _member_password(admin, number)
        logins.append((label, number, PASSWORD))
    return logins


def _unit_business_demo(ctx) -> None:
    """The unit's own business (manual 3.24): the non-member unit's 单位会员入会 waiting for
    the association, another unit's 单位名称变更 waiting for its agency (not approved, so
    the demo logins stay as printed)."""
    outsider = _actor(UNITS[3][0])
    join = {
        "purpose": "join",
        "legal_representative": "陈海生",
        "legal_representative_mobile": "13502861234",
        "contact_name": "许丽芬",
        "contact_mobile": "13692845566",
        "application_form": _upload(ctx, outsider, "document"),
    }
    renaming = _actor(UNITS[1][0])
    rename = {
        "new_name": "广东华南工程咨询集团有限公司",
        "business_licence": _upload(ctx, renaming, "document"),
    }
    for actor, key, data in (
        (outsider, "unit_membership_join", join),
        (renaming, "unit_name_change", rename),
    ):
        with UnitOfWork(db.session) as uow:
            instances.start_process(ctx, uow, actor, key, data)


def _member_password(admin: Actor, id_number: str) -> None:
    """Give a demo member the demo password as a real member gets one: a one-time password
    issued by a reset, replaced by the member's own."""
    account = db.session.scalars(select(Account).where(Account.username == id_number)).one()
    with UnitOfWork(db.session) as uow:
        one_time = passwords.reset_account_password(uow, admin, account.id, signin_guard())[
            "password"
        ]
    with UnitOfWork(db.session) as uow:
        passwords.change_own_password(uow, accounts.actor_of(account), one_time, PASSWORD, None)
