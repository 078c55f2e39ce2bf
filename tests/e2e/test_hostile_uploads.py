"""Hostile uploads: images decoded for real, PDFs that would run something refused, files
served so that no browser takes them for a page, and a join code's upload quota."""

from __future__ import annotations

import io
import re
import zlib
from datetime import timedelta

import pytest
from conftest import applicant_data, make_app, pdf_bytes, png_bytes, seed_world, token_headers
from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from service import PAGE_FILES

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def post_file(client, headers, content: bytes, name: str = "photo.png"):
    return client.post("/api/v1/files", headers=headers, data={"file": (io.BytesIO(content), name)})


def png_with_text(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "#123456").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#336699").save(buf, format="JPEG")
    return buf.getvalue()


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand (object 1 is the catalog), with a correct cross-reference."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def pdf_with_document_script() -> bytes:
    # a document-level script in the catalog's name tree, its code in a compressed stream
    code = zlib.compress(b"app.alert('hi');")
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
        *PAGES,
        b"<< /Names [(init) 5 0 R] >>",
        b"<< /S /JavaScript /JS 6 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(code) + code + b"\nendstream",
    )


def pdf_with_launch_action() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_with_escaped_script_names() -> bytes:
    # "/J#61vaScript" is the name /JavaScript written with a #-escape: a byte search misses it
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        *PAGES,
        b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
    )


def pdf_with_a_link_that_launches() -> bytes:
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        PAGES[0],
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /Launch "
        b"/Win << /F (cmd.exe) >> >> >>",
    )


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + HTML,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + HTML,
        png_bytes()[:60] + HTML,
        jpeg_bytes()[:-40],
    ],
    ids=["png-header-then-html", "jpeg-header-then-html", "png-cut-off", "jpeg-cut-off"],
)
def test_an_image_that_does_not_decode_is_refused(client, login, content):
    reply = post_file(client, login("unit"), content)
    assert reply.status_code == 422, reply.get_json()
    assert "图片" in reply.get_json()["errors"]["file"]


def test_an_image_that_decodes_but_carries_a_page_at_its_start_is_refused(client, login):
    reply = post_file(client, login("unit"), png_with_text("<html><script>alert(1)</script>"))
    assert reply.status_code == 422
    assert "网页代码" in reply.get_json()["errors"]["file"]


def test_real_images_and_a_plain_pdf_are_accepted(client, login):
    for content, kind in (
        (png_bytes(), "image/png"),
        (jpeg_bytes(), "image/jpeg"),
        (png_with_text("拍摄于广州"), "image/png"),
        (pdf_bytes(2), "application/pdf"),
    ):
        reply = post_file(client, login("unit"), content, "material.bin")
        assert reply.status_code == 201, reply.get_json()
        assert reply.get_json()["content_type"] == kind


@pytest.mark.parametrize(
    "make, what",
    [
        (pdf_with_document_script, "脚本"),
        (pdf_with_escaped_script_names, "脚本"),
        (pdf_with_launch_action, "启动程序"),
        (pdf_with_a_link_that_launches, "启动程序"),
    ],
    ids=["document-javascript", "escaped-names", "open-action-launch", "link-launch"],
)
def test_a_pdf_with_javascript_or_a_launch_action_is_refused(client, login, make, what):
    reply = post_file(client, login("unit"), make(), "scan.pdf")
    assert reply.status_code == 422, reply.get_json()
    assert what in reply.get_json()["errors"]["file"]


def test_a_file_that_only_looks_like_a_pdf_is_refused(client, login):
    reply = post_file(client, login("unit"), b"%PDF-1.4\n" + HTML, "scan.pdf")
    assert reply.status_code == 422
    assert "PDF" in reply.get_json()["errors"]["file"]


