"""Webhooks: signed event bodies, the retry schedule, delivery over httpx, and the
receiver-side check integrators call.

Signature: ``X-Ekyc-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>``
with ``X-Ekyc-Timestamp`` (epoch seconds). The timestamp is inside the MAC so a captured
request cannot be replayed later than the receiver's tolerance; receivers must verify the
raw bytes before parsing. Several ``v1=`` values (comma separated) may appear while a
secret is being rotated; one match is enough.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ekyc.errors import EkycError
from ekyc.store.db import Database
from ekyc.store.webhooks import Webhooks

if TYPE_CHECKING:
    from ekyc.settings import Settings

TIMESTAMP_HEADER = "X-Ekyc-Timestamp"
SIGNATURE_HEADER = "X-Ekyc-Signature"
EVENT_HEADER = "X-Ekyc-Event"
DELIVERY_HEADER = "X-Ekyc-Delivery"
#: wait after the 1st, 2nd … failed attempt; after the last one the delivery has failed
SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=10),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
MAX_RESPONSE_BYTES = 4096  # what we keep of a receiver's answer, for the delivery log


class WebhookVerificationError(EkycError):
    """A received webhook fails verification; ``code`` says why."""

    code = "webhook_invalid"

    def __init__(self, code: str, message: str) -> None:
        self.code = code  # missing_header | malformed_header | stale_timestamp | bad_signature
        super().__init__(message)


class InvalidCallbackUrl(EkycError):
    """A callback URL that is not an absolute http(s) URL."""

    code = "invalid_callback_url"


def check_callback_url(url: str) -> str:
    """Return the URL when it is absolute http(s) without credentials, else raise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidCallbackUrl("the callback URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise InvalidCallbackUrl("the callback URL must not carry credentials")
    if len(url) > 2048:
        raise InvalidCallbackUrl("the callback URL is too long")
    return url


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature value: hex HMAC-SHA256 over ``timestamp.body``."""
    return hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str | bytes, body: bytes, timestamp: int, event: str, delivery_id: str
) -> dict[str, str]:
    """The request headers of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"v1={signature(secret, timestamp, body)}",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }


def verify_webhook(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float | dt.datetime,
    tolerance: int = 300,
) -> None:
    """Check a received webhook's signature and age; raise ``WebhookVerificationError``."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts_text = lower.get(TIMESTAMP_HEADER.lower())
    sig_text = lower.get(SIGNATURE_HEADER.lower())
    if ts_text is None or sig_text is None:
        raise WebhookVerificationError("missing_header", "timestamp or signature header missing")
    try:
        ts = int(ts_text)
    except ValueError:
        raise WebhookVerificationError(
            "malformed_header", "the timestamp is not an integer"
        ) from None
    t = now.timestamp() if isinstance(now, dt.datetime) else float(now)
    if abs(t - ts) > tolerance:
        raise WebhookVerificationError("stale_timestamp", "the timestamp is outside the tolerance")
    candidates = [v.strip()[3:] for v in sig_text.split(",") if v.strip().startswith("v1=")]
    if not candidates:
        raise WebhookVerificationError("malformed_header", "no v1 signature in the header")
    expected = signature(secret, ts, body)
    # compare_digest against every candidate: no early exit that leaks which one matched
    if not any([hmac.compare_digest(expected, c) for c in candidates]):
        raise WebhookVerificationError("bad_signature", "the signature does not match")


def event_body(
    event_id: str,
    event: str,
    session_id: str,
    at: dt.datetime,
    data: Mapping[str, Any],
) -> bytes:
    """The JSON body of an event (compact, keys sorted: the bytes that are signed)."""
    doc = {
        "id": event_id,
        "type": event,
        "session_id": session_id,
        "created_at": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(data),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def next_attempt_at(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after ``attempts`` failed attempts; None once they are exhausted."""
    if attempts < 1:
        return now
    if attempts > len(SCHEDULE):
        return None
    return now + SCHEDULE[attempts - 1]


def non_public_reason(host: str) -> str | None:
    """Why ``host`` must not receive webhooks (an address of it is loopback, private,
    link-local — cloud metadata — or otherwise not global), or None when all are public."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        return f"cannot resolve {host}: {e}"
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not address.is_global:
            return f"{host} resolves to the non-public address {address}"
    return None


class PublicOnlyTransport(httpx.HTTPTransport):
    """Refuses requests to hosts that resolve to non-public addresses (SSRF: a portal's
    callback URL must not reach the service's own network). The check runs just before the
    connection; an egress firewall is still what closes DNS-rebinding races."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reason = non_public_reason(request.url.host)
        if reason is not None:
            raise httpx.ConnectError(f"refused: {reason}", request=request)
        return super().handle_request(request)


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None


class WebhookSender:
    """Posts signed events; no redirects are followed, 2xx is success. Hosts on private,
    loopback or link-local addresses are refused unless ``allow_private`` (on-premises
    portals)."""

    def __init__(
        self,
        secret: str | bytes,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        allow_private: bool = False,
    ) -> None:
        self._secret = secret
        if transport is None and not allow_private:
            transport = PublicOnlyTransport()
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # a redirect could point the signed body anywhere
            transport=transport,
            headers={"User-Agent": "ekyc-webhooks/1"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookSender | None:
        """The sender configured by ``EKYC_WEBHOOK_SECRET``; None when webhooks are off."""
        if settings.webhook_secret is None:
            return None
        return cls(
            settings.webhook_secret.get_secret_value(),
            settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def send(
        self, url: str, body: bytes, event: str, delivery_id: str, now: dt.datetime
    ) -> AttemptResult:
        """One delivery attempt; network errors become a failed result, never an exception."""
        headers = signed_headers(self._secret, body, int(now.timestamp()), event, delivery_id)
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            return AttemptResult(False, None, f"{type(e).__name__}: {e}"[:MAX_RESPONSE_BYTES])
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return AttemptResult(ok, response.status_code, error)


@dataclass(frozen=True)
class DeliveryReport:
    delivery_id: str
    attempt: int
    result: AttemptResult
    status: str  # delivered | pending (retry scheduled) | failed (attempts exhausted)


def deliver_due(
    db: Database, sender: WebhookSender, now: dt.datetime, limit: int = 20
) -> list[DeliveryReport]:
    """One delivery pass: claim due deliveries, post each, record the response or the retry.

    Claims are committed before any request is sent (a lease), so several workers never post
    the same delivery at once and no database lock is held during network calls.
    """
    with db.session() as s:
        jobs = [
            (r.id, r.url, r.body, r.event, r.attempts) for r in Webhooks(s).claim_due(now, limit)
        ]
    reports: list[DeliveryReport] = []
    for delivery_id, url, body, event, attempt in jobs:
        result = sender.send(url, body.encode(), event, delivery_id, now)
        with db.session() as s:
            repo = Webhooks(s)
            if result.ok:
                repo.mark_delivered(delivery_id, result.status_code or 0, now)
                status = "delivered"
            else:
                retry = next_attempt_at(attempt, now)
                repo.mark_attempt_failed(delivery_id, now, retry, result.status_code, result.error)
                status = "pending" if retry is not None else "failed"
        reports.append(DeliveryReport(delivery_id, attempt, result, status))
    return reports
