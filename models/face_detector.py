"""YuNet face detection on ONNX Runtime: one fixed resize rule, anchor-free decode and NMS."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from models.errors import UnsupportedModel
from models.registry import ModelRegistry
from models.session import RuntimeOptions, create_session

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Detection:
    """One face: box (x, y, w, h) and 5 landmarks in input-image pixels, and its score.

    Landmark order: right eye, left eye, nose tip, right and left mouth corner, where right is
    the subject's right (image left).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a against boxes b (x, y, w, h)."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[0] + a[2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[1] + a[3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[2] * a[3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, top_k: int) -> list[int]:
    """Greedy NMS by descending score; returns kept indices, best first."""
    order = list(np.argsort(-scores, kind="stable")[:top_k])
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if order:
            rest = np.array(order)
            order = [int(j) for j in rest[_iou(boxes[i], boxes[rest]) <= threshold]]
    return keep


class FaceDetector:
    """YuNet detector: longest side scaled to 640, padded to a multiple of 32, boxes mapped back."""

    def __init__(
        self,
        model: bytes,
        model_id: str,
        options: RuntimeOptions,
        *,
        longest_side: int = 640,
        pad_multiple: int = 32,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
    ) -> None:
        self.model_id = model_id
        self.longest_side = longest_side
        self.pad_multiple = pad_multiple
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self._session = create_session(model, options)
        self._input = self._session.get_inputs()[0].name
        names = {o.name for o in self._session.get_outputs()}
        self._outputs = [f"{h}_{s}" for h in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        if not set(self._outputs) <= names:
            raise UnsupportedModel(f"{model_id}: not a YuNet graph (outputs {sorted(names)})")

    def prepare(self, image_bgr: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """The resized, zero-padded network input and the (x, y) factors mapping back."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError("detect expects an (H, W, 3) uint8 BGR image")
        h, w = image_bgr.shape[:2]
        scale = self.longest_side / max(h, w)
        rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
        resized = cv2.resize(image_bgr, (rw, rh), interpolation=cv2.INTER_LINEAR)
        m = self.pad_multiple
        padded = np.zeros((math.ceil(rh / m) * m, math.ceil(rw / m) * m, 3), np.uint8)
        padded[:rh, :rw] = resized
        # Per-axis factors from the rounded size, so rounding does not skew boxes.
        return padded, (w / rw, h / rh)

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Faces in the image, best score first, after NMS, in input-image coordinates."""
        padded, (sx, sy) = self.prepare(image_bgr)
        return [
            Detection(
                box=(d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy),
                landmarks=(d.landmarks * np.array([sx, sy], np.float32)).astype(np.float32),
                score=d.score,
            )
            for d in self.detect_prepared(padded)
        ]

    def detect_prepared(self, padded_bgr: np.ndarray) -> list[Detection]:
        """Run and decode on an already padded network input (coordinates in that input)."""
        ph, pw = padded_bgr.shape[:2]
        blob = padded_bgr.transpose(2, 0, 1)[None].astype(np.float32)
        out = dict(
            zip(self._outputs, self._session.run(self._outputs, {self._input: blob}), strict=True)
        )
        boxes, marks, scores = [], [], []
        for s in STRIDES:
            rows, cols = ph // s, pw // s
            cls = np.clip(out[f"cls_{s}"].reshape(-1), 0, 1)
            obj = np.clip(out[f"obj_{s}"].reshape(-1), 0, 1)
            score = np.sqrt(cls * obj)
            idx = np.nonzero(score >= self.score_threshold)[0]
            if idx.size == 0:
                continue
            r, c = (idx // cols).astype(np.float32), (idx % cols).astype(np.float32)
            bb = out[f"bbox_{s}"].reshape(rows * cols, 4)[idx]
            kp = out[f"kps_{s}"].reshape(rows * cols, 10)[idx].reshape(-1, 5, 2)
            cx, cy = (c + bb[:, 0]) * s, (r + bb[:, 1]) * s
            bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1))
            marks.append((kp + np.stack([c, r], axis=1)[:, None, :]) * s)
            scores.append(score[idx])
        if not boxes:
            return []
        b, k, sc = np.concatenate(boxes), np.concatenate(marks), np.concatenate(scores)
        # OpenCV runs NMS on integer-truncated boxes; do the same so results match it.
        keep = nms(b.astype(np.int32).astype(np.float64), sc, self.nms_threshold, self.top_k)
        return [
            Detection(
                box=tuple(float(v) for v in b[i]),  # type: ignore[arg-type]
                landmarks=k[i].astype(np.float32),
                score=float(sc[i]),
            )
            for i in keep
        ]


def load_detector(
    registry: ModelRegistry, options: RuntimeOptions, score_threshold: float = 0.6
) -> FaceDetector:
    """The registry's face detector, hash-checked and fixed in memory."""
    entry = registry.get("face_detector")
    pre = entry.preprocessing
    if pre.get("decoder", "yunet") != "yunet":
        raise UnsupportedModel(f"{entry.id}: decoder {pre.get('decoder')!r} is not supported")
    return FaceDetector(
        registry.load_bytes(entry),
        entry.id,
        options,
        longest_side=int(pre.get("longest_side", 640)),
        pad_multiple=int(pre.get("pad_multiple", 32)),
        score_threshold=score_threshold,
    )
