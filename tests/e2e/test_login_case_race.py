"""Logins are unique whatever their letter case, decided by the database (migration 0037):
on PostgreSQL, with real threads, creating "Abc" and "abc" at once makes one account, and
the other request is a clean 409 naming the field — over the API and on the page."""

from __future__ import annotations

import re
import threading
import time

import sqlalchemy as sa
from conftest import PASSWORD, in_db, make_app, race, seed_world, token_headers

from service.db.models import Account

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TAKEN = "该登录名已被使用（登录名不区分大小写）"


def _staff(login: str) -> dict:
    return {"username": login, "name": "新同事", "password": PASSWORD, "role": "designer"}


def _logins(app, stem: str) -> list[str]:
    same = sa.func.lower(Account.username) == stem
    return in_db(app, lambda s: sorted(s.scalars(sa.select(Account.username).where(same))))


def _while_held(url: str, login: str, request):
    """`request()` in a thread while another transaction has inserted `login`, uncommitted:
    the request's own check cannot see it, so only the database can refuse the second."""
    engine = sa.create_engine(url)
    answers: list = []
    try:
        with engine.connect() as other:
            other.execute(
                sa.text(
                    "INSERT INTO accounts (username, name, password_hash, role, is_main,"
                    " active, must_change_password, auth_version, created_at) VALUES"
                    " (:u, :u, 'x', 'designer', false, true, false, 1, CURRENT_TIMESTAMP)"
                ),
                {"u": login},
            )
            worker = threading.Thread(target=lambda: answers.append(request()))
            worker.start()
            time.sleep(0.5)  # the request waits at the index for the other transaction
            other.commit()
            worker.join(timeout=30)
    finally:
        engine.dispose()
    return answers[0]


def test_abc_and_abc_at_once_make_one_account_and_a_409(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    admin = token_headers(app.test_client(), world.logins["admin"])

    def create(login: str):
        return app.test_client().post("/api/v1/staff", headers=admin, json=_staff(login))

    lost = _while_held(pg_url, "Abc", lambda: create("abc"))
    assert lost.status_code == 409, lost.get_json()
    assert lost.get_json()["errors"] == {"username": TAKEN}
    assert TAKEN in lost.get_json()["message"]
    assert _logins(app, "abc") == ["Abc"]

    # several at once, released together: one account, the others refused cleanly
    logins = ["Qrs", "qrs", "QRS", "qRs"]
    answers = race(len(logins), lambda i: create(logins[i]))
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 201 and all(c in (409, 422) for c in codes[1:]), codes
    assert len(_logins(app, "qrs")) == 1
    for refused in (a for a in answers if a.status_code != 201):
        assert refused.get_json()["errors"] == {"username": TAKEN}


def test_the_staff_page_says_a_login_taken_meanwhile_at_its_field(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    page = app.test_client()
    token = TOKEN.search(page.get("/login").get_data(as_text=True)).group(1)
    admin = {"username": world.logins["admin"], "password": PASSWORD, "csrf_token": token}
    signed = page.post("/login", data=admin)
    assert signed.status_code == 302
    token = TOKEN.search(page.get("/admin/staff/new").get_data(as_text=True)).group(1)
    form = {"username": "def", "name": "新同事", "role": "designer", "csrf_token": token}
    lost = _while_held(pg_url, "Def", lambda: page.post("/admin/staff/new", data=form))
    assert lost.status_code == 409
    assert 'id="f-username-error"' in lost.get_data(as_text=True)
    assert TAKEN in lost.get_data(as_text=True)
    assert _logins(app, "def") == ["Def"]
