"""Image preparation: grey, resize, blank check, background flattening, sharpness."""

from __future__ import annotations

import cv2
import numpy as np

from ekyc.document.compare.settings import CompareSettings


def to_grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[..., :3])


def resize_long(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    s = side / max(image.shape[:2])
    if abs(s - 1) < 1e-3:
        return image, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, None, fx=s, fy=s, interpolation=interp), s


def valid_image(image: object) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim in (2, 3)
        and (image.ndim == 2 or image.shape[2] in (1, 3, 4))
        and min(image.shape[:2]) >= 32
        and max(image.shape[:2]) <= 10_000
    )


def is_blank(grey: np.ndarray, s: CompareSettings) -> bool:
    return float(grey.std()) < s.blank_std or float(_ink(grey).mean()) < 5e-4


def paper_background(grey: np.ndarray) -> np.ndarray:
    """The paper's local brightness (uint8): ink closed over, then a wide median."""
    k = max(15, (min(grey.shape) // 20) | 1)
    return cv2.medianBlur(cv2.dilate(grey, np.ones((7, 7), np.uint8)), k)


def normalise_photometric(grey: np.ndarray) -> np.ndarray:
    """Background divided out (paper → 255), denoised: a photocopy and a scan look alike."""
    flat = cv2.divide(grey, np.maximum(paper_background(grey), 1), scale=255)
    return cv2.medianBlur(flat, 3)


def _ink(grey: np.ndarray) -> np.ndarray:
    """Dark ink (bool) of a page: Otsu on the flattened page, clamped to a strict range."""
    flat = normalise_photometric(grey)
    t, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return flat < min(max(t, 90.0), 160.0)


def laplacian_sharpness(grey: np.ndarray) -> float:
    smooth = cv2.GaussianBlur(grey, (3, 3), 0)
    return float(cv2.Laplacian(smooth, cv2.CV_32F).var())


def flatten_bgr(image: np.ndarray) -> np.ndarray:
    """Each channel divided by its local background: glare and uneven light flattened for OCR."""
    out = np.empty_like(image)
    for c in range(3):
        ch = np.ascontiguousarray(image[:, :, c])
        out[:, :, c] = cv2.divide(ch, np.maximum(paper_background(ch), 1), scale=245)
    return out
