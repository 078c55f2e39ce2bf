"""The REST API v1: flask-smorest blueprints, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass

import swagger_ui_bundle
from apispec import APISpec
from flask import Blueprint, Flask
from flask_smorest import Api
from flask_smorest.spec import openapi_cli

from service.api import (
    accounts,
    auth,
    certificate_documents,
    confirmations,
    drafts,
    eligibility,
    feedback,
    files,
    incidents,
    instances,
    jobs,
    join_codes,
    learning,
    legacy_import,
    members,
    migrations,
    processes,
    records,
    reference,
    schedules,
    statistics,
    tasks,
    unit_password_requests,
    units,
)
from service.api.common import register_error_handlers
from service.api.contract import ContractPlugin
from service.api.guards import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    bound_path_integers,
    register_guards,
)
from service.api.jsonio import IsoJSONProvider
from service.api.schemas import ErrorSchema

DESCRIPTION = (
    "广东省建设监理协会会员服务平台的工作流 API。除标注为公开（security: []）的接口外，"
    "均须带 Authorization: Bearer 令牌，未登录先返回 401，再检查参数。"
    "错误响应一律为 JSON {code, status, message, errors}：message 是中文说明，"
    "errors 以字段路径（如 persons.0.id_number）指明各处错误。"
    "请求体须为接口列出的类型（通常是 application/json；文件上传为 multipart/form-data），"
    "其他类型返回 415。"
    f"JSON 请求体不超过{MAX_JSON_BYTES // 1024 // 1024}MB（超过返回 413）、嵌套不超过"
    f"{MAX_JSON_DEPTH}层，整数在 ±2147483647 以内，"
    "文本不能含空字符及其他控制字符（制表、换行、回车除外）；"
    "上传的图片和 PDF 不超过10MB，视频（MP4、MOV）不超过50MB。"
    "每个接口只接受文档列出的查询参数，其他参数返回 422。日期与时间均为 ISO 8601。"
)


MODULES = (
    auth,
    accounts,
    processes,
    eligibility,
    instances,
    incidents,
    drafts,
    feedback,
    tasks,
    learning,
    legacy_import,
    migrations,
    records,
    members,
    certificate_documents,
    confirmations,
    schedules,
    statistics,
    join_codes,
    files,
    reference,
    units,
    unit_password_requests,
    jobs,
)


@dataclass(frozen=True)
class Document:
    """The OpenAPI document and the contract the guards read from it."""

    spec: APISpec
    contract: ContractPlugin


# The document, built by the first app of the process and shared by every later one: it is
# a constant of the code (the blueprints above and the settings `register_api` writes),
# never of an app's configuration, and read only once built. Describing the 180-odd
# operations took about 170 ms, a third of an app's start-up. Two apps built at once may
# both build it; each is whole.
_document: Document | None = None


class ServiceApi(Api):
    """flask-smorest's Api with our error schema ({code, status, message, errors}); given a
    document built before, it describes nothing again."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Flask, document: Document | None, contract: ContractPlugin):
        self._document = document
        super().__init__(app, spec_kwargs={"extra_plugins": [contract]})

    def _init_spec(self, **kwargs) -> None:
        if self._document is None:
            super()._init_spec(**kwargs)
        else:  # what flask-smorest's leaves besides the document: its command group
            self.spec = self._document.spec
            self._app.cli.add_command(openapi_cli)

    def add(self, blp) -> None:
        """Register a blueprint; describe its views unless the document has them."""
        if self._document is None:
            self.register_blueprint(blp)
        else:
            self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
            self._app.register_blueprint(blp)


def register_api(app: Flask) -> None:
    """Attach the blueprints, the OpenAPI document, the error handlers and the request guards."""
    app.config.update(
        API_TITLE="memberflow 会员服务平台工作流 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI from the swagger-ui-bundle package, served here: the docs work offline
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    bound_path_integers(app)
    app.json = IsoJSONProvider(app)
    app.register_blueprint(
        Blueprint(
            "swagger_ui_assets",
            __name__,
            static_folder=swagger_ui_bundle.swagger_ui_path,
            static_url_path="/api/v1/docs/assets",
        )
    )
    global _document
    shared = _document
    contract = shared.contract if shared else ContractPlugin()
    api = ServiceApi(app, shared, contract)
    for module in MODULES:
        api.add(module.blp)
    if shared is None:
        _document = Document(api.spec, contract)
    register_error_handlers(app)
    register_guards(app, contract)
