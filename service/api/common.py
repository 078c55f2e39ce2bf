"""What every view shares: the context, the unit of work, the caller, error replies."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from http import HTTPStatus

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, make_response, request
from flask import session as page_session
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException

from service.api.planned import Schema
from service.db import db
from service.db.uow import UnitOfWork, request_uow
from service.domain.actor import Actor
from service.domain.dates import DATE_EXAMPLE
from service.domain.errors import Forbidden, ServiceError, Unauthorized
from service.engine import EngineError
from service.httputil import PAGE_ERRORS
from service.services.membership import signin
from service.services.workflow.context import Context

log = logging.getLogger("memberflow.api")


def ctx() -> Context:
    """The use cases' shared context."""
    return current_app.extensions["memberflow"]


def uow() -> UnitOfWork:
    """A unit of work on this request's session."""
    return request_uow()


def actor() -> Actor:
    """The signed-in caller; 401 without a valid bearer token, 403 for everything but the
    password change while the account still has a one-time password."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() != "bearer ":  # the scheme's name is case-insensitive (RFC 7235)
            raise Unauthorized("请先登录（缺少 Authorization: Bearer 令牌）")
        c = ctx()
        # read in the request's own transaction: the use case continues it
        bearer = signin.bearer(
            uow(), c.config.secret_key, c.config.token_ttl_seconds, header[7:].strip()
        )
        allowed = ("auth.me", "auth.change_password", "auth.logout", "auth.logout_all")
        if bearer.must_change_password and request.endpoint not in allowed:
            raise Forbidden("请先修改初始密码（POST /api/v1/auth/password），再进行其他操作")
        g.bearer, g.actor = bearer, bearer.actor
    return g.actor


def error_reply(status: int, message: str, errors: dict | None = None, title: str | None = None):
    """The error as JSON for the API; outside /api/ as the pages' error page, when there is one
    (headed `title` when the error has its own)."""
    render_page = current_app.extensions.get(PAGE_ERRORS)
    if render_page is not None and not request.path.startswith("/api/"):
        return render_page(status, message, errors, title=title)
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


UNKNOWN_FIELD = "不允许的字段"
_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), "必填项，请填写"),
    (re.compile(r"^Unknown field\.$"), UNKNOWN_FIELD),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
    (re.compile(r"^Not a valid string\.$"), "应为文本"),
    (re.compile(r"^Not a valid boolean\.$"), "应为 true 或 false"),
    (re.compile(r"^Not a valid date\.$"), f"应为有效日期，如 {DATE_EXAMPLE}"),
    (re.compile(r"^Not a valid mapping type\.$"), "应为 JSON 对象"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"须为以下之一：\1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度不能少于\1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过\1"),
    (
        re.compile(
            r"^Must be greater than or equal to (-?\d+) and less than or equal to (-?\d+)\.$"
        ),
        r"应在\1到\2之间",
    ),
    (re.compile(r"^Must be greater than or equal to (-?\d+)\.$"), r"不能小于\1"),
    (re.compile(r"^Must be less than or equal to (-?\d+)\.$"), r"不能大于\1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度应在\1到\2之间"),
    (re.compile(r"^Length must be (\d+)\.$"), r"长度应为\1"),
    (re.compile(r"^Not a valid number\.$"), "应为数字"),
    (re.compile(r"^Number too large\.$"), "数值过大"),
    (re.compile(r"^Not a valid datetime\.$"), "应为有效时间（ISO 8601）"),
    (re.compile(r"^Not a valid list\.$"), "应为列表"),
    (re.compile(r"^Invalid type\.$"), "类型不正确"),
    (re.compile(r"^Invalid value\.$"), "值无效"),
    (re.compile(r"^Invalid input type\.$"), "请求体应为 JSON 对象"),
    (re.compile(r"^Invalid JSON body\.$"), "请求体不是有效的 JSON"),
]
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
# the Chinese name a 422's message gives a request field (its errors stay keyed by the
# field's name, for programs); a schema field's own `metadata={"label": …}` wins, for a name
# that means something else there (a person's `title` is 最高职称)
LABELS = {
    "account_id": "账号",
    "active": "启用",
    "address": "地址",
    "after": "翻页游标 after",
    "age_max": "年龄（止）",
    "age_min": "年龄（起）",
    "agency_id": "会员服务机构",
    "body": "回复内容",
    "business_key": "单号",
    "category": "问题类型",
    "certificate_type": "证书类型",
    "city": "城市",
    "completed_hours": "已完成学时",
    "contact_mobile": "联系手机",
    "contact_name": "联系人",
    "content": "内容",
    "credit_code": "统一社会信用代码",
    "current_password": "当前密码",
    "data": "表单数据",
    "dry_run": "只检查",
    "education": "学历",
    "email": "邮箱",
    "exam_attempts": "考试次数",
    "exam_status": "考试状态",
    "file": "文件",
    "file_ids": "附件",
    "from_version": "原版本号",
    "has_certificates": "含有证书",
    "id_back_file_id": "身份证国徽面照片",
    "id_front_file_id": "身份证人像面照片",
    "id_number": "身份证号",
    "include_inactive": "含已停用",
    "joined_from": "入会日期（起）",
    "joined_to": "入会日期（止）",
    "key": "业务类型",
    "level": "会员类型",
    "member_ids": "人员",
    "member_unit": "会员单位",
    "membership_expired": "会籍已过期",
    "mobile": "手机号码",
    "must_change_password": "首次登录须修改密码",
    "name": "姓名",
    "new_password": "新密码",
    "number": "证书编号",
    "opened_from": "开始学习日期（起）",
    "opened_to": "开始学习日期（止）",
    "page": "页码",
    "page_size": "每页条数",
    "password": "密码",
    "persons": "报名人员",
    "phone": "电话",
    "process": "业务类型",
    "q": "查询内容",
    "qq_group": "QQ工作群号",
    "qualifications": "资质",
    "read": "已读",
    "reason": "原因",
    "receipt_from": "开票日期（起）",
    "receipt_to": "开票日期（止）",
    "records": "学习记录",
    "registration": "工商信息",
    "renew": "重新生成",
    "role": "角色",
    "scope": "范围",
    "sort": "排序",
    "status": "状态",
    "submitted_from": "提交日期（起）",
    "submitted_to": "提交日期（止）",
    "task_map": "任务映射",
    "task_name": "办理环节",
    "title": "标题",
    "to_version": "目标版本号",
    "unit_id": "单位",
    "unit_name": "单位名称",
    "username": "账号",
    "variant": "版本",
    "version": "版本号",
    "website": "网址",
    "year": "年份",
}


def _zh(message: str) -> str:
    """A validator's message in Chinese (a message we have no words for: just 填写有误)."""
    for pattern, replacement in _MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message if _CHINESE.search(message) else "填写有误"


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":  # marshmallow's name for the body as a whole (`[]`, say)
                flat.update(_flatten(value, prefix))
                continue
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


