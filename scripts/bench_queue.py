"""Benchmark the REST lists at 1,000 and at 100,000 instances on PostgreSQL, and their growth.

For each size a private PostgreSQL database (both created beside the test server before
any timing, both dropped at the end) is filled in bulk by SQL as `bench_workbench.py`
fills it: four agencies, 400 units, the forms of the nine business types, a fifth of them
in review with one open task each (200 at 1k, 20,000 at 100k), the rest finished with
three completed review tasks, every form's persons (its subject first), a tenth of the
association's open tasks claimed, and their audit trail (which the lists read 退回原因 from).

Then, through the real app (Flask's test client: routing, bearer token, use cases, SQL,
JSON; no network), as the agency reviewer of one city and as the association reviewer who
sees every agency, it times each request at the two sizes in turns (small, large, small,
…, so that a neighbour's load falls on both alike):

- the queue, `GET /api/v1/tasks` with scope available, mine and done, a deep page, and
  the search (a name, two characters of one: what people type most, and which has no
  trigram; both found in the queue; a name found in no task of the queue; a name in the
  done list);
- the instance list, `GET /api/v1/instances` unfiltered, with each filter (business type,
  status, submitted dates), with the search (a name, part of a name, two characters, an ID
  number, a form number) and a deep page — by `page`, and by the `after` cursor where the
  reply gives one;
- a member's own list (signed in as a member listed on five forms, one of them its own), and
  its learning tasks among one per form;
- the same searches of a name that ten forms hold at both sizes (five in the
  association's queue, five it has done): a common name is held by a hundred times as many
  forms at 100,000 as at 1,000, so its search's growth follows the forms it finds; this
  one's growth is the table's size alone.

Prints p50 and p95 per request at each size side by side, the growth ratio (p95 at the
large size ÷ p95 at the small one), and the verdict against p95 ≤ 20 ms and growth ≤ 1.3×;
after each search, what it found at each size (its total) and how many persons its text
names, which its cost follows.
On a shared machine the tail follows the neighbours' load: compare runs made side by side.

Run:  python scripts/bench_queue.py [--sizes 1000 100000] [--runs 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workbench import DEFAULT_PG, PASSWORD, private_database, seed, settle  # noqa: E402

TARGET_P95_MS = 20.0
TARGET_GROWTH = 1.3
OPEN_SHARE = 5  # one form in five waits for a review
MEMBER = "huiyuan"  # a member listed on MEMBER_FORMS forms, signed in on its phone
MEMBER_FORMS = 5
DEEP_PAGE = 40  # with 20 per page: the 801st row onwards
RARE = "欧阳明月"  # a name (and a surname, 欧阳) that no generated name holds


def token(client, username: str) -> dict:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return {"Authorization": f"Bearer {reply.get_json()['access_token']}"}


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def cursor_path(client, headers: dict, path: str, pages: int) -> str | None:
    """The path of page `pages + 1` reached by following `after` cursors (None: no cursors)."""
    glue = "&" if "?" in path else "?"
    current = path
    for _ in range(pages):
        body = client.get(current, headers=headers).get_json()
        after = body.get("next_after")
        if not after:
            return None
        current = f"{path}{glue}after={after}"
    return current


def requests(instances: int) -> list[tuple[str, str, str]]:
    """(label, who, path) of every timed request; the searched values exist at each size."""
    name = "王建国"  # subject names are surname + given name + i % 97
    short = "张伟"  # two characters, as a Chinese name is most often typed: no trigram
    # the association's queue holds the forms whose i % 10 is 1, 5, 8 or 9 (OPEN_TASKS):
    # 李美玲 is i % 40 = 1, 李芳 i % 40 = 25, each a fortieth of the forms as 王建国 and 张伟
    # are (whose forms wait for an agency: in the association's queue they find nothing)
    queued, queued_short = "李美玲", "李芳"
    id_number = "4401061985" + str(instances // 2 + 7).zfill(8)
    business_key = "BK-" + str(instances // 2 + 11).zfill(14)
    deep = f"page={DEEP_PAGE}&page_size=20"
    return [
        ("queue available (agency)", "jigou1", "/api/v1/tasks?scope=available"),
        ("queue mine (agency)", "jigou1", "/api/v1/tasks?scope=mine"),
        ("queue done (agency)", "jigou1", "/api/v1/tasks?scope=done"),
        ("queue available (assoc.)", "xiehui", "/api/v1/tasks?scope=available"),
        ("queue mine (assoc.)", "xiehui", "/api/v1/tasks?scope=mine"),
        ("queue done (assoc.)", "xiehui", "/api/v1/tasks?scope=done"),
        ("queue done, deep page", "xiehui", f"/api/v1/tasks?scope=done&{deep}"),
        ("queue search name", "xiehui", f"/api/v1/tasks?q={queued}"),
        ("queue search 2 characters", "xiehui", f"/api/v1/tasks?q={queued_short}"),
        ("queue search, not in the queue", "xiehui", f"/api/v1/tasks?q={name}"),
        ("queue done search name", "xiehui", f"/api/v1/tasks?scope=done&q={name}"),
        ("instances (agency)", "jigou1", "/api/v1/instances"),
        ("instances (assoc.)", "xiehui", "/api/v1/instances"),
        ("instances key", "xiehui", "/api/v1/instances?key=member_join"),
        ("instances status", "xiehui", "/api/v1/instances?status=机构初审中"),
        ("instances status (agency)", "jigou1", "/api/v1/instances?status=机构初审中"),
        (
            "instances submitted dates",
            "xiehui",
            "/api/v1/instances?submitted_from=2026-03-01&submitted_to=2026-03-31",
        ),
        ("instances search name", "xiehui", f"/api/v1/instances?q={name}"),
        ("instances search name part", "xiehui", "/api/v1/instances?q=美玲4"),
        ("instances search 2 characters", "xiehui", f"/api/v1/instances?q={short}"),
        ("instances search 2 chars (agency)", "jigou1", f"/api/v1/instances?q={short}"),
        ("instances search name (agency)", "jigou1", f"/api/v1/instances?q={name}"),
        ("instances search ID number", "xiehui", f"/api/v1/instances?q={id_number}"),
        ("instances search form no.", "xiehui", f"/api/v1/instances?q={business_key}"),
        ("instances deep page", "xiehui", f"/api/v1/instances?{deep}"),
        ("instances (member)", MEMBER, "/api/v1/instances"),
        ("learning tasks (member)", MEMBER, "/api/v1/learning-tasks"),
        ("queue search rare name", "xiehui", f"/api/v1/tasks?q={RARE}"),
        ("queue done search rare name", "xiehui", f"/api/v1/tasks?scope=done&q={RARE}"),
        ("instances search rare name", "xiehui", f"/api/v1/instances?q={RARE}"),
        ("instances search rare 2 chars", "xiehui", f"/api/v1/instances?q={RARE[:2]}"),
        ("instances search rare (agency)", "jigou1", f"/api/v1/instances?q={RARE}"),
    ]


def rare_forms(instances: int) -> list[int]:
    """The forms whose subject is named RARE at this size: five open in the association's
    queue (ids whose last digit is 1, 5, 8 or 9, `bench_workbench.OPEN_TASKS`) and five
    finished, which the association reviewer has done; all ten in the first agency's area
    (units 1 to 100: an id whose remainder by 400 is below 100) at both sizes."""
    finished = (instances // OPEN_SHARE // 400 + 1) * 400 + 1  # the first after the open
    return [1, 5, 8, 9, 11] + [finished + k for k in range(5)]


@dataclass
class Size:
    """One size's database, app, test client and signed-in callers."""

    instances: int
    url: str
    name: str
    app: object = None
    client: object = None
    headers: dict = field(default_factory=dict)
    found: dict = field(default_factory=dict)  # each search's total at this size
    named: dict = field(default_factory=dict)  # the persons each search's text names


