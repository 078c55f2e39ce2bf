"""A message channel's address written wrongly (MEMBERFLOW_SMTP_URL, MEMBERFLOW_SMS_URL) stops
the start with one line naming the variable, never the password in it: the service started,
and every email or SMS failed later, seen only in the outbox. The start reads an address as
the outbox sends through it."""

from __future__ import annotations

import pytest

from service.config import ConfigError, load_config
from service.services.schedules import outbox

SMTP, SMS = "MEMBERFLOW_SMTP_URL", "MEMBERFLOW_SMS_URL"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("MEMBERFLOW_ENV", "MEMBERFLOW_SECRET_KEY", "MEMBERFLOW_DATABASE_URL", SMTP, SMS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    return monkeypatch


def refused(env, name: str, value: str) -> str:
    env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert name in message and "\n" not in message, message
    return message


WRONG_SMTP = [
    "smtp://127.0.0.1:25x?from=noreply@gdjlxh.org",  # a typo in the port
    "smtp://mail.gdjlxh.org:0",
    "smtp://mail.gdjlxh.org:70000",
    "http://mail.gdjlxh.org:25",  # not smtp://
    "mail.gdjlxh.org:25",  # no scheme
    "smtp://:25",  # no host
    "smtp://mail.gdjlxh.org:25?from=noreply",  # a sender that is no address
    "smtp://mail.gdjlxh.org:25?starttls=yes",
]
WRONG_SMS = [
    "127.0.0.1:9000/sms",  # no http://
    "ftp://sms.gdjlxh.org/send",
    "https://sms.gdjlxh.org:9x/send",
    "https:///send",
]


@pytest.mark.parametrize("value", WRONG_SMTP)
def test_a_wrong_smtp_address_stops_the_start(env, value):
    refused(env, SMTP, value)


@pytest.mark.parametrize("value", WRONG_SMS)
def test_a_wrong_sms_address_stops_the_start(env, value):
    refused(env, SMS, value)


def test_the_password_in_a_wrong_address_is_not_repeated(env):
    message = refused(env, SMTP, "smtp://noreply:Pa55w0rd@mail.gdjlxh.org:25x?from=a@b.cn")
    assert "Pa55w0rd" not in message and "25x" in message
    message = refused(env, SMTP, "smtp://noreply:pa/ss@mail.gdjlxh.org:25")
    assert "pa/ss" not in message and "ss@mail" not in message


def test_right_addresses_start_and_only_wrong_ones_stop_it(env):
    config = load_config()
    assert (config.smtp_url, config.sms_url) == (None, None)
    smtp = "smtp://noreply:Pa55w0rd@mail.gdjlxh.org:587?from=noreply@gdjlxh.org&starttls=1"
    env.setenv(SMTP, smtp)
    env.setenv(SMS, "https://sms.gdjlxh.org/send")
    config = load_config()
    assert (config.smtp_url, config.sms_url) == (smtp, "https://sms.gdjlxh.org/send")
    env.setenv(SMTP, "")  # set but empty: the channel is off, as unset
    assert load_config().smtp_url is None
    # keyword arguments win, unchecked, as for the other settings: the outbox's own tests
    # give it an address written wrongly on purpose, to see its messages fail
    wrong = "smtp://127.0.0.1:25x?from=noreply@gdjlxh.org"
    assert load_config(smtp_url=wrong).smtp_url == wrong
    refused(env, SMTP, wrong)


@pytest.mark.parametrize("value", WRONG_SMTP)
def test_the_start_says_of_an_smtp_address_what_the_outbox_says(env, value):
    env.setenv(SMTP, value)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == outbox.smtp_url_problem(value)


@pytest.mark.parametrize("value", WRONG_SMS)
def test_the_start_says_of_an_sms_address_what_the_outbox_says(env, value):
    env.setenv(SMS, value)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == outbox.sms_url_problem(value)
