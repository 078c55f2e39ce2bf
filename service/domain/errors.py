"""Errors the use cases raise; the API maps each to one HTTP status in one place.

Messages are Chinese sentences for people; `errors` maps field names to messages.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a message for people, optional field errors, and optionally the heading
    an error page gives it (`title`, e.g. 不能下载电子证) where the status's own heading (409's
    数据已变化, said of a lost race) would not fit; the API's JSON has no heading."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None, *, title: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.title = title


class NotFound(ServiceError):
    """Absent, or out of the caller's scope (scope never leaks as 403)."""

    status = 404


class Unauthorized(ServiceError):
    """Not signed in, or bad credentials."""

    status = 401


class Forbidden(ServiceError):
    """Signed in and in scope, but the role may not do this."""

    status = 403


class Conflict(ServiceError):
    """The record changed under the caller (lost race, already done)."""

    status = 409


class PreconditionFailed(ServiceError):
    """The caller's `If-Match` names a version the record has moved past (nothing saved)."""

    status = 412


class Gone(ServiceError):
    """A code that was valid once has expired or been used."""

    status = 410


class TooLarge(ServiceError):
    """An upload over the size limit."""

    status = 413


class UnsupportedMediaType(ServiceError):
    """A request body of a kind the operation does not take (e.g. text where JSON is due)."""

    status = 415


class FormInvalid(ServiceError):
    """Form data failed its schema; `errors` maps each field to what is wrong."""

    status = 422

    def __init__(self, errors: dict[str, str], message: str | None = None):
        first = next(iter(errors.values()), "")
        super().__init__(message or f"表单填写有误：{first}", errors)


class RuleFailed(ServiceError):
    """A business rule refused the request; `reasons` are Chinese sentences."""

    status = 422

    def __init__(self, reasons: list[str], persons: list[dict] | None = None):
        self.reasons = list(reasons)
        self.persons = persons
        errors: dict = {"eligibility": self.reasons}
        for p in persons or []:
            # per person on the form, by the line's path as field errors are: "persons.0"
            errors[f"persons.{p['index']}"] = "；".join(p["reasons"])
        super().__init__("不符合办理条件：" + "；".join(self.reasons), errors)


class TooManyRequests(ServiceError):
    """Too many attempts: refused until `retry_after` seconds have passed."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(int(retry_after), 1)


class StepFailed(ServiceError):
    """The diagram could not take the step (a script, condition or rule failed): nothing
    changed, an incident was recorded; `incident` is its number for the person to quote."""

    status = 409

    def __init__(self, message: str, incident: str):
        super().__init__(message, {"incident": incident})
        self.incident = incident
