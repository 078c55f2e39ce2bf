"""What an operator can get wrong is found at start-up, said in one sentence naming the
setting; what fails while serving (a full disk, the limiter's Redis, a database restart)
answers a request with a clear error or not at all, never with 500."""

from __future__ import annotations

import errno
import io
import logging
import shutil
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_URL, make_app, png_bytes, seed_world, token_headers

from service.config import ConfigError
from service.db.migrate import code_revisions, upgrade
from service.storage import StorageFull, StorageUnavailable
from service.storage.local import LocalStorage

HEAD = max(code_revisions()[1])


def start_refused(url: str, tmp_path: Path, **settings) -> str:
    with pytest.raises(ConfigError) as caught:
        make_app(url, tmp_path, **settings)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.fixture
def sqlite_copy(tmp_path, sqlite_template) -> str:
    path = tmp_path / "memberflow.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


# --- the schema revision --------------------------------------------------------------------


def test_a_database_not_upgraded_to_this_codes_revision_stops_the_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0034")  # the code was deployed, `memberflow db upgrade` forgotten
    message = start_refused(url, tmp_path)
    assert f"数据库版本为 0034，本程序需要 {HEAD}" in message
    assert "memberflow db upgrade" in message and "MEMBERFLOW_DATABASE_URL" in message


def test_a_database_newer_than_this_code_stops_the_start(sqlite_copy, tmp_path):
    engine = sa.create_engine(sqlite_copy)
    with engine.begin() as conn:  # the code rolled back after a newer one upgraded it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    message = start_refused(sqlite_copy, tmp_path)
    assert "0099" in message and "比本程序新" in message and HEAD in message


def test_a_database_at_this_codes_revision_starts(sqlite_copy, tmp_path):
    assert make_app(sqlite_copy, tmp_path).extensions["memberflow"]


def test_the_revisions_read_from_the_files_are_alembics():
    from alembic.script import ScriptDirectory

    from service.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known, heads = code_revisions()
    assert heads == set(script.get_heads())
    assert known == {s.revision for s in script.walk_revisions()}


# --- the database cannot be reached ---------------------------------------------------------


def test_an_unreachable_postgresql_names_the_setting_and_the_host(tmp_path):
    url = sa.make_url(PG_URL).set(port=1, password="s3cret").render_as_string(False)
    message = start_refused(url, tmp_path)
    assert message.startswith("无法连接数据库（MEMBERFLOW_DATABASE_URL=")
    assert "127.0.0.1" in message or "localhost" in message or "/" in message
    assert "s3cret" not in message


def test_an_sqlite_file_in_a_missing_folder_names_the_setting(tmp_path):
    url = f"sqlite:///{tmp_path / 'nowhere' / 'memberflow.sqlite3'}"
    message = start_refused(url, tmp_path)
    assert "MEMBERFLOW_DATABASE_URL" in message and "nowhere" in message


def test_a_database_never_upgraded_says_to_upgrade(tmp_path):
    message = start_refused(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    assert "尚未初始化" in message and "memberflow db upgrade" in message


# --- the files folder -----------------------------------------------------------------------


def test_a_files_folder_that_cannot_be_made_stops_the_start(sqlite_copy, tmp_path):
    message = start_refused(sqlite_copy, tmp_path, files_dir=Path("/proc/memberflow-files"))
    assert "MEMBERFLOW_FILES_DIR" in message and "/proc/memberflow-files" in message


def test_a_full_disk_answers_507_and_leaves_no_partial_file(db_url, tmp_path, monkeypatch):
    app = make_app(db_url, tmp_path)
    world = seed_world(app)
    client = app.test_client()
    headers = token_headers(client, world.logins["unit"])

    def half_then_full(self, content):  # the disk fills half way through the write
        with open(self, "wb") as f:
            f.write(content[: len(content) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    reply = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(png_bytes()), "a.png")}
    )
    assert reply.status_code == 507, reply.get_json()
    assert reply.get_json()["message"].startswith("服务器存储空间不足")
    assert not [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    monkeypatch.undo()
    # with room again, the same upload is kept (its row was not left behind either)
    reply = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(png_bytes()), "a.png")}
    )
    assert reply.status_code == 201, reply.get_json()