def test_downloads_are_never_sniffed_and_only_images_open_in_the_browser(client, login):
    unit = login("unit")
    image = post_file(client, unit, png_bytes(), "照片.png").get_json()["id"]
    pdf = post_file(client, unit, pdf_bytes(), "学历验证报告.pdf").get_json()["id"]
    with client.get(f"/api/v1/files/{image}", headers=unit) as reply:
        assert reply.status_code == 200 and reply.mimetype == "image/png"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Content-Disposition"].startswith("inline")
        assert reply.data == png_bytes()
    with client.get(f"/api/v1/files/{pdf}", headers=unit) as reply:
        assert reply.status_code == 200 and reply.mimetype == "application/pdf"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        disposition = reply.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
        assert "sandbox" in reply.headers["Content-Security-Policy"]
        assert reply.data == pdf_bytes()


# --- a join code's quota ---------------------------------------------------------------------


def join_code(client, world, unit) -> str:
    reply = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    )
    return reply.get_json()["code"]


def colour(i: int) -> bytes:
    return png_bytes(f"#{i:06x}")


@pytest.fixture
def quota_app(db_url, tmp_path):
    return make_app(db_url, tmp_path, join_quota_files=5, join_quota_bytes=10 * 1024 * 1024)


def test_a_join_code_takes_only_its_quota_of_uploads_until_they_are_used(quota_app):
    client = quota_app.test_client()
    world = seed_world(quota_app)
    unit = token_headers(client, world.logins["unit"])
    code = join_code(client, world, unit)
    url = f"/api/v1/join-codes/{code}/files"
    ids = []
    for i in range(5):
        reply = client.post(url, data={"file": (io.BytesIO(colour(i)), f"{i}.png")})
        assert reply.status_code == 201, reply.get_json()
        ids.append(reply.get_json()["id"])
    refused = client.post(url, data={"file": (io.BytesIO(colour(9)), "more.png")})
    assert refused.status_code == 413
    assert "上限" in refused.get_json()["message"]

    # the applicant's page holds to the same quota
    page = client.get(f"/join/{code}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    reply = client.post(
        f"/join/{code}",
        data={"csrf_token": token, "name": "陈志强", "photo": (io.BytesIO(colour(10)), "p.png")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422 and "上传额度已用完：请让单位另发一个申请码" in reply.get_data(
        as_text=True
    )

    # applying takes the files into use, which frees the quota
    data = applicant_data(client, unit)
    data.update(
        dict(
            zip(
                ("photo", "id_front", "id_back", "diploma", "diploma_verification"),
                ids,
                strict=True,
            )
        )
    )
    applied = client.post(f"/api/v1/join-codes/{code}/applications", json={"data": data})
    assert applied.status_code == 201, applied.get_json()
    again = client.post(url, data={"file": (io.BytesIO(colour(11)), "again.png")})
    assert again.status_code == 201


def test_the_same_photos_sent_again_after_a_refused_application_take_no_more_quota(quota_app):
    """An applicant whose page was refused (a mistyped mobile) and who chooses the same
    photos again sends the same contents: they count once against the code's quota, so a
    few mistakes cannot lock the code's other applicants out for a day. Other contents
    still count, and are refused past the quota."""
    client = quota_app.test_client()
    world = seed_world(quota_app)
    code = join_code(client, world, token_headers(client, world.logins["unit"]))
    page = client.get(f"/join/{code}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    for attempt in range(4):  # 4 × 3 files, 3 contents: within the quota of 5
        reply = client.post(
            f"/join/{code}",
            data={
                "csrf_token": token,
                "name": "陈志强",
                "mobile": "1390000",
                **{
                    field: (io.BytesIO(colour(i)), f"{field}.png")
                    for i, field in enumerate(("photo", "id_front", "id_back"))
                },
            },
            content_type="multipart/form-data",
        )
        said = reply.get_data(as_text=True)
        assert reply.status_code == 422 and "上传额度" not in said, (attempt, said[-2000:])
    url = f"/api/v1/join-codes/{code}/files"
    for i in (0, 1, 2, 3, 4):  # two new contents fit; the same three again take nothing
        reply = client.post(url, data={"file": (io.BytesIO(colour(i)), f"{i}.png")})
        assert reply.status_code == 201, (i, reply.get_json())
    refused = client.post(url, data={"file": (io.BytesIO(colour(5)), "5.png")})
    assert refused.status_code == 413, refused.get_json()


def test_a_day_old_unused_upload_no_longer_counts_against_the_quota(quota_app):
    client = quota_app.test_client()
    world = seed_world(quota_app)
    code = join_code(client, world, token_headers(client, world.logins["unit"]))
    url = f"/api/v1/join-codes/{code}/files"
    for i in range(5):
        assert client.post(url, data={"file": (io.BytesIO(colour(i)), "a.png")}).status_code == 201
    ctx = quota_app.extensions["memberflow"]
    clock = ctx.clock
    ctx.clock = lambda: clock() + timedelta(days=1, minutes=1)
    try:
        reply = client.post(url, data={"file": (io.BytesIO(colour(7)), "b.png")})
    finally:
        ctx.clock = clock
    assert reply.status_code == 201


def big_png(i: int, size: int) -> bytes:
    """A PNG padded to `size` bytes (what counts here is the request's size)."""
    content = colour(i)
    return content + b"\0" * (size - len(content))


def png_file(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=f"{name}.png", content_type="image/png")


def post_form(client, path: str, values: dict, **kw):
    """A multipart POST encoded in memory (the test client spools a large one to a temporary
    file it leaves open when the request is refused unread)."""
    boundary, body = encode_multipart(values)
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post(path, data=body, content_type=content_type, **kw)


def test_a_page_form_may_carry_several_files_of_the_largest_size_and_says_when_it_is_over(
    db_url, tmp_path
):
    """A page's form sends its files with it: five photos each under the per-file limit
    went over a request limit of one file (413, the applicant's typing lost). The pages
    take `PAGE_FILES` of them; past that the page says the total and the limits, with a way
    back. The API still takes one file per request (a video's limit here is a photo's)."""
    each = 64 * 1024
    app = make_app(db_url, tmp_path, max_upload_bytes=each, max_video_bytes=each)
    client = app.test_client()
    world = seed_world(app)
    unit = token_headers(client, world.logins["unit"])
    code = join_code(client, world, unit)
    page = client.get(f"/join/{code}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    names = ("photo", "id_front", "id_back", "diploma", "diploma_verification")
    # five files just under the limit each: over one file's request limit (64 KB + 256 KB)
    files = {n: png_file(big_png(i, each - 100), n) for i, n in enumerate(names)}
    reply = post_form(client, f"/join/{code}", {"csrf_token": token, "name": "陈志强", **files})
    assert reply.status_code != 413, reply.status_code
    assert "请填写" in reply.get_data(as_text=True)  # the form itself answers, field by field

    files = {f"f{i}": png_file(big_png(i, each), str(i)) for i in range(PAGE_FILES + 6)}
    refused = post_form(
        client,
        f"/join/{code}",
        {"csrf_token": token, **files},
        headers={"Referer": f"http://localhost/join/{code}"},
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 413
    assert "合计约" in text and "每个文件不超过64KB（视频不超过64KB）" in text
    assert f"一次提交合计不超过{(PAGE_FILES * each + each + 256 * 1024) // 1024}KB" in text
    assert f'href="http://localhost/join/{code}"' in text and "返回上一页" in text

    api = client.post(
        "/api/v1/files",
        headers=unit,
        data={"file": (io.BytesIO(big_png(1, 2 * each + 256 * 1024)), "big.png")},
    )
    assert api.status_code == 413 and api.is_json


def test_an_upload_s_name_keeps_no_invisible_characters_or_folders(client, login):
    """A right-to-left override made "invoice\u202efdp.exe" read as "invoiceexe.pdf" on
    every page that lists the file; a name may not carry a folder either."""
    unit = login("unit")
    for sent, kept in [
        ("invoice\u202efdp.png", "invoicefdp.png"),
        ("zero\u200bwidth.png", "zerowidth.png"),
        ("a/b/c.png", "c.png"),
        ("\u202e", "upload"),
    ]:
        reply = post_file(client, unit, png_bytes(), sent)
        assert reply.status_code == 201, reply.get_json()
        assert reply.get_json()["name"] == kept, sent


def test_an_upload_without_its_file_part_asks_for_the_file(client, login):
    reply = client.post(
        "/api/v1/files",
        headers=login("unit"),
        data={"other": (io.BytesIO(b"x"), "a.png")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"file": "请上传文件（multipart/form-data 的 file 部分）"}
