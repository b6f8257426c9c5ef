"""The local backend: the models in this process. Also the one place models are built from
settings, so the Ray deployments (``ekyc.inference.ray_app``) load them with this same code."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ekyc.errors import EkycError

if TYPE_CHECKING:
    from ekyc.face.pipeline import FaceEngine
    from ekyc.inference import Inference
    from ekyc.settings import Settings
    from models.session import RuntimeOptions

log = logging.getLogger(__name__)


@dataclass
class LazyOcr:
    """The configured OCR engine, loaded on first call (CapabilityNotInstalled when missing)."""

    engine: str
    model_dir: Path | None = None
    #: ONNX Runtime options of its sessions (None: load_ocr's default, the CPU, 1 thread)
    options: RuntimeOptions | None = None
    _loaded: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> Any:
        with self._lock:
            if self._loaded is None:
                from ekyc.verification.service import CapabilityNotInstalled

                try:
                    from models.ocr.factory import load_ocr
                except ImportError as e:
                    raise CapabilityNotInstalled(f"OCR is not installed: {e}") from e
                self._loaded = load_ocr(self.engine, self.options, model_dir=self.model_dir)
            return self._loaded


def build_face(settings: Settings, options: RuntimeOptions | None = None) -> FaceEngine:
    """The face engine from the model registry (errors propagate)."""
    from ekyc.face.pipeline import FaceEngine
    from models.registry import default_registry
    from models.session import options_from

    registry = default_registry(settings.models_manifest)
    opts = options or options_from(settings.onnx_providers, settings.onnx_threads)
    return FaceEngine.from_registry(registry, opts, settings.face_thresholds)


def load_face(
    settings: Settings, options: RuntimeOptions | None = None
) -> tuple[FaceEngine | None, str | None]:
    """The face engine from the model registry, or None with the reason it is missing."""
    if not settings.face_models_enabled:
        return None, "face models are disabled (EKYC_FACE_MODELS_ENABLED=false)"
    try:
        engine = build_face(settings, options)
    except (ImportError, EkycError, OSError, TypeError) as e:
        log.warning("face models not loaded: %s", e)
        return None, str(e)
    return engine, None


def open_local(settings: Settings) -> Inference:
    """Face models loaded now, OCR on first use; copies compared by the service's default
    comparer (``document_comparer`` over these two)."""
    from ekyc.inference import Inference

    face, reason = load_face(settings)
    return Inference("local", face, reason, LazyOcr(settings.ocr_engine, settings.ocr_model_dir))
