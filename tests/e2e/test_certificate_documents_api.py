"""Electronic certificates, the unit's batch zip and the public lookup over HTTP, both DBs."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import zxingcpp
from conftest import (
    in_db,
    make_app,
    member_headers,
    png_bytes,
    seed_world,
    token_headers,
    upload,
)
from pypdf import PdfReader
from sqlalchemy import select

from service.config import ConfigError, load_config
from service.db.models import Certificate
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

ISSUED, UNTIL = date(2025, 3, 1), date(2028, 2, 29)
LOOKUP = "/api/v1/public/certificates"


def cert(cert_type: str, number: str, until: date = UNTIL, **kwargs) -> CertificateSeed:
    return CertificateSeed(cert_type, number, until, first_issued_on=ISSUED, **kwargs)


def seed(app, unit_id: int, name: str, prefix: str, *certs: CertificateSeed, photo=None):
    """A member with certificates (and a photo file id); returns (member id, ID number)."""
    id_number = make_resident_id(prefix)

    def add(s):
        member = add_member(
            s, MemberSeed(name, id_number, unit_id, mobile="13800001111", certificates=list(certs))
        )
        member.photo_file_id = photo
        s.commit()
        return member.id

    return in_db(app, add), id_number


def certificate_id(app, number: str) -> int:
    return in_db(
        app, lambda s: s.scalar(select(Certificate.id).where(Certificate.number == number))
    )


def document(client, headers, cid: int):
    return client.get(f"/api/v1/certificates/{cid}/document.pdf", headers=headers)


def pdf_text(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).pages[0].extract_text()


def qr_texts(content: bytes) -> list[str]:
    """Every QR code found in the PDF's embedded images, decoded."""
    page = PdfReader(io.BytesIO(content)).pages[0]
    return [code.text for image in page.images for code in zxingcpp.read_barcodes(image.image)]


def batch(client, headers, unit_id: int, member_ids: list):
    return client.post(
        f"/api/v1/units/{unit_id}/certificates/download",
        headers=headers,
        json={"member_ids": member_ids},
        buffered=True,  # read and close the streamed zip, as a WSGI server does
    )


# --- one certificate ------------------------------------------------------------------------


def test_the_holder_downloads_a_pdf_whose_qr_code_leads_back_to_the_certificate(
    app, client, login, world
):
    photo = upload(client, login("unit"), png_bytes("#c00000", (120, 160)))
    _, id_number = seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        cert("监理员", "JL2025000101", specialty_2="市政公用工程"),
        photo=photo,
    )
    holder = member_headers(client, id_number)
    reply = document(client, holder, certificate_id(app, "JL2025000101"))
    assert reply.status_code == 200, reply.get_json()
    assert reply.mimetype == "application/pdf" and reply.data.startswith(b"%PDF")
    assert "filename*=UTF-8''" in reply.headers["Content-Disposition"]
    assert "JL2025000101.pdf" in reply.headers["Content-Disposition"]

    reader = PdfReader(io.BytesIO(reply.data))
    assert reader.metadata.title == "培训证书 JL2025000101"
    text = pdf_text(reply.data)
    masked = "*" * 14 + id_number[-4:]
    for expected in (
        "培训证书",
        "广东省建设监理协会",
        "周建国",
        masked,
        "监理员",
        "房屋建筑工程、市政公用工程",
        "JL2025000101",
        "2025年03月01日",
        "2028年02月29日",
        world.unit_name,
        "有效",
    ):
        assert expected in text, expected
    assert id_number not in text and id_number[:14] not in text
    assert "已过期" not in text and "照片" not in text  # the real photo, not the frame
    assert len(reader.pages[0].images) == 2  # the photo and the QR code

    base = app.extensions["memberflow"].config.public_base_url.rstrip("/")
    url = f"{base}/lookup?number=JL2025000101"
    assert qr_texts(reply.data) == [url]
    target = urlsplit(url)
    # a phone's camera opens a page (not the API's JSON), anyone's, not signed in
    found = client.get(f"{target.path}?{target.query}")
    assert found.status_code == 200 and found.mimetype == "text/html"
    page = found.get_data(as_text=True)
    assert "JL2025000101" in page and "周建国" in page and masked in page
    found = client.get(LOOKUP, query_string={"number": "JL2025000101"})  # and the API's reply
    [item] = found.get_json()["items"]
    assert (item["number"], item["name"], item["id_number_masked"]) == (
        "JL2025000101",
        "周建国",
        masked,
    )
    again = document(client, holder, certificate_id(app, "JL2025000101"))
    assert again.data == reply.data  # reproducible bytes


