"""视频证明: MP4/MOV uploads, known by their bytes, taken only where a form's field takes a
video, with their own size limit, and shown to reviewers as a player."""

from __future__ import annotations

import io
import re

import pytest
from conftest import (
    PASSWORD,
    applicant_data,
    box,
    form_values,
    make_app,
    mp4_bytes,
    open_task,
    png_bytes,
    seed_world,
    step_task,
    token_headers,
    upload,
)
from conftest import start_form as start
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from service import page_form_bytes
from service.domain.validation import make_resident_id
from service.services.workflow.files import NO_VIDEO, ONLY_IMAGES

MB = 1024 * 1024
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def post_form(client, path: str, values: dict, **kw):
    """A multipart POST encoded in memory (the test client spools a large one to a temporary
    file it leaves open when the request is refused unread)."""
    boundary, body = encode_multipart(values)
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post(path, data=body, content_type=content_type, **kw)


def post_file(client, path: str, content: bytes, name: str, mimetype: str, headers=None):
    """`content` sent as the upload `file`, named `name` and declared as `mimetype`."""
    upload = FileStorage(io.BytesIO(content), filename=name, content_type=mimetype)
    return post_form(client, path, {"file": upload}, headers=headers or {})


def sign_in(client, username: str) -> None:
    token = TOKEN.search(client.get("/login").get_data(as_text=True))[1]
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302


def test_a_video_is_known_by_its_bytes_never_by_its_name_or_declared_type(client, login):
    unit = login("unit")
    mp4 = post_file(client, "/api/v1/files", mp4_bytes(), "proof.bin", "application/x-foo", unit)
    assert mp4.status_code == 201, mp4.get_json()
    assert mp4.get_json()["content_type"] == "video/mp4"
    mov = post_file(client, "/api/v1/files", mp4_bytes(b"qt  "), "IMG_0001.MOV", "", unit)
    assert mov.get_json()["content_type"] == "video/quicktime"
    claims = {
        "text": b"this is not a video at all, only words",
        "cut short": mp4_bytes(payload=b"\0" * 4096)[:-1000],  # the upload broke off
        "no movie": box(b"ftyp", b"isom" + bytes(4) + b"isom") + box(b"mdat", bytes(64)),
        "an image": box(b"ftyp", b"heic" + bytes(4) + b"mif1heic") + box(b"meta", bytes(64)),
        "a page": box(b"ftyp", b"isom" + bytes(4)) + box(b"moov", b"<html><script>x</script>"),
    }
    for what, content in claims.items():
        reply = post_file(client, "/api/v1/files", content, "proof.mp4", "video/mp4", unit)
        assert reply.status_code == 422, what
        message = reply.get_json()["errors"]["file"]
        assert ("MP4" in message or "视频" in message) and "图片" not in message[:4], what


