"""Creating accounts and reference data is audited like every other account operation: a
new agency, unit (and its main account), staff account or unit sub-account, and each change
of the specialty dictionary (新增, PATCH, 上移/下移), is one audit record written with the
change — who did it, the action, a Chinese remark naming the object, never the password. A
refused request writes none, nor does one that changes nothing. On both databases."""

from __future__ import annotations

import json

import pytest
from conftest import PASSWORD, in_db
from sqlalchemy import func, select
from test_staff_member_pages_http import ONE_TIME, post, shown_once, sign_in, text

from service.db.models import Account, AuditRecord, Specialty, Unit
from service.domain.validation import make_credit_code

pytestmark = pytest.mark.usefixtures("pinned_clock")

API = "/api/v1"
ADMIN_NAME = "秘书处管理员"  # the seeded administrator's name, as the records carry it


def last_id(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.max(AuditRecord.id)))) or 0


def written_since(app, mark: int) -> list[AuditRecord]:
    def read(session):
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.id > mark).order_by(AuditRecord.id)
        ).all()
        session.expunge_all()
        return rows

    return in_db(app, read)


def account_id(app, username: str) -> int:
    return in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == username)))


def one_record(app, mark: int, action: str, actor: str, *named: str, secret=PASSWORD):
    """The one record written since `mark`: its action, actor (id and name), a remark naming
    each of `named`; neither it nor its detail holds `secret` (the password used)."""
    records = written_since(app, mark)
    assert [r.action for r in records] == [action], [(r.action, r.remark) for r in records]
    record = records[0]
    assert (record.actor_id, record.actor_name) == (account_id(app, actor), actor_name(app, actor))
    for name in named:
        assert name in record.remark, record.remark
    assert record.instance_id is None and record.user_task_id is None
    assert secret not in record.remark
    assert secret not in json.dumps(record.detail, ensure_ascii=False)
    return record


def actor_name(app, username: str) -> str:
    return in_db(app, lambda s: s.scalar(select(Account.name).where(Account.username == username)))


def nothing_since(app, mark: int) -> None:
    records = written_since(app, mark)
    assert records == [], [(r.action, r.remark) for r in records]


def created(reply, status: int = 201) -> dict:
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


def test_each_creation_over_the_api_is_one_record_naming_what_was_made(app, client, world, login):
    admin = login("admin")
    assert actor_name(app, "admin") == ADMIN_NAME

    mark = last_id(app)
    agency = created(
        client.post(
            f"{API}/agencies",
            headers=admin,
            json={"name": "佛山市建设监理服务中心", "city": "佛山", "phone": "0757-83338979"},
        )
    )
    record = one_record(app, mark, "agency_create", "admin", "佛山市建设监理服务中心", "佛山")
    assert record.remark == "新增会员服务机构“佛山市建设监理服务中心”（佛山）"
    assert record.detail["agency_id"] == agency["id"]
    assert record.detail["phone"] == "0757-83338979"

    mark = last_id(app)
    name, code = "佛山新城监理有限公司", make_credit_code("91440604123456789")
    unit = created(
        client.post(
            f"{API}/units",
            headers=admin,
            json={
                "name": name,
                "credit_code": code,
                "agency_id": agency["id"],
                "member_unit": False,
                "password": PASSWORD,
            },
        )
    )
    record = one_record(app, mark, "unit_create", "admin", name, code, "佛山市建设监理服务中心")
    assert "非会员单位" in record.remark and "主账号" in record.remark
    assert record.detail["unit_id"] == unit["id"]
    assert record.detail["account_id"] == account_id(app, name)
    assert record.detail["must_change_password"] is True  # chosen by the secretariat

    mark = last_id(app)
    staff = created(
        client.post(
            f"{API}/staff",
            headers=admin,
            json={
                "username": "jigou_fs",
                "name": "佛山初审员",
                "role": "agency_reviewer",
                "agency_id": agency["id"],
                "password": PASSWORD,
            },
        )
    )
    record = one_record(
        app, mark, "staff_create", "admin", "jigou_fs", "佛山初审员", "会员服务机构"
    )
    assert "佛山市建设监理服务中心" in record.remark
    assert (record.detail["account_id"], record.detail["role"]) == (staff["id"], "agency_reviewer")

    mark = last_id(app)
    created(
        client.post(
            f"{API}/staff",
            headers=admin,
            json={
                "username": "caiwu2",
                "name": "协会出纳",
                "role": "finance_reviewer",
                "password": PASSWORD,
            },
        )
    )
    one_record(app, mark, "staff_create", "admin", "caiwu2", "协会出纳")

    # a sub-account, by the secretariat and by the unit's own administrator
    mark = last_id(app)
    sub = created(
        client.post(
            f"{API}/units/{world.unit_id}/accounts",
            headers=admin,
            json={"name": "张敏", "mobile": "13912345678", "password": PASSWORD},
        )
    )
    record = one_record(
        app, mark, "sub_account_create", "admin", world.unit_name, "13912345678", "张敏"
    )
    assert (record.detail["account_id"], record.detail["unit_id"]) == (sub["id"], world.unit_id)

    mark = last_id(app)
    created(
        client.post(
            f"{API}/units/{world.unit_id}/accounts",
            headers=login("unit"),
            json={"name": "李强", "mobile": "13912345679", "password": PASSWORD},
        )
    )
    one_record(
        app, mark, "sub_account_create", world.unit_name, world.unit_name, "13912345679", "李强"
    )


