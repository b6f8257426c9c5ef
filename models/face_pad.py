"""Passive presentation-attack detection with MiniFASNet models, fused by averaging softmax.

The crop follows /shared/models/minifasnet/README.md exactly: scaled box clamped to the image,
shifted (never shrunk) at borders, inclusive integer corners, bilinear resize, raw BGR 0-255.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.errors import UnsupportedModel
from models.registry import ModelEntry, ModelRegistry
from models.session import RuntimeOptions, create_session


@dataclass(frozen=True)
class PadScore:
    """Fused class probabilities of the PAD models; ``live`` is the live-class probability."""

    live: float
    probabilities: np.ndarray
    model_id: str


def pad_crop(
    image_bgr: np.ndarray, box: tuple[float, float, float, float], scale: float, size: int = 80
) -> np.ndarray:
    """The face crop one MiniFASNet model expects, resized to size x size (BGR uint8)."""
    H, W = image_bgr.shape[:2]
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError("face box has no area")
    s = min(scale, (H - 1) / h, (W - 1) / w)
    nw, nh = w * s, h * s
    cx, cy = x + w / 2, y + h / 2
    x0, x1, y0, y1 = cx - nw / 2, cx + nw / 2, cy - nh / 2, cy + nh / 2
    if x0 < 0:
        x1, x0 = x1 - x0, 0.0
    if y0 < 0:
        y1, y0 = y1 - y0, 0.0
    if x1 > W - 1:
        x0, x1 = x0 - (x1 - (W - 1)), float(W - 1)
    if y1 > H - 1:
        y0, y1 = y0 - (y1 - (H - 1)), float(H - 1)
    crop = image_bgr[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1]
    return cv2.resize(crop, (size, size))


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


class FacePad:
    """One or more PAD models, each with its own crop scale; probabilities averaged."""

    def __init__(self, models: list[tuple[bytes, ModelEntry]], options: RuntimeOptions) -> None:
        if not models:
            raise UnsupportedModel("FacePad needs at least one model")
        self._nets = []
        for data, entry in models:
            pre = entry.preprocessing
            if pre.get("channel_order", "BGR") != "BGR":
                raise UnsupportedModel(f"{entry.id}: only BGR PAD input is supported")
            size = tuple(pre.get("input_size", (80, 80)))
            if len(size) != 2 or size[0] != size[1]:
                raise UnsupportedModel(f"{entry.id}: input size {size} is not square")
            session = create_session(data, options)
            self._nets.append(
                (
                    session,
                    session.get_inputs()[0].name,
                    float(pre["crop_scale"]),
                    int(size[0]),
                    float(pre.get("mean", 0.0)),
                    float(pre.get("std", 1.0)),
                )
            )
        live = {int(e.preprocessing.get("live_index", 1)) for _, e in models}
        if len(live) != 1:
            raise UnsupportedModel("PAD models disagree on the live class index")
        self.live_index = live.pop()
        self.model_id = "+".join(e.id for _, e in models)

    def score(self, image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> PadScore:
        """Live probability of the face in ``box`` (x, y, w, h) on the full BGR frame."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError("score expects an (H, W, 3) uint8 BGR image")
        probs = []
        for session, name, scale, size, mean, std in self._nets:
            crop = pad_crop(image_bgr, box, scale, size)
            blob = (crop.transpose(2, 0, 1)[None].astype(np.float32) - mean) / std
            probs.append(_softmax(session.run(None, {name: blob})[0][0].astype(np.float64)))
        p = np.mean(probs, axis=0).astype(np.float32)
        return PadScore(live=float(p[self.live_index]), probabilities=p, model_id=self.model_id)


#: MiniFASNet files as minivision distributes them, with the crop scale each was trained on
MINIFASNET_FILES = (
    ("minifasnet_v2_scale2.7_80x80.onnx", 2.7),
    ("minifasnet_v1se_scale4.0_80x80.onnx", 4.0),
)


def register_minifasnet(registry: ModelRegistry, folder: Path, source: str = "minivision") -> bool:
    """Register both MiniFASNet PAD models found in ``folder``; False (nothing registered)
    when either file is missing."""
    if not all((folder / name).is_file() for name, _ in MINIFASNET_FILES):
        return False
    for name, scale in MINIFASNET_FILES:
        registry.add(
            folder / name, "face_pad", "Apache-2.0", source, preprocessing={"crop_scale": scale}
        )
    return True


def load_pad(registry: ModelRegistry, options: RuntimeOptions) -> FacePad | None:
    """Every registered PAD model fused into one scorer, or None when none is registered."""
    entries = registry.all("face_pad")
    if not entries:
        return None
    return FacePad([(registry.load_bytes(e), e) for e in entries], options)