def test_a_video_goes_in_the_video_proof_and_is_refused_in_a_photo_field(client, login, world):
    unit = login("unit")
    video = upload(client, unit, mp4_bytes(), "proof.mp4")
    data = applicant_data(client, unit)
    del data["diploma_verification"]
    refused = client.post(
        "/api/v1/processes/member_join/instances",
        headers=unit,
        json={"data": {**data, "photo": video, "video_proof": video}},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"photo": ONLY_IMAGES}  # a photo: images alone
    view = start(client, unit, "member_join", {**data, "video_proof": video})
    step_task(
        client,
        unit,
        view["id"],
        {
            **form_values(client, unit, view["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    task_id = open_task(client, login("jigou"), view["id"])["id"]
    sign_in(client, "jigou")
    page = client.get(f"/workbench/tasks/{task_id}").get_data(as_text=True)
    player = re.search(r"<video [^>]*>", page)[0]
    assert f'src="/files/{video}"' in player and "controls" in player
    assert "视频证明" in page and "视频 ·" in page
    with client.get(f"/files/{video}") as served:
        assert served.status_code == 200 and served.mimetype == "video/mp4"
        assert served.headers["Content-Disposition"].startswith("inline")
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Accept-Ranges"] == "bytes"
    with client.get(f"/files/{video}", headers={"Range": "bytes=0-99"}) as part:
        assert part.status_code == 206 and len(part.data) == 100
        assert part.data == mp4_bytes()[:100]
    assert "<video" in client.get(f"/files/{video}/view").get_data(as_text=True)
    sign_in(client, "jigou_st")  # another agency: not theirs to see
    assert client.get(f"/files/{video}").status_code == 404


def test_an_applicant_uploads_a_video_through_the_join_code(client, login, world):
    code = full_code(client, login, world)

    def through_code(content: bytes, name: str) -> str:
        reply = post_file(client, f"/api/v1/join-codes/{code}/files", content, name, "video/mp4")
        assert reply.status_code == 201, reply.get_json()
        return reply.get_json()["id"]

    files = {
        k: through_code(png_bytes(), f"{k}.png")
        for k in ("photo", "id_front", "id_back", "diploma")
    }
    video = through_code(mp4_bytes(), "proof.mp4")
    data = applicant_data(client, login("unit"))
    del data["diploma_verification"]
    data.update(files)
    wrong = client.post(
        f"/api/v1/join-codes/{code}/applications",
        json={"data": {**data, "diploma": video, "video_proof": video}},
    )
    assert wrong.status_code == 422 and wrong.get_json()["errors"] == {"diploma": NO_VIDEO}
    reply = client.post(
        f"/api/v1/join-codes/{code}/applications", json={"data": {**data, "video_proof": video}}
    )
    assert reply.status_code == 201, reply.get_json()


def test_a_video_has_its_own_size_limit_named_when_it_is_over(db_url, tmp_path):
    app = make_app(db_url, tmp_path, max_upload_bytes=1 * MB, max_video_bytes=2 * MB)
    client = app.test_client()
    world = seed_world(app)
    unit = token_headers(client, world.logins["unit"])
    video = mp4_bytes(payload=bytes(MB + MB // 2))  # over an image's limit, within a video's
    taken = post_file(client, "/api/v1/files", video, "proof.mp4", "video/mp4", unit)
    assert taken.status_code == 201 and taken.get_json()["size"] == len(video)
    over = post_file(
        client, "/api/v1/files", mp4_bytes(payload=bytes(2 * MB)), "long.mp4", "video/mp4", unit
    )
    assert over.status_code == 413 and over.get_json()["message"] == "视频不能超过2MB"
    photo = post_file(
        client, "/api/v1/files", png_bytes() + bytes(MB + MB // 2), "big.png", "image/png", unit
    )
    assert photo.status_code == 413
    assert photo.get_json()["message"] == "图片和 PDF 文件不能超过1MB（视频不超过2MB）"
    huge = post_file(
        client, "/api/v1/files", mp4_bytes(payload=bytes(3 * MB)), "huge.mp4", "video/mp4", unit
    )
    assert huge.status_code == 413  # refused unread: over the request's limit
    assert "图片和 PDF 文件不超过1MB，视频不超过2MB" in huge.get_json()["message"]


def test_the_default_limit_takes_a_phone_video_larger_than_a_photo(client, login):
    video = mp4_bytes(payload=bytes(12 * MB))
    reply = post_file(client, "/api/v1/files", video, "proof.mp4", "video/mp4", login("unit"))
    assert reply.status_code == 201, reply.get_json()


def full_code(client, login, world) -> str:
    return client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "full"}
    ).get_json()["code"]


def picture(name: str) -> FileStorage:
    return FileStorage(io.BytesIO(png_bytes()), filename=f"{name}.png", content_type="image/png")


def send_join_page(client, code: str, page: str, **files):
    """The join page's form sent whole: an applicant's fields, photos, and `files`."""
    values = {
        "csrf_token": TOKEN.search(page)[1],
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": make_resident_id("44010619850315231"),
        "mobile": "13802511234",
        "address": "广州市天河区体育西路100号",
        "education.level": "本科",
        "education.school": "华南理工大学",
        "education.major": "土木工程",
        "education.graduated_on": "2008-07-01",
        "title": "中级",
        "declaration": "on",
        "declaration__present": "1",
        **{k: picture(k) for k in ("photo", "id_front", "id_back", "diploma")},
        **files,
    }
    return post_form(client, f"/join/{code}", values)


def a_video(size: int = 0) -> FileStorage:
    content = mp4_bytes(payload=bytes(size or 64))
    return FileStorage(io.BytesIO(content), filename="VID_0001.mp4", content_type="video/mp4")


def test_the_join_page_offers_a_video_and_sends_it_with_the_form(client, login, world):
    code = full_code(client, login, world)
    page = client.get(f"/join/{code}").get_data(as_text=True)
    field = re.search(r'<input type="file" id="f-video_proof"[^>]*>', page)[0]
    assert 'accept="video/mp4,video/quicktime"' in field and "capture" not in field
    assert 'data-types="video/mp4,video/quicktime"' in field
    assert 'data-type-names="MP4 或 MOV 视频"' in field
    assert f'data-max-bytes="{50 * MB}"' in field
    photo = re.search(r'<input type="file" id="f-photo"[^>]*>', page)[0]
    assert "video" not in photo and f'data-max-bytes="{10 * MB}"' in photo
    assert "视频证明支持 MP4、MOV 视频，不超过 50MB" in page
    # a video larger than the old limit of the whole request (ten photos), with the photos
    assert page_form_bytes(client.application.extensions["memberflow"].config) > 100 * MB
    reply = send_join_page(client, code, page, video_proof=a_video(12 * MB))
    assert reply.status_code == 302, re.findall(r'class="error"[^>]*>([^<]+)', reply.text)
    assert reply.headers["Location"].endswith(f"/join/{code}/done")


@pytest.mark.parametrize("field", ["photo", "diploma"])
def test_the_join_page_names_the_field_a_video_does_not_belong_in(client, login, world, field):
    code = full_code(client, login, world)
    page = client.get(f"/join/{code}").get_data(as_text=True)
    reply = send_join_page(client, code, page, video_proof=a_video(), **{field: a_video()})
    assert reply.status_code == 422
    said = ONLY_IMAGES if field == "photo" else NO_VIDEO  # a photo takes images alone
    assert re.search(rf'id="f-{field}-error">{re.escape(said)}<', reply.text), reply.text[:3000]
