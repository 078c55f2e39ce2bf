"""The 首页 statistics: each figure an SQL aggregate, scoped like everything else."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from conftest import in_db, seed_world, token_headers
from lxml import etree

from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import NotFound
from service.domain.validation import make_resident_id
from service.services.membership import statistics
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member
from service.web import charts

TODAY = date(2026, 11, 28)
LATER = date(2028, 1, 1)
EXPIRED = date(2026, 1, 1)


def seed(app, world) -> None:
    """Five persons in the unit, one in the other unit (another agency)."""
    people = [
        # name, born, unit, membership until, certificates (type, number, until, first issued)
        ("甲", "19990101", world.unit_id, LATER, [("监理员", "J1", LATER, date(2026, 3, 1))]),
        (
            "乙",
            "19850606",
            world.unit_id,
            LATER,
            [
                ("监理员", "J2", LATER, date(2025, 5, 1)),
                ("安全监理员", "A2", LATER, date(2026, 6, 1)),
            ],
        ),
        ("丙", "19700707", world.unit_id, EXPIRED, [("监理员", "J3", EXPIRED, date(2020, 1, 1))]),
        (
            "丁",
            "19601010",
            world.unit_id,
            LATER,
            [("专业监理工程师", "Z4", LATER, date(2024, 2, 2))],
        ),
        ("戊", "19921212", world.unit_id, None, []),
        ("己", "19880808", world.other_unit_id, LATER, [("监理员", "J6", LATER, date(2026, 1, 1))]),
    ]

    def add(session):
        for i, (name, born, unit, until, certs) in enumerate(people):
            add_member(
                session,
                MemberSeed(
                    name,
                    make_resident_id(f"440106{born}{i:03d}"),
                    unit,
                    memberships={"普通会员": until} if until else {},
                    certificates=[
                        CertificateSeed(t, n, u, first_issued_on=first) for t, n, u, first in certs
                    ],
                ),
            )
        session.commit()

    in_db(app, add)


@pytest.fixture
def figures(app):
    world = seed_world(app)
    seed(app, world)
    app.extensions["memberflow"].clock = lambda: datetime(2026, 11, 28, 4)

    def of(actor: Actor, **kwargs) -> dict:
        return in_db(
            app,
            lambda s: statistics.summary(
                app.extensions["memberflow"], UnitOfWork(s), actor, **kwargs
            ),
        )

    return world, of


def test_a_units_figures_count_its_own_persons_only(figures):
    world, of = figures
    unit = of(Actor(1, "单位", "unit_admin", unit_id=world.unit_id))
    assert unit["scope"] == "unit"
    assert (unit["persons"], unit["members"]) == (5, 3)  # 丙 expired, 戊 has none
    assert unit["certificates_by_type"] == {"安全监理员": 1, "监理员": 2, "专业监理工程师": 1}
    assert unit["valid_certificates"] == 4
    assert unit["holders"] == {"single": 2, "double": 1}
    assert unit["issued_by_year"] == [
        {"year": 2024, "counts": {"安全监理员": 0, "监理员": 0, "专业监理工程师": 1}},
        {"year": 2025, "counts": {"安全监理员": 0, "监理员": 1, "专业监理工程师": 0}},
        {"year": 2026, "counts": {"安全监理员": 1, "监理员": 1, "专业监理工程师": 0}},
    ]
    # born 1999 → 27, 1985 → 41, 1970 → 56, 1960 → 66, 1992 → 33 (on 2026-11-28)
    assert unit["age_bands"] == {
        "18-30岁": 1,
        "31-40岁": 1,
        "41-50岁": 1,
        "51-60岁": 1,
        "60岁以上": 1,
    }


def test_the_association_sees_everyone_and_may_narrow_to_one_agency(figures):
    world, of = figures
    everyone = of(Actor(2, "协会", "association_reviewer"))
    assert (everyone["scope"], everyone["persons"], everyone["valid_certificates"]) == (
        "association",
        6,
        5,
    )
    agency = of(Actor(2, "协会", "association_reviewer"), agency_id=world.other_agency_id)
    assert (agency["scope"], agency["persons"], agency["valid_certificates"]) == ("agency", 1, 1)
    reviewer = of(Actor(3, "汕头", "agency_reviewer", agency_id=world.other_agency_id))
    assert reviewer["persons"] == 1
    with pytest.raises(NotFound):
        of(Actor(4, "会员", "member", member_id=1))


def test_the_charts_are_svg_with_titles_and_escaped_labels():
    donut = charts.donut("证书<类型>", [("监理员", 3), ("<b>安全</b>", 1), ("无", 0)])
    root = etree.fromstring(str(donut).encode())
    assert root.tag == "svg" and root.get("role") == "img"
    assert root.findtext("title") == "证书<类型>"
    assert "<b>" not in str(donut) and "75%" in str(donut)
    # the legend's shares add up to 100%: 1 : 6 : 1 is 13%, 75%, 12% (rounded each: 99%)
    legend = [
        t.text
        for t in etree.fromstring(
            str(
                charts.donut("证书类型", [("安全监理员", 1), ("监理员", 6), ("专业监理工程师", 1)])
            ).encode()
        ).iter("{*}text")
    ][1:]
    assert legend == ["安全监理员 1（13%）", "监理员 6（75%）", "专业监理工程师 1（12%）"]
    whole = etree.fromstring(str(charts.donut("全部", [("甲", 5)])).encode())
    assert whole.findall("circle")[1].get("stroke") == charts.PALETTE[0]  # one full ring
    bars = charts.bars("近三年", ["2025", "2026"], ["甲", "乙"], [[1, 2], [0, 4]])
    rects = etree.fromstring(str(bars).encode()).findall("rect")
    heights = [float(r.get("height")) for r in rects if r.get("height") not in ("10",)]
    assert max(heights) > 0 and min(heights) == 0


def test_a_scopes_figures_are_kept_for_the_configured_time_then_counted_again(figures, app):
    world, of = figures
    ctx = app.extensions["memberflow"]
    unit = Actor(1, "单位", "unit_admin", unit_id=world.unit_id)
    first = of(unit)

    def one_more(session):
        add_member(session, MemberSeed("庚", make_resident_id("44010619900101777"), world.unit_id))
        session.commit()

    in_db(app, one_more)
    kept = of(unit)
    assert kept["persons"] == first["persons"] == 5  # within statistics_ttl_seconds
    assert kept["counted_at"] == first["counted_at"]
    other = of(Actor(3, "汕头", "agency_reviewer", agency_id=world.other_agency_id))
    assert other["persons"] == 1  # another scope is counted on its own
    ctx.config = dataclasses.replace(ctx.config, statistics_ttl_seconds=0)
    assert of(unit)["persons"] == 6  # nothing kept: counted again


def test_the_statistics_endpoint_answers_each_role_its_scope(app):
    world = seed_world(app)
    seed(app, world)
    client = app.test_client()
    assert client.get("/api/v1/statistics").status_code == 401
    unit = client.get("/api/v1/statistics", headers=token_headers(client, world.logins["unit"]))
    assert unit.status_code == 200, unit.get_json()
    body = unit.get_json()
    assert (body["scope"], body["persons"], body["valid_certificates"]) == ("unit", 5, 4)
    assert body["holders"] == {"single": 2, "double": 1} and "counted_at" in body
    narrowed = client.get(
        f"/api/v1/statistics?agency_id={world.other_agency_id}",
        headers=token_headers(client, world.logins["unit"]),
    )
    assert narrowed.status_code == 422 and "agency_id" in narrowed.get_json()["errors"]
    association = client.get(
        f"/api/v1/statistics?agency_id={world.other_agency_id}",
        headers=token_headers(client, world.logins["association"]),
    )
    assert association.status_code == 200
    assert (association.get_json()["scope"], association.get_json()["persons"]) == ("agency", 1)
