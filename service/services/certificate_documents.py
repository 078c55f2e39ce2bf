"""Electronic certificates (电子证): one PDF per certificate, a unit's batch zip, public lookup.

The PDF uses reportlab's built-in CID font STSong-Light for Chinese (no font file on the
machine is needed) and carries a QR code with the address of the public lookup, so anyone
holding a printout can check it. The public lookup answers a certificate's public facts
only: the ID number is masked and no member id, mobile or birth date leaves.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import cache
from urllib.parse import urlencode

import qrcode
from PIL import Image, ImageOps, UnidentifiedImageError
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from service.db.models import Certificate, Member, StoredFile, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound
from service.domain.masking import mask_id_number
from service.domain.person_facts import CERTIFICATE_TYPES, CertificateRecord, certificate_status
from service.services.context import Context
from service.services.files import blob_path
from service.services.records import STATUS_LABELS

LOOKUP_PATH = "/api/v1/public/certificates"
ISSUER = "广东省建设监理协会"
MAX_BATCH = 500
FONT = "STSong-Light"
_SEE_ALL = ("association_reviewer", "secretariat_admin")
_RED, _INK, _GREY = HexColor("#a4161a"), HexColor("#222222"), HexColor("#888888")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')
_TYPE_ORDER = {t: i for i, t in enumerate(CERTIFICATE_TYPES)}


# --- public facts ---------------------------------------------------------------------------


def lookup_url(ctx: Context, number: str) -> str:
    """The public lookup address of one certificate (what its QR code encodes)."""
    base = ctx.config.public_base_url.rstrip("/")
    return f"{base}{LOOKUP_PATH}?{urlencode({'number': number})}"


def _in_type_order(cert: Certificate) -> tuple:
    return _TYPE_ORDER.get(cert.type, len(_TYPE_ORDER)), cert.number


def _status(cert: Certificate, today: date) -> str:
    return certificate_status(
        CertificateRecord(cert.type, cert.number, cert.status, cert.valid_until), today
    )


def public_facts(cert: Certificate, member: Member, today: date) -> dict:
    """What anyone may know about a certificate: no member id, mobile or birth date."""
    status = _status(cert, today)
    return {
        "name": member.name,
        "id_number_masked": mask_id_number(member.id_number),
        "type": cert.type,
        "number": cert.number,
        "specialty_1": cert.specialty_1,
        "specialty_2": cert.specialty_2,
        "first_issued_on": cert.first_issued_on,
        "valid_until": cert.valid_until,
        "unit_name": cert.unit_name,
        "status": status,
        "status_label": STATUS_LABELS[status],
    }


# --- the PDF --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """What one certificate's PDF shows."""

    facts: dict
    url: str
    photo: Image.Image | None


@cache
def _font() -> str:
    """Register the CID font once per process (reportlab keeps a global registry)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _day(value: date | None) -> str:
    return f"{value.year}年{value.month:02d}月{value.day:02d}日" if value else "—"


def _specialties(facts: dict) -> str:
    names = [s for s in (facts["specialty_1"], facts["specialty_2"]) if s]
    return "、".join(names) or "—"


def _fields(facts: dict) -> list[tuple[str, str]]:
    return [
        ("姓名", facts["name"]),
        ("身份证号", facts["id_number_masked"]),
        ("证书类型", facts["type"]),
        ("专业", _specialties(facts)),
        ("证书编号", facts["number"]),
        ("发证日期", _day(facts["first_issued_on"])),
        ("有效期至", _day(facts["valid_until"])),
        ("工作单位", facts["unit_name"]),
    ]


def _fit(text: str, size: float, width: float) -> float:
    """The largest font size ≤ size (≥ 8) at which text fits the width."""
    while size > 8 and pdfmetrics.stringWidth(text, _font(), size) > width:
        size -= 0.5
    return size


def _frame(canvas: Canvas, width: float, height: float) -> None:
    canvas.setStrokeColor(_RED)
    canvas.setLineWidth(4)
    canvas.rect(24, 24, width - 48, height - 48)
    canvas.setLineWidth(1)
    canvas.rect(34, 34, width - 68, height - 68)


def _heading(canvas: Canvas, width: float, height: float) -> None:
    canvas.setFillColor(_RED)
    canvas.setFont(_font(), 34)
    canvas.drawCentredString(width / 2, height - 100, "培训证书")
    canvas.setFillColor(_INK)
    canvas.setFont(_font(), 16)
    canvas.drawCentredString(width / 2, height - 130, ISSUER)


def _photo(canvas: Canvas, photo: Image.Image | None, x: float, y: float) -> None:
    """The holder's photo in a 1-inch frame, or an empty frame marked 照片."""
    w, h = 96, 128
    canvas.setStrokeColor(_GREY)
    canvas.rect(x, y, w, h)
    if photo is None:
        canvas.setFillColor(_GREY)
        canvas.setFont(_font(), 14)
        canvas.drawCentredString(x + w / 2, y + h / 2 - 5, "照片")
        return
    canvas.drawImage(ImageReader(photo), x, y, w, h, preserveAspectRatio=True, anchor="c")