def test_the_unit_and_the_association_may_download_nobody_else(app, client, login, world):
    _, id_number = seed(app, world.unit_id, "陈志强", "44010619850315231", cert("监理员", "JL1"))
    _, other_id = seed(app, world.unit_id, "李明", "44010619860412232", cert("监理员", "JL2"))
    cid = certificate_id(app, "JL1")
    for who in ("unit", "association", "admin"):
        assert document(client, login(who), cid).status_code == 200, who
    for who in ("other_unit", "agency", "finance"):
        reply = document(client, login(who), cid)
        assert reply.status_code == 404, who
        assert reply.get_json()["message"] == "证书不存在"
    colleague = member_headers(client, other_id)
    assert document(client, colleague, cid).status_code == 404
    assert document(client, login("unit"), 99999).status_code == 404
    assert document(client, {}, cid).status_code == 401


def test_a_cancelled_certificate_is_refused_and_an_expired_one_is_marked(app, client, login, world):
    seed(
        app,
        world.unit_id,
        "黄海",
        "44010619790101123",
        cert("监理员", "JL2019000001", date(2026, 11, 27)),
        cert("安全监理员", "AQ2019000001", status="cancelled"),
    )
    cancelled = document(client, login("unit"), certificate_id(app, "AQ2019000001"))
    assert cancelled.status_code == 409
    assert cancelled.get_json()["message"] == "证书已注销，不能下载电子证"

    expired = document(client, login("unit"), certificate_id(app, "JL2019000001"))
    assert expired.status_code == 200
    text = pdf_text(expired.data)
    assert text.count("已过期") == 2 and "2026年11月27日" in text  # across it, and its status
    assert "照片" not in text  # no photo on file: the frame stays blank, no word printed in it
    assert len(qr_texts(expired.data)) == 1


# --- the unit's batch -----------------------------------------------------------------------


def test_a_unit_downloads_one_zip_of_its_members_valid_certificates(app, client, login, world):
    double, _ = seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        cert("监理员", "JL2025000001"),
        cert("安全监理员", "AQ2025000001"),
    )
    partly, _ = seed(
        app,
        world.unit_id,
        "陈志强",
        "44010619850315231",
        cert("专业监理工程师", "ZJ2025000001"),
        cert("安全监理员", "AQ2020000009", date(2026, 1, 1)),
    )
    without, without_id = seed(app, world.unit_id, "李明", "44010619860412232")
    reply = batch(client, login("unit"), world.unit_id, [double, partly, without, double])
    assert reply.status_code == 200, reply.get_json()
    assert reply.mimetype == "application/zip"
    assert ".zip" in reply.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    assert archive.namelist() == [
        "周建国_安全监理员_AQ2025000001.pdf",
        "周建国_监理员_JL2025000001.pdf",
        "陈志强_专业监理工程师_ZJ2025000001.pdf",
        "说明.txt",
    ]
    assert all(info.flag_bits & 0x800 for info in archive.infolist())  # UTF-8 names
    for name in archive.namelist()[:3]:
        content = archive.read(name)
        number = name.removesuffix(".pdf").rsplit("_", 1)[1]
        assert content.startswith(b"%PDF") and number in pdf_text(content)
        assert qr_texts(content)[0].endswith(f"?number={number}")
    note = archive.read("说明.txt").decode("utf-8")
    assert "共选择 3 人，下载有效证书 3 本" in note
    assert "AQ2020000009 已过期" in note
    assert f"李明（{'*' * 14}{without_id[-4:]}）：没有培训证书" in note

    only_valid = batch(client, login("unit"), world.unit_id, [double])
    names = zipfile.ZipFile(io.BytesIO(only_valid.data)).namelist()
    assert "说明.txt" not in names and len(names) == 2


