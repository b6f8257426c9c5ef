"""Helpers several test suites share (development data from ../shared, never the product's)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
FACES = SHARED / "data" / "faces"
PAD_DIR = SHARED / "models" / "minifasnet"


def read_face(name: str) -> np.ndarray:
    """A development photo (BGR) from ../shared/data/faces."""
    image = cv2.imread(str(FACES / name))
    assert image is not None, name
    return image


def face_engine() -> Any:
    """The bundled detector and embedder, plus the MiniFASNet PAD models when present."""
    from ekyc.face.pipeline import FaceEngine
    from models.face_pad import load_pad, register_minifasnet
    from models.registry import default_registry
    from models.session import RuntimeOptions

    engine = FaceEngine.from_registry()
    reg = default_registry(Path(tempfile.mkdtemp()) / "manifest.json")
    if register_minifasnet(reg, PAD_DIR, "minivision (dev copy)"):
        engine.pad = load_pad(reg, RuntimeOptions())
    return engine
