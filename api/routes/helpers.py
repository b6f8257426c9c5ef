"""Stateless helpers for portals: face comparison, card OCR, copy-vs-original comparison.

Nothing here is stored. Each helper answers ``capability_not_installed`` (501) when the
engine it needs is not part of this deployment, never a made-up result.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import InflightSlot, Principal, RuntimeDep, require
from api.observability import step_timer
from api.runtime import Runtime
from api.schemas import problem_responses
from api.uploads import InvalidUpload, read_upload, upload_openapi
from ekyc.face.errors import ThresholdNotFound
from ekyc.face.image import decode_image
from ekyc.store.models import Role
from ekyc.verification.service import CapabilityNotInstalled, InvalidInput

router = APIRouter(tags=["helpers"])

Helper = Annotated[Principal, Depends(require(Role.KIOSK, Role.PORTAL, Role.CLERK))]
_ERRORS = problem_responses(401, 403, 413, 415, 422, 429, 501)
_OPERATING_POINT = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def _jsonable(value: Any) -> Any:
    """Dataclasses, tuples and numpy scalars as plain JSON values (arrays are dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in ("heatmap", "image", "quad")
        }
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()  # numpy scalar
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _timed(rt: Runtime, step: str) -> AbstractContextManager[Callable[[str], None]]:
    return step_timer(rt.metrics, step)


@router.post(
    "/v1/faces/compare",
    responses=_ERRORS,
    openapi_extra=upload_openapi(
        {"a": "image", "b": "image", "operating_point": {"type": "string", "maxLength": 32}},
        ["a", "b"],
        {"a", "b"},
    ),
)
async def compare_faces(
    request: Request, _p: Helper, _slot: InflightSlot, rt: RuntimeDep
) -> JSONResponse:
    """Two face images (``a``, ``b``): score, threshold, decision at an operating point."""
    face = rt.face
    if face is None:
        raise CapabilityNotInstalled(f"the face engine is not installed: {rt.face_error}")
    up = await read_upload(request, {"a", "b"}, rt.settings.max_image_bytes)
    a, b = up.one_file("a"), up.one_file("b")
    point = up.text("operating_point")
    if point is not None and not _OPERATING_POINT.match(point):
        raise InvalidUpload("operating_point: e.g. fmr_1e-3")
    limit = rt.settings.max_image_pixels

    def run() -> dict[str, Any]:
        with _timed(rt, "faces_compare") as done:
            fa = face.analyse_bytes(a, "selfie", limit)
            fb = face.analyse_bytes(b, "selfie", limit)
            try:
                m = face.compare(fa, fb, point)
            except ThresholdNotFound as e:
                raise InvalidInput(f"unknown operating point {point!r}") from e
            done(m.decision)
        return {
            "score": m.score,
            "threshold": m.threshold,
            "operating_point": m.operating_point,
            "decision": m.decision,
            "model_id": m.model_id_a,
            "detector_id": face.detector.model_id,
            "extrapolated": m.extrapolated,
        }

    return JSONResponse(await run_in_threadpool(run))


@router.post(
    "/v1/ocr/card",
    responses=_ERRORS,
    openapi_extra=upload_openapi({"image": "image"}, ["image"], {"image"}),
)
async def ocr_card(
    request: Request, _p: Helper, _slot: InflightSlot, rt: RuntimeDep
) -> JSONResponse:
    """A photo of one CCCD side: the printed fields, the MRZ (checked) and the QR payload."""
    try:
        from ekyc.document.fields import read_card
    except ImportError as e:
        raise CapabilityNotInstalled(f"card reading is not installed: {e}") from e
    up = await read_upload(request, {"image"}, rt.settings.max_image_bytes)
    data = up.one_file("image")

    def run() -> dict[str, Any]:
        with _timed(rt, "ocr_card") as done:
            image = decode_image(data, rt.settings.max_image_pixels)
            reading = read_card(image, rt.ocr())
            done("read")
        return dict(_jsonable(reading))

    return JSONResponse(await run_in_threadpool(run))


@router.post(
    "/v1/documents/compare",
    responses=_ERRORS,
    openapi_extra=upload_openapi(
        {"original": "array", "copy": "array"}, ["original", "copy"], {"original", "copy"}
    ),
)
async def compare_documents(
    request: Request, _p: Helper, _slot: InflightSlot, rt: RuntimeDep
) -> JSONResponse:
    """Original and copy pages (in order): MATCH, MISMATCH or UNREADABLE with every difference."""
    comparer = rt.service.documents
    if comparer is None:
        raise CapabilityNotInstalled("document comparison is not installed")
    up = await read_upload(request, {"original", "copy"}, rt.settings.max_image_bytes)
    originals, copies = up.files.get("original", []), up.files.get("copy", [])
    if not originals or not copies or max(len(originals), len(copies)) > 8:
        raise InvalidUpload("between 1 and 8 pages of each are accepted")
    limit = rt.settings.max_image_pixels

    def run() -> dict[str, Any]:
        with _timed(rt, "documents_compare") as done:
            verdict = comparer(
                [decode_image(p, limit) for p in originals],
                [decode_image(p, limit) for p in copies],
            )
            done(str(verdict.verdict).lower())
        return dict(_jsonable(verdict))

    return JSONResponse(await run_in_threadpool(run))
