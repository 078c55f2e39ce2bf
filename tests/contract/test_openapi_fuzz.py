"""schemathesis over /api/v1/openapi.json, as a unit and as a reviewer: no 5xx, no reply that
breaks the documented schema (status code, content type, body, headers).

Every operation of the document is fuzzed, nothing excluded, in both generation modes
(valid and invalid requests). The run is bounded and repeatable: a fixed number of examples
per operation, mode and role, derandomized (Hypothesis's fixed seed: the same cases every
run), no example database, no deadline, no shrinking (a failure is reported as found).
"""

from __future__ import annotations

import logging
import os

import pytest
import schemathesis
from conftest import applicant_data, make_app, seed_world, start_form, token_headers
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# examples per operation, generation mode and role: about a minute in all on an idle machine
EXAMPLES = int(os.environ.get("MEMBERFLOW_FUZZ_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class _Errors(logging.Handler):
    """The exceptions the app logged as unhandled (the cause of each 500)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record):
        if record.exc_info:
            exc = record.exc_info[1]
            self.seen.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")


@pytest.fixture
def fuzzed(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path, lookup_rate="100000 per minute")
    world = seed_world(app)
    client = app.test_client()
    roles = {who: token_headers(client, world.logins[who]) for who in ("unit", "association")}
    # something behind the small ids the generator tries first: a join waiting for pre-review
    start_form(client, roles["unit"], "member_join", applicant_data(client, roles["unit"]))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return schema, roles


def _fuzz(operation, headers, mode, failures, errors):
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        before = len(errors.seen)
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as exc:
            found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
            cause = errors.seen[before] if len(errors.seen) > before else ""
            for f in found:
                failures.add((label, response.status_code, f.title, cause or f.message[:200]))

    try:
        run()
    except Unsatisfiable:
        pass  # no invalid request can be made of this operation (negative mode)


@pytest.mark.parametrize("role", ["unit", "association"])
def test_schemathesis_finds_no_server_error_and_no_reply_off_the_schema(fuzzed, role):
    schema, roles = fuzzed
    failures: set = set()
    errors = _Errors()
    logging.getLogger("memberflow.api").addHandler(errors)
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, roles[role], mode, failures, errors)
    finally:
        logging.getLogger("memberflow.api").removeHandler(errors)
    server = {(f[0], f[3]) for f in failures if f[1] >= 500}
    report = "\n".join(" | ".join(map(str, f)) for f in sorted(failures))
    assert not failures, f"{len(server)} distinct 5xx (operation, cause); all failures:\n{report}"