@pytest.mark.parametrize(
    "failure, expected",
    [(errno.ENOSPC, StorageFull), (errno.EDQUOT, StorageFull), (errno.EIO, StorageUnavailable)],
)
def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch, failure, expected):
    storage = LocalStorage(tmp_path / "files")

    def fail(_src, _dst):
        raise OSError(failure, "failed")

    monkeypatch.setattr("service.storage.local.os.replace", fail)
    with pytest.raises(expected) as caught:
        storage.put("ab" + "0" * 62, b"x" * 1000)
    assert caught.value.status == (507 if expected is StorageFull else 503)
    assert not [p for p in (tmp_path / "files").rglob("*") if p.is_file()]


# --- the certificate font -------------------------------------------------------------------

NOTO_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_a_file_that_is_no_truetype_font_stops_the_start(sqlite_copy, tmp_path):
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    message = start_refused(sqlite_copy, tmp_path, certificate_font=str(text))
    assert "MEMBERFLOW_CERTIFICATE_FONT" in message and ".ttf" in message


@pytest.mark.skipif(not NOTO_TTC.exists(), reason="fonts-noto-cjk is not installed")
def test_a_font_with_postscript_outlines_stops_the_start(sqlite_copy, tmp_path):
    message = start_refused(sqlite_copy, tmp_path, certificate_font=str(NOTO_TTC))
    assert "MEMBERFLOW_CERTIFICATE_FONT" in message and "TrueType" in message


# --- the rate-limit storage -----------------------------------------------------------------


def test_an_unreachable_limiter_storage_never_fails_a_request(db_url, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="memberflow.limits")
    app = make_app(db_url, tmp_path, ratelimit_storage="redis://127.0.0.1:1")
    assert "MEMBERFLOW_RATELIMIT_STORAGE" in caplog.text  # said at start-up
    world = seed_world(app)
    client = app.test_client()
    app.extensions["memberflow.ratelimit_storage"]._down_until = 0.0  # tried again now
    caplog.clear()
    assert token_headers(client, world.logins["agency"])  # 200
    assert "无法连接" in caplog.text and "redis://127.0.0.1:1" in caplog.text
    assert client.get("/lookup?number=JL0000000000").status_code == 404  # not found, not 500
    # the limits still hold, counted in this process while the storage is down
    bad = {"username": "jigou", "password": "wrong-password"}
    codes = [client.post("/api/v1/auth/token", json=bad).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429], codes


def test_a_limiter_storage_without_its_client_library_stops_the_start(sqlite_copy, tmp_path):
    # the configuration refuses a scheme `limits` does not know (tests/unit); one it knows
    # whose client library is not installed is refused when the app opens it
    try:
        import pymemcache  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pymemcache is installed here")
    message = start_refused(sqlite_copy, tmp_path, ratelimit_storage="memcached://127.0.0.1:1")
    assert "MEMBERFLOW_RATELIMIT_STORAGE" in message


# --- a PostgreSQL restart ------------------------------------------------------------------


def test_connections_the_server_closed_are_replaced_without_failing_a_request(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    client = app.test_client()
    headers = token_headers(client, world.logins["unit"])
    assert client.get("/api/v1/instances", headers=headers).status_code == 200
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # as a server restart does to this database's sessions
        ended = conn.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
        assert ended
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM unnest(:ended) AS pid"), {"ended": ended}
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and conn.scalar(  # gone, as after a restart
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:ended)"),
            {"ended": ended},
        ):
            time.sleep(0.02)
    admin.dispose()
    for _ in range(3):
        reply = client.get("/api/v1/instances", headers=headers)
        assert reply.status_code == 200, reply.get_json()
