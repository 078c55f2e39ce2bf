"""What a phone's keyboard does in each field of the public pages: an ID number or a code in
capitals and never auto-corrected (a resident ID may end in X), a name not spell-checked and,
where the applicant types their own, autofilled; the sign-in box (an ID number, a unit's
name, a mobile or a staff login) neither capitalised nor corrected."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import token_headers

CODE = {"autocapitalize": "characters", "autocorrect": "off", "spellcheck": "false"}


class Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.by_id: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag in ("input", "textarea") and found.get("id"):
            self.by_id[found["id"]] = found


def inputs(client, path: str) -> dict[str, dict]:
    reply = client.get(path)
    assert reply.status_code == 200, path
    parser = Inputs()
    parser.feed(reply.get_data(as_text=True))
    return parser.by_id


def has(attrs: dict, wanted: dict) -> bool:
    return all(attrs.get(k) == v for k, v in wanted.items())


def test_the_join_form_types_an_id_number_in_capitals_and_autofills_the_applicant(client, world):
    unit = token_headers(client, world.logins["unit"])
    code = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    ).get_json()["code"]
    fields = inputs(client, f"/join/{code}")
    assert has(fields["f-id_number"], {**CODE, "autocomplete": "off"}), fields["f-id_number"]
    assert has(fields["f-name"], {"autocomplete": "name", "spellcheck": "false"})
    assert has(fields["f-mobile"], {"autocomplete": "tel", "inputmode": "numeric"})
    assert has(fields["f-address"], {"autocomplete": "street-address"})


def test_the_lookup_sign_in_and_reset_pages_set_each_fields_keyboard(client, world):
    lookup = inputs(client, "/lookup")
    for field in ("number", "id_number"):
        assert has(lookup[field], {**CODE, "autocomplete": "off"}), lookup[field]
    login = inputs(client, "/login")["username"]
    assert has(login, {"autocapitalize": "off", "spellcheck": "false", "autocomplete": "username"})
    reset = inputs(client, "/unit-password-reset")
    assert has(reset["f-credit_code"], CODE)
    assert has(reset["f-contact_name"], {"autocomplete": "name", "spellcheck": "false"})
    assert has(reset["f-unit_name"], {"autocomplete": "organization", "spellcheck": "false"})
