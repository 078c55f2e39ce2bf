"""Uploaded materials on the pages: inline images, thumbnails and PDF pages as images.

Every request checks scope through the same use case as the API (`files.open_file`): a
file the person may not see is a 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from service.domain.errors import NotFound
from service.httputil import send_stored
from service.services.documents import previews
from service.services.workflow import files
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("materials", __name__, url_prefix="/files")
CACHE = "private, max-age=3600"


def _open(who, file_id: str):
    with uow() as u:
        return files.open_file(ctx(), u, who, file_id)


@bp.route("/<file_id>")
@signed_in()
def raw(who, file_id):
    """The file itself: images inline, anything else as a download."""
    meta, blob = _open(who, file_id)
    reply = send_stored(meta, blob.open())
    reply.headers["Cache-Control"] = CACHE
    return reply


@bp.route("/<file_id>/thumb.png")
@signed_in()
def thumb(who, file_id):
    """A small PNG of an image or of a PDF's first page."""
    meta, blob = _open(who, file_id)
    png = previews.thumbnail(blob, meta["content_type"])
    return Response(png, mimetype="image/png", headers={"Cache-Control": CACHE})


@bp.route("/<file_id>/pages/<int:number>.png")
@signed_in()
def pdf_page(who, file_id, number):
    """One page of a PDF drawn as an image (the viewer needs no browser plug-in)."""
    meta, blob = _open(who, file_id)
    if meta["content_type"] != "application/pdf":
        raise NotFound("文件不存在")
    png = previews.pdf_page(blob, number)
    return Response(png, mimetype="image/png", headers={"Cache-Control": CACHE})


@bp.route("/<file_id>/view")
@signed_in()
def view(who, file_id):
    """材料查看: the image at full size, or a PDF's pages one under another."""
    meta, blob = _open(who, file_id)
    pages = previews.pdf_page_count(blob) if meta["content_type"] == "application/pdf" else 0
    return render_template(
        "materials/view.html", meta=meta, pages=min(pages, previews.MAX_PAGES), total=pages
    )
