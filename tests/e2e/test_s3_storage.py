"""Uploaded files kept in S3-compatible object storage (boto3 against moto's S3 server over
HTTP): an application's materials go up, are reviewed and come back down unchanged."""

from __future__ import annotations

import io

import pytest
from conftest import (
    applicant_data,
    make_app,
    pdf_bytes,
    png_bytes,
    seed_world,
    token_headers,
)
from objectstore import object_store


@pytest.fixture
def store(monkeypatch):
    with object_store(monkeypatch) as s3:
        yield s3


@pytest.fixture
def s3_app(db_url, tmp_path, store):
    return make_app(
        db_url,
        tmp_path,
        storage=f"s3://{store.bucket}/uploads",
        s3_endpoint_url=store.endpoint_url,
    )


def test_an_application_goes_through_upload_review_and_download_with_files_in_s3(
    s3_app, store, tmp_path
):
    world = seed_world(s3_app)
    client = s3_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    code = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    ).get_json()["code"]
    photo_bytes, report_bytes = png_bytes("#204080"), pdf_bytes(2)

    def through_code(content: bytes, name: str) -> str:
        reply = client.post(
            f"/api/v1/join-codes/{code}/files", data={"file": (io.BytesIO(content), name)}
        )
        assert reply.status_code == 201, reply.get_json()
        return reply.get_json()["id"]

    materials = {
        "photo": through_code(photo_bytes, "照片.png"),
        "id_front": through_code(png_bytes("#111111"), "正面.png"),
        "id_back": through_code(png_bytes("#222222"), "反面.png"),
        "diploma": through_code(png_bytes("#333333"), "毕业证.png"),
        "diploma_verification": through_code(report_bytes, "学历验证报告.pdf"),
    }
    data = {**applicant_data(client, unit), **materials}
    started = client.post(f"/api/v1/join-codes/{code}/applications", json={"data": data})
    assert started.status_code == 201, started.get_json()

    # the agency reviewer sees the application's materials: downloads, a thumbnail, a PDF page
    photo = client.get(f"/api/v1/files/{materials['photo']}", headers=agency)
    assert photo.status_code == 200 and photo.data == photo_bytes
    report = client.get(f"/api/v1/files/{materials['diploma_verification']}", headers=agency)
    assert report.data == report_bytes and report.headers["Content-Disposition"].startswith(
        "attachment"
    )
    pages = s3_app.test_client()
    token = pages.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1]
    pages.post(
        "/login",
        data={"username": "jigou", "password": "secret123", "csrf_token": token.split('"')[0]},
    )
    thumb = pages.get(f"/files/{materials['photo']}/thumb.png")
    assert thumb.status_code == 200 and thumb.data[:8] == b"\x89PNG\r\n\x1a\n"
    page = pages.get(f"/files/{materials['diploma_verification']}/pages/2.png")
    assert page.status_code == 200 and page.data[:8] == b"\x89PNG\r\n\x1a\n"

    # the bytes are in the bucket under the prefix, none in the local folder
    keys = store.keys()
    assert keys and all(k.startswith("uploads/") for k in keys)
    assert len(keys) == len(
        {photo_bytes, report_bytes}
        | {png_bytes(c) for c in ("#111111", "#222222", "#333333", "#c00000")}
    )
    assert not (tmp_path / "files").exists() or not any((tmp_path / "files").rglob("*"))


def test_a_blob_missing_from_the_bucket_is_a_clear_error_not_a_crash_of_the_page(s3_app, store):
    world = seed_world(s3_app)
    client = s3_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    reply = client.post(
        "/api/v1/files", headers=unit, data={"file": (io.BytesIO(png_bytes()), "a.png")}
    )
    file_id = reply.get_json()["id"]
    for key in store.keys():
        store.client().delete_object(Bucket=store.bucket, Key=key)
    missing = client.get(f"/api/v1/files/{file_id}", headers=unit)
    assert missing.status_code == 404 and "文件" in missing.get_json()["message"]
