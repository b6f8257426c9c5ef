"""Verification sessions and their steps (kiosk and portal keys drive their own sessions).

Every step takes an idempotency key (``Idempotency-Key`` header or ``client_request_id``):
a repeat returns the stored outcome with ``replayed: true``. Inference runs in the thread
pool (sync routes, or ``run_in_threadpool`` after an upload is parsed), never on the loop.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import (
    DRIVERS,
    READ_ANY,
    IdempotencyDep,
    InflightSlot,
    Principal,
    RuntimeDep,
    SessionId,
    client_request_id,
    own_session,
    require,
    visible_session,
)
from api.observability import step_timer
from api.runtime import Runtime
from api.schemas import (
    FaceMatchRequest,
    ReviewRequest,
    SessionChipRequest,
    SessionCreate,
    SessionOut,
    StepOut,
    problem_responses,
)
from api.uploads import InvalidUpload, read_upload, upload_openapi
from ekyc.store.models import Role
from ekyc.verification.service import StepResponse

router = APIRouter(tags=["sessions"])

Driver = Annotated[Principal, Depends(require(*DRIVERS))]
Reader = Annotated[Principal, Depends(require(*DRIVERS, *READ_ANY))]
Clerk = Annotated[Principal, Depends(require(Role.CLERK))]
_COMMON = (401, 403, 404, 409, 410, 422, 429)
_UPLOAD = (*_COMMON, 413, 415, 501)


def _step_response(rt: Runtime, res: StepResponse) -> JSONResponse:
    if rt.metrics is not None and not res.replayed:
        rt.metrics.sessions.labels(res.session.state.value).inc()
    body = {
        "step": res.outcome.to_json(),
        "session": res.session.to_json(),
        "replayed": res.replayed,
    }
    headers = {"Idempotent-Replayed": "true"} if res.replayed else {}
    return JSONResponse(body, headers=headers)


def _observe(rt: Runtime, step: str) -> AbstractContextManager[Callable[[str], None]]:
    return step_timer(rt.metrics, step)


@router.post(
    "/v1/sessions",
    status_code=201,
    response_model=SessionOut,
    responses=problem_responses(401, 403, 422, 429),
)
def create_session(body: SessionCreate, principal: Driver, rt: RuntimeDep) -> JSONResponse:
    """Open a session for a procedure: id, server nonce (sign it in AA), expiry."""
    ttl = None if body.ttl_seconds is None else dt.timedelta(seconds=body.ttl_seconds)
    view = rt.service.create_session(
        principal.key_id, body.procedure, body.steps, body.callback_url, ttl
    )
    if rt.metrics is not None:
        rt.metrics.sessions.labels(view.state.value).inc()
    return JSONResponse(
        view.to_json(), status_code=201, headers={"Location": f"/v1/sessions/{view.id}"}
    )


@router.get(
    "/v1/sessions/{session_id}", response_model=SessionOut, responses=problem_responses(*_COMMON)
)
def get_session(session_id: SessionId, principal: Reader, rt: RuntimeDep) -> JSONResponse:
    """The session's state, step outcomes and current decision."""
    return JSONResponse(visible_session(rt, principal, session_id).to_json())


