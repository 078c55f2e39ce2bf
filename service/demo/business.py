"""The demo's carried-over members and forms of the eight business types, in every state.

Certificates valid, expiring and expired; bills unpaid, paid and confirmed; learning not
started, in progress, passed and expired — so each business type can be tried at once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from service.db import db
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.person_facts import add_months, years_later
from service.domain.validation import make_resident_id
from service.services.education import learning
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member
from service.services.workflow import instances, tasks, timers

REVIEW = {"decision": "approve", "remark": "同意"}
FINANCE = {"decision": "approve", "remark": "已到账", "receipt_number": "GDFP2026000001"}


def _numbered_in(number: str, year: int) -> str:
    """A certificate number carrying the year it was issued (JL2024000101: numbers count
    per year of issue), the seed's own year replaced: a seeded certificate's issue date is
    its expiry less three years (roster.add_member), which moves with the demo's day."""
    return re.sub(r"^([A-Z]+)\d{4}", lambda m: f"{m.group(1)}{year}", number)


# the demo unit's name before it was renamed: 邓丽华's certificates still carry it, so that
# the unit's 证书变更（单位名称） has something to change
FORMER_UNIT_NAME = "广州珠江建设监理有限公司"


def _seed_members(unit_id: int, today: date, term) -> dict[str, str]:
    """Members with certificates and memberships in the states the rules distinguish;
    `term`: the policy's membership_validity_years."""
    year = today + timedelta(days=300)
    soon = add_months(today, 4)
    people = {
        # name: (ID prefix, memberships, certificates, extra)
        "周建国": ("44010619800101123", {"普通会员": year}, [("监理员", soon, "JL2023000101")], {}),
        "何美玲": ("44010619850505234", {"普通会员": year}, [], {}),
        "梁志远": ("44010619820303345", {"普通会员": year}, [("监理员", year, "JL2024000102")], {}),
        "邓丽华": (
            "44010619870707456",
            {"普通会员": year},
            [("监理员", year, "JL2024000103"), ("安全监理员", year, "AQ2024000104")],
            {},
        ),
        "蔡明": (
            "44010619780808567",
            {"普通会员": year},
            [("监理员", today - timedelta(days=20), "JL2021000105")],
            {},
        ),
        "罗建平": (
            "44010619750909678",
            {"普通会员": today - timedelta(days=30)},
            [("监理员", soon, "JL2023000106")],
            {},
        ),
        "谢国栋": (
            "44010619700202789",
            {"专业会员": year},
            [],
            {"registration_number": "44006789"},
        ),
        "孙晓东": (
            "44010619890404891",
            {"普通会员": year},
            [],
            {"violation_note": "2025年通报批评"},
        ),
        "冯佩珊": ("44010619910606912", {"普通会员": year}, [], {}),
        # enrolled 20 days ago; his membership (and so his learning deadline) ended 8 days ago
        "韩志诚": ("44010619930909123", {"普通会员": today - timedelta(days=8)}, [], {}),
        # free for the README's examples: continuing education and a specialty change
        "陈伟强": ("44010619860606135", {"普通会员": year}, [("监理员", soon, "JL2023000107")], {}),
        "吴海涛": ("44010619880808246", {"普通会员": year}, [("监理员", year, "JL2024000108")], {}),
    }
    ids = {}
    for name, (prefix, memberships, certs, extra) in people.items():
        id_number = make_resident_id(prefix)
        seeds = [
            CertificateSeed(
                t,
                _numbered_in(number, years_later(until, -3).year),
                until,
                "房屋建筑工程",
                "市政公用工程" if t == "监理员" else None,
                unit_name=FORMER_UNIT_NAME if name == "邓丽华" else None,
            )
            for t, until, number in certs
        ]
        add_member(
            db.session,
            MemberSeed(
                name=name,
                id_number=id_number,
                unit_id=unit_id,
                mobile="13800000000",
                memberships=memberships,
                certificates=seeds,
                **extra,
            ),
            term,
        )
        ids[name] = id_number
    db.session.commit()
    return ids


def _walk(ctx, instance_id: int, actors: dict[str, Actor], steps: list[tuple[str, dict]]):
    """Complete the instance's open tasks in order: (task name, form data) per step."""
    for task_name, data in steps:
        with UnitOfWork(db.session) as uow:
            view = instances.get_instance(ctx, uow, actors["association_reviewer"], instance_id)
        task = next(t for t in view["open_tasks"] if t["task_name"] == task_name)
        if "receipt_number" in data:  # each bill its own invoice number
            data = {**data, "receipt_number": receipt_number(data["receipt_number"], instance_id)}
            if view["data"].get("membership_total") not in (None, "0.00"):
                # a lapsed membership's fee on the bill: its own 电子财政收据
                data = {
                    **data,
                    "membership_receipt_number": receipt_number("GDCZ2026", instance_id),
                    "membership_receipt_date": data.get("receipt_date"),
                }
        with UnitOfWork(db.session) as uow:
            tasks.complete_task(ctx, uow, actors[task["role"]], task["id"], data)


def receipt_number(prefix: str, instance_id: int) -> str:
    """A demo invoice's number: the kind and year of `prefix` (GDFP2026…), then the form's id."""
    return f"{prefix[:8]}{instance_id:06d}"


def _start(ctx, unit: Actor, key: str, data: dict) -> int:
    with UnitOfWork(db.session) as uow:
        view, _ = instances.start_process(ctx, uow, unit, key, data)
    return view["id"]


