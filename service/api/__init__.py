"""The REST API v1: flask-smorest blueprints, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint, Flask
from flask_smorest import Api

from service.api import (
    auth,
    certificate_documents,
    confirmations,
    eligibility,
    files,
    instances,
    join_codes,
    learning,
    members,
    processes,
    records,
    reference,
    schedules,
    tasks,
)
from service.api.common import register_error_handlers


def register_api(app: Flask) -> None:
    """Attach the blueprints, the OpenAPI document and the error handlers."""
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
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.register_blueprint(
        Blueprint(
            "swagger_ui_assets",
            __name__,
            static_folder=swagger_ui_bundle.swagger_ui_path,
            static_url_path="/api/v1/docs/assets",
        )
    )
    api = Api(app)
    for module in (
        auth,
        processes,
        eligibility,
        instances,
        tasks,
        learning,
        records,
        members,
        certificate_documents,
        confirmations,
        schedules,
        join_codes,
        files,
        reference,
    ):
        api.register_blueprint(module.blp)
    register_error_handlers(app)
