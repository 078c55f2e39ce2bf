"""Compiled templates are shared by the apps of a process (`assets.SharedTemplateCode`): a
second environment renders from the first one's code, and never from code compiled for
another source or for settings that compile differently."""

from __future__ import annotations

import jinja2
from conftest import make_app

from service.web.assets import JINJA_OPTIONS, SharedTemplateCode


class Counting(jinja2.Environment):
    compiled = 0

    def _compile(self, source, filename):
        Counting.compiled += 1
        return super()._compile(source, filename)


def env(cache, templates: dict, **options) -> Counting:
    return Counting(loader=jinja2.DictLoader(templates), bytecode_cache=cache, **options)


def test_a_second_environment_renders_from_the_first_ones_code():
    cache = SharedTemplateCode()
    page = {"p.html": "{% if x %}\n  <b>{{ x }}</b>\n{% endif %}\n"}
    Counting.compiled = 0
    first = env(cache, page, trim_blocks=True).get_template("p.html").render(x="甲")
    second = env(cache, page, trim_blocks=True).get_template("p.html").render(x="甲")
    assert first == second == "  <b>甲</b>\n"
    assert Counting.compiled == 1


def test_another_source_or_other_whitespace_settings_compile_anew():
    cache = SharedTemplateCode()
    page = {"p.html": "{% if x %}\n  <b>{{ x }}</b>\n{% endif %}\n"}
    Counting.compiled = 0
    env(cache, page, trim_blocks=True).get_template("p.html").render(x=1)
    edited = env(cache, {"p.html": "<i>{{ x }}</i>"}, trim_blocks=True)
    assert edited.get_template("p.html").render(x=1) == "<i>1</i>"
    untrimmed = env(cache, page).get_template("p.html").render(x=1)
    assert untrimmed == "\n  <b>1</b>\n"  # its own settings, not the trimmed code
    assert Counting.compiled == 3


def test_apps_share_the_pages_compiled_code_and_keep_their_settings(db_url, tmp_path):
    pages = [make_app(db_url, tmp_path / f"a{i}") for i in range(2)]
    for app in pages:
        assert app.jinja_env.bytecode_cache is JINJA_OPTIONS["bytecode_cache"]
        assert (app.jinja_env.trim_blocks, app.jinja_env.lstrip_blocks) == (True, True)
    replies = [app.test_client().get("/login") for app in pages]
    assert [r.status_code for r in replies] == [200, 200]
    assert "登录" in replies[1].get_data(as_text=True)
