"""A field that takes images alone (its `x-accept` names image types only: the join form's
个人照片 and ID photos) refuses a PDF or a video the upload endpoint accepted for another
field: the page's file input keeps a person from choosing one, the service kept nobody
else from sending its id (the 电子证 prints the photo). Refused at the field, nothing made;
on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from conftest import applicant_data, in_db, mp4_bytes, pdf_bytes, png_bytes, start_form
from sqlalchemy import func, select

from service.db.models import ProcessInstance

ONLY_IMAGES = "此项只能上传 JPG、PNG 图片（照片），请重新上传"
ONLY_VIDEO = "此项只能上传 MP4、MOV 视频，请重新上传"


def _count(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def test_a_photo_field_refuses_a_pdf_or_a_video(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit)
    others = {}
    for name, content in (("证明.pdf", pdf_bytes()), ("视频.mp4", mp4_bytes())):
        reply = client.post(
            "/api/v1/files", headers=unit, data={"file": (io.BytesIO(content), name)}
        )
        assert reply.status_code == 201, reply.get_json()
        others[name] = reply.get_json()["id"]
    for field in ("photo", "id_front", "id_back"):
        for file_id in others.values():
            refused = start_form(client, unit, "member_join", {**data, field: file_id}, expect=422)
            assert refused["errors"][field] in (ONLY_IMAGES,), refused["errors"]
    assert _count(app) == 0
    # a PDF where a document is asked for (学历证书) is taken, as before
    taken = start_form(client, unit, "member_join", {**data, "diploma": others["证明.pdf"]})
    assert taken["status"] == "单位预审中"


def test_a_video_field_refuses_a_pdf_or_a_photo(app, client, login, world):
    """The 视频证明 (its `x-accept` names video types only), which stands in for a 学历验证
    报告, takes a video alone: a PDF or a photo there would meet the rule "学历验证报告，否则
    视频证明" with any document."""
    unit = login("unit")
    data = applicant_data(client, unit)
    data.pop("diploma_verification")
    for name, content in (("证明.pdf", pdf_bytes()), ("照片.png", png_bytes())):
        reply = client.post(
            "/api/v1/files", headers=unit, data={"file": (io.BytesIO(content), name)}
        )
        assert reply.status_code == 201, reply.get_json()
        refused = start_form(
            client, unit, "member_join", {**data, "video_proof": reply.get_json()["id"]}, 422
        )
        assert refused["errors"] == {"video_proof": ONLY_VIDEO}, refused
    assert _count(app) == 0
    reply = client.post(
        "/api/v1/files", headers=unit, data={"file": (io.BytesIO(mp4_bytes()), "视频.mp4")}
    )
    taken = start_form(client, unit, "member_join", {**data, "video_proof": reply.get_json()["id"]})
    assert taken["status"] == "单位预审中"