def _details(canvas: Canvas, facts: dict, x: float, top: float) -> None:
    value_x, width = x + 90, 330
    for index, (label, value) in enumerate(_fields(facts)):
        y = top - index * 30
        canvas.setFillColor(_GREY)
        canvas.setFont(_font(), 13)
        canvas.drawString(x, y, f"{label}：")
        canvas.setFillColor(_INK)
        canvas.setFont(_font(), _fit(value, 15, width))
        canvas.drawString(value_x, y, value)


def _qr(canvas: Canvas, url: str, x: float, y: float) -> None:
    image = qrcode.make(url, box_size=6, border=2).get_image().convert("L")
    canvas.drawImage(ImageReader(image), x, y, 130, 130)
    canvas.setFillColor(_GREY)
    canvas.setFont(_font(), 10)
    canvas.drawCentredString(x + 65, y - 14, "扫码查询证书")


def _footer(canvas: Canvas, facts: dict) -> None:
    canvas.setFillColor(_INK)
    canvas.setFont(_font(), 12)
    canvas.drawString(80, 70, f"发证单位：{ISSUER}")
    canvas.drawString(80, 52, f"证书状态：{facts['status_label']}")


def _expired_mark(canvas: Canvas, width: float, height: float) -> None:
    """An expired certificate may still be downloaded, but says so across the page."""
    canvas.saveState()
    canvas.setFillColor(_RED)
    canvas.setFont(_font(), 48)
    canvas.translate(width - 220, height - 120)
    canvas.rotate(-18)
    canvas.drawCentredString(0, 0, "已过期")
    canvas.restoreState()


def render_pdf(doc: Document) -> bytes:
    """One certificate on an A4 landscape page; invariant mode keeps the bytes reproducible."""
    width, height = landscape(A4)
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(width, height), invariant=1, pageCompression=1)
    canvas.setTitle(f"培训证书 {doc.facts['number']}")
    canvas.setAuthor(ISSUER)
    canvas.setSubject(f"{doc.facts['type']} {doc.facts['name']}")
    canvas.setCreator("memberflow")
    _frame(canvas, width, height)
    _heading(canvas, width, height)
    _photo(canvas, doc.photo, 80, height - 310)
    _details(canvas, doc.facts, 210, height - 190)
    _qr(canvas, doc.url, width - 200, 80)
    _footer(canvas, doc.facts)
    if doc.facts["status"] == "expired":
        _expired_mark(canvas, width, height)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _load_photo(ctx: Context, uow: UnitOfWork, file_id: str | None) -> Image.Image | None:
    """The member's stored photo, shrunk for print; None when missing or not an image."""
    row = uow.session.get(StoredFile, file_id) if file_id else None
    if row is None or not row.content_type.startswith("image/"):
        return None
    path = blob_path(ctx.config.files_dir, row.sha256)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Warning):
        return None
    image.thumbnail((300, 400))
    return image


def _document(ctx: Context, uow: UnitOfWork, cert: Certificate, member: Member) -> Document:
    facts = public_facts(cert, member, ctx.today())
    return Document(
        facts, lookup_url(ctx, cert.number), _load_photo(ctx, uow, member.photo_file_id)
    )


def file_name(facts: dict) -> str:
    """<姓名>_<证书类型>_<证书编号>.pdf, without characters file systems refuse."""
    parts = (facts["name"], facts["type"], facts["number"])
    return "_".join(_UNSAFE.sub("", p) or "-" for p in parts) + ".pdf"


# --- one certificate ------------------------------------------------------------------------


def _may_download(actor: Actor, member: Member) -> bool:
    if actor.role in _SEE_ALL:
        return True
    if actor.role == "member":
        return actor.member_id == member.id
    return actor.role == "unit_admin" and actor.unit_id == member.unit_id


def certificate_pdf(
    ctx: Context, uow: UnitOfWork, actor: Actor, certificate_id: int
) -> tuple[str, bytes]:
    """A certificate's PDF and file name, for its holder, the holder's unit, the association."""
    found = uow.session.execute(
        select(Certificate, Member)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.id == certificate_id)
    ).first()
    if found is None or not _may_download(actor, found[1]):
        raise NotFound("证书不存在")
    cert, member = found
    if cert.status == "cancelled":
        raise Conflict("证书已注销，不能下载电子证")
    doc = _document(ctx, uow, cert, member)
    return file_name(doc.facts), render_pdf(doc)


# --- a unit's batch -------------------------------------------------------------------------


