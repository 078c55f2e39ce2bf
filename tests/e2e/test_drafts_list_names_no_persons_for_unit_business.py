"""暂存表单 (/business/drafts): a draft of the unit's own business (单位名称变更, 单位会员入会)
lists no persons and is not said to lack them (（未填写人员）): its new name, else —."""

from __future__ import annotations

import re

from test_account_pages_http import sign_in, text

API = "/api/v1"


def test_a_unit_business_draft_is_not_listed_as_missing_its_persons(app, client, login, world):
    unit = login("unit")
    for key, data in (
        ("unit_name_change", {"new_name": "广州新名称监理有限公司"}),
        ("unit_membership_join", {}),
        ("member_join", {}),
    ):
        saved = client.post(f"{API}/processes/{key}/drafts", headers=unit, json={"data": data})
        assert saved.status_code == 201, saved.get_json()
    page = app.test_client()
    sign_in(page, world.unit_name)
    listed = text(page.get("/business/drafts"))
    rows = {
        business: shown
        for business, shown in re.findall(
            r"<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td class=\"nowrap\"", listed
        )
    }
    assert rows["个人会员入会申请"] == "（未填写人员）"  # a person's business names its persons
    assert rows["单位名称变更"] in ("广州新名称监理有限公司", "—")
    assert rows["单位会员入会"] == "—"
