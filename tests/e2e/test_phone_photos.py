"""Photos as phones make them, where they are shown: a portrait photo a phone stores as
landscape pixels with an EXIF orientation tag (6 or 8) stands upright in the materials'
thumbnails, and a PNG with a transparent background is on white there and on red (红底) on
the certificate, whatever colour its hidden pixels carry."""

from __future__ import annotations

import io
import re

import pytest
from conftest import PASSWORD, upload
from PIL import Image, ImageDraw
from test_certificate_documents_api import printed_photo

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FACE = (0xE6, 0xC3, 0xAA)
JACKET = (0x28, 0x3C, 0x3C)


def person(background=(250, 250, 250, 255), mode: str = "RGB") -> Image.Image:
    """A head and shoulders, 240×320 (portrait): the face above, the jacket below."""
    image = Image.new(mode, (240, 320), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((72, 48, 168, 168), fill=FACE)
    draw.rounded_rectangle((32, 172, 208, 360), 40, fill=JACKET)
    return image


def as_a_phone_stores_it(orientation: int) -> bytes:
    """The upright person stored turned, with the tag that turns it back for display."""
    turned = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    person().transpose(turned).save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def cut_out() -> bytes:
    """The person on a transparent background whose hidden pixels are of every colour (as
    an editor leaves them): only the alpha channel says they are not there."""
    noise = Image.effect_noise((240, 320), 120).convert("RGB")
    image = Image.merge("RGBA", (*noise.split(), Image.new("L", noise.size, 0)))
    drawn = person((0, 0, 0, 0), "RGBA")
    image.paste(drawn, (0, 0), drawn.getchannel("A"))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def near(pixel, colour, slack: int = 40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel[:3], colour, strict=True))


def signed_in_page(client, username: str):
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302


def thumbnail(client, login, world, content: bytes, name: str) -> Image.Image:
    file_id = upload(client, login("unit"), content, name)
    signed_in_page(client, world.logins["unit"])
    reply = client.get(f"/files/{file_id}/thumb.png")
    assert reply.status_code == 200
    return Image.open(io.BytesIO(reply.data)).convert("RGB")


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_phone_photo_with_an_orientation_tag_stands_upright_in_its_thumbnail(
    client, login, world, orientation
):
    thumb = thumbnail(client, login, world, as_a_phone_stores_it(orientation), "IMG_0001.jpg")
    w, h = thumb.size
    assert h > w  # portrait, as taken
    assert near(thumb.getpixel((w // 2, h * 100 // 320)), FACE)  # the face above
    assert near(thumb.getpixel((w // 2, h * 260 // 320)), JACKET)  # the jacket below


def test_a_transparent_background_is_white_in_the_thumbnail(client, login, world):
    thumb = thumbnail(client, login, world, cut_out(), "cut-out.png")
    w, h = thumb.size
    for corner in ((2, 2), (w - 3, 2), (2, h // 3)):
        assert near(thumb.getpixel(corner), (255, 255, 255), 8), corner
    assert near(thumb.getpixel((w // 2, h * 100 // 320)), FACE)


def test_a_transparent_background_prints_red_on_the_certificate(app, client, login, world):
    printed = printed_photo(app, client, login, world, cut_out(), "JL2025000104")
    w, h = printed.size
    for corner in ((3, 3), (w - 4, 3)):
        assert near(printed.getpixel(corner), (255, 0, 0)), corner  # the background
    assert near(printed.getpixel((w // 2, h * 100 // 320)), FACE)  # the face is kept


def test_a_phone_photo_is_printed_upright_on_the_certificate(app, client, login, world):
    printed = printed_photo(app, client, login, world, as_a_phone_stores_it(6), "JL2025000105")
    w, h = printed.size
    assert h > w
    assert near(printed.getpixel((w // 2, h * 100 // 320)), FACE)
    assert near(printed.getpixel((w // 2, h * 260 // 320)), JACKET)


def heic_bytes() -> bytes:
    """The start of an iPhone photo (HEIC): an `ftyp` box of brand heic, then its boxes."""
    ftyp = b"ftypheic" + bytes(4) + b"mif1heic"
    return (8 + len(ftyp) - 4).to_bytes(4, "big") + ftyp + bytes(2000)


def test_a_heic_photo_is_refused_saying_how_to_send_one_that_is_taken(client, login):
    reply = client.post(
        "/api/v1/files",
        headers=login("unit"),
        data={"file": (io.BytesIO(heic_bytes()), "IMG_0001.HEIC")},
    )
    assert reply.status_code == 422
    message = reply.get_json()["errors"]["file"]
    assert "HEIC" in message and "JPG" in message and "兼容性最佳" in message