def _unit_members(uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int]) -> list:
    """The selected members in the order given; 422 naming any id not in the unit."""
    if actor.role != "unit_admin" or actor.unit_id != unit_id:
        raise NotFound("单位不存在")
    wanted = list(dict.fromkeys(member_ids))
    if not wanted or len(wanted) > MAX_BATCH:
        raise FormInvalid({"member_ids": f"请选择1至{MAX_BATCH}名人员"})
    rows = uow.session.scalars(
        select(Member).where(Member.id.in_(wanted), Member.unit_id == unit_id)
    ).all()
    by_id = {m.id: m for m in rows}
    strangers = [str(i) for i in wanted if i not in by_id]
    if strangers:
        raise FormInvalid(
            {"member_ids": "以下人员不是本单位人员：" + "、".join(strangers)},
            "所选人员中有不属于本单位的人员，未下载任何证书",
        )
    return [by_id[i] for i in wanted]


def _certificates_of(uow: UnitOfWork, members: list[Member]) -> dict[int, list[Certificate]]:
    held: dict[int, list[Certificate]] = {m.id: [] for m in members}
    stmt = select(Certificate).where(Certificate.member_id.in_(list(held)))
    for cert in uow.session.scalars(stmt):
        held[cert.member_id].append(cert)
    for certs in held.values():
        certs.sort(key=_in_type_order)
    return held


def _skip_reason(cert: Certificate, status: str) -> str:
    if status == "cancelled":
        return f"{cert.type}证书 {cert.number} 已注销"
    return f"{cert.type}证书 {cert.number} 已过期（有效期至 {cert.valid_until.isoformat()}）"


def _note(today: date, members: int, written: int, skipped: list[str]) -> str:
    lines = [
        f"电子证书批量下载说明（{today.isoformat()}）",
        f"共选择 {members} 人，下载有效证书 {written} 本。",
        "以下人员或证书未包含在压缩包中（只下载有效证书）：",
        *skipped,
    ]
    return "\r\n".join(lines) + "\r\n"


def _selection(members: list[Member], held: dict, today: date) -> tuple[list, list[str]]:
    """The (certificate, member) pairs to download, and why anything else is left out."""
    chosen, skipped = [], []
    for member in members:
        who = f"{member.name}（{mask_id_number(member.id_number)}）"
        if not held[member.id]:
            skipped.append(f"{who}：没有培训证书")
        for cert in held[member.id]:
            status = _status(cert, today)
            if status == "valid":
                chosen.append((cert, member))
            else:
                skipped.append(f"{who}：{_skip_reason(cert, status)}")
    return chosen, skipped


def unit_certificates_zip(
    ctx: Context, uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int]
) -> tuple[str, tempfile.SpooledTemporaryFile]:
    """One zip of the valid certificates of the selected members, for that unit's admins.

    Returns the zip's file name and a SpooledTemporaryFile positioned at 0. Expired and
    cancelled certificates and members without certificates are listed in 说明.txt.
    """
    members = _unit_members(uow, actor, unit_id, member_ids)
    today = ctx.today()
    chosen, skipped = _selection(members, _certificates_of(uow, members), today)
    if not chosen:
        raise FormInvalid({"member_ids": "所选人员都没有有效证书，无法下载"})
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for cert, member in chosen:
            doc = _document(ctx, uow, cert, member)
            archive.writestr(file_name(doc.facts), render_pdf(doc))
        if skipped:
            archive.writestr("说明.txt", _note(today, len(members), len(chosen), skipped))
    spool.seek(0)
    unit = uow.session.get(Unit, unit_id)
    return f"{_UNSAFE.sub('', unit.name)}_电子证书_{today:%Y%m%d}.zip", spool


# --- public lookup --------------------------------------------------------------------------


def _lookup_criteria(number: str | None, id_number: str | None, name: str | None) -> list:
    number = (number or "").strip().upper() or None
    id_number = (id_number or "").strip().upper() or None
    name = (name or "").strip() or None
    if not number:
        if not id_number and not name:
            raise FormInvalid({"number": "请填写证书编号，或同时填写身份证号和姓名"})
        if not name:
            raise FormInvalid({"name": "按身份证号查询时请同时填写姓名"})
        if not id_number:
            raise FormInvalid({"id_number": "按姓名查询时请同时填写身份证号"})
    criteria = []
    if number:
        criteria.append(Certificate.number == number)
    if id_number:
        criteria.append(Member.id_number == id_number)
    if name:
        criteria.append(Member.name == name)
    return criteria


def lookup(
    ctx: Context,
    uow: UnitOfWork,
    number: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
) -> dict:
    """(Public) certificates by number, or by ID number together with the name.

    Every criterion given must match; a mismatch answers like an absent certificate, so the
    lookup cannot be used to learn whose ID number goes with which name.
    """
    criteria = _lookup_criteria(number, id_number, name)
    rows = uow.session.execute(
        select(Certificate, Member)
        .join(Member, Member.id == Certificate.member_id)
        .where(*criteria)
    ).all()
    if not rows:
        raise NotFound("未查到证书，请核对证书编号，或身份证号与姓名")
    rows.sort(key=lambda row: _in_type_order(row[0]))
    today = ctx.today()
    items = [public_facts(cert, member, today) for cert, member in rows]
    return {"items": items, "total": len(items)}
