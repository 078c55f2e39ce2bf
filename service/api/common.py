"""What every view shares: the context, the unit of work, the caller, error replies."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from flask import current_app, g, jsonify, request
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from service.db import db
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import ServiceError, Unauthorized
from service.engine import EngineError
from service.httputil import PAGE_ERRORS
from service.services import accounts
from service.services.context import Context

log = logging.getLogger("memberflow.api")


def ctx() -> Context:
    """The use cases' shared context."""
    return current_app.extensions["memberflow"]


def uow() -> UnitOfWork:
    """A unit of work on this request's session."""
    return UnitOfWork(db.session)


def actor() -> Actor:
    """The signed-in caller; 401 without a valid bearer token."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized("请先登录（缺少 Authorization: Bearer 令牌）")
        c = ctx()
        # read in the request's own transaction: the use case continues it
        g.actor = accounts.actor_from_token(
            uow(), c.config.secret_key, c.config.token_ttl_seconds, header[7:].strip()
        )
    return g.actor


def error_reply(status: int, message: str, errors: dict | None = None):
    """The error as JSON for the API; outside /api/ as the pages' error page, when there is one."""
    render_page = current_app.extensions.get(PAGE_ERRORS)
    if render_page is not None and not request.path.startswith("/api/"):
        return render_page(status, message, errors)
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), "必填项，请填写"),
    (re.compile(r"^Unknown field\.$"), "不允许的字段"),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
    (re.compile(r"^Not a valid string\.$"), "应为文本"),
    (re.compile(r"^Not a valid boolean\.$"), "应为 true 或 false"),
    (re.compile(r"^Not a valid date\.$"), "应为有效日期（YYYY-MM-DD）"),
    (re.compile(r"^Not a valid mapping type\.$"), "应为 JSON 对象"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"须为以下之一：\1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度不能少于\1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过\1"),
    (re.compile(r"^Must be greater than or equal to (\d+)"), r"不能小于\1"),
    (re.compile(r"^Must be less than or equal to (\d+)"), r"不能大于\1"),
    (re.compile(r"^Invalid input type\.$"), "请求体应为 JSON 对象"),
    (re.compile(r"^Invalid JSON body\.$"), "请求体不是有效的 JSON"),
]


def _zh(message: str) -> str:
    for pattern, replacement in _MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(messages, list):
        texts = [m for m in messages if isinstance(m, str)]
        if texts:
            flat[prefix or "_request"] = "；".join(_zh(t) for t in texts)
        for m in messages:
            if not isinstance(m, str):
                flat.update(_flatten(m, prefix))
    else:
        flat[prefix or "_request"] = _zh(str(messages))
    return flat


_HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "无权进行此操作",
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    409: "数据已被其他人修改，请刷新后重试",
    413: "上传内容过大，文件不能超过10MB",
    415: "请求内容类型不受支持",
    422: "请求参数有误",
    429: "操作过于频繁，请稍后再试",
}


def register_error_handlers(app) -> None:
    """Every error leaves as JSON {code, status, message, errors?} with a Chinese message."""

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        db.session.rollback()
        return error_reply(exc.status, exc.message, exc.errors)

    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):
        # a script, condition or rule of a diagram failed: a designer's bug, named precisely
        db.session.rollback()
        log.error("engine error: %s", exc)
        return error_reply(500, f"{exc}（请联系流程设计人员）")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        errors = None
        data = getattr(exc, "data", None) or {}
        if "messages" in data:
            flat = {}
            for messages in data["messages"].values():  # by location: json, query, files
                flat.update(_flatten(messages))
            errors = flat
        message = _HTTP_MESSAGES.get(status, exc.description or HTTPStatus(status).phrase)
        if errors and status == 422:
            message = "请求参数有误：" + "；".join(f"{k} {v}" for k, v in errors.items())
        return error_reply(status, message, errors)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        return error_reply(500, "服务器内部错误，请稍后重试或联系管理员")


class PageSchema(Schema):
    """One page of a list: its items (given by `page_schema`), the total and the paging."""

    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


def page_schema(item: type[Schema], name: str, **extra) -> type[Schema]:
    """The schema of a page of `item`s, named `name` in the OpenAPI document."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item)), **extra})


class PageArgs(Schema):
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1), metadata={"description": "页码，从1开始"}
    )
    page_size = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "每页条数，1–200"},
    )
