"""Sample materials for the demo: a photo, ID card sides, a diploma, a payment voucher.

Drawn so that a reviewer looking at the demo sees what kind of paper each upload is. The
labels are Chinese when a CJK font is installed (Debian's fonts-noto-cjk), else English.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
# kind -> (Chinese title, English title, size, paper colour)
KINDS = {
    "photo": ("个人照片", "Photo", (300, 400), "#c8102e"),
    "id_front": ("居民身份证（人像面）", "ID card (front)", (856, 540), "#dfe9f3"),
    "id_back": ("居民身份证（国徽面）", "ID card (back)", (856, 540), "#e7eef6"),
    "diploma": ("毕业证书", "Diploma", (800, 600), "#fdf6e3"),
    "diploma_verification": (
        "教育部学历证书电子注册备案表",
        "Degree verification",
        (620, 860),
        "#ffffff",
    ),
    "voucher": ("银行转账凭证", "Payment voucher", (800, 480), "#fffbe6"),
    "document": ("证明材料", "Document", (620, 860), "#ffffff"),
}
COLOURS = {"#ffd700": "voucher", "#c00000": "photo", "#eeeeee": "id_front", "#dddddd": "id_back"}


@lru_cache(maxsize=4)
def _font(size: int):
    for path in CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(), False


@lru_cache(maxsize=16)
def sample_png(kind: str) -> bytes:
    """A PNG that looks like the material `kind` (or a colour the older demo used); drawn
    once per process (each took ~25 ms, and the demo uploads hundreds)."""
    kind = COLOURS.get(kind, kind if kind in KINDS else "document")
    title_zh, title_en, size, paper = KINDS[kind]
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    font, cjk = _font(max(w // 22, 14))
    small, _ = _font(max(w // 40, 11))
    title = title_zh if cjk else title_en
    if kind == "photo":
        draw.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.5), fill="#f1d2b6")
        draw.rounded_rectangle((w * 0.15, h * 0.52, w * 0.85, h * 1.1), 60, fill="#2f3e4e")
        return _save(image)
    draw.rectangle((8, 8, w - 9, h - 9), outline="#7a8796", width=3)
    draw.text((w // 2, h * 0.12), title, fill="#1f2933", font=font, anchor="mm")
    if kind.startswith("id_"):
        draw.rectangle((w * 0.66, h * 0.22, w * 0.92, h * 0.78), fill="#c9d3de")
    lines = ("样例材料，仅供演示" if cjk else "Sample only", "SAMPLE")
    for i in range(6):
        y = h * (0.3 + i * 0.09)
        draw.line(
            (w * 0.08, y, w * (0.6 if kind.startswith("id_") else 0.9), y), fill="#b8c1cc", width=2
        )
    draw.text((w * 0.08, h * 0.86), lines[0], fill="#8a94a0", font=small)
    if kind == "voucher":
        draw.text((w * 0.6, h * 0.72), "¥ 200.00", fill="#b35c00", font=font)
    return _save(image)


def _save(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
