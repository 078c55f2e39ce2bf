"""Electronic certificates (电子证): one PDF per certificate, a unit's batch zip, public lookup.

Who may download which certificate, what goes into a unit's zip, and the lookup; the
drawing itself is `certificate_pdf`. The PDF's QR code carries the address of the public
lookup, so anyone holding a printout can check it. The public lookup answers a
certificate's public facts only: the ID number is masked and no member id, mobile or
birth date leaves.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from datetime import date
from urllib.parse import urlencode

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from service.db.models import Certificate, Job, Member, StoredFile, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound
from service.domain.masking import mask_id_number
from service.domain.person_facts import CERTIFICATE_TYPES, CertificateRecord, certificate_status
from service.domain.validation import clean_code, clean_name, shorten
from service.services.documents.certificate_pdf import Document, font_for, render_pdf
from service.services.documents.photo import red_background, upright_rgb
from service.services.membership.records import STATUS_LABELS
from service.services.workflow.context import Context
from service.services.workflow.scope import administers_unit, is_member, sees_every_person
from service.storage import BlobMissing

# what a certificate's QR code opens: the public 证书查询 page, for a phone's camera (the
# API's /api/v1/public/certificates answers the same facts as JSON, for programs)
LOOKUP_PATH = "/lookup"
MAX_BATCH = 500
# the error page's heading for a certificate without an electronic one (not 409's 数据已变化)
NO_DOCUMENT = "不能下载电子证"
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')
# a unit's zip, made by a background job, is named in jobs.result_name (a varchar(200))
ZIP_NAME_LENGTH = Job.__table__.c.result_name.type.length
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
        "renewed_on": cert.renewed_on,  # the last 延续 (继续教育), if any
        "valid_until": cert.valid_until,
        "unit_name": cert.unit_name,
        "status": status,
        "status_label": STATUS_LABELS[status],
        # the certificate that replaced this one (reissued, or 监理员 upgraded), if any
        "superseded_by": cert.superseded_by,
    }


def _load_photo(ctx: Context, uow: UnitOfWork, file_id: str | None) -> Image.Image | None:
    """The member's stored photo, shrunk for print and on red (红底) when its background is
    plain; None when missing or not an image."""
    row = uow.session.get(StoredFile, file_id) if file_id else None
    if row is None or not row.content_type.startswith("image/"):
        return None
    try:
        content = ctx.storage.read(row.sha256)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image = upright_rgb(image)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Warning, BlobMissing):
        return None
    image.thumbnail((300, 400))
    return red_background(image) or image


def _document(ctx: Context, uow: UnitOfWork, cert: Certificate, member: Member) -> Document:
    facts = public_facts(cert, member, ctx.today())
    return Document(
        facts,
        lookup_url(ctx, cert.number),
        _load_photo(ctx, uow, member.photo_file_id),
        font_for(ctx.config.certificate_font),
        ctx.config.certificate_fallback_fonts,  # for the characters it lacks (𠮷 …)
    )


def file_name(facts: dict) -> str:
    """<姓名>_<证书类型>_<证书编号>.pdf, without characters file systems refuse."""
    parts = (facts["name"], facts["type"], facts["number"])
    return "_".join(_UNSAFE.sub("", p) or "-" for p in parts) + ".pdf"


# --- one certificate ------------------------------------------------------------------------


def _may_download(actor: Actor, member: Member) -> bool:
    if sees_every_person(actor):
        return True
    if is_member(actor):
        return actor.member_id == member.id
    return administers_unit(actor, member.unit_id)


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
        raise Conflict("证书已注销，不能下载电子证", title=NO_DOCUMENT)
    doc = _document(ctx, uow, cert, member)
    return file_name(doc.facts), render_pdf(doc)


# --- a unit's batch -------------------------------------------------------------------------


def _unit_members(uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int]) -> list:
    """The selected members in the order given; 422 naming any id not in the unit."""
    if not administers_unit(actor, unit_id):
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


def _certificates_of(
    uow: UnitOfWork, members: list[Member], certificate_type: str | None = None
) -> dict[int, list[Certificate]]:
    """Each member's current certificates (of that type alone, when one is named)."""
    held: dict[int, list[Certificate]] = {m.id: [] for m in members}
    stmt = select(Certificate).where(Certificate.member_id.in_(list(held)), Certificate.current())
    if certificate_type is not None:
        stmt = stmt.where(Certificate.type == certificate_type)
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


