"""The OCR interface: detectors, recognisers, and the engine that combines them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from models.ocr.errors import InvalidImage

MIN_SIDE = 8
MAX_SIDE = 10_000
SECOND_LOOK_TOP = 0.2  # of a line's height, added above it for ``OcrEngine.second_look``


@dataclass(frozen=True)
class TextBox:
    """One recognised line: its quad (tl, tr, br, bl) in image pixels, text and confidence."""

    quad: np.ndarray
    text: str
    confidence: float


class TextDetector(Protocol):
    """Finds text lines in a BGR image."""

    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        """Quads (4, 2) float32 ordered tl, tr, br, bl, one per text line."""
        ...


class TextRecognizer(Protocol):
    """Reads the text of line crops, all of them in one call so it can batch."""

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence in [0, 1]) for each BGR line crop, in order."""
        ...


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous uint8 BGR array, or InvalidImage."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InvalidImage("expected a uint8 numpy array")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImage(f"unsupported shape {image.shape}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
        raise InvalidImage(f"size {w}x{h} outside {MIN_SIDE}..{MAX_SIDE} px")
    return np.ascontiguousarray(image)


def order_quad(points: np.ndarray) -> np.ndarray:
    """The four points ordered tl, tr, br, bl (as float32)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad's content warped to an upright rectangle (tall crops turned to horizontal)."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w = int(round(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2]))))
    h = int(round(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))))
    w, h = max(w, 1), max(h, 1)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    crop = cv2.warpPerspective(
        image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    # A vertical box is a line written top to bottom; PP-OCR turns these the same way.
    if h >= 1.5 * w:
        crop = np.rot90(crop).copy()
    return crop


def _raised(quad: np.ndarray, fraction: float) -> np.ndarray:
    """An axis-aligned quad with its top raised by ``fraction`` of its height."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2).copy()
    h = float(q[:, 1].max() - q[:, 1].min())
    q[[0, 1], 1] = np.maximum(q[[0, 1], 1] - fraction * h, 0)
    return q


def reading_order(quads: list[np.ndarray]) -> list[int]:
    """Indices of the quads sorted top-to-bottom in rows, then left-to-right within a row."""
    if not quads:
        return []
    cy = [float(np.mean(q[:, 1])) for q in quads]
    hs = [float(np.ptp(q[:, 1])) for q in quads]
    order = sorted(range(len(quads)), key=lambda i: cy[i])
    rows: list[list[int]] = []
    for i in order:
        # Same row when the vertical centres are closer than half the smaller height.
        if rows and abs(cy[i] - cy[rows[-1][0]]) < 0.5 * min(hs[i], hs[rows[-1][0]]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: float(np.min(quads[j][:, 0])))]


class OcrEngine:
    """A detector plus a recogniser: reads whole images or given regions."""

    def __init__(
        self, detector: TextDetector | None, recognizer: TextRecognizer, name: str = "ocr"
    ) -> None:
        self.name = name
        self.detector = detector
        self.recognizer = recognizer

    def read(self, image_bgr: np.ndarray) -> list[TextBox]:
        """Every text line of the image, in reading order."""
        image = check_image(image_bgr)
        if self.detector is None:
            raise NotImplementedError(f"{self.name} has no detector")
        quads = self.detector.detect(image)
        return self.read_lines(image, [quads[i] for i in reading_order(quads)])

    def score_line(
        self, image_bgr: np.ndarray, quad: np.ndarray, texts: list[str]
    ) -> list[float] | None:
        """How well the region supports each reading (log-likelihoods, higher is better), or
        None when the recogniser cannot score readings (not a CTC model, or a long line)."""
        score = getattr(self.recognizer, "score", None)
        if score is None:
            return None
        q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
        result: list[float] | None = score(crop_quad(check_image(image_bgr), q), texts)
        return result

    def second_look(self, image_bgr: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        """The boxes read again in a taller framing (``SECOND_LOOK_TOP`` more above), where
        the stacked tone marks of small print (Ế, Ỗ, Ằ) are not cut or crowded by the box's
        edge; where the two readings differ, the one the frames of both framings support
        best (summed CTC log-likelihoods) is kept. As they are when the recogniser cannot
        score readings."""
        score = getattr(self.recognizer, "score", None)
        if score is None or not boxes:
            return list(boxes)
        image = check_image(image_bgr)
        taller = [crop_quad(image, _raised(b.quad, SECOND_LOOK_TOP)) for b in boxes]
        again = self.recognizer.recognize(taller)
        out = []
        for box, crop, (text, _) in zip(boxes, taller, again, strict=True):
            if text == box.text or not text or "<" in box.text:  # MRZ: its check digits decide
                out.append(box)
                continue
            first = score(crop_quad(image, box.quad), [box.text, text])
            second = score(crop, [box.text, text])
            if first is None or second is None or first[0] + second[0] >= first[1] + second[1]:
                out.append(box)
            else:
                out.append(TextBox(box.quad, text, box.confidence))
        return out

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[TextBox]:
        """The text of the given regions only, in the order given, recognised in one batch."""
        image = check_image(image_bgr)
        qs = [np.asarray(q, dtype=np.float32).reshape(4, 2) for q in quads]
        results = self.recognizer.recognize([crop_quad(image, q) for q in qs])
        return [TextBox(q, t, c) for q, (t, c) in zip(qs, results, strict=True)]
