"""The OpenAPI document as a contract generated clients rely on, and what the guards read.

An apispec plugin completes each operation as flask-smorest describes it:

- an `operationId` from the view's endpoint (`instances.start` → `instances_start`);
- every 4xx the operation can answer, each with the error schema `{code, status, message,
  errors}`: 400 (a body that is not JSON), 401 and 403 (unless public), 404, 413 and 415
  (with a body), 422, and those the view declares (409, 410, 429);
- operations documented with `security: []` are public; every other one needs a bearer token.

The plugin also remembers, per endpoint, whether it is public, which query parameters it
documents and which media types its request body may have: the request guards (`guards.py`)
enforce exactly what the document says.
"""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin

ERROR_SCHEMA = "Error"


class ContractPlugin(BasePlugin):
    """Complete operations for clients; remember what the guards enforce."""

    def __init__(self) -> None:
        self.spec = None
        self._public: set[str] = set()
        self._documented: set[str] = set()
        self._query: dict[tuple[str, str], set[str]] = {}
        self._body: dict[tuple[str, str], set[str]] = {}

    def init_spec(self, spec) -> None:
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        endpoint = rule.endpoint
        self._documented.add(endpoint)
        for method, operation in operations.items():
            public = operation.get("security") == []
            if public:
                self._public.add(endpoint)
            suffix = f"_{method}" if len(operations) > 1 else ""
            operation.setdefault("operationId", endpoint.replace(".", "_") + suffix)
            params = operation.get("parameters") or []
            self._query[(endpoint, method.upper())] = {
                p["name"] for p in params if isinstance(p, dict) and p.get("in") == "query"
            }
            body = operation.get("requestBody")
            if isinstance(body, dict):
                self._body[(endpoint, method.upper())] = set(body.get("content") or ())
            self._document_errors(operation, public)

    def _document_errors(self, operation: dict, public: bool) -> None:
        responses = operation.setdefault("responses", {})
        codes = [404, 422]
        if not public:
            codes += [401, 403]
        if "requestBody" in operation:
            codes += [400, 413, 415]
        for code in codes:
            responses.setdefault(
                str(code), self.spec.components.get_ref("response", HTTPStatus(code).name)
            )
        error = {
            "application/json": {"schema": self.spec.components.get_ref("schema", ERROR_SCHEMA)}
        }
        for code, response in responses.items():
            if (
                str(code).startswith("4")
                and isinstance(response, dict)
                and not ("$ref" in response or "content" in response)
            ):
                response["content"] = error

    def documents(self, endpoint: str) -> bool:
        """Whether the OpenAPI document describes this endpoint."""
        return endpoint in self._documented

    def is_public(self, endpoint: str) -> bool:
        """Documented with `security: []`: callers need not sign in."""
        return endpoint in self._public

    def query_names(self, endpoint: str, method: str) -> set[str] | None:
        """The query parameters an operation documents (None: not an API operation)."""
        return self._query.get((endpoint, method))

    def body_types(self, endpoint: str, method: str) -> set[str] | None:
        """The media types an operation's request body may have (None: it documents no body)."""
        return self._body.get((endpoint, method))
