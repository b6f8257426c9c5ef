"""PP-OCRv6 text detection (rapidocr's bundled ONNX file) with our own DB post-processing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pyclipper

from models.ocr.assets import load_model
from models.ocr.base import check_image, order_quad
from models.session import RuntimeOptions, create_session

MODEL_ID = "ppocrv6-det-small"


class RapidTextDetector:
    """Finds text lines with PP-OCR's DB detector; longest side limited, no angle classifier."""

    def __init__(
        self,
        options: RuntimeOptions | None = None,
        model_path: Path | None = None,
        *,
        model: bytes | None = None,
        max_side: int = 960,
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        min_size: int = 3,
    ) -> None:
        # ``model``: a deployer's own DB detector (PaddleOCR export), not checked by our manifest
        data = model if model is not None else load_model(MODEL_ID, model_path)
        self.session = create_session(data, options or RuntimeOptions())
        self.input_name = self.session.get_inputs()[0].name
        self.max_side = max_side
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.unclip_ratio = unclip_ratio
        self.min_size = min_size

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        # Never enlarge: upscaling small images costs time and finds nothing new.
        ratio = min(1.0, self.max_side / max(h, w))
        rh = max(32, int(round(h * ratio / 32)) * 32)
        rw = max(32, int(round(w * ratio / 32)) * 32)
        resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_LINEAR)
        x = resized.astype(np.float32) * (2.0 / 255.0) - 1.0  # (x/255 - 0.5) / 0.5
        return x.transpose(2, 0, 1)[None]

    def probability_map(self, image_bgr: np.ndarray) -> np.ndarray:
        """The detector's text probability map at network resolution."""
        x = self._prepare(check_image(image_bgr))
        return np.asarray(self.session.run(None, {self.input_name: x})[0])[0, 0]

    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        """Quads (4, 2) float32 ordered tl, tr, br, bl, in image pixels, one per text line."""
        image = check_image(image_bgr)
        prob = self.probability_map(image)
        return self._boxes(prob, image.shape[1], image.shape[0])

    def _boxes(self, prob: np.ndarray, width: int, height: int) -> list[np.ndarray]:
        mh, mw = prob.shape
        mask = cv2.dilate((prob > self.thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = width / mw, height / mh
        quads: list[np.ndarray] = []
        for contour in contours[:1000]:
            rect = cv2.minAreaRect(contour)
            if min(rect[1]) < self.min_size:
                continue
            box = cv2.boxPoints(rect)
            if _mean_score(prob, box) < self.box_thresh:
                continue
            grown = self._unclip(box)
            if grown is None:
                continue
            rect = cv2.minAreaRect(grown)
            if min(rect[1]) < self.min_size + 2:
                continue
            quad = order_quad(cv2.boxPoints(rect)) * np.array([sx, sy], dtype=np.float32)
            quad[:, 0] = np.clip(np.round(quad[:, 0]), 0, width - 1)
            quad[:, 1] = np.clip(np.round(quad[:, 1]), 0, height - 1)
            if np.linalg.norm(quad[0] - quad[1]) <= 3 or np.linalg.norm(quad[0] - quad[3]) <= 3:
                continue
            quads.append(quad)
        return quads

    def _unclip(self, box: np.ndarray) -> np.ndarray | None:
        # DB shrinks text regions during training; grow them back by area * ratio / perimeter.
        distance = cv2.contourArea(box) * self.unclip_ratio / max(cv2.arcLength(box, True), 1e-6)
        offset = pyclipper.PyclipperOffset()
        offset.AddPath(
            box.astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON
        )
        paths = offset.Execute(distance)
        if len(paths) != 1:
            return None
        return np.array(paths[0], dtype=np.float32).reshape(-1, 1, 2)


def _mean_score(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the box (DB's "fast" score)."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    pts = (box - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])
