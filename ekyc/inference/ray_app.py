"""The Ray Serve application: face, OCR and copy-comparison deployments (and a small ingress).

Every replica builds its models with the local backend's code (``ekyc.inference.local``)
from the model settings it is given, so a call answers what the in-process model would.
Methods run the model in a worker thread (``asyncio.to_thread``): the replica's event loop
stays free to take requests, which is what lets concurrent face embeddings gather into one
batch (``@serve.batch``) while the previous batch runs.

Batching: SFace (the built-in embedder) has a fixed batch of 1 in its ONNX graph, so a batch
of N crops is one call of ``FaceEmbedder.embed`` that runs the graph N times back to back:
it saves the per-request overhead (one thread hand-off, one queue wait), not model compute.
An embedder with a symbolic batch axis runs the N crops in one ONNX Runtime call. Up to
``max_concurrent_batches`` batches run at once (each in its own thread, ONNX Runtime
sessions being thread-safe): with one, a replica's embeddings would use one core however
many it has, slower than unbatched calls, which run side by side. PAD, the
face detector (one image of its own size per call) and OCR are not batched across requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import Counter
from typing import Any

import numpy as np
from ray import serve

from ekyc.inference.config import DeploymentOptions, Kind, deployment_options, model_settings
from ekyc.inference.config import runtime_options as family_options
from ekyc.inference.errors import RemoteFailure
from ekyc.inference.ray_backend import COMPARE, FACE, INGRESS, OCR
from ekyc.settings import Settings


def _where() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _providers(session: Any) -> list[str]:
    return list(session.get_providers()) if session is not None else []


@serve.deployment(name=FACE)
class FaceModels:
    """Detector, embedder (batched) and PAD of the face engine."""

    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        from ekyc.inference.local import build_face

        self.settings = Settings(**config)
        self.options = DeploymentOptions(**options)
        self.engine = build_face(self.settings, family_options(self.settings, "face", self.options))
        self.batching = self.options.max_batch_size > 1
        # this deployment's own batcher (serve.batch over the bound method): its options,
        # max_concurrent_batches included, come from the configuration
        self._embed_batch: Any = serve.batch(
            max_batch_size=self.options.max_batch_size,
            batch_wait_timeout_s=self.options.batch_wait_timeout_s,
            max_concurrent_batches=self.options.max_concurrent_batches,
        )(self._embed_many)
        self.counts: Counter[str] = Counter()
        self.batch_sizes: Counter[int] = Counter()

    async def describe(self) -> dict[str, Any]:
        e = self.engine
        return {
            "detector_id": e.detector.model_id,
            "embedder_id": e.embedder.model_id,
            "dim": e.embedder.dim,
            "pad_id": None if e.pad is None else e.pad.model_id,
            "providers": _providers(getattr(e.embedder, "_session", None)),
            "max_batch_size": self.options.max_batch_size,
            "batch_wait_timeout_s": self.options.batch_wait_timeout_s,
            "max_concurrent_batches": self.options.max_concurrent_batches,
            **_where(),
        }

    async def stats(self) -> dict[str, Any]:
        """Requests, crops, model calls and batch sizes seen by this replica."""
        return {
            **self.counts,
            "batch_sizes": dict(self.batch_sizes),
            "max_batch_size": self.options.max_batch_size,
            **_where(),
        }

    async def detect(self, image_bgr: np.ndarray) -> Any:
        self.counts["detect_calls"] += 1
        try:
            return await asyncio.to_thread(self.engine.detector.detect, image_bgr)
        except Exception as e:
            raise RemoteFailure.of(e) from None

    async def score(self, image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> Any:
        self.counts["pad_calls"] += 1
        pad = self.engine.pad
        try:
            if pad is None:
                raise RuntimeError("no PAD model is registered in the Serve application")
            return await asyncio.to_thread(pad.score, image_bgr, box)
        except Exception as e:
            raise RemoteFailure.of(e) from None

    def _embed_now(self, crops: np.ndarray) -> np.ndarray:
        self.counts["embed_model_calls"] += 1
        self.batch_sizes[len(crops)] += 1
        return self.engine.embedder.embed(crops)

    async def _embed_many(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        out = await asyncio.to_thread(self._embed_now, np.stack(crops))
        return list(out)

    async def embed(self, aligned_rgb: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) crops to (N, dim): each crop joins the replica's next batch."""
        self.counts["embed_requests"] += 1
        try:
            crops = np.asarray(aligned_rgb)
            batchable = (
                self.batching
                and crops.ndim == 4
                and crops.shape[1:] == (112, 112, 3)
                and crops.dtype == np.uint8
                and len(crops) > 0
            )
            self.counts["embed_crops"] += len(crops) if crops.ndim == 4 else 0
            if not batchable:  # batching off, or input the embedder itself must refuse
                return await asyncio.to_thread(self._embed_now, crops)
            rows = await asyncio.gather(*(self._embed_batch(c) for c in crops))
            return np.stack(rows)
        except Exception as e:
            raise RemoteFailure.of(e) from None


