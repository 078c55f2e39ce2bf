"""Uploaded files: upload (jpg/png/pdf ≤ 10 MB, mp4/mov ≤ 50 MB, checked from the bytes) and
download, scoped."""

from flask import request

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.domain.errors import FormInvalid
from service.httputil import send_stored
from service.services.workflow import files

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
@blp.alt_response(413, description="图片、PDF 超过10MB，或视频超过50MB（按配置）")
@blp.alt_response(
    422, description="不是 jpg/png/pdf/mp4/mov，图片无法解码，PDF 含脚本、启动动作，或视频不完整"
)
def upload(_files):
    """上传材料，返回文件编号供表单引用"""
    who = actor()
    name, content = read_upload()
    with uow() as u:
        return files.store_upload(ctx(), u, who, name, content)


@blp.route("/<file_id>")
@blp.response(200, content_type="application/octet-stream")
def download(file_id):
    """下载材料（仅限有权查看的人；图片、视频直接显示，其他文件作为附件下载）"""
    who = actor()
    with uow() as u:
        meta, blob = files.open_file(ctx(), u, who, file_id)
    return send_stored(meta, blob.open())
