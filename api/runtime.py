"""What one API process holds: database, service, models, limits, metrics, background jobs.

Built once in the app's lifespan: the trust store and the face models are loaded once per
process, the database is migrated once (safe with several replicas starting together).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from api.observability import Metrics
from api.ratelimit import Limiter
from ekyc.icao.trust_store import TrustStore
from ekyc.inference import Inference, open_inference

# where they lived before the inference backends (ekyc.inference); still imported from here
from ekyc.inference.local import LazyOcr as LazyOcr
from ekyc.inference.local import load_face as load_face
from ekyc.settings import Settings
from ekyc.store.crypto import Encryptor
from ekyc.store.db import Database
from ekyc.verification.service import VerificationService
from ekyc.verification.webhooks import WebhookSender, deliver_due

if TYPE_CHECKING:
    from ekyc.face.pipeline import FaceEngine

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Rng = Callable[[int], bytes]


@dataclass
class Runtime:
    """Per-process state shared by every request."""

    settings: Settings
    db: Database
    service: VerificationService
    trust_store: TrustStore
    face: FaceEngine | None
    limiter: Limiter
    metrics: Metrics | None
    clock: Clock
    ocr: Callable[[], Any]  # the OCR engine on first call (LazyOcr, or the Ray backend's)
    sender: WebhookSender | None = None
    face_error: str | None = None
    inference: Inference | None = None  # the backend the models come from (None: given)


def build_runtime(
    settings: Settings,
    clock: Clock,
    rng: Rng = os.urandom,
    face: FaceEngine | None | str = "load",
    metrics: Metrics | None = None,
) -> Runtime:
    """Open the database (migrated), load trust store and models, build the service."""
    trust_store = TrustStore.load(*settings.trust_store)  # TrustStoreError stops startup
    db = Database(settings.database_url)
    db.migrate()
    face_error: str | None = None
    inference: Inference | None = None
    ocr: Callable[[], Any]
    if face == "load":  # EKYC_INFERENCE: the models in this process, or on Ray Serve
        inference = open_inference(settings)
        engine, face_error, ocr = inference.face, inference.face_error, inference.ocr
    else:
        engine = face if not isinstance(face, str) else None
        ocr = LazyOcr(settings.ocr_engine, settings.ocr_model_dir)
    service = VerificationService.from_settings(
        settings,
        db,
        Encryptor.from_settings(settings, rng),
        trust_store=trust_store,
        face=engine,
        clock=clock,
        rng=rng,
        ocr=ocr,
    )
    service.max_image_pixels = settings.max_image_pixels
    if inference is not None and inference.documents is not None:
        service.documents = inference.documents
    return Runtime(
        settings=settings,
        db=db,
        service=service,
        trust_store=trust_store,
        face=engine,
        limiter=Limiter(
            settings.rate_limit_storage,
            settings.rate_burst_seconds,
            settings.inflight_slot_ttl_seconds,
        ),
        metrics=metrics,
        clock=clock,
        ocr=ocr,
        sender=WebhookSender.from_settings(settings),
        face_error=face_error,
        inference=inference,
    )


async def _every(seconds: float, job: str, fn: Callable[[], object], rt: Runtime) -> None:
    """Run ``fn`` in the thread pool every ``seconds`` until cancelled; failures are logged."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(fn)
        except Exception as e:  # noqa: BLE001 - a periodic job must outlive one failed pass
            log.exception("background job %s failed", job, exc_info=e)
            result = "error"
        else:
            result = "ok"
        if rt.metrics is not None:
            rt.metrics.background.labels(job, result).inc()


def start_jobs(rt: Runtime) -> list[asyncio.Task[None]]:
    """Webhook delivery, expiry sweep and evidence purge on their intervals."""
    s = rt.settings
    if not s.background_jobs:
        return []
    jobs: list[tuple[float, str, Callable[[], object]]] = [
        (s.expiry_interval_seconds, "expire", rt.service.expire_due),
        (s.purge_interval_seconds, "purge", rt.service.purge),
    ]
    sender = rt.sender
    if sender is not None:
        jobs.append(
            (s.webhook_interval_seconds, "webhooks", lambda: deliver_due(rt.db, sender, rt.clock()))
        )
    return [asyncio.create_task(_every(sec, name, fn, rt)) for sec, name, fn in jobs if sec > 0]


async def stop_jobs(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the jobs and wait for a pass in flight to end."""
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
