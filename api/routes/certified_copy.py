"""The signed certified copy of an approved session, and the check of such a PDF.

``GET /v1/sessions/{id}/certified-copy.pdf``: the session's own kiosk or portal key, a clerk
or an auditor; every read is audit-logged; 409 ``certified_copy_not_available`` while there
is none (not approved, no documents step) or once its retention is over.

``POST /v1/verify/pdf`` is open without a key, like the result page a QR code links to:
the certified copy is the citizen's, and whoever it is shown to (a bank, another office)
must be able to check it without an account here. A PDF check parses up to
``max_pdf_bytes`` and validates a signature chain, so anonymous callers have their own,
smaller per-address budget (``anonymous_pdf_rate_per_minute``); a caller with a key (the
clerk page) is limited by its key's rate instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import (
    DRIVERS,
    READ_ANY,
    Principal,
    RuntimeDep,
    SessionId,
    key_or_anonymous_pdf,
    require,
    visible_session,
)
from api.errors import UnsupportedMediaType, UploadTooLarge
from api.schemas import PdfCheck, problem_responses
from api.uploads import InvalidUpload

router = APIRouter(tags=["certified copies"])

VERIFY_PDF_PATH = "/v1/verify/pdf"
PDF = "application/pdf"
Reader = Annotated[Principal, Depends(require(*DRIVERS, *READ_ANY))]
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/v1/sessions/{session_id}/certified-copy.pdf",
    responses={200: {"content": {PDF: {}}}, **problem_responses(401, 403, 404, 409, 429)},
    response_class=Response,
)
def get_certified_copy(session_id: SessionId, principal: Reader, rt: RuntimeDep) -> Response:
    """The signed certified copy (PAdES) of an approved session with a documents step."""
    visible_session(rt, principal, session_id)
    pdf = rt.service.certified_copy(session_id, principal.key_id)
    name = f"ban-sao-chung-thuc-{session_id}.pdf"
    headers = {**_NO_STORE, "Content-Disposition": f'inline; filename="{name}"'}
    return Response(pdf, media_type=PDF, headers=headers)


async def _pdf_body(request: Request, limit: int) -> bytes:
    """The PDF: the raw body (application/pdf) or the ``file`` part of a multipart form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in (PDF, "application/octet-stream"):
        data = await request.body()
    elif ctype == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise InvalidUpload("send the PDF as the multipart file field 'file'")
            data = await part.read(limit + 1)
    else:
        raise UnsupportedMediaType("send application/pdf, or multipart/form-data with 'file'")
    if len(data) > limit:
        raise UploadTooLarge(f"file: {len(data)} bytes is over the {limit}-byte limit")
    return data


@router.post(
    VERIFY_PDF_PATH,
    response_model=PdfCheck,
    responses=problem_responses(401, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                PDF: {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def verify_pdf(
    request: Request,
    rt: RuntimeDep,
    _caller: Annotated[Principal | None, Depends(key_or_anonymous_pdf)],
) -> JSONResponse:
    """Check a certified copy PDF: ``valid``, or ``reason`` (altered, unknown_signer,
    signer_expired, signer_revoked, revocation_unknown, not_a_certified_copy, not_a_pdf),
    with the session, procedure, signing time, signer and PAdES level it states."""
    data = await _pdf_body(request, rt.settings.max_pdf_bytes)
    check = await run_in_threadpool(rt.service.verify_pdf, data)
    if rt.metrics is not None:
        rt.metrics.outcomes.labels("verify_pdf", check.reason or "valid").inc()
    return JSONResponse(check.to_json(), headers=_NO_STORE)
