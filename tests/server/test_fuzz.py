"""Schema fuzzing with schemathesis: no generated request may produce a 5xx, and every
answer conforms to the spec: a declared status code, a declared content type, and a
body that matches the declared (typed) response model.

Bounded and deterministic: ``derandomize``, at most 30 examples per operation.

The operations are driven through schemathesis' Hypothesis strategies
(``operation.as_strategy()``) inside ordinary pytest tests, not through its pytest
plugin (``schema.parametrize``), which reaches into pytest internals and broke on
pytest 9.2 (``'Function' object has no attribute '_nodeid'``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from qwen_router.backends.fake import FakeBackend  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import serve  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# path prefix -> the API it belongs to; every operation in the spec must fall in one
API_PREFIXES = {"openai": ("/v1/",), "ollama": ("/api/",), "operations": ("/",)}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from .conftest import write_fake_profile

    profile = write_fake_profile(tmp_path_factory.mktemp("fuzz") / "fake.yaml")
    backend = FakeBackend(reply="fuzzed", record=False)
    with serve(
        profile, backends={"fake": backend}, queue_timeout_s=30, allow_model_specs=False
    ) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Any) -> Any:
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")


def _api_of(path: str) -> str:
    return next(api for api, prefixes in API_PREFIXES.items() if path.startswith(prefixes))


def _fuzz(operation: Any, base_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=60)

    run()


@pytest.mark.parametrize("api", list(API_PREFIXES))
def test_no_server_errors(api: str, api_schema: Any, fuzz_server: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    mine = [op for op in operations if _api_of(op.path) == api]
    assert mine, f"the OpenAPI spec has no {api} operations"
    for operation in mine:
        try:
            _fuzz(operation, fuzz_server.url)
        except Exception as exc:  # name the operation that failed, keep the finding
            raise AssertionError(f"{operation.label}: {exc}") from exc
