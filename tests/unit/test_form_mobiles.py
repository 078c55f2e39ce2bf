"""Mobile numbers are kept as their 11 digits, wherever a form has them."""

from __future__ import annotations

from pathlib import Path

from service.engine import load_definitions
from service.services.workflow.forms import normalized_mobiles

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")


def test_every_mobile_field_of_a_form_is_known_nested_ones_too():
    assert DEFINITIONS["member_join"].start_mobile_fields == {"mobile"}
    assert DEFINITIONS["member_join"].user_tasks["unit_pre_review"].mobile_fields == {"mobile"}
    assert DEFINITIONS["member_info_change"].start_mobile_fields == {"changes.mobile"}
    assert DEFINITIONS["unit_membership_join"].start_mobile_fields == {
        "legal_representative_mobile",
        "contact_mobile",
    }


def test_mobiles_are_normalized_in_a_copy_and_other_values_are_left_alone():
    data = {"changes": {"mobile": "+86 139-1234-5678", "address": "广州 市"}, "name": "张 三"}
    out = normalized_mobiles(data, DEFINITIONS["member_info_change"].start_mobile_fields)
    assert out == {"changes": {"mobile": "13912345678", "address": "广州 市"}, "name": "张 三"}
    assert data["changes"]["mobile"] == "+86 139-1234-5678"
    assert normalized_mobiles({"changes": {}}, {"changes.mobile"}) == {"changes": {}}
    assert normalized_mobiles({"lines": [{"m": "0086 13912345678"}, 3]}, {"lines.*.m"}) == {
        "lines": [{"m": "13912345678"}, 3]
    }