def test_a_batch_of_one_certificate_type_holds_that_type_alone(app, client, login, world):
    # 电子证书 filtered by 证书类型: its downloads hold the certificates the list shows
    both, _ = seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        cert("监理员", "JL2025000001"),
        cert("安全监理员", "AQ2025000001"),
    )
    other, other_id = seed(
        app, world.unit_id, "陈志强", "44010619850315231", cert("专业监理工程师", "ZJ2025000001")
    )
    unit = login("unit")
    url = f"/api/v1/units/{world.unit_id}/certificates/download"
    reply = client.post(
        url,
        headers=unit,
        json={"member_ids": [both, other], "certificate_type": "监理员"},
        buffered=True,
    )
    assert reply.status_code == 200, reply.get_json()
    assert "_监理员电子证书_" in unquote(reply.headers["Content-Disposition"])
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    assert archive.namelist() == ["周建国_监理员_JL2025000001.pdf", "说明.txt"]
    note = archive.read("说明.txt").decode("utf-8")
    assert f"陈志强（{'*' * 14}{other_id[-4:]}）：没有监理员证书" in note
    assert "共选择 2 人，下载有效证书 1 本" in note

    none = client.post(
        url, headers=unit, json={"member_ids": [other], "certificate_type": "安全监理员"}
    )
    assert none.status_code == 422
    assert "都没有有效安全监理员证书" in none.get_json()["errors"]["member_ids"]
    bad = client.post(url, headers=unit, json={"member_ids": [both], "certificate_type": "总监"})
    assert bad.status_code == 422 and "证书类型" in bad.get_json()["errors"]["certificate_type"]


def test_a_batch_is_refused_whole_for_strangers_empty_or_oversized_selections(
    app, client, login, world
):
    mine, _ = seed(app, world.unit_id, "周建国", "44010619800101123", cert("监理员", "JL1"))
    gone, _ = seed(
        app, world.unit_id, "黄海", "44010619790101123", cert("监理员", "JL3", status="cancelled")
    )
    theirs, _ = seed(app, world.other_unit_id, "别单位", "44010619850505234", cert("监理员", "JL2"))

    stranger = batch(client, login("unit"), world.unit_id, [mine, theirs, 424242])
    assert stranger.status_code == 422
    body = stranger.get_json()
    assert body["errors"]["member_ids"] == f"以下人员不是本单位人员：{theirs}、424242"
    assert "不属于本单位" in body["message"]

    for ids in ([], list(range(1, 502))):
        refused = batch(client, login("unit"), world.unit_id, ids)
        assert refused.status_code == 422
        assert refused.get_json()["errors"]["member_ids"] == "请选择1至500名人员"
    assert batch(client, login("unit"), world.unit_id, ["x"]).status_code == 422
    nothing = batch(client, login("unit"), world.unit_id, [gone])
    assert nothing.status_code == 422
    assert "都没有有效证书" in nothing.get_json()["errors"]["member_ids"]

    assert batch(client, login("other_unit"), world.unit_id, [mine]).status_code == 404
    assert batch(client, login("association"), world.unit_id, [mine]).status_code == 404


# --- the public lookup ----------------------------------------------------------------------


PUBLIC_FIELDS = {
    "superseded_by",
    "name",
    "id_number_masked",
    "type",
    "number",
    "specialty_1",
    "specialty_2",
    "first_issued_on",
    "renewed_on",
    "valid_until",
    "unit_name",
    "status",
    "status_label",
    "downloadable",
}


def test_anyone_looks_a_certificate_up_by_number_or_by_id_number(app, client, world):
    _, id_number = seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        cert("监理员", "JL2025000001"),
        cert("安全监理员", "AQ2020000009", date(2026, 1, 1)),
    )
    by_number = client.get(f"{LOOKUP}?number=jl2025000001")
    assert by_number.status_code == 200, by_number.get_json()
    [item] = by_number.get_json()["items"]
    assert set(item) == PUBLIC_FIELDS
    assert item == {
        "name": "周建国",
        "id_number_masked": "*" * 14 + id_number[-4:],
        "type": "监理员",
        "number": "JL2025000001",
        "specialty_1": "房屋建筑工程",
        "specialty_2": None,
        "first_issued_on": "2025-03-01",
        "renewed_on": None,
        "valid_until": "2028-02-29",
        "unit_name": world.unit_name,
        "status": "valid",
        "status_label": "有效",
        "superseded_by": None,
        "downloadable": True,
    }
    assert id_number not in by_number.get_data(as_text=True)

    # manual §3.10: by ID number alone; a name given as well must match
    for query in ({"id_number": id_number}, {"id_number": id_number, "name": " 周建国 "}):
        by_person = client.get(LOOKUP, query_string=query)
        assert by_person.status_code == 200
        listed = by_person.get_json()
        assert listed["total"] == 2
        assert [(i["number"], i["status_label"], i["downloadable"]) for i in listed["items"]] == [
            ("AQ2020000009", "已过期", False),
            ("JL2025000001", "有效", True),
        ]


