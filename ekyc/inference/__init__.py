"""Where the models run, behind the model protocols the domain already uses.

``EKYC_INFERENCE=local`` (the default) loads them in each API process; ``ray`` calls a Ray
Serve application (``ekyc inference serve``) through remote implementations of the face
engine's Detector / Embedder / Pad, of the OCR engine and of the copy comparer, so
``FaceEngine``, card reading and the verification service run the same code either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ekyc.face.pipeline import FaceEngine
    from ekyc.settings import Settings
    from ekyc.verification.service import DocumentComparer

BACKENDS = ("local", "ray")


@dataclass
class Inference:
    """What the API gets from a backend."""

    backend: str
    #: the face engine, or None with ``face_error`` saying why
    face: FaceEngine | None
    face_error: str | None
    #: the OCR engine, loaded (or connected) on first call
    ocr: Callable[[], Any]
    #: the copy comparer; None: the service's default over ``face`` and ``ocr``
    documents: DocumentComparer | None = None
    #: the backend's client (ekyc.inference.ray_backend.RayClient for ray), for stats
    remote: Any = None


def open_inference(settings: Settings) -> Inference:
    """The backend ``settings.inference`` names."""
    if settings.inference == "ray":
        from ekyc.inference.ray_backend import open_ray

        return open_ray(settings)
    from ekyc.inference.local import open_local

    return open_local(settings)
