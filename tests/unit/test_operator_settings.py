"""Settings an operator gets wrong stop the start with one sentence naming the variable,
instead of a traceback, a limit silently switched off, or a value that makes the service
unusable (every token expired, every sign-in locked, a scheduler spinning)."""

from __future__ import annotations

import pytest

from service.config import ConfigError, load_config


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("MEMBERFLOW_ENV", "MEMBERFLOW_SECRET_KEY", "MEMBERFLOW_DATABASE_URL"):
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


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEMBERFLOW_LOOKUP_RATE_LIMIT", "lots"),
        ("MEMBERFLOW_JOIN_RATE_LIMIT", "30 per fortnight"),
        ("MEMBERFLOW_JOIN_RATE_LIMIT", "per minute"),
    ],
)
def test_a_rate_limit_that_cannot_be_read_is_refused_not_switched_off(env, name, value):
    assert value in refused(env, name, value)


def test_rate_limits_as_flask_limiter_reads_them_are_accepted(env):
    env.setenv("MEMBERFLOW_LOOKUP_RATE_LIMIT", "5/second;100/hour")
    env.setenv("MEMBERFLOW_JOIN_RATE_LIMIT", "30 per minute")
    config = load_config()
    assert (config.lookup_rate, config.join_upload_rate) == ("5/second;100/hour", "30 per minute")


@pytest.mark.parametrize(
    "value",
    ["bogus://x", "redis", "async+redis://127.0.0.1:6379", "http://127.0.0.1:6379"],
)
def test_a_rate_limit_storage_of_an_unknown_kind_is_refused(env, value):
    refused(env, "MEMBERFLOW_RATELIMIT_STORAGE", value)


def test_the_storage_url_is_shown_without_its_password(env):
    message = refused(env, "MEMBERFLOW_RATELIMIT_STORAGE", "bogus://user:s3cret@host:1/0")
    assert "s3cret" not in message and "***" in message


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEMBERFLOW_TOKEN_TTL", "8h"),
        ("MEMBERFLOW_SIGNIN_ATTEMPTS", "five"),
        ("MEMBERFLOW_SIGNIN_LOCKOUT", "15m"),
        ("MEMBERFLOW_SIGNIN_ADDRESS_FAILURES", "x"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "5s"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "nan"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "inf"),
    ],
)
def test_a_number_that_is_not_one_is_said_in_one_line(env, name, value):
    refused(env, name, value)


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEMBERFLOW_TOKEN_TTL", "-1"),  # every token expired as it was issued
        ("MEMBERFLOW_TOKEN_TTL", "59"),
        ("MEMBERFLOW_SIGNIN_ATTEMPTS", "0"),  # the right password locked the name
        ("MEMBERFLOW_SIGNIN_LOCKOUT", "0"),
        ("MEMBERFLOW_SIGNIN_ADDRESS_FAILURES", "0"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "0"),  # a waiting scheduler spun
        ("MEMBERFLOW_SCHEDULER_RETRY", "-1"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "0.05"),
    ],
)
def test_numbers_out_of_their_range_are_refused(env, name, value):
    refused(env, name, value)


def test_numbers_in_range_are_read(env):
    for name, value in (
        ("MEMBERFLOW_TOKEN_TTL", "60"),
        ("MEMBERFLOW_SIGNIN_ATTEMPTS", "1"),
        ("MEMBERFLOW_SIGNIN_LOCKOUT", "1"),
        ("MEMBERFLOW_SIGNIN_ADDRESS_FAILURES", "1"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "0.1"),
    ):
        env.setenv(name, value)
    config = load_config()
    assert config.token_ttl_seconds == 60 and config.signin_attempts == 1
    assert config.signin_lockout_seconds == config.signin_address_failures == 1
    assert config.scheduler_retry_seconds == 0.1


@pytest.mark.parametrize(
    "value",
    [
        "postgres://postgres@127.0.0.1/memberflow",  # SQLAlchemy's NoSuchModuleError
        "postgresql+psycopg2://postgres@127.0.0.1/memberflow",  # a driver not installed
        "mysql://x",  # ModuleNotFoundError: MySQLdb
        "garbage",  # ArgumentError
        "",
    ],
)
def test_a_database_url_the_service_cannot_use_is_said_in_one_line(env, value):
    message = refused(env, "MEMBERFLOW_DATABASE_URL", value)
    assert "postgresql+psycopg://" in message


def test_the_database_url_is_shown_without_its_password(env):
    message = refused(env, "MEMBERFLOW_DATABASE_URL", "postgres://u:s3cret@db/memberflow")
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "value",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/memberflow",
        "postgresql://postgres@/memberflow?host=/var/run/postgresql",  # psycopg: 2.x's default
        "sqlite:////srv/memberflow/memberflow.sqlite3",
    ],
)
def test_the_databases_the_service_runs_on_are_accepted(env, value):
    env.setenv("MEMBERFLOW_DATABASE_URL", value)
    assert load_config().database_url == value


def test_an_instance_folder_that_cannot_be_made_is_named(env):
    # development without a secret key: the key is generated into the instance folder
    message = refused(env, "MEMBERFLOW_INSTANCE_DIR", "/proc/memberflow-instance")
    assert "MEMBERFLOW_SECRET_KEY" in message