@serve.deployment(name=OCR)
class OcrModels:
    """The configured OCR engine (detector + recogniser), as ``LazyOcr`` loads it."""

    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        from ekyc.inference.local import LazyOcr

        settings = Settings(**config)
        opts = DeploymentOptions(**options)
        self.ocr = LazyOcr(
            settings.ocr_engine, settings.ocr_model_dir, family_options(settings, "ocr", opts)
        )
        self.counts: Counter[str] = Counter()
        # loaded now; when it cannot be, every call answers why (as locally)
        with contextlib.suppress(Exception):
            self.ocr()

    async def _run(self, name: str, fn: Any, *args: Any) -> Any:
        self.counts[name] += 1
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as e:
            raise RemoteFailure.of(e) from None

    async def describe(self) -> dict[str, Any]:
        def info() -> dict[str, Any]:
            engine = self.ocr()
            return {"name": engine.name, "has_detector": engine.detector is not None}

        return {**(await self._run("describe", info)), **_where()}

    async def stats(self) -> dict[str, Any]:
        return {**self.counts, **_where()}

    async def read(self, image_bgr: np.ndarray) -> list[Any]:
        return await self._run("read", lambda: self.ocr().read(image_bgr))

    async def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[Any]:
        return await self._run("read_lines", lambda: self.ocr().read_lines(image_bgr, quads))

    async def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        return await self._run("detect", lambda: self.ocr().detector.detect(image_bgr))

    async def second_look(self, image_bgr: np.ndarray, boxes: list[Any]) -> list[Any]:
        def look() -> list[Any]:
            engine_look = getattr(self.ocr(), "second_look", None)
            return list(boxes) if engine_look is None else engine_look(image_bgr, boxes)

        return await self._run("second_look", look)

    async def score_line(
        self, image_bgr: np.ndarray, quad: np.ndarray, texts: list[str]
    ) -> list[float] | None:
        def score() -> list[float] | None:
            engine_score = getattr(self.ocr(), "score_line", None)
            return None if engine_score is None else engine_score(image_bgr, quad, texts)

        return await self._run("score_line", score)


@serve.deployment(name=COMPARE)
class CompareModels:
    """compare_documents with its own OCR engine and face check (``document_comparer``)."""

    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        from ekyc.inference.local import LazyOcr, load_face
        from ekyc.verification.service import document_comparer

        settings = Settings(**config)
        opts = DeploymentOptions(**options)
        face, _ = load_face(settings, family_options(settings, "face", opts))
        ocr = LazyOcr(
            settings.ocr_engine, settings.ocr_model_dir, family_options(settings, "ocr", opts)
        )
        self.comparer = document_comparer(face, ocr)
        self.counts: Counter[str] = Counter()

    async def describe(self) -> dict[str, Any]:
        return {"installed": self.comparer is not None, **_where()}

    async def stats(self) -> dict[str, Any]:
        return {**self.counts, **_where()}

    async def compare(self, originals: list[np.ndarray], copies: list[np.ndarray]) -> Any:
        self.counts["compare_calls"] += 1
        try:
            if self.comparer is None:
                from ekyc.verification.service import CapabilityNotInstalled

                raise CapabilityNotInstalled("document comparison is not installed")
            return await asyncio.to_thread(self.comparer, originals, copies)
        except Exception as e:
            raise RemoteFailure.of(e) from None


@serve.deployment(name=INGRESS, ray_actor_options={"num_cpus": 0})
class Ingress:
    """The application's entry: what each deployment runs and its counters."""

    def __init__(self, face: Any, ocr: Any, compare: Any) -> None:
        self.deployments = {FACE: face, OCR: ocr, COMPARE: compare}

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, handle in self.deployments.items():
            try:
                out[name] = {
                    "describe": await handle.describe.remote(),
                    "stats": await handle.stats.remote(),
                }
            except Exception as e:  # noqa: BLE001 - one broken deployment is itself status
                out[name] = {"error": f"{type(e).__name__}: {e}"}
        return out


def build_app(settings: Settings) -> Any:
    """The bound application, each deployment with its options from the settings."""
    config = model_settings(settings)
    deployments: list[tuple[Any, Kind]] = [
        (FaceModels, "face"),
        (OcrModels, "ocr"),
        (CompareModels, "compare"),
    ]
    bound = []
    for deployment, kind in deployments:
        opts = deployment_options(settings, kind)
        bound.append(deployment.options(**opts.serve_options()).bind(config, opts.model_dump()))
    ingress: Any = Ingress
    return ingress.bind(*bound)


def deploy(settings: Settings) -> Any:
    """Run the application on the connected cluster (Serve started without HTTP proxies:
    callers use handles) and wait until every replica is up; the ingress handle."""
    serve.start(proxy_location="Disabled")
    return serve.run(build_app(settings), name=settings.ray_app_name, route_prefix=None)
