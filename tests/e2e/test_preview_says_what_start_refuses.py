"""A units' many-person form (初始教育 → 监理员), as QA found it: 预览/计算费用 says of each line
what 提交 would refuse about it (a specialty not in the dictionary, 专业2 the same as 专业1, a
person twice), never 符合条件; the error summary above the form names each error's row; a
file of the wrong type is told the types its field takes. Over the API and the pages, on
both databases."""

from __future__ import annotations

import io
import re

from conftest import in_db, start_form, token_headers, upload
from PIL import Image
from sqlalchemy import select
from test_unit_pages_http import START, TOKEN, lines, seed, sign_in, text, three_persons
from test_video_uploads import full_code, send_join_page
from werkzeug.datastructures import FileStorage

from service.db.models import ProcessInstance

KEY = "initial_education"
UNKNOWN = "专业“不存在的专业”不在专业字典中"
SAME = "专业2不能与专业1相同"
TWICE = "该人员已在第1行，同一表单不能重复报名"
# what the education forms' materials take (JPG, PNG or PDF), and a photo field (JPG, PNG)
DOCUMENTS = "只能上传 JPG、PNG 图片或 PDF 文件（按文件内容识别，不看扩展名）"
PHOTOS = "只能上传 JPG、PNG 图片（按文件内容识别，不看扩展名）"
EVERYTHING = "只能上传 JPG、PNG 图片、PDF 文件或 MP4、MOV 视频（按文件内容识别，不看扩展名）"


def gif_bytes() -> bytes:
    """A whole, decodable GIF: an image, but of a type the platform takes nowhere."""
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "#336699").save(out, "GIF")
    return out.getvalue()


def gif(name: str = "scan.gif") -> FileStorage:
    return FileStorage(io.BytesIO(gif_bytes()), filename=name, content_type="image/gif")


def wrong_lines(a: dict, b: dict) -> list[dict]:
    """QA's two lines: 专业2 not in the dictionary; 专业1 and 专业2 the same."""
    return [
        {**a, "specialty_2": "不存在的专业"},
        {**b, "specialty_1": "房屋建筑工程", "specialty_2": "房屋建筑工程"},
    ]


