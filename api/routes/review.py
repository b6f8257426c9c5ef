"""The clerk's desk: the review queue, a session's review file, its evidence, QR checks.

Clerks and auditors read (queue, review file, evidence); only a clerk resolves a review
(``POST /v1/sessions/{id}/review`` in ``api.routes.sessions``). Every evidence read and every
review file opened is audit-logged with the caller's key id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DRIVERS, READ_ANY, Principal, RuntimeDep, SessionId, require
from api.schemas import problem_responses
from api.uploads import read_upload, upload_openapi
from ekyc.store.models import Role
from ekyc.verification.review_file import ReviewFiles, as_jpeg, read_evidence, review_queue
from ekyc.verification.scan import check_text, decode_qr

router = APIRouter(tags=["review"])

Reader = Annotated[Principal, Depends(require(*READ_ANY))]
Checker = Annotated[Principal, Depends(require(*DRIVERS, *READ_ANY))]
EvidenceName = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9_]{1,64}$",
        description="as the step outcomes name it: chip_portrait, selfie_frame_0, original_0 …",
    ),
]
_COMMON = (401, 403, 404, 422, 429)
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@router.get("/v1/reviews", responses=problem_responses(401, 403, 422, 429))
def list_reviews(
    principal: Reader,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Sessions waiting for a clerk, the longest waiting first (procedure, times, reasons);
    ``can_decide`` says whether the caller may approve or decline (a clerk, not an auditor)."""
    page = review_queue(rt.service, limit, offset)
    body = {**page.to_json(), "can_decide": principal.role is Role.CLERK}
    return JSONResponse(body, headers=_NO_STORE)


@router.get("/v1/sessions/{session_id}/review-file", responses=problem_responses(*_COMMON))
def review_file(session_id: SessionId, principal: Reader, rt: RuntimeDep) -> JSONResponse:
    """Chip data with every PA/AA check (re-verified from the sealed raw files), liveness
    frames and signals, face score against threshold and review band, the cross-source field
    table, the copy-vs-original differences with both readings, and the evidence list."""
    body = ReviewFiles(rt.service, rt.ocr).build(session_id, principal.key_id)
    return JSONResponse(body, headers=_NO_STORE)


@router.get(
    "/v1/sessions/{session_id}/evidence/{name}",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "application/json": {}}},
        **problem_responses(*_COMMON, 410),
    },
    response_class=Response,
)
def get_evidence(
    session_id: SessionId,
    name: EvidenceName,
    principal: Reader,
    rt: RuntimeDep,
    format: Annotated[Literal["jpeg"] | None, Query(description="re-encode an image")] = None,
) -> Response:
    """One piece of evidence, decrypted (audit-logged); 410 ``evidence_purged`` once deleted."""
    blob = read_evidence(rt.service, session_id, name, principal.key_id)
    data, mime = blob.data, blob.media_type
    if format == "jpeg" and mime.startswith("image/") and mime != "image/jpeg":
        data, mime = as_jpeg(data), "image/jpeg"
    headers = {
        **_NO_STORE,
        "Content-Disposition": f'inline; filename="{name}"',
        "X-Evidence-SHA256": blob.sha256,
    }
    return Response(data, media_type=mime, headers=headers)


@router.post(
    "/v1/verify/qr",
    responses=problem_responses(401, 403, 413, 415, 422, 429),
    openapi_extra=upload_openapi({"image": "image"}, ["image"], {"image"}),
)
async def verify_qr(request: Request, _p: Checker, rt: RuntimeDep) -> JSONResponse:
    """A photo of a result QR: decoded here, then the token or verify link inside is checked
    (``{valid, reason, kind, session_id, claims}``); 422 ``qr_not_found`` when none is read."""
    up = await read_upload(request, {"image"}, rt.settings.max_image_bytes)
    data = up.one_file("image")

    def run() -> JSONResponse:
        text = decode_qr(data, rt.settings.max_image_pixels)
        return JSONResponse(check_text(rt.service, text))

    return await run_in_threadpool(run)
