"""RFC 9457 problem+json for every error, and the ``X-Request-ID`` on every response.

Domain errors (``ekyc.errors.EkycError``) map by their stable ``code``; nothing leaks a
traceback: an unexpected exception is logged with its request id and answered 500.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ekyc.errors import EkycError, MalformedData

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: HTTP status of each domain error code; an unlisted code is a client-data problem (422)
STATUS_BY_CODE: dict[str, int] = {
    "malformed_data": 422,
    "unsupported_data": 422,
    "trust_store_error": 503,
    "challenge_expired": 410,
    "challenge_used": 409,
}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ChallengeExpired(EkycError):
    """The quoted challenge is unknown, evicted or past its expiry."""

    code = "challenge_expired"


class ChallengeUsed(EkycError):
    """The quoted challenge was already spent: a nonce is single-use."""

    code = "challenge_used"


class PayloadTooLarge(HTTPException):
    """The request body is over the limit (raised while it is being received).

    An ``HTTPException`` because FastAPI re-raises those from body reading untouched
    and turns any other error there into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


def problem(
    request: Request, status: int, code: str, detail: str | None, **extra: Any
) -> JSONResponse:
    """A problem+json response carrying the request id."""
    rid = getattr(request.state, "request_id", None)
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": rid,
        **extra,
    }
    headers = {REQUEST_ID_HEADER: rid} if rid else {}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _ekyc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EkycError)
    status = STATUS_BY_CODE.get(exc.code, 422)
    if status >= 500:
        log.error("request %s: %s", getattr(request.state, "request_id", "-"), exc)
    if isinstance(exc, MalformedData):
        return problem(request, status, exc.code, exc.reason, file=exc.file, offset=exc.offset)
    return problem(request, status, exc.code, str(exc) or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # loc, msg and type only: never echo the (possibly huge, possibly personal) input back
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    return problem(
        request, 422, "invalid_request", "the request does not match the schema", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(
        exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    )
    response = problem(request, exc.status_code, code, str(exc.detail))
    for k, v in (exc.headers or {}).items():
        response.headers[k] = v
    return response


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    rid = getattr(request.state, "request_id", "-")
    log.error("request %s failed", rid, exc_info=exc)
    return problem(
        request,
        500,
        "internal_error",
        "an internal error occurred; quote the request id when reporting it",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(EkycError, _ekyc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    # Exception is the one place a catch-all is right: Starlette runs it in the outermost
    # middleware after everything else failed, and it must never leak a trace
    app.add_exception_handler(Exception, _internal_error)


class RequestIdMiddleware:
    """Echo a sane client ``X-Request-ID`` (else make one) on the request state and response."""

    def __init__(self, app: ASGIApp, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.app = app
        self.rng = rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
        text = given.decode("latin-1")
        rid = text if _SANE_REQUEST_ID.match(text) else self.rng(16).hex()
        # the scope dict is shared downstream, so the error handlers see the id too
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != REQUEST_ID_HEADER.lower().encode()
                ]
                headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes before anything parses them (413).

    A declared Content-Length is checked up front; a chunked body is counted as it
    arrives and ``PayloadTooLarge`` is raised from ``receive``.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = problem(
                Request(scope),
                413,
                "payload_too_large",
                f"request body is larger than {self.limit} bytes",
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(self.limit)
            return message

        await self.app(scope, counting_receive, send)