def test_a_refused_creation_writes_no_record(app, client, world, login):
    admin = login("admin")
    mark = last_id(app)
    taken_agency = client.post(
        f"{API}/agencies", headers=admin, json={"name": "广州市建设监理行业协会", "city": "广州"}
    )
    assert taken_agency.status_code == 422, taken_agency.get_json()
    code = in_db(app, lambda s: s.get(Unit, world.unit_id).credit_code)
    taken_unit = client.post(
        f"{API}/units",
        headers=admin,
        json={
            "name": world.unit_name,
            "credit_code": code,
            "agency_id": world.agency_id,
            "password": PASSWORD,
        },
    )
    assert taken_unit.status_code == 422, taken_unit.get_json()
    taken_login = client.post(
        f"{API}/staff",
        headers=admin,
        json={"username": "XieHui", "name": "重名", "role": "designer", "password": PASSWORD},
    )
    assert taken_login.status_code == 422, taken_login.get_json()
    not_secretariat = client.post(
        f"{API}/agencies", headers=login("association"), json={"name": "某机构", "city": "某市"}
    )
    assert not_secretariat.status_code in (403, 404)
    other_units = client.post(
        f"{API}/units/{world.other_unit_id}/accounts",
        headers=login("unit"),
        json={"name": "王五", "mobile": "13912345670", "password": PASSWORD},
    )
    assert other_units.status_code == 404
    nothing_since(app, mark)

    # three sub-accounts are the most: the fourth is refused and leaves no record
    for i in range(3):
        created(
            client.post(
                f"{API}/units/{world.unit_id}/accounts",
                headers=login("unit"),
                json={"name": f"子账号{i}", "mobile": f"1391234567{i}", "password": PASSWORD},
            )
        )
    mark = last_id(app)
    fourth = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=login("unit"),
        json={"name": "子账号3", "mobile": "13912345673", "password": PASSWORD},
    )
    assert fourth.status_code == 409, fourth.get_json()
    taken_mobile = client.post(
        f"{API}/units/{world.other_unit_id}/accounts",
        headers=admin,
        json={"name": "重号", "mobile": "13912345670", "password": PASSWORD},
    )
    assert taken_mobile.status_code == 422, taken_mobile.get_json()
    nothing_since(app, mark)