def _selection(
    members: list[Member], held: dict, today: date, certificate_type: str | None = None
) -> tuple[list, list[str]]:
    """The (certificate, member) pairs to download, and why anything else is left out."""
    chosen, skipped = [], []
    for member in members:
        who = f"{member.name}（{mask_id_number(member.id_number)}）"
        if not held[member.id]:
            skipped.append(f"{who}：没有{certificate_type or '培训'}证书")
        for cert in held[member.id]:
            status = _status(cert, today)
            if status == "valid":
                chosen.append((cert, member))
            else:
                skipped.append(f"{who}：{_skip_reason(cert, status)}")
    return chosen, skipped


def _none_valid(certificate_type: str | None) -> FormInvalid:
    return FormInvalid({"member_ids": f"所选人员都没有有效{certificate_type or ''}证书，无法下载"})


def _checked_type(certificate_type: str | None) -> str | None:
    if certificate_type is not None and certificate_type not in CERTIFICATE_TYPES:
        raise FormInvalid({"certificate_type": "证书类型应为 " + "、".join(CERTIFICATE_TYPES)})
    return certificate_type


def check_batch(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    member_ids: list[int],
    certificate_type: str | None = None,
) -> int:
    """How many certificates a unit's batch would hold; 404 or 422 as the zip would answer."""
    kind = _checked_type(certificate_type)
    members = _unit_members(uow, actor, unit_id, member_ids)
    chosen, _ = _selection(members, _certificates_of(uow, members, kind), ctx.today(), kind)
    if not chosen:
        raise _none_valid(kind)
    return len(chosen)


def unit_certificates_zip(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    member_ids: list[int],
    progress=None,
    certificate_type: str | None = None,
) -> tuple[str, tempfile.SpooledTemporaryFile]:
    """One zip of the valid certificates of the selected members, for that unit's admins
    (of one type alone when `certificate_type` names it: the list was filtered by it).

    Returns the zip's file name and a SpooledTemporaryFile positioned at 0. Expired and
    cancelled certificates and members without certificates are listed in 说明.txt.
    `progress` (a background job's) hears how many certificates of how many are drawn.
    """
    kind = _checked_type(certificate_type)
    members = _unit_members(uow, actor, unit_id, member_ids)
    today = ctx.today()
    chosen, skipped = _selection(members, _certificates_of(uow, members, kind), today, kind)
    if not chosen:
        raise _none_valid(kind)
    drawn = chosen if progress is None else progress.track(chosen, len(chosen))
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for cert, member in drawn:
            doc = _document(ctx, uow, cert, member)
            archive.writestr(file_name(doc.facts), render_pdf(doc))
        if skipped:
            archive.writestr("说明.txt", _note(today, len(members), len(chosen), skipped))
    spool.seek(0)
    unit = uow.session.get(Unit, unit_id)
    # a unit's name near its 200 characters is cut, never what tells two zips apart
    tail = f"_{kind or ''}电子证书_{today:%Y%m%d}.zip"
    return shorten(_UNSAFE.sub("", unit.name), ZIP_NAME_LENGTH - len(tail)) + tail, spool


# --- public lookup --------------------------------------------------------------------------


NOT_FOUND = "未查到证书，请核对证书编号或身份证号"


def _lookup_criteria(number: str | None, id_number: str | None, name: str | None) -> list:
    """By certificate number alone, or by ID number alone (manual §3.10); a name, when
    given as well, must match too."""
    # a number is read with its spaces left out (typed in groups, or pasted from a message)
    number = clean_code(number) or None
    id_number = clean_code(id_number) or None  # full-width digits, Ｘ and spaces too
    name = clean_name(name) or None
    if not number and not id_number:
        raise FormInvalid({"number": "请填写证书编号或身份证号"})
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
    """(Public) certificates by number or by ID number, each with whether its electronic
    certificate may be downloaded (a valid one only).

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
        raise NotFound(NOT_FOUND)
    rows.sort(key=lambda row: _in_type_order(row[0]))
    today = ctx.today()
    items = []
    for cert, member in rows:
        facts = public_facts(cert, member, today)
        facts["downloadable"] = facts["status"] == "valid"
        items.append(facts)
    return {"items": items, "total": len(items)}


def public_certificate_pdf(ctx: Context, uow: UnitOfWork, number: str) -> tuple[str, bytes]:
    """(Public) the electronic certificate of a valid certificate, by its number: what the
    lookup's 下载电子证 gives. Expired, suspended or cancelled certificates have none."""
    number = clean_code(number)
    if not number or len(number) > 30:
        raise FormInvalid({"number": "请填写证书编号（不超过30个字符）"})
    found = uow.session.execute(
        select(Certificate, Member)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.number == number)
    ).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    cert, member = found
    status = _status(cert, ctx.today())
    if status != "valid":
        raise Conflict(f"证书{STATUS_LABELS[status]}，不能下载电子证", title=NO_DOCUMENT)
    doc = _document(ctx, uow, cert, member)
    return file_name(doc.facts), render_pdf(doc)