def test_anyone_downloads_the_e_certificate_of_a_valid_certificate_only(app, client, world):
    seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        cert("监理员", "JL2025000001"),
        cert("安全监理员", "AQ2020000009", date(2026, 1, 1)),
    )
    pdf = client.get("/api/v1/public/certificates/jl2025000001/document.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert "JL2025000001" in pdf.headers["Content-Disposition"]
    expired = client.get("/api/v1/public/certificates/AQ2020000009/document.pdf")
    assert expired.status_code == 409
    assert expired.get_json()["message"] == "证书已过期，不能下载电子证"
    missing = client.get("/api/v1/public/certificates/JL404/document.pdf")
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "未查到证书，请核对证书编号或身份证号"
    page = client.get("/lookup/certificate.pdf", query_string={"number": "JL2025000001"})
    assert page.status_code == 200 and page.data.startswith(b"%PDF")
    refused = client.get("/lookup/certificate.pdf?number=AQ2020000009")
    assert refused.status_code == 409
    assert "<h1>不能下载电子证</h1>" in refused.get_data(as_text=True)  # not 数据已变化


def test_the_lookup_page_reads_numbers_typed_with_spaces_and_asks_for_one_when_empty(
    app, client, world
):
    _, id_number = seed(
        app, world.unit_id, "周建国", "44010619800101123", cert("监理员", "JL2025000001")
    )
    spaced = f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"
    page = client.get("/lookup", query_string={"id_number": spaced})
    assert page.status_code == 200 and "JL2025000001" in page.get_data(as_text=True)
    page = client.get("/lookup", query_string={"number": " JL 2025 000001 "})
    assert page.status_code == 200 and "周建国" in page.get_data(as_text=True)
    empty = client.get("/lookup", query_string={"number": "", "id_number": "", "name": ""})
    assert empty.status_code == 422
    assert "请填写证书编号或身份证号" in empty.get_data(as_text=True)
    assert client.get("/lookup").status_code == 200  # the page itself asks nothing yet


def test_a_lookup_that_does_not_match_answers_like_an_absent_certificate(app, client, world):
    _, id_number = seed(app, world.unit_id, "周建国", "44010619800101123", cert("监理员", "JL1"))
    for query in (
        {"id_number": id_number, "name": "周建"},
        {"id_number": make_resident_id("44010619900101123"), "name": "周建国"},
        {"number": "JL404"},
        {"number": "JL1", "name": "别人"},
    ):
        reply = client.get(LOOKUP, query_string=query)
        assert reply.status_code == 404, query
        assert reply.get_json()["message"] == "未查到证书，请核对证书编号或身份证号"
    for query, field in (
        ({}, "number"),
        ({"number": "  "}, "number"),
        ({"name": "周建国"}, "number"),
    ):
        reply = client.get(LOOKUP, query_string=query)
        assert reply.status_code == 422, query
        assert field in reply.get_json()["errors"], reply.get_json()
    too_long = client.get(LOOKUP, query_string={"number": "J" * 31})
    assert too_long.status_code == 422 and "number" in too_long.get_json()["errors"]


def test_the_lookup_is_rate_limited_per_client_address(db_url, tmp_path):
    app = make_app(db_url, tmp_path, lookup_rate="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get(LOOKUP, query_string={"number": "JL404"}).status_code == 404
    refused = client.get(LOOKUP, query_string={"number": "JL404"})
    assert refused.status_code == 429
    assert refused.get_json() == {
        "code": 429,
        "status": "Too Many Requests",
        "message": "操作过于频繁，请稍后再试",
    }
    elsewhere = client.get(
        LOOKUP, query_string={"number": "JL404"}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert elsewhere.status_code == 404


def embedded_fonts(content: bytes) -> list[str]:
    """The base names of the fonts whose program is inside the PDF (FontFile2: TrueType)."""
    names = []
    for font in PdfReader(io.BytesIO(content)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            names.append(str(font["/BaseFont"]))
    return names


def test_a_configured_truetype_font_is_embedded_in_the_certificate(db_url, tmp_path):
    """Without a font file the CID font is only named; with one, the PDF carries it."""
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"  # shipped with reportlab
    plain = make_app(db_url, tmp_path / "plain")
    world = seed_world(plain)
    seed(plain, world.unit_id, "周建国", "44010619800101123", cert("监理员", "JL2025000001"))
    cid = certificate_id(plain, "JL2025000001")
    embedding = make_app(db_url, tmp_path / "embedding", certificate_font=str(vera))
    for app, expect_embedded in ((plain, False), (embedding, True)):
        client = app.test_client()
        reply = document(client, token_headers(client, world.logins["unit"]), cid)
        assert reply.status_code == 200, reply.get_json()
        fonts = embedded_fonts(reply.data)
        assert bool(fonts) is expect_embedded, fonts
        if expect_embedded:
            assert any("BitstreamVeraSans" in name for name in fonts), fonts  # a subset


def test_a_missing_font_file_stops_start_up(tmp_path):
    with pytest.raises(ConfigError, match="字体文件不存在"):
        load_config(instance_dir=tmp_path, certificate_font=str(tmp_path / "nope.ttf"))


def one_inch_photo(background: str) -> bytes:
    """A head and shoulders (with a white collar inside the jacket) on `background`."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 320), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((72, 48, 168, 168), fill="#e6c3aa")
    draw.rectangle((100, 150, 140, 182), fill="#e1bea5")  # the neck
    draw.rounded_rectangle((32, 172, 208, 360), 40, fill="#283c3c")
    draw.polygon([(104, 178), (136, 178), (120, 225)], fill="#fafafa")  # the collar
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def printed_photo(app, client, login, world, photo: bytes, number: str):
    """The photo as the certificate `number` of a new holder of `photo` prints it."""
    file_id = upload(client, login("unit"), photo)
    certificate = cert("监理员", number)
    _, id_number = seed(
        app, world.unit_id, "黄丽萍", "44010619850505123", certificate, photo=file_id
    )
    reply = document(client, member_headers(client, id_number), certificate_id(app, number))
    assert reply.status_code == 200, reply.get_json()
    [printed] = [
        i.image.convert("RGB")
        for i in PdfReader(io.BytesIO(reply.data)).pages[0].images
        if i.image.size[0] < i.image.size[1]  # the portrait photo, not the square QR code
    ]
    return printed


@pytest.mark.parametrize("background", ["#78aae6", "#fafafa"])
def test_the_certificate_prints_the_photo_on_red_made_from_a_plain_background(
    app, client, login, world, background
):
    """Manual §2.1.2 ③: 上传净色底一寸照片，系统自动生成红底照片 … 用于培训证书."""
    printed = printed_photo(app, client, login, world, one_inch_photo(background), "JL2025000102")
    w, h = printed.size

    def near(xy, colour):
        return all(abs(a - b) <= 40 for a, b in zip(printed.getpixel(xy), colour, strict=True))

    assert near((3, 3), (255, 0, 0)) and near((w - 4, 3), (255, 0, 0))  # the background
    assert near((w // 2, h * 100 // 320), (0xE6, 0xC3, 0xAA))  # the face is kept
    assert near((w // 2, h * 190 // 320), (0xFA, 0xFA, 0xFA))  # and the white collar


def test_a_photo_without_a_plain_background_is_printed_as_it_was(app, client, login, world):
    from PIL import Image, ImageChops

    noisy = io.BytesIO()
    Image.effect_noise((240, 320), 90).convert("RGB").save(noisy, "PNG")
    printed = printed_photo(app, client, login, world, noisy.getvalue(), "JL2025000103")
    r, g, b = printed.split()
    strong = [r.point(lambda v: 255 if v > 200 else 0)]
    strong += [c.point(lambda v: 255 if v < 60 else 0) for c in (g, b)]
    red = ImageChops.multiply(ImageChops.multiply(*strong[:2]), strong[2]).histogram()[255]
    assert red < printed.size[0] * printed.size[1] // 50  # no red painted in


def test_a_rare_character_in_the_holder_s_name_prints_in_the_served_certificate(
    app, client, login, world
):
    """The service passes its fallback fonts to the PDF (the default: the Debian fonts
    scripts/_browser.sh installs): 𠮷 (Extension B) is drawn, not left blank."""
    import pypdfium2 as pdfium

    if not app.extensions["memberflow"].config.certificate_fallback_fonts:
        pytest.skip("!!!!!!!! no fallback font installed (fonts-hanazono) !!!!!!!!")
    seed(app, world.unit_id, "陈𠮷䶮", "44010619800101123", cert("监理员", "JL2025000181"))
    reply = document(client, login("unit"), certificate_id(app, "JL2025000181"))
    assert reply.status_code == 200
    pdf = pdfium.PdfDocument(reply.data)
    try:
        text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert "陈𠮷䶮" in "".join(text.split())
