"""What one API process holds: database, service, models, limits, metrics, background jobs.

Built once in the app's lifespan: the trust store and the face models are loaded once per
process, the database is migrated once (safe with several replicas starting together).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from api.observability import Metrics
from api.ratelimit import TokenBuckets
from ekyc.errors import EkycError
from ekyc.icao.trust_store import TrustStore
from ekyc.settings import Settings
from ekyc.store.crypto import Encryptor
from ekyc.store.db import Database
from ekyc.verification.service import CapabilityNotInstalled, VerificationService
from ekyc.verification.webhooks import WebhookSender, deliver_due

if TYPE_CHECKING:
    from ekyc.face.pipeline import FaceEngine

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Rng = Callable[[int], bytes]


@dataclass
class LazyOcr:
    """The configured OCR engine, loaded on first call (CapabilityNotInstalled when missing)."""

    engine: str
    model_dir: Path | None = None
    _loaded: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> Any:
        with self._lock:
            if self._loaded is None:
                try:
                    from models.ocr.factory import load_ocr
                except ImportError as e:
                    raise CapabilityNotInstalled(f"OCR is not installed: {e}") from e
                self._loaded = load_ocr(self.engine, model_dir=self.model_dir)
            return self._loaded


@dataclass
class Runtime:
    """Per-process state shared by every request."""

    settings: Settings
    db: Database
    service: VerificationService
    trust_store: TrustStore
    face: FaceEngine | None
    limiter: TokenBuckets
    metrics: Metrics | None
    clock: Clock
    ocr: LazyOcr
    sender: WebhookSender | None = None
    face_error: str | None = None


def load_face(settings: Settings) -> tuple[FaceEngine | None, str | None]:
    """The face engine from the model registry, or None with the reason it is missing."""
    if not settings.face_models_enabled:
        return None, "face models are disabled (EKYC_FACE_MODELS_ENABLED=false)"
    try:
        from ekyc.face.pipeline import FaceEngine
        from models.registry import default_registry
        from models.session import RuntimeOptions, parse_providers

        registry = default_registry(settings.models_manifest)
        options = RuntimeOptions(
            parse_providers(",".join(settings.onnx_providers)), settings.onnx_threads
        )
        engine = FaceEngine.from_registry(registry, options, settings.face_thresholds)
    except (ImportError, EkycError, OSError, TypeError) as e:
        log.warning("face models not loaded: %s", e)
        return None, str(e)
    return engine, None


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
    if face == "load":
        engine, face_error = load_face(settings)
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
    return Runtime(
        settings=settings,
        db=db,
        service=service,
        trust_store=trust_store,
        face=engine,
        limiter=TokenBuckets(settings.rate_burst_seconds),
        metrics=metrics,
        clock=clock,
        ocr=ocr,
        sender=WebhookSender.from_settings(settings),
        face_error=face_error,
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