def _field(schema, key: str):
    """The field of `schema` a request names `key` (its data_key, else its name)."""
    if schema is None:
        return None
    for name, field in schema.fields.items():
        if (field.data_key or name) == key:
            return field
    return None


def _inner(field):
    """The schema a nested field's (or a list of nested's) own fields are in."""
    field = getattr(field, "inner", field)
    return getattr(field, "schema", None) if isinstance(field, fields.Nested) else None


def field_label(path: str, schema=None) -> str | None:
    """A request field's Chinese name (`records.0.name` → 学习记录第1条的姓名), None when
    a part of it has none."""
    said = ""
    for part in path.split("."):
        if part.isdigit():
            said += f"第{int(part) + 1}条"
            continue
        field = _field(schema, part)
        label = (field.metadata.get("label") if field is not None else None) or LABELS.get(part)
        if label is None:
            return None
        said += f"的{label}" if said else label
        schema = _inner(field)
    return said or None


def invalid_message(errors: dict[str, str], schema=None) -> str:
    """A 422's sentence from its field errors: each field by its Chinese name (「账号」必填项，
    请填写), an unknown one as sent (不允许的字段：bogus), a fault of the request as a whole
    alone (请求体应为 JSON 对象)."""
    if set(errors) == {"_request"}:
        return errors["_request"]
    said = []
    for path, text in errors.items():
        if path == "_request":
            said.append(text)
        elif text == UNKNOWN_FIELD:
            said.append(f"{UNKNOWN_FIELD}：{path}")
        else:
            said.append(f"「{field_label(path, schema) or path}」{text}")
    return "请求参数有误：" + "；".join(said)


_HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "无权进行此操作",
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    409: "数据已被其他人修改，请刷新后重试",
    412: "数据已被修改，与 If-Match 所给版本不符，请重新读取后再提交",
    415: "请求内容类型不受支持",
    422: "请求参数有误",
    429: "操作过于频繁，请稍后再试",
}


DB_UNAVAILABLE = "数据库暂时无法连接，请稍后重试"
ERROR_ID_HEADER = "X-Error-Id"


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (the connection was refused or
    lost, or none came free in time), rather than that a statement failed: a connection
    that could not be made has no statement; one lost midway is invalidated."""
    if isinstance(exc, sa.exc.TimeoutError):  # the pool: no connection came free in time
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        made = exc.statement is not None
        return exc.connection_invalidated or (isinstance(exc, sa.exc.OperationalError) and not made)
    return False


def database_ping() -> None:
    """A trivial query in this request's transaction: raises what the database raises."""
    uow().session.execute(sa.select(1))


