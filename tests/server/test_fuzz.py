"""Schema fuzzing with schemathesis: no generated request may produce a 5xx.

Bounded and deterministic: ``derandomize``, at most 30 examples per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from qwen_router.backends.fake import FakeBackend  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from .conftest import serve  # noqa: E402


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


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, fuzz_server: Any) -> None:
    case.call_and_validate(
        base_url=fuzz_server.url, checks=[not_a_server_error], timeout=60
    )