def specialties(client, headers) -> list[dict]:
    reply = client.get(f"{API}/specialties?include_inactive=true", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["items"]


def test_each_change_of_the_specialty_dictionary_is_one_record(app, client, world, login):
    admin = login("admin")
    mark = last_id(app)
    added = created(client.post(f"{API}/specialties", headers=admin, json={"name": "海洋工程"}))
    record = one_record(app, mark, "specialty_create", "admin", "海洋工程")
    assert record.remark == f"新增专业“海洋工程”（排序 {added['sort']}）"
    assert record.detail["specialty_id"] == added["id"]

    mark = last_id(app)
    taken = client.post(f"{API}/specialties", headers=admin, json={"name": "海洋工程"})
    assert taken.status_code == 409, taken.get_json()
    nothing_since(app, mark)

    path = f"{API}/specialties/{added['id']}"
    mark = last_id(app)
    created(client.patch(path, headers=admin, json={"active": False}), 200)
    record = one_record(app, mark, "specialty_update", "admin")
    assert record.remark == "停用专业“海洋工程”"
    assert (record.detail["before"]["active"], record.detail["after"]["active"]) == (True, False)

    mark = last_id(app)
    created(client.patch(path, headers=admin, json={"active": True, "sort": 99}), 200)
    record = one_record(app, mark, "specialty_update", "admin")
    assert record.remark == f"启用专业“海洋工程”，排序由 {added['sort']} 改为 99"

    mark = last_id(app)  # nothing to change: nothing recorded
    created(client.patch(path, headers=admin, json={"active": True, "sort": 99}), 200)
    nothing_since(app, mark)

    # 上移 / 下移 on the page: one record each; the first one moved up stays, unrecorded
    sign_in(client, "admin")
    order = sorted(specialties(client, admin), key=lambda s: (s["sort"], s["id"]))
    last, before_last = order[-1], order[-2]
    assert last["id"] == added["id"]
    mark = last_id(app)
    moved = post(client, f"/admin/specialties/{added['id']}/up", {}, "/admin/specialties")
    assert moved.status_code == 302
    record = one_record(app, mark, "specialty_move", "admin")
    assert record.remark == f"专业“海洋工程”上移一位，与“{before_last['name']}”互换位置"
    assert record.detail["swapped_with"] == before_last["id"]
    mark = last_id(app)
    post(client, f"/admin/specialties/{added['id']}/down", {}, "/admin/specialties")
    record = one_record(app, mark, "specialty_move", "admin")
    assert record.remark == f"专业“海洋工程”下移一位，与“{before_last['name']}”互换位置"
    mark = last_id(app)
    post(client, f"/admin/specialties/{order[0]['id']}/up", {}, "/admin/specialties")
    post(client, f"/admin/specialties/{added['id']}/down", {}, "/admin/specialties")
    nothing_since(app, mark)
    assert in_db(app, lambda s: s.get(Specialty, added["id"]).sort) == len(order)


def test_the_pages_new_unit_and_staff_are_one_record_without_the_one_time_password(
    app, client, world
):
    sign_in(client, "admin")
    name = "佛山新城监理有限公司"
    mark = last_id(app)
    page = shown_once(
        client,
        "/admin/units/new",
        {
            "name": name,
            "credit_code": make_credit_code("91440604123456789"),
            "agency_id": str(world.agency_id),
            "member_unit": "1",
        },
    )
    one_time = ONE_TIME.search(text(page)).group(1)
    record = one_record(app, mark, "unit_create", "admin", name, "会员单位", secret=one_time)
    assert record.detail["must_change_password"] is True
    assert in_db(app, lambda s: s.get(Account, record.detail["account_id"]).must_change_password)

    mark = last_id(app)
    page = shown_once(
        client,
        "/admin/staff/new",
        {"username": "sheji2", "name": "流程设计员", "role": "designer"},
    )
    one_time = ONE_TIME.search(text(page)).group(1)
    record = one_record(app, mark, "staff_create", "admin", "sheji2", secret=one_time)
    assert record.detail["must_change_password"] is True

    mark = last_id(app)  # the same name again: refused at its field, nothing recorded
    taken = post(
        client,
        "/admin/units/new",
        {
            "name": name,
            "credit_code": make_credit_code("91440604987654321"),
            "agency_id": str(world.agency_id),
            "member_unit": "1",
        },
    )
    assert taken.status_code == 422
    nothing_since(app, mark)