def build(base: str, admin: sa.Engine, instances: int, tmp: Path) -> Size:
    from service import create_app
    from service.config import load_config
    from service.db.migrate import upgrade

    url, _admin, name = private_database(base)
    _admin.dispose()
    size = Size(instances, url, name)
    upgrade(url)
    size.app = create_app(
        load_config(
            database_url=url,
            instance_dir=tmp / name,
            files_dir=tmp / name / "files",
            secret_key="bench",
        )
    )
    counts = seed(size.app, instances, instances // OPEN_SHARE)
    print(f"{instances:,} instances seeded in {counts.pop('seconds')} s: {counts}", flush=True)
    add_rare_name(url, instances)
    add_member(url, instances)  # and analyse
    size.client = size.app.test_client()
    size.headers = {who: token(size.client, who) for who in ("jigou1", "xiehui", MEMBER)}
    for path in ("/api/v1/instances", "/api/v1/learning-tasks"):
        listed = size.client.get(path, headers=size.headers[MEMBER]).get_json()
        assert listed["total"] == MEMBER_FORMS, (path, listed)
    for label, who, path in requests(instances):  # each search times what it says
        if "search" in label:
            total = size.client.get(path, headers=size.headers[who]).get_json()["total"]
            assert (total == 0) == label.endswith("not in the queue"), (label, total)
            size.found[label] = total
            size.named[label] = persons_named(url, parse_qs(urlsplit(path).query)["q"][0])
    return size


def add_member(url: str, instances: int) -> None:
    """A member with its account, listed among the persons of MEMBER_FORMS forms spread over
    the ids (the first of them its own form too); a learning task per form, the member's on
    its forms; the database analysed again."""
    from service.services.membership.credentials import hash_password

    forms = [instances // 2 + 7 + k * (instances // 10) for k in range(MEMBER_FORMS)]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            member = conn.execute(
                sa.text(
                    "INSERT INTO members (name, id_type, id_number, unit_id, status, created_at) "
                    "VALUES ('会员甲', '居民身份证', '440106198599999999', 1, '自由态', now()) "
                    "RETURNING id"
                )
            ).scalar_one()
            conn.execute(
                sa.text(
                    "UPDATE instance_persons ip SET member_id = :member FROM process_instances p "
                    "WHERE ip.instance_id = p.id AND ip.id_number = p.subject_id_number "
                    "AND p.id = ANY(:forms)"
                ),
                {"member": member, "forms": forms},
            )
            conn.execute(
                sa.text("UPDATE process_instances SET member_id = :member WHERE id = :form"),
                {"member": member, "form": forms[0]},
            )
            # a learning task for each form's subject (as an approved enrolment opens one per
            # person), the member's for its forms
            conn.execute(
                sa.text(
                    "INSERT INTO learning_tasks (instance_id, member_id, unit_id, id_number, "
                    "name, process_key, required_hours, completed_hours, exam_attempts, status, "
                    "opened_at, updated_at) SELECT id, CASE WHEN id = ANY(:forms) THEN :member "
                    "END, unit_id, subject_id_number, subject_name, process_key, 24, 0, 0, "
                    "'开课未学习', submitted_at, submitted_at FROM process_instances"
                ),
                {"member": member, "forms": forms},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (username, name, password_hash, role, unit_id, "
                    "member_id, is_main, active, created_at, must_change_password, "
                    "auth_version) VALUES (:username, '会员甲', :hash, 'member', 1, :member, "
                    "false, true, now(), false, 1)"
                ),
                {"username": MEMBER, "hash": hash_password(PASSWORD), "member": member},
            )
    finally:
        engine.dispose()
    settle(url)


def add_rare_name(url: str, instances: int) -> None:
    """Name the subject of each of `rare_forms` RARE (its person and its form's list name,
    "欧阳明月等3人" where it has others)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            forms = {"forms": rare_forms(instances), "name": RARE}
            conn.execute(
                sa.text(
                    "UPDATE instance_persons ip SET name = :name FROM process_instances p "
                    "WHERE ip.instance_id = p.id AND ip.position = 0 AND p.id = ANY(:forms)"
                ),
                forms,
            )
            conn.execute(
                sa.text(
                    "UPDATE process_instances SET subject_name = :name || CASE WHEN "
                    "person_count > 1 THEN '等' || person_count || '人' ELSE '' END "
                    "WHERE id = ANY(:forms)"
                ),
                forms,
            )
    finally:
        engine.dispose()


def persons_named(url: str, text: str) -> int:
    """How many persons of the forms have `text` in their name."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                sa.text("SELECT count(*) FROM instance_persons WHERE strpos(name, :text) > 0"),
                {"text": text},
            )
    finally:
        engine.dispose()


