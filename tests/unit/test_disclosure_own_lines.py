"""What a member reads of a form listing several persons: their own line in full, the others
by name with the ID number masked (domain.disclosure.own_lines)."""

from __future__ import annotations

from service.domain import disclosure

MINE, THEIRS = "440106198001011230", "440106198505052343"


def test_own_lines_keep_the_readers_line_and_name_the_others_with_a_masked_number():
    data = {
        "pledge": "f-pledge",
        "persons": [
            {"id_number": THEIRS, "name": "何美玲", "diploma": "f-b", "certificate_type": "监理员"},
            {"id_number": MINE.lower(), "name": "周建国", "diploma": "f-a"},
        ],
        "person_reasons": [["该人员已持有有效的监理员证书"], []],
        "fee_lines": [
            {"id_number": THEIRS, "name": "何美玲", "membership_fee": "300.00"},
            {"id_number": MINE, "name": "周建国", "membership_fee": "0.00"},
        ],
        "fee_total": "360.00",
    }
    read = disclosure.own_lines(data, MINE)
    other = {"name": "何美玲", "id_number": "**************2343"}
    assert read["persons"] == [other, data["persons"][1]]
    assert read["fee_lines"] == [other, data["fee_lines"][1]]
    assert read["person_reasons"] == [[], []]
    assert (read["pledge"], read["fee_total"]) == ("f-pledge", "360.00")
    assert data["persons"][0]["diploma"] == "f-b"  # the form's own data is left as it was


def test_a_form_without_persons_and_the_subjects_number_read_by_a_member():
    data = {"name": "周建国", "id_number": MINE, "photo": "f-photo"}
    assert disclosure.own_lines(data, MINE) == data
    assert disclosure.own_number(MINE, MINE) == MINE
    assert disclosure.own_number(THEIRS, MINE) == "**************2343"
    assert disclosure.own_number(None, MINE) is None
