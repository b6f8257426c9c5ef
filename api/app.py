"""The FastAPI application: verification sessions, signed results, stateless helpers.

Routes stay thin: parse, call ``ekyc``, map the result. Everything a process holds (the
database, the trust store, the face models, the rate-limit buckets) is built once in the
lifespan (``api.runtime``); background jobs deliver webhooks, expire and purge.

The stateless chip helper keeps its own flow: the server chooses every Active
Authentication nonce (``/v1/chip/challenge``); a verify request quotes the challenge id
and the nonce is spent on first use, so a recorded chip answer cannot be replayed. The
challenges are in the database (``ekyc.store.challenges``), so any replica may verify a
challenge another one issued, and only one of them can spend it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, anonymous_limit
from api.errors import (
    BodyLimitMiddleware,
    RequestIdMiddleware,
    install_error_handlers,
    problem,
)
from api.observability import Metrics, ObservabilityMiddleware, configure_logging
from api.pages import install_pages
from api.routes import admin, certified_copy, helpers, results, review, sessions, status
from api.runtime import Runtime, build_runtime, start_jobs, stop_jobs
from api.schemas import (
    ChallengeResponse,
    VerifyRequest,
    VerifyResponse,
    problem_responses,
)
from ekyc.cccd.chip import ChipVerification, verify_chip
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.settings import Settings
from ekyc.store.challenges import CHALLENGE_TTL, ChipChallenges

if TYPE_CHECKING:
    from ekyc.face.pipeline import FaceEngine

Clock = Callable[[], dt.datetime]
Rng = Callable[[int], bytes]

#: routes taking images: their bodies may be up to ``max_upload_bytes``
UPLOAD_PATHS = ("/liveness/frames", "/documents", "/v1/faces/compare", "/v1/ocr/card")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _portrait_jpeg(result: ChipVerification) -> str | None:
    """The DG2 portrait re-encoded as base64 JPEG, or None when absent or undecodable."""
    try:
        image = result.portrait_image()
    except (MalformedData, UnsupportedData):
        return None  # already visible to the client as a DG2 problem in the verification
    if image is None:
        return None
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return base64.b64encode(out.getvalue()).decode("ascii")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    rng: Rng = os.urandom,
    face: FaceEngine | None | str = "load",
) -> FastAPI:
    """Build the API; ``face`` is an engine, None (no face steps) or "load" (from settings)."""
    settings = settings or Settings()
    now = clock or _utcnow
    metrics = Metrics() if settings.metrics_enabled else None
    configure_logging(settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # blocking work (migrations, model loading) off the loop; errors stop startup
        rt: Runtime = await run_in_threadpool(build_runtime, settings, now, rng, face, metrics)
        if metrics is not None:
            metrics.ready.set(1 if rt.face is not None else 0)
        app.state.runtime = rt
        app.state.trust_store = rt.trust_store
        jobs = start_jobs(rt)
        try:
            yield
        finally:
            # graceful: the server has stopped taking requests and drained those in flight
            await stop_jobs(jobs)
            app.state.runtime = None
            if rt.sender is not None:
                rt.sender.close()
            rt.limiter.close()
            rt.db.dispose()

    app = FastAPI(
        title="ekyc",
        summary="Biometric eKYC: verification sessions, signed results, chip/face/document checks",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    def body_limit(path: str) -> int:
        if path == certified_copy.VERIFY_PDF_PATH:
            return settings.max_pdf_bytes
        if any(path.endswith(p) for p in UPLOAD_PATHS):
            return settings.max_upload_bytes
        return settings.max_request_bytes

    # added last = outermost: the request id exists before anything can refuse or log
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes, limit_for=body_limit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
            expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed"],
        )
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware, rng=rng)
    for router in (sessions.router, results.router, status.router, helpers.router, admin.router):
        app.include_router(router)
    app.include_router(review.router)
    app.include_router(certified_copy.router)
    install_pages(app)

    def runtime() -> Runtime | None:
        return getattr(app.state, "runtime", None)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=problem_responses(503))
    def readyz(request: Request) -> Any:
        """Readiness: database and rate-limit store reachable, CSCA trust store and face
        models loaded; ``inference`` says which backend runs the models (and for Ray,
        whether this process has joined the cluster)."""
        rt = runtime()
        cscas = len(rt.trust_store) if rt is not None else 0
        database = rt is not None and rt.db.ping()
        models = rt is not None and (rt.face is not None or not settings.face_models_enabled)
        limits = rt is not None and rt.limiter.ping()
        checks = {
            "database": database,
            "trust_store": cscas > 0,
            "models": models,
            "limits": limits,
        }
        if not all(checks.values()):
            missing = ", ".join(k for k, ok in checks.items() if not ok)
            hint = " (set EKYC_TRUST_STORE)" if cscas == 0 else ""
            return problem(
                request, 503, "not_ready", f"not ready: {missing}{hint}", cscas=cscas, checks=checks
            )
        assert rt is not None
        out: dict[str, Any] = {
            "status": "ready",
            "cscas": cscas,
            "countries": sorted(rt.trust_store.countries),
            "checks": checks,
            "face_engine": rt.face is not None,
        }
        inference = rt.inference
        if inference is not None:
            # not a readiness check: with the Ray cluster down, chip steps, sessions and
            # status pages still work here, and inference answers 503s with Retry-After
            out["inference"] = {"backend": inference.backend}
            if inference.remote is not None:
                out["inference"].update(inference.remote.connection())
        return out

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text exposition (this process's counters)."""
        if metrics is None:
            return Response(status_code=404)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post(
        "/v1/chip/challenge",
        tags=["chip"],
        status_code=201,
        dependencies=[Depends(anonymous_limit)],
        responses=problem_responses(429),
    )
    def chip_challenge(rt: RuntimeDep) -> ChallengeResponse:
        """Issue a single-use Active Authentication nonce for the chip to sign."""
        with rt.db.session() as s:
            c = ChipChallenges(s, rng).issue(now(), CHALLENGE_TTL)
        return ChallengeResponse(
            challenge_id=c.id, nonce=base64.b64encode(c.nonce).decode(), expires_at=c.expires_at
        )

    @app.post(
        "/v1/chip/verify",
        tags=["chip"],
        response_model=VerifyResponse,
        responses=problem_responses(409, 410, 413, 422, 429),
        dependencies=[Depends(anonymous_limit)],
    )
    def chip_verify(
        body: VerifyRequest, rt: RuntimeDep, include_portrait: bool = False
    ) -> JSONResponse:
        """Verify raw chip files (Passive + Active Authentication, DG1/DG13 consistency).

        Any data group DG1 … DG16 may be sent: each is hash-checked against EF.SOD, parsed
        where the service has a parser (DG1, DG2, DG13, DG14, DG15) and otherwise listed in
        ``data_groups`` as present, not parsed. A chip offering Active Authentication (DG15)
        must sign the challenge nonce: without ``aa_signature`` its AA is ``not_performed``
        and the verdict is ``invalid`` (reason ``aa_missing``).
        """
        # spent (committed) before verifying: a failed verification does not give it back
        with rt.db.session() as s:
            nonce = ChipChallenges(s).consume(body.challenge_id, now())
        result = verify_chip(
            body.file_bytes(),
            rt.trust_store,
            now(),
            aa_nonce=nonce,
            aa_signature=body.signature_bytes(),
        )
        out = result.to_dict()
        if include_portrait:
            out["portrait_jpeg"] = _portrait_jpeg(result)
        if metrics is not None:
            metrics.outcomes.labels("chip_verify", out["verdict"]).inc()
        return JSONResponse(out)

    return app


__all__ = ["create_app"]
