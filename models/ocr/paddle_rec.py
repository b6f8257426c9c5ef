"""PaddleOCR models from a deployer's own folder: a PP-OCR recogniser (and optionally a
detector) exported to ONNX (paddle2onnx), run by our ONNX Runtime code, no paddle package.

The folder holds ``rec.onnx``, its character list (``keys.txt``, one character per line, as
PaddleOCR's ``character_dict_path``; or the ``character`` metadata paddle2onnx writes into
the model) and optionally ``det.onnx`` (a DB detector; else the bundled PP-OCR one is used).
Recogniser contract (PaddleOCR's ``CTCLabelDecode`` with ``use_space_char``): input
``x`` float32 [N, 3, 48, W] BGR, (pixel/255 - 0.5)/0.5, right-padded with zeros; output
softmax [N, T, C] with C = 1 (blank, index 0) + len(characters) + 1 (space, last).
These files are the deployer's: their sha256 is logged and named in the engine's id, not
checked against our manifest.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.ocr.errors import EngineUnavailable
from models.session import RuntimeOptions, create_session

log = logging.getLogger(__name__)

HEIGHT = 48
MAX_WIDTH = 3200  # PaddleOCR's own limit on a resized line


@dataclass(frozen=True)
class PaddleFiles:
    """The model bytes and character list read from a deployer's folder."""

    rec: bytes
    characters: list[str]
    det: bytes | None
    sha256: str  # of rec.onnx, names the engine in results


def read_paddle_folder(folder: Path) -> PaddleFiles:
    """``rec.onnx`` (required), ``keys.txt`` and ``det.onnx`` (optional) from ``folder``."""
    rec_path = folder / "rec.onnx"
    if not rec_path.is_file():
        raise EngineUnavailable("paddle", f"no rec.onnx in {folder}")
    rec = rec_path.read_bytes()
    keys = folder / "keys.txt"
    characters = keys.read_text(encoding="utf-8").splitlines() if keys.is_file() else []
    det_path = folder / "det.onnx"
    det = det_path.read_bytes() if det_path.is_file() else None
    digest = hashlib.sha256(rec).hexdigest()
    log.info("paddle OCR models from %s: rec.onnx sha256 %s, detector %s", folder, digest,
             "det.onnx" if det else "bundled")  # fmt: skip
    return PaddleFiles(rec, characters, det, digest)


def to_height(crop_bgr: np.ndarray) -> np.ndarray:
    """The crop at height 48 with its aspect kept (width 16..MAX_WIDTH), BGR."""
    h, w = crop_bgr.shape[:2]
    tw = min(MAX_WIDTH, max(16, int(round(w * HEIGHT / max(h, 1)))))
    interp = cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    if crop_bgr.ndim == 2:
        crop_bgr = cv2.cvtColor(crop_bgr, cv2.COLOR_GRAY2BGR)
    return cv2.resize(crop_bgr, (tw, HEIGHT), interpolation=interp)


def ctc_decode(probs: np.ndarray, labels: list[str]) -> tuple[str, float]:
    """Best-path CTC decode of (T, C) probabilities; confidence = mean kept-frame probability."""
    best = probs.argmax(axis=1)
    peak = probs.max(axis=1)
    chars: list[str] = []
    kept: list[float] = []
    prev = 0
    for idx, p in zip(best.tolist(), peak.tolist(), strict=True):
        if idx != 0 and idx != prev:
            chars.append(labels[idx])
            kept.append(p)
        prev = idx
    return "".join(chars).strip(), float(np.mean(kept)) if kept else 0.0


class PaddleRecognizer:
    """Reads BGR line crops with a PP-OCR recognition model, batched by similar width."""

    def __init__(
        self,
        model: bytes,
        characters: list[str],
        options: RuntimeOptions | None = None,
        *,
        batch_size: int = 16,
    ) -> None:
        self.session = create_session(model, options or RuntimeOptions())
        self.input_name = self.session.get_inputs()[0].name
        if not characters:
            meta = self.session.get_modelmeta().custom_metadata_map.get("character", "")
            characters = meta.split("\n") if meta else []
        classes = self.session.get_outputs()[0].shape[-1]
        self.labels = ["<blank>", *characters, " "]
        if not characters or (isinstance(classes, int) and classes != len(self.labels)):
            raise EngineUnavailable(
                "paddle",
                f"{len(characters)} characters (+ blank + space) for {classes} model outputs:"
                " give the model's own keys.txt",
            )
        self.batch_size = batch_size

    def _run(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        width = max(line.shape[1] for line in lines)
        x = np.zeros((len(lines), 3, HEIGHT, width), np.float32)  # padding is 0 after scaling
        for i, line in enumerate(lines):
            x[i, :, :, : line.shape[1]] = line.transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
        probs = np.asarray(self.session.run(None, {self.input_name: x})[0])
        return [ctc_decode(p, self.labels) for p in probs]

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) per BGR line crop, in order."""
        lines = [to_height(c) for c in crops]
        order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
        out: dict[int, tuple[str, float]] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out.update(zip(batch, self._run([lines[i] for i in batch]), strict=True))
        return [out[i] for i in range(len(lines))]