def api_lines(client, headers, people: list[dict], files: bool = False) -> list[dict]:
    keep = ("id_number", "name", "specialty_1", "specialty_2")
    out = []
    for p in people:
        line = {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"}
        line.update({k: p[k] for k in keep if k in p})
        if files:
            line.update({f: upload(client, headers) for f in ("diploma", "social_insurance")})
            line["verification"] = upload(client, headers)
        out.append(line)
    return out


def preview(client, headers, persons: list[dict]) -> dict:
    reply = client.post(
        f"/api/v1/processes/{KEY}/preview", headers=headers, json={"data": {"persons": persons}}
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_the_preview_refuses_each_line_the_start_refuses_with_the_starts_own_words(
    client, app, world
):
    a, b, _old = three_persons(app, world)
    c = seed(app, world.unit_id, "林小芳", "44010619900303456")
    unit = token_headers(client, world.logins["unit"])
    people = [*wrong_lines(a, b), c, a]  # and a fourth line: the first person again

    body = preview(client, unit, api_lines(client, unit, people))
    items = body["items"]
    assert [i["eligible"] for i in items] == [False, False, True, False]
    assert items[0]["reasons"] == [f"专业2：{UNKNOWN}"]
    assert items[1]["reasons"] == [SAME]
    assert items[3]["reasons"] == [f"证件号码：{TWICE}"]
    # only the good line has a fee; no total while a line would be refused
    assert [("support_fee" in i) for i in items] == [False, False, True, False]
    assert body["fee_total"] is None

    # 提交 refuses the very same lines, for the same reasons, at their fields
    data = {"pledge": upload(client, unit), "persons": api_lines(client, unit, people, True)}
    refused = start_form(client, unit, KEY, data, expect=422)
    assert refused["errors"] == {
        "persons.0.specialty_2": UNKNOWN,
        "persons.1.specialty_2": SAME,
        "persons.3.id_number": TWICE,
    }

    # corrected, the preview says 符合条件 of each and the start takes the form
    fixed = [a, {**b, "specialty_2": "市政公用工程"}, c]
    good = preview(client, unit, api_lines(client, unit, fixed))
    assert [i["eligible"] for i in good["items"]] == [True, True, True]
    assert good["fee_total"] == "180.00"
    data = {"pledge": upload(client, unit), "persons": api_lines(client, unit, fixed, True)}
    assert start_form(client, unit, KEY, data)["status"] == "机构初审中"


def form_lines(people: list[dict]) -> dict:
    """The page's posted form for these lines, 专业2 as each line has it."""
    data = lines(people)
    for i, p in enumerate(people):
        if "specialty_2" in p:
            data[f"persons.{i}.specialty_2"] = p["specialty_2"]
    return data


def summary(page: str) -> list[str]:
    """The error box above the form, one entry a line: "#link message"."""
    box = re.search(r'<div class="errorbox".*?</ul>', page, re.S)
    assert box, page[:3000]
    found = re.findall(r'<li>(?:<a href="([^"]*)">)?(.*?)(?:</a>)?</li>', box[0])
    return [f"{link} {message}".strip() for link, message in found]


def test_the_preview_page_shows_no_refused_line_as_eligible_and_names_its_row(client, app, world):
    a, b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    form = text(
        client.get(f"{START}/form?certificate_type=监理员&member={a['id']}&member={b['id']}")
    )
    token = TOKEN.search(form).group(1)
    posted = {**form_lines(wrong_lines(a, b)), "csrf_token": token}

    shown = client.post(
        f"{START}/form", data={**posted, "action": "preview"}, content_type="multipart/form-data"
    )
    page = text(shown)
    assert shown.status_code == 200, page[:3000]
    assert 's-审批完成">符合条件' not in page  # no line is said to be eligible
    assert page.count('s-不符合条件">不符合条件') == 2
    assert f"第1行 周建国 不符合办理条件：专业2：{UNKNOWN}" in page
    assert f"第2行 何美玲 不符合办理条件：{SAME}" in page
    assert "金额总计：" not in page
    assert summary(page) == [
        f"#f-persons-0 第1行 周建国：专业2：{UNKNOWN}",
        f"#f-persons-1 第2行 何美玲：{SAME}",
    ]


def test_the_summary_names_the_row_of_each_specialty_error_at_submit(client, app, world):
    a, b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    token = TOKEN.search(text(client.get(START))).group(1)
    refused = client.post(
        f"{START}/form",
        data={**form_lines(wrong_lines(a, b)), "csrf_token": token, "action": "submit"},
        content_type="multipart/form-data",
    )
    page = text(refused)
    assert refused.status_code == 422, page[:3000]
    assert f'id="f-persons-0-specialty_2-error">{UNKNOWN}<' in page  # beside the field
    assert f'id="f-persons-1-specialty_2-error">{SAME}<' in page
    assert summary(page) == [
        f"#f-persons-0-specialty_2 第1行「专业2」：{UNKNOWN}",
        f"#f-persons-1-specialty_2 第2行：{SAME}",
    ]
    assert in_db(app, lambda s: s.scalar(select(ProcessInstance.id))) is None


def test_the_summary_names_the_row_of_every_line_error_among_the_others(client, app, world):
    a, b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    token = TOKEN.search(text(client.get(START))).group(1)
    posted = form_lines([a, {**b, "specialty_1": ""}])
    del posted["persons.0.verification"]
    reply = client.post(
        f"{START}/form",
        data={**posted, "csrf_token": token, "action": "submit"},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422
    # messages that name their row already are listed as they are
    assert summary(text(reply)) == [
        "#f-persons-0-verification 请上传第1行「学历/职称验证材料」",
        "#f-persons-1-specialty_1 请填写第2行「专业1」",
    ]


def test_a_wrong_file_at_a_line_is_told_the_types_that_field_takes(client, app, world):
    a, _b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    token = TOKEN.search(text(client.get(START))).group(1)
    posted = {**lines([a]), "csrf_token": token, "action": "submit"}
    posted["persons.0.diploma"] = gif("diploma.png")  # a GIF whatever its name says
    reply = client.post(f"{START}/form", data=posted, content_type="multipart/form-data")
    page = text(reply)
    assert reply.status_code == 422, page[:3000]
    assert f'id="f-persons-0-diploma-error">{DOCUMENTS}<' in page  # no video offered
    assert f"#f-persons-0-diploma 第1行「最高学历证书」：{DOCUMENTS}" in summary(page)


def test_a_wrong_file_at_a_photo_field_is_told_it_takes_photos(client, login, world):
    code = full_code(client, login, world)
    page = text(client.get(f"/join/{code}"))
    reply = send_join_page(client, code, page, id_front=gif("id_front.jpg"))
    page = text(reply)
    assert reply.status_code == 422, page[:3000]
    assert f'id="f-id_front-error">{PHOTOS}<' in page
    assert f"#f-id_front 身份证件人像面：{PHOTOS}" in summary(page)
    # a phone's HEIC photo: the way out, with what this field takes; at the video field only
    # videos are named
    heic = b"ftypheic" + bytes(4) + b"mif1heic"
    heic = (len(heic) + 4).to_bytes(4, "big") + heic + bytes(2000)
    reply = send_join_page(
        client,
        code,
        page,
        photo=FileStorage(io.BytesIO(heic), filename="IMG_0001.HEIC"),
        video_proof=FileStorage(io.BytesIO(heic), filename="IMG_0002.HEIC"),
    )
    page = text(reply)
    assert reply.status_code == 422
    photo = re.search(r'id="f-photo-error">([^<]+)<', page)[1]
    assert "HEIC" in photo and "此项只收 JPG、PNG 图片：" in photo and "PDF" not in photo
    video = re.search(r'id="f-video_proof-error">([^<]+)<', page)[1]
    assert video == "只能上传 MP4、MOV 视频（按文件内容识别，不看扩展名）"


def test_the_upload_api_knows_no_field_and_names_every_type_it_takes(client, login):
    reply = client.post(
        "/api/v1/files", headers=login("unit"), data={"file": (io.BytesIO(gif_bytes()), "a.gif")}
    )
    assert reply.status_code == 422
    assert reply.get_json()["errors"] == {"file": EVERYTHING}


def test_the_preview_refuses_more_persons_than_the_form_takes_as_the_start_does(client, app, world):
    """A preview of 201 lines is refused with the start's own words, before any line is
    looked at (10,000 lines held a worker for ten seconds); 200 are previewed."""
    unit = token_headers(client, world.logins["unit"])
    line = {"id_number": "440106199001011234", "name": "陈", "certificate_type": "监理员"}
    line["specialty_1"] = "房屋建筑工程"
    reply = client.post(
        f"/api/v1/processes/{KEY}/preview", headers=unit, json={"data": {"persons": [line] * 201}}
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"persons": "报名人员须为 1 至 200 人"}
    started = client.post(
        f"/api/v1/processes/{KEY}/instances", headers=unit, json={"data": {"persons": [line] * 201}}
    )
    assert started.status_code == 422 and "报名人员须为 1 至 200 人" in str(started.get_json())
    lines_200 = [{**line, "id_number": f"4401061990010{i:05d}"} for i in range(200)]
    reply = client.post(
        f"/api/v1/processes/{KEY}/preview", headers=unit, json={"data": {"persons": lines_200}}
    )
    assert reply.status_code == 200, reply.get_json()
    assert len(reply.get_json()["items"]) == 200
