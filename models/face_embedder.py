"""Face embedding (SFace, or ArcFace-style with mean/std 127.5) on ONNX Runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.errors import UnsupportedModel
from models.registry import ModelRegistry
from models.session import RuntimeOptions, create_session


class FaceEmbedder:
    """Embeds aligned 112x112 RGB crops into L2-normalised vectors of one model's space."""

    def __init__(
        self, model: bytes, model_id: str, options: RuntimeOptions, preprocessing: Mapping[str, Any]
    ) -> None:
        self.model_id = model_id
        size = tuple(preprocessing.get("input_size", (112, 112)))
        if size != (112, 112):
            raise UnsupportedModel(f"{model_id}: input size {size} is not 112x112")
        order = preprocessing.get("channel_order", "RGB")
        if order not in ("RGB", "BGR"):
            raise UnsupportedModel(f"{model_id}: channel order {order!r}")
        self._bgr = order == "BGR"
        self._mean = float(preprocessing.get("mean", 0.0))
        self._std = float(preprocessing.get("std", 1.0))
        self._session = create_session(model, options)
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        # A fixed batch of 1 (SFace) is run crop by crop; a symbolic batch runs in one call.
        self._batch_one = inp.shape[0] == 1
        out = self._session.get_outputs()[0]
        self._output = out.name
        dim = out.shape[-1]
        if not isinstance(dim, int):
            raise UnsupportedModel(f"{model_id}: output {out.name} has no fixed width")
        self.dim = dim

    def embed(self, aligned_rgb: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB aligned crops to (N, dim) float32 unit vectors."""
        if aligned_rgb.ndim == 3:
            raise ValueError("embed expects a batch (N, 112, 112, 3); use crop[None] for one")
        if aligned_rgb.shape[1:] != (112, 112, 3) or aligned_rgb.dtype != np.uint8:
            raise ValueError("embed expects (N, 112, 112, 3) uint8 RGB")
        x = aligned_rgb[..., ::-1] if self._bgr else aligned_rgb
        blob = (x.transpose(0, 3, 1, 2).astype(np.float32) - self._mean) / self._std
        if len(blob) == 0:
            return np.zeros((0, self.dim), np.float32)
        if self._batch_one:
            feats = np.concatenate(
                [self._session.run([self._output], {self._input: b[None]})[0] for b in blob]
            )
        else:
            feats = self._session.run([self._output], {self._input: blob})[0]
        feats = feats.reshape(len(blob), -1).astype(np.float32)
        norms = np.linalg.norm(feats, axis=1, keepdims=True)
        return feats / np.maximum(norms, 1e-12)


def load_embedder(registry: ModelRegistry, options: RuntimeOptions) -> FaceEmbedder:
    """The registry's face embedder, hash-checked and fixed in memory."""
    entry = registry.get("face_embedder")
    return FaceEmbedder(registry.load_bytes(entry), entry.id, options, entry.preprocessing)
