"""Signed results, their QR code, the public verify-link page, token checks and the JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import (
    DRIVERS,
    READ_ANY,
    Principal,
    RuntimeDep,
    SessionId,
    anonymous_limit,
    require,
    visible_session,
)
from api.schemas import ResultOut, TokenCheck, TokenRequest, problem_responses
from ekyc.verification.citizen_status import LABELS
from ekyc.verification.result import verify_link
from ekyc.verification.service import ResultNotReady, SessionNotFound

router = APIRouter(tags=["results"])

Reader = Annotated[Principal, Depends(require(*DRIVERS, *READ_ANY))]
_COMMON = (401, 403, 404, 409, 429)


def _link_hash(token: str) -> str:
    # the same digest as ekyc.verification.result.verify_link puts in ?h=
    digest = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()[:16])
    return digest.decode().rstrip("=")


@router.get(
    "/v1/sessions/{session_id}/result",
    response_model=ResultOut,
    responses=problem_responses(*_COMMON),
)
def get_result(session_id: SessionId, principal: Reader, rt: RuntimeDep) -> JSONResponse:
    """The compact JWS over the decision (409 ``result_not_ready`` before a final state)."""
    visible_session(rt, principal, session_id)
    signed = rt.service.result(session_id)
    base = rt.settings.verify_link_base
    return JSONResponse(
        {
            "session_id": signed.session_id,
            "decision": signed.decision,
            "token": signed.token,
            "issued_at": signed.issued_at.isoformat(),
            "expires_at": signed.expires_at.isoformat(),
            "verify_url": verify_link(base, session_id, signed.token),
        }
    )


@router.get(
    "/v1/sessions/{session_id}/result.png",
    responses={200: {"content": {"image/png": {}}}, **problem_responses(*_COMMON)},
    response_class=Response,
)
def get_result_qr(session_id: SessionId, principal: Reader, rt: RuntimeDep) -> Response:
    """A QR code of the token (or of the verify link when the token is too long)."""
    visible_session(rt, principal, session_id)
    qr = rt.service.result_qr(session_id)
    return Response(qr.png, media_type="image/png", headers={"X-Ekyc-QR-Kind": qr.kind})


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Kết quả xác thực / Verification result</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
.ok{{color:#0a6b2d}}.bad{{color:#a4161a}}dt{{font-weight:bold}}</style></head>
<body><h1>Kết quả xác thực / Verification result</h1>
<p class="{cls}"><strong>{validity}</strong></p>
<dl><dt>Phiên / Session</dt><dd><code>{sid}</code></dd>
<dt>Quyết định / Decision</dt><dd>{decision}</dd>
<dt>Thủ tục / Procedure</dt><dd>{procedure}</dd>
<dt>Trạng thái hồ sơ / File status</dt><dd><a href="{status_url}">{status}</a></dd>
<dt>Ký lúc / Issued</dt><dd>{issued}</dd><dt>Hết hạn / Expires</dt><dd>{expires}</dd>
<dt>Khoá / Key id</dt><dd><code>{kid}</code></dd></dl>
<p>The signed token can be checked offline against
<a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.</p></body></html>
"""


@router.get(
    "/v/result/{session_id}",
    responses={
        200: {"content": {"text/html": {}, "application/json": {}}},
        **problem_responses(404, 422, 429),
    },
    dependencies=[Depends(anonymous_limit)],
    response_class=HTMLResponse,
)
def verify_page(
    request: Request,
    session_id: SessionId,
    rt: RuntimeDep,
    h: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="from the QR")],
    format: Annotated[str | None, Query(pattern="^(json|html)$")] = None,
) -> Response:
    """The page a result QR links to: decision and validity (JSON on request); no key needed.

    The ``h`` parameter (a hash of the token) is the capability: without it, or with a wrong
    one, the answer is 404 as for an unknown session.
    """
    try:
        signed = rt.service.result(session_id)
    except (SessionNotFound, ResultNotReady):
        raise SessionNotFound(f"no result for {session_id!r}") from None
    if not hmac.compare_digest(_link_hash(signed.token), h):
        raise SessionNotFound(f"no result for {session_id!r}")
    check = rt.service.verify(signed.token)
    claims = check.claims or {}
    view = rt.service.get_session(session_id)
    label_vi, label_en = LABELS[view.citizen_status]
    out = {
        "session_id": session_id,
        "valid": check.valid,
        "reason": check.reason,
        "decision": signed.decision,
        "procedure": claims.get("procedure"),
        "issued_at": signed.issued_at.isoformat(),
        "expires_at": signed.expires_at.isoformat(),
        "kid": check.kid,
        "token": signed.token,
        "citizen_status": view.citizen_status.value,
        "status_url": view.status_url,
    }
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    if wants_json:
        return JSONResponse(out)
    validity = "Hợp lệ / Valid" if check.valid else f"Không hợp lệ / Invalid ({check.reason})"
    page = _PAGE.format(
        cls="ok" if check.valid else "bad",
        validity=html.escape(validity),
        sid=html.escape(session_id),
        decision=html.escape(signed.decision),
        procedure=html.escape(str(out["procedure"] or "")),
        issued=html.escape(str(out["issued_at"])),
        expires=html.escape(str(out["expires_at"])),
        kid=html.escape(str(check.kid or "")),
        status=html.escape(f"{label_vi} / {label_en}"),
        status_url=html.escape(view.status_url or ""),
    )
    return HTMLResponse(page)


@router.post(
    "/v1/verify",
    response_model=TokenCheck,
    responses=problem_responses(401, 403, 422, 429),
)
def verify_token(
    body: TokenRequest,
    _principal: Annotated[Principal, Depends(require(*DRIVERS, *READ_ANY))],
    rt: RuntimeDep,
) -> JSONResponse:
    """Check a result token: valid, or why not (bad_signature, expired, unknown_key …)."""
    return JSONResponse(rt.service.verify(body.token).to_json())


@router.get("/.well-known/jwks.json", tags=["results"])
def jwks(rt: RuntimeDep) -> JSONResponse:
    """The public keys that sign results (active first, then retired ones)."""
    return JSONResponse(rt.service.jwks(), headers={"Cache-Control": "public, max-age=300"})
