"""A person's name compared with another record's is one whatever its compatibility
ideographs (李 U+F9E1 is 李), the dot between its parts (・ or • for the ID card's ·), its
width and its spaces: the learning records' import takes such a row for its learner, and
the eligibility rules' 姓名与证件号码相符 holds; another name is still refused."""

from __future__ import annotations

from datetime import date

import pytest
from test_learning_records_consistency import learner, refused, state
from test_other_education_api import record

from service.domain.person_facts import PersonRecord, person_facts
from service.domain.validation import name_key

DOTTED = "阿卜杜·热合曼"  # as the ID card writes it


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("\uf9e1建平", "李建平"),
        ("阿卜杜・热合曼", DOTTED),
        ("阿卜杜•热合曼", DOTTED),
        ("阿卜杜．热合曼", DOTTED),
        ("李 建平", "李建平"),
        ("ＪＯＨＮ　Ｓｍｉｔｈ", "John Smith"),
    ],
)
def test_names_alike_are_one_name(typed, kept):
    assert name_key(typed) == name_key(kept)
    archive = PersonRecord("440106197509096781", name=kept)
    facts = person_facts(archive, archive.id_number, typed, None, date(2026, 11, 28))
    assert facts["name_matches"] is True


@pytest.mark.parametrize(("typed", "kept"), [("李建明", "李建平"), ("阿卜杜热合曼", DOTTED)])
def test_other_names_stay_other(typed, kept):
    assert name_key(typed) != name_key(kept)
    archive = PersonRecord("440106197509096781", name=kept)
    facts = person_facts(archive, archive.id_number, typed, None, date(2026, 11, 28))
    assert facts["name_matches"] is False


@pytest.mark.usefixtures("pinned_clock")
def test_the_learning_import_takes_a_name_written_with_other_characters(app, client, login, world):
    n = learner(app, client, login, world, name="李建平")
    assert record(client, login, [(n, "\uf9e1建平", 8, "未考试", 0)])["updated"] == 1
    assert state(app, n)[0] == 8
    assert refused(client, login, [(n, "李建明", 9, "未考试", 0)]) == {
        "records.0": f"姓名“李建明”与身份证号 {n} 的学员“李建平”不符"
    }
    dotted = learner(app, client, login, world, DOTTED, "44010619800101123", "JL2024000002")
    assert record(client, login, [(dotted, "阿卜杜・热合曼", 6, "未考试", 0)])["updated"] == 1