def _initial_education(ctx, actors, ids, line, files, steps) -> None:
    """冯佩珊 and 韩志诚 enrol in initial education, are approved and pay; 冯佩珊 passes."""
    unit = actors["unit_admin"]
    education = ("diploma", "social_insurance")
    initial = _start(
        ctx,
        unit,
        "initial_education",
        {
            **files("pledge"),
            "persons": [
                line(
                    n,
                    certificate_type="监理员",
                    specialty_1="房屋建筑工程",
                    **files(*education, "verification"),
                )
                for n in ("冯佩珊", "韩志诚")
            ],
        },
    )
    _walk(ctx, initial, actors, steps)
    with UnitOfWork(db.session) as uow:
        learning.record_results(
            ctx,
            uow,
            actors["association_reviewer"],
            [
                (
                    "demo",
                    {
                        "id_number": ids["冯佩珊"],
                        "name": "冯佩珊",
                        "completed_hours": 24,
                        "exam_status": "已通过",
                        "exam_attempts": 2,
                    },
                )
            ],
        )


def load_business_demo(ctx, actors: dict[str, Actor], upload) -> None:
    """Members of the first unit and forms of every business type in every state."""
    unit = actors["unit_admin"]
    today = ctx.today()
    ids = _seed_members(unit.unit_id, today, ctx.policy("membership_validity_years", 1))

    def line(name: str, **fields) -> dict:
        return {"id_number": ids[name], "name": name, **fields}

    def files(*names: str) -> dict:
        return {n: upload("#ffffff") for n in names}

    education = ("diploma", "social_insurance")
    pay = [("unit_pay", {"fee_voucher": upload("#ffd700")})]
    review = [("agency_review", REVIEW), ("association_review", REVIEW)]
    finance = [("finance_review", {**FINANCE, "receipt_date": today.isoformat()})]

    # initial education, 20 days ago: 冯佩珊 passes, 韩志诚's learning expired with his
    # membership 8 days ago (the scheduler's timer fired on the deadline)
    clock = ctx.clock
    ctx.clock = lambda: clock() - timedelta(days=20)
    try:
        then = [("finance_review", {**FINANCE, "receipt_date": ctx.today().isoformat()})]
        _initial_education(ctx, actors, ids, line, files, review + pay + then)
    finally:
        ctx.clock = clock
    with UnitOfWork(db.session) as uow:
        timers.fire_due_timers(ctx, uow)

    # upgrade: approved, learning in progress
    upgrade = _start(
        ctx,
        unit,
        "upgrade_education",
        {**files("pledge"), "persons": [line("梁志远", **files(*education, "title_cert"))]},
    )
    _walk(ctx, upgrade, actors, review + pay + finance)
    with UnitOfWork(db.session) as uow:
        learning.record_results(
            ctx,
            uow,
            actors["association_reviewer"],
            [
                (
                    "demo",
                    {
                        "id_number": ids["梁志远"],
                        "name": "梁志远",
                        "completed_hours": 3,
                        "exam_status": "未考试",
                        "exam_attempts": 0,
                    },
                )
            ],
        )

    # continuing with an expired membership: the bill adds the membership fee, unpaid
    continuing = _start(
        ctx,
        unit,
        "continuing_education",
        {
            **files("pledge"),
            "persons": [line("罗建平", certificate_type="监理员", **files(*education))],
        },
    )
    _walk(ctx, continuing, actors, review)

    # continuing for 周建国: paid, waiting for finance
    paid = _start(
        ctx,
        unit,
        "continuing_education",
        {
            **files("pledge"),
            "persons": [line("周建国", certificate_type="监理员", **files(*education))],
        },
    )
    _walk(ctx, paid, actors, review + pay)

    # specialty change for 周建国 alongside his continuing education: learning not started
    specialty = _start(
        ctx,
        unit,
        "specialty_change",
        {
            **files("pledge"),
            "persons": [
                line(
                    "周建国",
                    specialty_1="市政公用工程",
                    specialty_2="房屋建筑工程",
                    **files(*education),
                )
            ],
        },
    )
    _walk(ctx, specialty, actors, review + pay + finance)

    # cancellation of the expired certificate, waiting for the association
    _start(
        ctx,
        unit,
        "certificate_cancellation",
        {
            **files("cancellation_application"),
            "persons": [line("蔡明", certificate_types=["监理员"])],
        },
    )

    # unit renamed: the certificates of 邓丽华 reprinted
    renamed = _start(
        ctx,
        unit,
        "certificate_unit_change",
        {
            "reason": "unit_renamed",
            **files("pledge"),
            "persons": [line("邓丽华", **files("social_insurance"))],
        },
    )
    _walk(ctx, renamed, actors, review + pay + finance)

    # registered-engineer CPD, completed (it waits for the weekly report)
    cpd = _start(
        ctx,
        unit,
        "engineer_cpd",
        {
            **files("fee_voucher"),
            "persons": [
                line(
                    "谢国栋",
                    **files(
                        "id_front", "id_back", "diploma", "registration_cert", "social_insurance"
                    ),
                )
            ],
        },
    )
    _walk(ctx, cpd, actors, review)

    # an information change started by the unit, at the agency
    _start(
        ctx,
        unit,
        "member_info_change",
        {
            "id_number": ids["何美玲"],
            "name": "何美玲",
            "changes": {"mobile": "13911112222", "title": "中级"},
            **files("diploma_scan"),
        },
    )
