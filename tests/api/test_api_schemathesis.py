"""Property-based requests generated from /openapi.json: no answer is an unexpected 5xx.

Driven by hand (hypothesis over each operation's strategy, sent through the test client)
rather than through the schemathesis pytest plugin, which does not load under pytest 9,
and its ASGI transport, which restarts the app's lifespan on every call.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api, AppFactory, face_engine

MAX_EXAMPLES = 6


def _role(path: str) -> str:
    if path.startswith("/v1/keys"):
        return "admin"
    if path.startswith("/v1/audit"):
        return "auditor"
    if path.endswith("/review"):
        return "clerk"
    return "kiosk"


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())
    return [result.ok() for result in schema.get_all_operations()]


def _send(api: Api, case: Any, token: str) -> httpx.Response:
    """Send a generated case through the app's own TestClient (whose lifespan is running)."""
    auth = {"Authorization": f"Bearer {token}", "X-API-Key": token}
    kw = case.as_transport_kwargs(base_url="http://testserver", headers=auth)
    kw.pop("cookies", None)
    if kw.get("data") is None:
        kw.pop("data", None)
    elif isinstance(kw["data"], bytes | str):
        kw["content"] = kw.pop("data")
    if "files" in kw:  # requests-style parts: text parts (no file name) become form fields
        data: dict[str, list[str]] = {}
        files = []
        for name, (filename, value, *_rest) in kw.pop("files"):
            if filename is None:
                data.setdefault(name, []).append(str(value))
            else:
                raw = value if isinstance(value, bytes) else str(value).encode()
                files.append((name, (filename, raw)))
        kw["data"], kw["files"] = data, files
        kw["headers"].pop("Content-Type", None)
    return api.client.request(**kw)


def _fuzz(api: Api, op: Any, seen: list[tuple[str, str, int]]) -> None:
    """Send MAX_EXAMPLES generated requests for one operation with a key of a fitting role."""
    token = api.keys[_role(op.path)]

    @given(case=op.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = _send(api, case, token)
        seen.append((case.method, case.operation.path, response.status_code))
        # every capability is installed in this app, so no answer may be a 5xx
        assert response.status_code < 500, (
            case.method, case.formatted_path, response.text[:500],
        )  # fmt: skip
        if response.status_code >= 400:
            ctype = response.headers.get("content-type", "")
            assert ctype.startswith("application/problem+json"), ctype
            assert response.json()["code"]

    try:
        run()
    except AssertionError as e:
        pytest.fail(f"{op.method.upper()} {op.path}: {e}")


@pytest.fixture(scope="module")
def full_api(make_api: AppFactory) -> Api:
    """The app with every capability: the bundled face models (PAD when ../shared has it)."""
    return make_api(face=face_engine())


def test_no_5xx(full_api: Api) -> None:
    api = full_api
    operations = _operations(api)
    assert len(operations) >= 20
    seen: list[tuple[str, str, int]] = []
    for op in operations:
        _fuzz(api, op, seen)
    assert len(seen) >= len(operations)
    # the generated requests got past authentication and reached the handlers
    assert sum(1 for *_, status in seen if status in (200, 201)) >= 10
    assert sum(1 for *_, status in seen if status == 401) == 0
