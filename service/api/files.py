"""Uploaded files: upload (jpg/png/pdf ≤ 10 MB, sniffed) and download, scoped."""

from flask import request, send_file
from flask_smorest import Blueprint

from service.api import schemas
from service.api.common import actor, ctx, uow
from service.domain.errors import FormInvalid
from service.services import files

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="材料文件")


def read_upload() -> tuple[str, bytes]:
    """The multipart field `file`: its name and bytes."""
    upload = request.files.get("file")
    if upload is None:
        raise FormInvalid({"file": "请以 multipart/form-data 上传，字段名为 file"})
    return upload.filename or "upload", upload.read()


@blp.route("", methods=["POST"])
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(201, schemas.FileSchema)
@blp.alt_response(413, description="超过10MB")
@blp.alt_response(422, description="不是 jpg/png/pdf")
def upload(_files):
    """上传材料，返回文件编号供表单引用"""
    who = actor()
    name, content = read_upload()
    c = ctx()
    with uow() as u:
        return files.store_upload(
            u, c.config.files_dir, c.config.max_upload_bytes, who, name, content
        )


@blp.route("/<file_id>")
@blp.response(200, content_type="application/octet-stream")
def download(file_id):
    """下载材料（仅限有权查看的人）"""
    who = actor()
    with uow() as u:
        meta, path = files.open_file(u, ctx().config.files_dir, who, file_id)
    return send_file(path, mimetype=meta["content_type"], download_name=meta["name"])
