"""Pictures on the page (portrait, emblem, seal): face comparer, structure and tone levels."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ekyc.document.compare.prepare import to_grey
from ekyc.document.compare.results import Box
from ekyc.document.compare.settings import CompareSettings

#: True when the two portrait crops (BGR) show the same person.
FaceComparer = Callable[[np.ndarray, np.ndarray], bool]


def portrait_score(
    o_bgr: np.ndarray, c_bgr: np.ndarray, box: Box, s: CompareSettings
) -> tuple[float, bool]:
    """How far the copy's portrait is from the original's seen through the copy's tone curve.

    The curve (per channel, or grey for a grey copy) is the median copy level per original
    level over the card around the portrait, so a swapped face of the same shape but another
    skin and background shows up even when a copier changed every tone."""
    x, y, w, h = box
    oh, ow = o_bgr.shape[:2]
    o = cv2.GaussianBlur(o_bgr, (0, 0), 2)
    c = cv2.GaussianBlur(c_bgr, (0, 0), 2)
    near = np.zeros((oh, ow), bool)
    near[max(y - h, 0) : y + 2 * h, max(x - w, 0) : x + 2 * w] = True
    m = int(0.03 * max(oh, ow))
    near[:m] = near[-m:] = False
    near[:, :m] = near[:, -m:] = False
    near[max(y - 6, 0) : y + h + 6, max(x - 6, 0) : x + w + 6] = False
    spread = np.abs(c.astype(np.int16) - c.mean(axis=2, keepdims=True).astype(np.int16))
    colour = float(spread[near].mean()) > s.grey_copy_spread
    o_ch = [o[:, :, i] for i in range(3)] if colour else [to_grey(o)]
    c_ch = [c[:, :, i] for i in range(3)] if colour else [to_grey(c)]
    inner = (slice(y + 8, y + h - 8), slice(x + 8, x + w - 8))
    worst = 0.0
    for a, b in zip(o_ch, c_ch, strict=True):
        levels = a[near].astype(np.int32) // 8
        seen = b[near].astype(np.float32)
        xs, ys = [], []
        for k in range(32):
            sel = seen[levels == k]
            if sel.size >= 30:
                xs.append(k * 8 + 4)
                ys.append(float(np.median(sel)))
        if len(xs) < 2:
            continue
        lut = np.interp(np.arange(256), xs, np.maximum.accumulate(ys)).astype(np.float32)
        pred = cv2.resize(lut[a[inner]], (12, 16), interpolation=cv2.INTER_AREA)
        got = cv2.resize(b[inner].astype(np.float32), (12, 16), interpolation=cv2.INTER_AREA)
        worst = max(worst, float(np.median(np.abs(pred - got))))
    return worst, colour


def structure_ncc(a: np.ndarray, b: np.ndarray) -> float:
    size = (64, 80)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    x = cv2.GaussianBlur(clahe.apply(cv2.resize(to_grey(a), size)), (5, 5), 0).astype(np.float32)
    y = cv2.GaussianBlur(clahe.apply(cv2.resize(to_grey(b), size)), (5, 5), 0).astype(np.float32)
    x -= x.mean()
    y -= y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else 0.0