def found_note(sizes: list[Size], label: str) -> str:
    """What a search found at each size (its total) and how many persons its text names: a
    search reads every person its text names, so its cost follows that count, not the
    table's size alone (a search whose names are in no task of the queue finds nothing)."""
    if not all(label in size.found and label in size.named for size in sizes):
        return ""

    def each(counts: str) -> str:
        return " → ".join(f"{getattr(size, counts)[label]:,}" for size in sizes)

    return f"  (found {each('found')}; persons named {each('named')})"


def one(size: Size, who: str, path: str) -> float:
    started = time.perf_counter()
    reply = size.client.get(path, headers=size.headers[who])
    took = (time.perf_counter() - started) * 1000
    assert reply.status_code == 200, (path, reply.status_code, reply.get_data(as_text=True))
    return took


def side_by_side(sizes: list[Size], runs: int) -> dict[str, list[list[float]]]:
    """Each request's times at every size, taken in turns (small, large, small, …), so that
    a neighbour's load falls on both alike and the growth ratio stays fair."""
    found: dict[str, list[list[float]]] = {}
    for items in zip(*(requests(size.instances) for size in sizes), strict=True):
        label, who = items[0][0], items[0][1]
        paths = [path for _label, _who, path in items]
        variants = [(label, paths)]
        if label.endswith("deep page"):
            firsts = [path.replace(f"page={DEEP_PAGE}&", "") for path in paths]
            walked = [
                cursor_path(size.client, size.headers[who], first, DEEP_PAGE - 1)
                for size, first in zip(sizes, firsts, strict=True)
            ]
            if all(walked):
                variants.append((label.replace("deep page", "deep page by cursor"), walked))
        for name, variant in variants:
            for size, path in zip(sizes, variant, strict=True):
                for _ in range(3):  # warm: the pool, the plans
                    one(size, who, path)
            times: list[list[float]] = [[] for _ in sizes]
            for _ in range(runs):
                for i, (size, path) in enumerate(zip(sizes, variant, strict=True)):
                    times[i].append(one(size, who, path))
            found[name] = times
            cells = "".join(f"{p95(t):10.1f}" for t in times)
            print(f"  {name:<36}{cells}  (p95, ms)", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    small, large = args.sizes
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    sizes: list[Size] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for instances in (small, large):
                sizes.append(build(base, admin, instances, Path(tmp)))
            found = side_by_side(sizes, args.runs)
            for size in sizes:
                with size.app.app_context():
                    from service.db import db

                    db.session.remove()
                    db.engine.dispose()
    finally:
        with admin.connect() as conn:
            for size in sizes:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{size.name}" WITH (FORCE)'))
        admin.dispose()

    head, tail = f"{small:,}", f"{large:,}"
    print(
        f"\n{'request':<36}{'p50 @' + head:>12}{'p50 @' + tail:>14}"
        f"{'p95 @' + head:>12}{'p95 @' + tail:>14}{'growth':>8}  (ms; growth of p95)"
    )
    worst_p95, worst_growth, misses = 0.0, 0.0, []
    for label, (at_small, at_large) in found.items():
        p50_small, p95_small = statistics.median(at_small), p95(at_small)
        p50_large, p95_large = statistics.median(at_large), p95(at_large)
        growth = p95_large / p95_small if p95_small else None
        flag = ""
        if p95_large > TARGET_P95_MS or (growth and growth > TARGET_GROWTH):
            flag = "  ← missed"
            misses.append(label)
        worst_p95 = max(worst_p95, p95_large)
        worst_growth = max(worst_growth, growth or 0.0)
        cells = [
            f"{p50_small:12.1f}" if p50_small else f"{'—':>12}",
            f"{p50_large:14.1f}",
            f"{p95_small:12.1f}" if p95_small else f"{'—':>12}",
            f"{p95_large:14.1f}",
            f"{growth:8.2f}" if growth else f"{'—':>8}",
        ]
        print(f"{label:<36}{''.join(cells)}{flag}{found_note(sizes, label)}")
    print(
        f"\nworst p95 at {tail}: {worst_p95:.1f} ms (target ≤ {TARGET_P95_MS:.0f}); "
        f"worst growth {head} → {tail}: {worst_growth:.2f}× (target ≤ {TARGET_GROWTH}×); "
        f"{len(misses)} of {len(found)} missed"
    )


if __name__ == "__main__":
    main()
