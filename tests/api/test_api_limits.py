"""Rate limits and in-flight caps over HTTP with the shared Redis store: two apps on one
database and one Redis (two replicas) give a key one budget; Redis down is 503, quickly."""

from __future__ import annotations

import time

import pytest

from api.ratelimit import Limiter
from tests.api.conftest import Api, AppFactory, assert_problem
from tests.redis_server import free_port

MISSING = "/v1/sessions/" + "0" * 32
PAGE = b"\xff\xd8\xff" + bytes(64)  # enough to reach the route: the slot is taken first
FACES = [("a", ("a.jpg", PAGE, "image/jpeg")), ("b", ("b.jpg", PAGE, "image/jpeg"))]


@pytest.fixture(scope="module")
def replicas(make_api: AppFactory, redis_url: str) -> tuple[Api, Api]:
    return (make_api(rate_limit_storage=redis_url), make_api(rate_limit_storage=redis_url))


def test_rate_limit_429_from_redis(replicas: tuple[Api, Api]) -> None:
    a, b = replicas
    token, _ = a.new_key("portal", rate=4)
    h = {"Authorization": f"Bearer {token}"}
    codes = [(a, b)[n % 2].client.get(MISSING, headers=h).status_code for n in range(4)]
    assert codes == [404] * 4  # the budget spent half on each replica
    for api in (a, b):
        r = api.client.get(MISSING, headers=h)
        body = assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60 and body["retry_after"] >= 1
    assert a.client.get(MISSING, headers=a.h("portal")).status_code == 404  # other keys


def test_too_many_inflight_across_replicas(replicas: tuple[Api, Api], redis_url: str) -> None:
    """Slots held by another replica count: the key's next inference request is refused."""
    a, b = replicas
    token, key_id = a.new_key("portal")
    h = {"Authorization": f"Bearer {token}"}
    cap = a.runtime.settings.max_inflight_per_key
    other = Limiter(redis_url)  # a third replica, busy with this key's requests
    try:
        held = [other.slot(f"key:{key_id}", cap) for _ in range(cap)]
        for slot in held:
            slot.__enter__()
        for api in (a, b):
            r = api.client.post("/v1/faces/compare", files=FACES, headers=h)
            body = assert_problem(r, 429, "too_many_inflight")
            assert int(r.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
        # cheap routes are not capped
        assert b.client.get(MISSING, headers=h).status_code == 404
        held.pop().__exit__(None, None, None)
        # a slot is free: the request gets through (no face engine in this app: 501)
        r = a.client.post("/v1/faces/compare", files=FACES, headers=h)
        assert_problem(r, 501, "capability_not_installed")
        r = b.client.post("/v1/faces/compare", files=FACES, headers=h)
        assert_problem(r, 501, "capability_not_installed")  # and it gave its slot back
        for slot in held:
            slot.__exit__(None, None, None)
    finally:
        other.close()


def test_memory_inflight_cap(make_api: AppFactory) -> None:
    api = make_api(max_inflight_per_key=1)
    token, key_id = api.new_key("clerk")
    h = {"Authorization": f"Bearer {token}"}
    with api.runtime.limiter.slot(f"key:{key_id}", 1):  # one request of the key in flight
        r = api.client.post("/v1/documents/compare", files=FACES, headers=h)
        assert_problem(r, 429, "too_many_inflight")
    r = api.client.post("/v1/faces/compare", files=FACES, headers=h)
    assert_problem(r, 501, "capability_not_installed")


def test_redis_down_is_503_quickly(make_api: AppFactory) -> None:
    api = make_api(rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")
    for path, headers in ((MISSING, api.h("portal")), ("/v/result/" + "0" * 32, {})):
        started = time.monotonic()
        r = api.client.get(path, headers=headers)
        assert time.monotonic() - started < 2.0
        body = assert_problem(r, 503, "limits_unavailable")
        assert int(r.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
    ready = assert_problem(api.client.get("/readyz"), 503, "not_ready")
    assert ready["checks"]["limits"] is False and ready["checks"]["database"] is True
