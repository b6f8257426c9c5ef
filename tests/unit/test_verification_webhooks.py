"""Webhooks: HMAC signature headers, receiver verification, backoff, httpx delivery."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from ekyc.verification.webhooks import (
    MAX_ATTEMPTS,
    SCHEDULE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidCallbackUrl,
    WebhookSender,
    WebhookVerificationError,
    check_callback_url,
    event_body,
    next_attempt_at,
    signature,
    verify_webhook,
)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
SECRET = "whsec-test"


def _body() -> bytes:
    return event_body("evt1", "session.state_changed", "s1", NOW, {"to": "approved"})


def test_signature_is_hmac_over_timestamp_and_body() -> None:
    # RFC 4231-style known answer computed independently with hmac/hashlib
    import hashlib
    import hmac

    body = b'{"a":1}'
    want = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", 1_700_000_000, body) == want


def test_event_body_is_canonical() -> None:
    doc = json.loads(_body())
    assert doc == {
        "id": "evt1",
        "type": "session.state_changed",
        "session_id": "s1",
        "created_at": "2025-06-01T12:00:00Z",
        "data": {"to": "approved"},
    }


def _captured(status: int = 204) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    return seen, httpx.MockTransport(handler)


def test_delivery_round_trip() -> None:
    seen, transport = _captured()
    sender = WebhookSender(SECRET, transport=transport)
    result = sender.send("https://hook.example/x", _body(), "session.state_changed", "d1", NOW)
    assert result.ok and result.status_code == 204 and result.error is None
    req = seen[0]
    assert req.method == "POST" and req.content == _body()
    assert req.headers["content-type"] == "application/json"
    # what an integrator does with the request it received
    verify_webhook(SECRET, dict(req.headers), req.content, NOW + dt.timedelta(seconds=3))
    with pytest.raises(WebhookVerificationError) as e:
        verify_webhook(SECRET, dict(req.headers), req.content + b" ", NOW)
    assert e.value.code == "bad_signature"
    with pytest.raises(WebhookVerificationError) as e:
        verify_webhook("other", dict(req.headers), req.content, NOW)
    assert e.value.code == "bad_signature"
    with pytest.raises(WebhookVerificationError) as e:
        verify_webhook(SECRET, dict(req.headers), req.content, NOW + dt.timedelta(minutes=6))
    assert e.value.code == "stale_timestamp"


def test_receiver_rejects_bad_headers() -> None:
    body = _body()
    ts = int(NOW.timestamp())
    good = f"v1={signature(SECRET, ts, body)}"
    cases = [
        ({}, "missing_header"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: good}, "malformed_header"),
        ({TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: "v0=abc"}, "malformed_header"),
        # a valid signature for another timestamp: the timestamp is inside the MAC
        ({TIMESTAMP_HEADER: str(ts + 1), SIGNATURE_HEADER: good}, "bad_signature"),
    ]
    for headers, code in cases:
        with pytest.raises(WebhookVerificationError) as e:
            verify_webhook(SECRET, headers, body, NOW.timestamp())
        assert e.value.code == code
    # during secret rotation several signatures may be listed; lower-case headers work
    rotating = {TIMESTAMP_HEADER.lower(): str(ts), SIGNATURE_HEADER.lower(): f"v1=00, {good}"}
    verify_webhook(SECRET, rotating, body, NOW)


def test_failures_are_results_not_exceptions() -> None:
    _, t500 = _captured(500)
    out = WebhookSender(SECRET, transport=t500).send("https://h/x", b"{}", "e", "d", NOW)
    assert not out.ok and out.status_code == 500 and out.error == "HTTP 500"

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    out = WebhookSender(SECRET, transport=httpx.MockTransport(boom)).send(
        "https://h/x", b"{}", "e", "d", NOW
    )
    assert not out.ok and out.status_code is None and "ConnectTimeout" in (out.error or "")


def test_redirects_are_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "http://169.254.169.254/"})

    out = WebhookSender(SECRET, transport=httpx.MockTransport(handler)).send(
        "https://h/x", b"{}", "e", "d", NOW
    )
    assert len(seen) == 1 and not out.ok and out.status_code == 307


def test_backoff_schedule() -> None:
    waits = [next_attempt_at(n, NOW) for n in range(1, MAX_ATTEMPTS)]
    assert [w - NOW for w in waits if w is not None] == [
        dt.timedelta(seconds=10),
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=2),
    ]
    assert list(SCHEDULE) == [w - NOW for w in waits if w is not None]
    assert next_attempt_at(0, NOW) == NOW
    assert next_attempt_at(MAX_ATTEMPTS, NOW) is None  # exhausted: the delivery has failed


@pytest.mark.parametrize(
    "url", ["ftp://h/x", "/relative", "https://user:pw@h/x", "javascript:alert(1)", "http://"]
)
def test_callback_url_check(url: str) -> None:
    with pytest.raises(InvalidCallbackUrl):
        check_callback_url(url)
    assert (
        check_callback_url("https://portal.example/hook?x=1") == "https://portal.example/hook?x=1"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",  # the service's own host
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
    ],
)
def test_webhooks_to_non_public_addresses_are_refused_before_connecting(url: str) -> None:
    out = WebhookSender(SECRET).send(url, b"{}", "e", "d", NOW)
    assert not out.ok and out.status_code is None
    assert out.error is not None and "non-public address" in out.error


def test_private_addresses_are_allowed_when_configured() -> None:
    # on-premises: the request really goes out (and here finds nothing listening)
    out = WebhookSender(SECRET, timeout=2, allow_private=True).send(
        "http://127.0.0.1:9/hook", b"{}", "e", "d", NOW
    )
    assert not out.ok and out.error is not None and "non-public" not in out.error


def test_public_hosts_pass_the_address_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from ekyc.verification.webhooks import non_public_reason

    def resolve(host: str, *_a: object, **_k: object) -> list[tuple[object, ...]]:
        ip = {"portal.example": "93.184.216.34", "mixed.example": "10.1.2.3"}[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert non_public_reason("portal.example") is None
    assert "10.1.2.3" in (non_public_reason("mixed.example") or "")
