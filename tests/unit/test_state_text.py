"""The engine state's text: orjson where it writes what json wrote, json everywhere else."""

import json
import random
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from uuid import UUID

import pytest

from service.engine import Instance, load_definitions
from service.engine.runtime import _SERIALIZER, _state_dict, _state_text

REPO = Path(__file__).resolve().parents[2]


def _json(value) -> str:
    """What the state's text was before orjson: the reference."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _join_instance(name: str = "张三") -> tuple[object, Instance]:
    """A member_join just started (its definition, its instance)."""
    defn = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["member_join"]
    inst = Instance.start(
        defn,
        {
            "variant": "full",
            "name": name,
            "id_type": "resident_id",
            "id_number": "440308199901101512",
            "birth_date": None,
            "mobile": "13800138000",
            "submitted_on": "2026-11-28",
            "is_member": False,
            "held_levels": [],
            "member_elsewhere": False,
            "join_in_flight": False,
        },
    )
    return defn, inst


@pytest.fixture(scope="module")
def join_state() -> dict:
    """A member_join state at the association's review: Chinese text, dates as text,
    nested data, the engine's own bookkeeping."""
    _defn, inst = _join_instance()
    for decision in ("approve", "approve"):
        task = inst.ready_tasks()[0]
        inst.complete(task.id, {"decision": decision, "remark": "材料齐全，同意。\n第二行"})
    return _SERIALIZER.to_dict(inst.workflow)


def test_a_real_state_is_written_as_json_wrote_it_and_read_back(join_state):
    text = _state_text(join_state)
    assert text == _json(join_state)
    assert "张三" in text and "\\u" not in text  # UTF-8 as it is
    assert _state_dict(text) == json.loads(text) == join_state


def _value(rng: random.Random, depth: int):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == 2:
        return rng.choice([0.1, -2.5, 1e16, 1e-7, 3.0, 123456.789, rng.uniform(-1e9, 1e9)])
    if kind in (3, 4, 5):
        alphabet = 'ab 张三建设监理协会\n\t"\\/\u2028\u00e9\U0001f600\x00\x1f'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return {
            "".join(rng.choice('k键"\\') for _ in range(rng.randrange(1, 5))): _value(
                rng, depth + 1
            )
            for _ in range(rng.randrange(5))
        }
    return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_random_documents_read_back_the_same_and_are_written_as_json_wrote_them():
    rng = random.Random(20261202)
    floats = 0
    for _ in range(400):
        doc = {"data": _value(rng, 0), "n": _value(rng, 3)}
        text = _state_text(doc)
        assert json.loads(text) == doc and _state_dict(text) == doc, doc
        if _all_floats(doc):  # the same number, perhaps written another way: 1e-7 for 1e-07
            floats += 1
            assert [repr(f) for f in _all_floats(json.loads(text))] == [
                repr(f) for f in _all_floats(doc)
            ]
        else:
            assert text == _json(doc), doc
    assert floats > 50  # both kinds were tried


def _all_floats(value) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _all_floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _all_floats(v)]
    return []


class _Colour(StrEnum):
    RED = "红"


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        2**64,  # beyond 64 bits: orjson refuses it
        {1: "a key that is not text"},
        {"when": date(2026, 12, 2)},  # a date json cannot write: the move fails as before
        {"colour": _Colour.RED},  # a str subclass
        {"lone": "\ud800"},  # a lone surrogate
        {"p": _Point(1)},  # a dataclass json cannot write
    ],
)
def test_what_orjson_would_write_otherwise_is_left_to_json(value):
    try:
        expected = _json(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            _state_text(value)
        return
    assert _state_text(value) == expected


def test_text_json_wrote_and_orjson_refuses_is_still_read():
    assert _state_dict('{"big":18446744073709551616,"x":NaN}')["big"] == 2**64


def test_a_loaded_state_s_ids_are_written_back_as_it_wrote_them_and_new_ones_formatted():
    defn, started = _join_instance("李四")
    assert not started.workflow.id_texts  # started, not loaded: nothing to reuse
    state = started.dumps()
    loaded = Instance.load(defn, state)
    keys = json.loads(state)["tasks"]
    assert loaded.workflow.id_texts == {UUID(k): k for k in keys}
    task = loaded.ready_tasks()[0]
    loaded.complete(task.id, {"decision": "approve", "member_level": "普通会员"})
    written = _SERIALIZER.to_dict(loaded.workflow)
    new = set(written["tasks"]) - set(keys)
    assert new  # the move made tasks the loaded state did not hold
    # what is written with the texts kept is what formatting every id anew writes
    loaded.workflow.id_texts = {}
    assert _SERIALIZER.to_dict(loaded.workflow) == written


def test_an_id_is_written_as_the_text_it_was_read_from_and_read_back_as_the_same_id():
    defn, started = _join_instance("李四")
    loaded = Instance.load(defn, started.dumps())
    # texts UUID() reads as the same ids, though not as str() writes them
    loaded.workflow.id_texts = {
        u: "{" + t.upper() + "}" for u, t in loaded.workflow.id_texts.items()
    }
    text = loaded.dumps()
    written = json.loads(text)["tasks"]
    assert all(
        v["id"].startswith("{") and all(c.startswith("{") for c in v["children"])
        for v in written.values()
    )
    again = Instance.load(defn, text)
    assert set(again.workflow.tasks) == set(loaded.workflow.tasks)
    for uuid, task in loaded.workflow.tasks.items():
        twin = again.workflow.tasks[uuid]
        assert (twin.parent and twin.parent.id) == (task.parent and task.parent.id)
        assert [c.id for c in twin.children] == [c.id for c in task.children]
        assert (twin.state, twin.task_spec.name, twin.data) == (
            task.state,
            task.task_spec.name,
            task.data,
        )