@router.post(
    "/v1/sessions/{session_id}/chip",
    response_model=StepOut,
    responses=problem_responses(*_COMMON, 413),
)
def submit_chip(
    session_id: SessionId,
    body: SessionChipRequest,
    principal: Driver,
    rt: RuntimeDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Raw EF.SOD and data groups plus the AA signature over the session nonce."""
    own_session(rt, principal, session_id)
    crid = client_request_id(rt, idem, body.client_request_id)
    with _observe(rt, "chip") as done:
        res = rt.service.submit_chip(session_id, crid, body.file_bytes(), body.signature_bytes())
        done(res.outcome.outcome.value)
    return _step_response(rt, res)


@router.post(
    "/v1/sessions/{session_id}/liveness/challenge",
    status_code=201,
    responses=problem_responses(*_COMMON, 501),
)
def liveness_challenge(session_id: SessionId, principal: Driver, rt: RuntimeDep) -> JSONResponse:
    """A head-movement challenge bound to the session; frame times are ms since receipt."""
    own_session(rt, principal, session_id)
    challenge = rt.service.liveness_challenge(session_id)
    return JSONResponse(challenge.to_json(), status_code=201)


_FRAMES_DOC = upload_openapi(
    {
        "nonce": {"type": "string", "maxLength": 128},
        "frames": "array",
        "timestamps_ms": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "client_request_id": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
    },
    ["nonce", "frames", "timestamps_ms"],
    {"frames"},
)
_NUMBERS = re.compile(r"-?\d+")


def _timestamps(texts: list[str], count: int) -> list[int]:
    joined = " ".join(texts)
    if re.search(r"[^\d\s,\[\]-]", joined):
        raise InvalidUpload("timestamps_ms: integers (milliseconds since the challenge)")
    values = [int(x) for x in _NUMBERS.findall(joined)]
    if len(values) != count or any(v < 0 or v > 10**9 for v in values):
        raise InvalidUpload(f"timestamps_ms: {count} non-negative integers, one per frame")
    return values


@router.post(
    "/v1/sessions/{session_id}/liveness/frames",
    response_model=StepOut,
    responses=problem_responses(*_UPLOAD),
    openapi_extra=_FRAMES_DOC,
)
async def submit_liveness_frames(
    request: Request,
    session_id: SessionId,
    principal: Driver,
    _slot: InflightSlot,
    rt: RuntimeDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Frames (multipart files or JSON base64) with their timestamps, for the challenge."""
    await run_in_threadpool(own_session, rt, principal, session_id)
    up = await read_upload(request, {"frames"}, rt.settings.max_image_bytes)
    frames = up.files.get("frames", [])
    nonce = up.text("nonce")
    if nonce is None or not frames:
        raise InvalidUpload("nonce and at least one frame are required")
    times = _timestamps(up.fields.get("timestamps_ms", []), len(frames))
    crid = client_request_id(rt, idem, up.text("client_request_id"))

    def run() -> StepResponse:
        with _observe(rt, "liveness") as done:
            res = rt.service.submit_liveness_frames(
                session_id, crid, nonce, list(zip(times, frames, strict=True))
            )
            done(res.outcome.outcome.value)
        return res

    return _step_response(rt, await run_in_threadpool(run))


@router.post(
    "/v1/sessions/{session_id}/face-match",
    response_model=StepOut,
    responses=problem_responses(*_COMMON, 501),
)
def face_match(
    session_id: SessionId,
    principal: Driver,
    _slot: InflightSlot,
    rt: RuntimeDep,
    idem: IdempotencyDep,
    body: FaceMatchRequest | None = None,
) -> JSONResponse:
    """The best live frame against the chip portrait."""
    own_session(rt, principal, session_id)
    crid = client_request_id(rt, idem, body.client_request_id if body else None)
    with _observe(rt, "face_match") as done:
        res = rt.service.face_match(session_id, crid)
        done(res.outcome.outcome.value)
    return _step_response(rt, res)


_DOCS_DOC = upload_openapi(
    {
        "original": "array",
        "copy": "array",
        "client_request_id": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
    },
    ["original", "copy"],
    {"original", "copy"},
)


@router.post(
    "/v1/sessions/{session_id}/documents",
    response_model=StepOut,
    responses=problem_responses(*_UPLOAD),
    openapi_extra=_DOCS_DOC,
)
async def submit_documents(
    request: Request,
    session_id: SessionId,
    principal: Driver,
    _slot: InflightSlot,
    rt: RuntimeDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Original and copy page images (multipart files or JSON base64), compared in order."""
    await run_in_threadpool(own_session, rt, principal, session_id)
    up = await read_upload(request, {"original", "copy"}, rt.settings.max_image_bytes)
    crid = client_request_id(rt, idem, up.text("client_request_id"))
    originals, copies = up.files.get("original", []), up.files.get("copy", [])

    def run() -> StepResponse:
        with _observe(rt, "documents") as done:
            res = rt.service.submit_documents(session_id, crid, originals, copies)
            done(res.outcome.outcome.value)
        return res

    return _step_response(rt, await run_in_threadpool(run))


@router.post(
    "/v1/sessions/{session_id}/review",
    response_model=SessionOut,
    responses=problem_responses(*_COMMON),
)
def resolve_review(
    session_id: SessionId, body: ReviewRequest, principal: Clerk, rt: RuntimeDep
) -> JSONResponse:
    """A clerk approves or declines a session waiting for review; the result is signed."""
    visible_session(rt, principal, session_id)
    view = rt.service.resolve_review(session_id, principal.key_id, body.approve, body.note)
    if rt.metrics is not None:
        rt.metrics.sessions.labels(view.state.value).inc()
    return JSONResponse(view.to_json())
