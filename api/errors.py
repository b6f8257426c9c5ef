"""RFC 9457 problem+json for every error, and the ``X-Request-ID`` on every response.

Domain errors (``ekyc.errors.EkycError``) map by their stable ``code``; nothing leaks a
traceback: an unexpected exception is logged with its request id and answered 500.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ekyc.document.errors import UnknownCard
from ekyc.errors import EkycError, MalformedData
from ekyc.inference.errors import InferenceError

# raised by the chip challenge store; re-exported here beside the codes they map to
from ekyc.store.challenges import ChallengeExpired as ChallengeExpired
from ekyc.store.challenges import ChallengeUsed as ChallengeUsed
from models.errors import ModelError
from models.ocr.errors import OcrError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: the request id of the request being handled (for log records)
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

#: HTTP status of each domain error code; an unlisted code is a client-data problem (422)
STATUS_BY_CODE: dict[str, int] = {
    "malformed_data": 422,
    "unsupported_data": 422,
    "trust_store_error": 503,
    "challenge_expired": 410,
    "challenge_used": 409,
    # access
    "unauthorized": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "too_many_inflight": 429,
    "limits_unavailable": 503,
    "unsupported_media_type": 415,
    "payload_too_large": 413,
    "invalid_idempotency_key": 422,
    # sessions and steps (ekyc.verification)
    "session_not_found": 404,
    "not_found": 404,
    "session_expired": 410,
    "session_closed": 409,
    "step_not_required": 409,
    "step_already_done": 409,
    "step_out_of_order": 409,
    "result_not_ready": 409,
    "certified_copy_not_available": 409,
    "illegal_transition": 409,
    "concurrent_update": 409,
    "capability_not_installed": 501,
    "invalid_input": 422,
    "unknown_procedure": 422,
    "unknown_step": 422,
    "invalid_callback_url": 422,
    # liveness challenges (ekyc.face.challenge)
    "nonce_unknown": 422,
    "session_mismatch": 422,
    "nonce_replayed": 409,
    # images (ekyc.face.errors, ekyc.document.errors)
    "too_many_pixels": 413,
    "image_too_large": 413,
    # server-side faults: logged, never explained to the caller
    "store_error": 500,
    "decryption_failed": 500,
    "evidence_integrity_error": 500,
    "unknown_encryption_key": 500,
    "encryption_key_error": 500,
    "signing_key_error": 500,
    "pdf_signing_error": 500,
    "certified_copy_error": 500,
    "policy_error": 500,
    "threshold_file_error": 500,
    "threshold_not_found": 500,
    "model_mismatch": 500,
    "database_unavailable": 503,
    "not_ready": 503,
    # models and OCR (models.errors, models.ocr.errors)
    "model_error": 503,
    "model_file_missing": 503,
    "model_integrity": 503,
    "model_not_registered": 503,
    "manifest_invalid": 503,
    "unsupported_model": 503,
    "model_hash_mismatch": 503,
    "ocr_engine_unavailable": 501,
    "ocr_engine_failed": 500,
    "ocr_error": 500,
    "ocr_timeout": 504,
    # the inference backend (ekyc.inference): a 503 with Retry-After
    "inference_unavailable": 503,
    "inference_overloaded": 503,
    "inference_timeout": 503,
    "inference_error": 503,
    # the clerk's review file and evidence (ekyc.verification.review_file, .scan)
    "evidence_not_found": 404,
    "evidence_purged": 410,
    "evidence_unavailable": 422,
    "qr_not_found": 422,
}
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class Unauthorized(EkycError):
    """No API key, or one that is unknown, malformed or revoked."""

    code = "unauthorized"


class Forbidden(EkycError):
    """The key's role may not use this route."""

    code = "forbidden"


class RetryLater(EkycError):
    """Refused for now: the answer carries ``Retry-After`` (header and ``retry_after``)."""

    def __init__(self, retry_after: int, message: str) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class RateLimited(RetryLater):
    """The key (or anonymous client) spent its request budget; retry after some seconds."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, f"rate limit exceeded; retry in {retry_after} s")


class TooManyInflight(RetryLater):
    """The key already has its most expensive (inference) requests in flight."""

    code = "too_many_inflight"

    def __init__(self, retry_after: int, cap: int) -> None:
        super().__init__(
            retry_after, f"this key already has {cap} inference requests in flight; retry later"
        )


class LimitsUnavailable(RetryLater):
    """The shared rate-limit store cannot be reached: requests are refused, not unmetered."""

    code = "limits_unavailable"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "the rate-limit store is unavailable; retry later")


class UnsupportedMediaType(EkycError):
    """The body's content type, or an upload's actual bytes, is not one this route takes."""

    code = "unsupported_media_type"


class UploadTooLarge(EkycError):
    """One uploaded file is over its own limit."""

    code = "payload_too_large"


class InvalidIdempotencyKey(EkycError):
    code = "invalid_idempotency_key"


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
    # EkycError, and the model and OCR errors (plain exceptions with the same stable ``code``:
    # models/ imports nothing from ekyc)
    assert isinstance(exc, EkycError | ModelError | OcrError)
    status = STATUS_BY_CODE.get(exc.code, 422)
    if isinstance(exc, MalformedData):
        return problem(request, status, exc.code, exc.reason, file=exc.file, offset=exc.offset)
    if isinstance(exc, InferenceError):  # the Ray backend down, overloaded or too slow
        log.warning("request %s: %s: %s", _rid(request), exc.code, exc)
        response = problem(request, status, exc.code, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RetryLater):  # rate_limited, too_many_inflight, limits_unavailable
        response = problem(request, status, exc.code, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if status >= 500 and status not in (501, 503):
        # a fault of ours: the log has the detail, the caller gets the request id
        log.error("request %s: %s: %s", _rid(request), exc.code, exc)
        return problem(request, status, exc.code, "quote the request id when reporting it")
    if status >= 500:
        log.warning("request %s: %s: %s", _rid(request), exc.code, exc)
    if isinstance(exc, UnknownCard):  # how it fell short: no_printed_text, other_document …
        return problem(request, status, exc.code, str(exc), reason=exc.reason)
    return problem(request, status, exc.code, str(exc) or None)


def _rid(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s: database unavailable", _rid(request), exc_info=exc)
    response = problem(request, 503, "database_unavailable", "the database is unavailable")
    response.headers["Retry-After"] = "5"
    return response


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
    app.add_exception_handler(ModelError, _ekyc_error)
    app.add_exception_handler(OcrError, _ekyc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
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
        token = request_id_var.set(rid)

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

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes before anything parses them (413).

    A declared Content-Length is checked up front; a chunked body is counted as it
    arrives and ``PayloadTooLarge`` is raised from ``receive``.
    """

    def __init__(
        self, app: ASGIApp, limit: int, limit_for: Callable[[str], int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.limit_for = limit_for or (lambda _path: limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem(
                Request(scope),
                413,
                "payload_too_large",
                f"request body is larger than {limit} bytes",
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
