"""The environment is read strictly: a misspelt environment or a weak production key stops
the start with a sentence saying what to set."""

from __future__ import annotations

import pytest
from flask import Flask, request

from service import _body_limits, page_form_bytes
from service.config import ConfigError, load_config

STRONG = "k" * 32


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("MEMBERFLOW_ENV", "MEMBERFLOW_SECRET_KEY", "MEMBERFLOW_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("name", ["Production", "prod", "PRODUCTION", "staging", ""])
def test_an_unknown_environment_name_is_refused_not_run_as_development(env, name):
    env.setenv("MEMBERFLOW_ENV", name)
    env.setenv("MEMBERFLOW_SECRET_KEY", STRONG)
    with pytest.raises(ConfigError, match="MEMBERFLOW_ENV"):
        load_config()


def test_production_needs_a_secret_key_of_at_least_32_bytes(env):
    env.setenv("MEMBERFLOW_ENV", "production")
    env.setenv("MEMBERFLOW_SECRET_KEY", "k" * 31)
    with pytest.raises(ConfigError, match="32 字节"):
        load_config()
    env.setenv("MEMBERFLOW_SECRET_KEY", STRONG)
    config = load_config()
    assert config.production and config.secret_key == STRONG


def test_development_keeps_its_generated_key_and_known_names_are_accepted(env):
    env.setenv("MEMBERFLOW_ENV", "development")
    config = load_config()
    assert not config.production and len(config.secret_key) >= 32


@pytest.mark.parametrize(
    "name, value",
    [("MEMBERFLOW_PROXIES", "-1"), ("MEMBERFLOW_WORKERS", "0"), ("MEMBERFLOW_THREADS", "many")],
)
def test_counts_that_make_no_sense_are_refused(env, name, value):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config()


def test_storage_is_the_local_folder_or_an_s3_bucket(env):
    assert load_config().storage == "local"
    env.setenv("MEMBERFLOW_STORAGE", "s3://memberflow-files/uploads")
    env.setenv("MEMBERFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    config = load_config()
    assert config.storage == "s3://memberflow-files/uploads"
    assert config.s3_endpoint_url == "http://127.0.0.1:9000"
    for wrong in ("s3://", "/srv/files", "minio://bucket"):
        env.setenv("MEMBERFLOW_STORAGE", wrong)
        with pytest.raises(ConfigError, match="MEMBERFLOW_STORAGE"):
            load_config()


def test_the_largest_video_is_set_in_megabytes_and_the_request_limits_follow(env):
    assert load_config().max_video_bytes == 50 * 1024 * 1024
    env.setenv("MEMBERFLOW_MAX_VIDEO_MB", "80")
    config = load_config()
    assert config.max_video_bytes == 80 * 1024 * 1024 > config.max_upload_bytes
    assert page_form_bytes(config) > 10 * config.max_upload_bytes + config.max_video_bytes
    app = Flask(__name__)
    _body_limits(app, config)
    with app.test_request_context("/api/v1/files", method="POST"):
        app.preprocess_request()
        assert request.max_content_length > config.max_video_bytes
    env.setenv("MEMBERFLOW_MAX_VIDEO_MB", "0")
    with pytest.raises(ConfigError, match="MEMBERFLOW_MAX_VIDEO_MB"):
        load_config()
