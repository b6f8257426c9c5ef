"""FastAPI dependencies: the process runtime, the caller's API key and role, rate limits and
in-flight caps, session visibility and idempotency keys.

Roles: kiosk and portal create and drive their own sessions; clerk reads any session and
resolves reviews; auditor reads sessions and the audit log; admin manages keys. A session
belongs to the key that created it: any other kiosk or portal key gets 404, never 403, so
session ids cannot be probed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import (
    Forbidden,
    InvalidIdempotencyKey,
    RateLimited,
    Unauthorized,
)
from api.runtime import Runtime
from ekyc.errors import EkycError
from ekyc.store.keys import ApiKeys
from ekyc.store.models import Role
from ekyc.verification.service import SessionNotFound, SessionView

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer ekyc_…`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key")
_IDEMPOTENCY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: readers of any session
READ_ANY = (Role.CLERK, Role.AUDITOR)
#: roles that own sessions
DRIVERS = (Role.KIOSK, Role.PORTAL)

SessionId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the session id from POST /v1/sessions")
]


class NotReady(EkycError):
    code = "not_ready"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: str
    name: str
    role: Role
    rate_per_minute: int


def get_runtime(request: Request) -> Runtime:
    """The process runtime built in the lifespan."""
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None:
        raise NotReady("the service is starting or stopping")
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _limit(rt: Runtime, caller: str, rate: int) -> None:
    wait = rt.limiter.take(caller, rate)
    if wait:
        if rt.metrics is not None:
            rt.metrics.rate_limited.inc()
        raise RateLimited(wait)


def current_key(
    request: Request,
    rt: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller's active API key (401 otherwise), after its rate limit (429)."""
    token = bearer.credentials if bearer is not None else header_key
    if not token:
        raise Unauthorized("send an API key: Authorization: Bearer <key> or X-API-Key")
    with rt.db.session(readonly=True) as s:
        key = ApiKeys(s).authenticate(token)
        if key is None:
            raise Unauthorized("the API key is unknown or revoked")
        principal = Principal(key.id, key.name, Role(key.role), key.rate_per_minute)
    request.state.api_key_id = principal.key_id
    _limit(rt, f"key:{principal.key_id}", principal.rate_per_minute)
    return principal


def anonymous_limit(request: Request, rt: RuntimeDep) -> None:
    """Rate limit for routes open without a key, per client address."""
    _limit(rt, f"ip:{_client(request)}", rt.settings.anonymous_rate_per_minute)


def key_or_anonymous_pdf(
    request: Request,
    rt: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key)],
) -> Principal | None:
    """Any active API key (under its own rate), or, without one, an anonymous caller under
    the per-address budget for PDF checks (``anonymous_pdf_rate_per_minute``)."""
    if bearer is not None or header_key:
        return current_key(request, rt, bearer, header_key)
    _limit(rt, f"pdf-ip:{_client(request)}", rt.settings.anonymous_pdf_rate_per_minute)
    return None


def inflight_slot(
    rt: RuntimeDep, principal: Annotated[Principal, Depends(current_key)]
) -> Iterator[None]:
    """Hold one of the key's ``max_inflight_per_key`` slots for an inference request
    (429 ``too_many_inflight`` when all are taken); released however the request ends."""
    with rt.limiter.slot(f"key:{principal.key_id}", rt.settings.max_inflight_per_key):
        yield


#: a route parameter (after the principal's) holding an in-flight slot for the request
InflightSlot = Annotated[None, Depends(inflight_slot)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only keys of ``roles`` (403 ``forbidden`` otherwise)."""

    def check(principal: Annotated[Principal, Depends(current_key)]) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {principal.role.value} may not do this (allowed: {allowed})")
        return principal

    return check


def visible_session(rt: Runtime, principal: Principal, session_id: str) -> SessionView:
    """The session when the caller may read it; clerk and auditor read any."""
    view = rt.service.get_session(session_id)
    if principal.role in READ_ANY or view.api_key_id == principal.key_id:
        return view
    raise SessionNotFound(f"no session {session_id!r}")


def own_session(rt: Runtime, principal: Principal, session_id: str) -> SessionView:
    """The session when the caller created it (404 for anyone else's)."""
    view = rt.service.get_session(session_id)
    if view.api_key_id != principal.key_id:
        raise SessionNotFound(f"no session {session_id!r}")
    return view


def idempotency_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="replays with the same key return the stored outcome",
        ),
    ] = None,
) -> str | None:
    """The ``Idempotency-Key`` header, checked."""
    if idempotency_key is not None and not _IDEMPOTENCY.match(idempotency_key):
        raise InvalidIdempotencyKey("Idempotency-Key: 1 to 128 of A-Z a-z 0-9 . _ : -")
    return idempotency_key


IdempotencyDep = Annotated[str | None, Depends(idempotency_header)]


def client_request_id(rt: Runtime, header: str | None, body: str | None) -> str:
    """The step's idempotency key: header first, then the body's; a fresh one otherwise."""
    if header is not None and body is not None and header != body:
        raise InvalidIdempotencyKey("Idempotency-Key and client_request_id differ")
    chosen = header or body
    if chosen is None:
        return "auto-" + rt.service.rng(16).hex()  # not idempotent: nothing to replay
    if not _IDEMPOTENCY.match(chosen):
        raise InvalidIdempotencyKey("client_request_id: 1 to 128 of A-Z a-z 0-9 . _ : -")
    return chosen
