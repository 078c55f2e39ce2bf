"""A login is one whatever its letter case: the staff form refuses "ADMIN" beside "admin"
(该登录名已被使用（登录名不区分大小写）), so "JIGOU" signs in as "jigou" — and its failed
attempts count together, so changing the case buys no more guesses."""

from __future__ import annotations

from conftest import PASSWORD
from test_pages_http import sign_in

TOKEN = "/api/v1/auth/token"


def test_a_login_typed_in_another_case_signs_in(client, world):
    for typed, name in (("JIGOU", "广州初审员"), ("JiGou", "广州初审员"), ("XieHui", "协会审核员")):
        reply = client.post(TOKEN, json={"username": typed, "password": PASSWORD})
        assert reply.status_code == 200, (typed, reply.get_json())
        assert reply.get_json()["user"]["name"] == name
    sign_in(client, "JIGOU")  # the page's sign-in too
    assert client.get("/workbench/todo").status_code == 200


def test_failures_in_every_case_count_against_one_login(client, world):
    for typed in ("jigou", "JIGOU", "Jigou", "jiGOU", "JIGou"):  # five failures: the limit
        reply = client.post(TOKEN, json={"username": typed, "password": "wrong-password"})
        assert reply.status_code == 401, reply.get_json()
    reply = client.post(TOKEN, json={"username": "JiGoU", "password": PASSWORD})
    assert reply.status_code == 429, reply.get_json()
    assert "登录" in reply.get_json()["message"], reply.get_json()
