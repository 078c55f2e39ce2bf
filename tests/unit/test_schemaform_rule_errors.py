"""A rule's reasons reach the drawn form once: listed above it, kept with their table row."""

from __future__ import annotations

from pathlib import Path

from service.engine import load_definitions
from service.web.schemaform import build_form

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
EDUCATION = DEFINITIONS["continuing_education"]
LINES = {"persons": [{"id_number": "440106198004045671", "name": "蔡文华"}]}


def table(form):
    return next(f for f in form.fields if f.widget == "table")


def test_a_persons_reasons_are_listed_once_and_kept_with_its_row():
    errors = {"eligibility": ["蔡文华（4401…）：证书尚未到期"], "persons.0": "证书尚未到期"}
    form = build_form(EDUCATION.start_form, LINES, errors)
    assert form.errors == ["蔡文华（4401…）：证书尚未到期"]
    assert table(form).row_reasons == {0: ["证书尚未到期"]}
    assert form.summary == [(None, "蔡文华（4401…）：证书尚未到期")]
    # without the list (a preview's reasons, a field error of the row itself) it is shown
    # above the form as well, naming the row and linking to it
    form = build_form(EDUCATION.start_form, LINES, {"persons.0": "每名人员应为一个对象"})
    assert form.errors == []
    assert form.summary == [("persons.0", "第1行 蔡文华：每名人员应为一个对象")]
