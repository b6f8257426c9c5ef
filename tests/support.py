"""Helpers several test suites share (development data from ../shared, never the product's)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"
FACES = SHARED / "data" / "faces"
PAD_DIR = SHARED / "models" / "minifasnet"
PAD_FILES = (
    ("minifasnet_v2_scale2.7_80x80.onnx", 2.7),
    ("minifasnet_v1se_scale4.0_80x80.onnx", 4.0),
)


def face_engine() -> Any:
    """The bundled detector and embedder, plus the MiniFASNet PAD models when present."""
    from ekyc.face.pipeline import FaceEngine
    from models.face_pad import load_pad
    from models.registry import default_registry
    from models.session import RuntimeOptions

    engine = FaceEngine.from_registry()
    if all((PAD_DIR / name).is_file() for name, _ in PAD_FILES):
        reg = default_registry(Path(tempfile.mkdtemp()) / "manifest.json")
        for name, scale in PAD_FILES:
            reg.add(PAD_DIR / name, "face_pad", "Apache-2.0", "minivision (dev copy)",
                    preprocessing={"crop_scale": scale})  # fmt: skip
        engine.pad = load_pad(reg, RuntimeOptions())
    return engine