def error_number() -> str:
    """The reference of one unhandled error, shown to the person who met it and logged with
    it: the day and six random hex digits (E20261207-3F9A2C)."""
    return f"E{datetime.now():%Y%m%d}-{secrets.token_hex(3).upper()}"


def _account_id() -> int | None:
    """The account of the request as far as it is known without the database: the API's
    caller once its token was read, the pages' person (signed session cookie)."""
    for key in ("actor", "page_actor"):
        who = g.get(key)
        if who is not None and who.id is not None:
            return who.id
    if not request.path.startswith("/api/"):
        account_id = page_session.get("account_id")
        if isinstance(account_id, int):
            return account_id
    return None


def _where() -> str:
    """What the log says of the request: method, path (never the query string, which may
    hold an ID number) and account id."""
    account = _account_id()
    return f"{request.method} {request.path} account={'-' if account is None else account}"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def _hide_parameters(exc: BaseException) -> None:
    """A statement's values stay out of the log (a password hash, an ID number…): every
    SQLAlchemy error in the chain prints its SQL without them."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa.exc.StatementError):
            exc.hide_parameters = True
        exc = exc.__cause__ or exc.__context__


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone: nothing left to undo
        log.warning("rollback failed after an error: %s", _where())


def _reply_safely(status: int, message: str) -> Response:
    """The error's reply; should the error page fail too (it may read the database), the
    message alone as text rather than a second traceback."""
    try:
        return make_response(error_reply(status, message))
    except Exception as exc:  # noqa: BLE001 - answer anyway
        log.error("the error page failed: %s: %s", _where(), _first_line(exc))
        return Response(message, status, mimetype="text/plain; charset=utf-8")


def database_unavailable(exc: BaseException) -> Response:
    """503 with 数据库暂时无法连接 (JSON for the API, the error page for pages), logged in
    one line: an outage is not a bug, and its traceback would be the same every request."""
    _rollback()
    log.error("database unreachable: %s: %s", _where(), _first_line(exc))
    return _reply_safely(503, DB_UNAVAILABLE)


def register_error_handlers(app) -> None:
    """Every error leaves as JSON {code, status, message, errors?} with a Chinese message."""

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        db.session.rollback()
        reply = make_response(error_reply(exc.status, exc.message, exc.errors, exc.title))
        if getattr(exc, "retry_after", None):  # TooManyRequests: when to try again
            reply.headers["Retry-After"] = str(exc.retry_after)
        return reply

    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):
        # a script, condition or rule of a diagram failed: a designer's bug, named precisely
        db.session.rollback()
        log.error("engine error: %s", exc)
        # the cause is the designer's to read (logged); the caller reads what happened
        return error_reply(409, "流程执行出错，本次操作未保存：请联系流程设计人员修复后重试")

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
        if status == 413:  # the limits as configured
            message = f"请求内容过大：上传的{ctx().config.upload_limits}；JSON 请求体不能超过1MB"
        if errors and status == 422:
            message = invalid_message(errors, data.get("schema"))
        reply = make_response(error_reply(status, message, errors))
        for name, value in exc.get_headers():  # e.g. 405's Allow
            if name.lower() != "content-type":
                reply.headers[name] = value
        return reply

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unreachable(exc):
            return database_unavailable(exc)
        _rollback()
        _hide_parameters(exc)
        # one record: the number the person is shown, the request, the account, the traceback
        number = error_number()
        log.error(
            "unhandled error %s: %s",
            number,
            _where(),
            exc_info=exc,
            extra={"error_id": number, "account_id": _account_id()},
        )
        reply = _reply_safely(500, f"服务器内部错误，请稍后重试或联系管理员（出错编号 {number}）")
        reply.headers[ERROR_ID_HEADER] = number
        return reply


class PageSchema(Schema):
    """One page of a list: its items (given by `page_schema`), the total and the paging."""

    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


def page_schema(item: type[Schema], name: str, **extra) -> type[Schema]:
    """The schema of a page of `item`s, named `name` in the OpenAPI document."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item)), **extra})


INT32_MAX = 2**31 - 1


class Int32(fields.Integer):
    """An integer parameter the database's integer columns can hold (else 422, not 500)."""

    def __init__(self, *, min: int = -INT32_MAX - 1, max: int = INT32_MAX, **kwargs):
        extra = kwargs.pop("validate", None) or []
        extra = extra if isinstance(extra, list) else [extra]
        super().__init__(validate=[validate.Range(min=min, max=max), *extra], **kwargs)


class PageArgs(Schema):
    page = Int32(load_default=1, min=1, metadata={"description": "页码，从1开始"})
    page_size = Int32(
        load_default=20,
        min=1,
        max=200,
        metadata={"description": "每页条数，1–200"},
    )
