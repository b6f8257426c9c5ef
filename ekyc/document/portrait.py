"""The portrait check of copy-vs-original through the face capability (same person or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ekyc.face.errors import FaceRejected

if TYPE_CHECKING:
    from ekyc.document.compare import FaceComparer
    from ekyc.face.pipeline import FaceEngine


def _padded(crop: np.ndarray) -> np.ndarray:
    # A card portrait is cropped tight to the head; the detector needs some context around it.
    h, w = crop.shape[:2]
    return cv2.copyMakeBorder(crop, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)


def face_comparer(engine: FaceEngine) -> FaceComparer:
    """(original portrait, copy portrait) → same person; no face found on either → not same."""

    def same(original: np.ndarray, copy: np.ndarray) -> bool:
        a = engine.analyse(_padded(original), role="portrait")
        b = engine.analyse(_padded(copy), role="portrait")
        try:
            # a printed copy's portrait is soft and small: quality is not this check's question
            return engine.compare(a, b, require_quality=False).decision == "match"
        except FaceRejected:
            return False

    return same
