"""Boxes and quads of text lines in the original page's pixels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ekyc.document.compare.results import Box


@dataclass(frozen=True)
class Line:
    region: str
    box: Box  # original page pixels
    quad: np.ndarray  # original page pixels


def box_quad(box: Box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def quad_box(quad: np.ndarray) -> Box:
    q = np.asarray(quad, np.float32).reshape(-1, 2)
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def grown(quad: np.ndarray, grow: float) -> np.ndarray:
    """The quad enlarged about its centre: height by ``grow``, width by the same margin."""
    q = np.asarray(quad, np.float32).reshape(4, 2)
    centre = q.mean(axis=0)
    height = float(np.linalg.norm(q[3] - q[0]))
    width = float(np.linalg.norm(q[1] - q[0]))
    margin = (grow - 1.0) * height
    scale = np.array([(width + margin) / max(width, 1.0), grow], np.float32)
    return ((q - centre) * scale + centre).astype(np.float32)


def _overlap(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def region_of(box: Box, regions: Mapping[str, Box]) -> str:
    best = max(regions.items(), key=lambda kv: _overlap(box, kv[1]), default=None)
    return best[0] if best is not None and _overlap(box, best[1]) > 0 else "page"


def scale_box(box: Box, f: float) -> Box:
    return (round(box[0] * f), round(box[1] * f), round(box[2] * f), round(box[3] * f))
