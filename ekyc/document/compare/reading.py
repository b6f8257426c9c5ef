"""OCR of each text line on the original and, through the same quad, on the aligned copy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ekyc.document.compare.blur import PSF_RADIUS, copy_psf
from ekyc.document.compare.geometry import Line, box_quad, grown, quad_box
from ekyc.document.compare.regions import is_text_line
from ekyc.document.compare.results import Box
from ekyc.document.compare.settings import CompareSettings
from ekyc.document.compare.text import same_text
from models.ocr.base import reading_order


class TextBox(Protocol):  # read-only, as models.ocr.base.TextBox (a frozen dataclass)
    @property
    def quad(self) -> np.ndarray: ...
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` compare needs."""

    def read(self, image_bgr: np.ndarray) -> Sequence[TextBox]: ...

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[TextBox]: ...


def stable_differences(
    ocr: OcrLike,
    original: np.ndarray,
    copy: np.ndarray,
    quads: list[np.ndarray],
    s: CompareSettings,
) -> list[bool]:
    """For lines whose readings differ: does every re-framed re-reading differ too?

    An OCR misreading of an honest copy comes from noise at one framing and tends to vanish
    when the line is cropped a little differently; an edited letter is read the same way at
    every framing."""
    stable = [True] * len(quads)
    for grow in s.reread_grow:
        framed = [grown(q, grow) for q in quads]
        for i, (a, b) in enumerate(
            zip(ocr.read_lines(original, framed), ocr.read_lines(copy, framed), strict=True)
        ):
            stable[i] = stable[i] and not same_text(a.text, b.text)
    return stable


def softened_readings(
    ocr: OcrLike,
    original: np.ndarray,
    o_grey: np.ndarray,
    c_grey: np.ndarray,
    quads: list[np.ndarray],
) -> list[str]:
    """The original's reading of each line after blurring it as the copy is blurred.

    A difference the softened original reproduces is the copy's softness (Giới read Giái on
    a phone photo), not an edit. Each line gets its own kernel (a page's blur varies with
    the perspective), applied to that line only. ``o_grey`` and ``c_grey``: the original
    and the aligned copy in grey, at the original's size."""
    soft = original.copy()
    hh, ww = original.shape[:2]
    r = PSF_RADIUS
    for q in quads:
        kernel = copy_psf(o_grey, c_grey, q)
        if kernel is None:
            continue
        x, y, w, h = quad_box(q)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, ww), min(y + h, hh)
        if x1 <= x0 or y1 <= y0:
            continue
        px0, py0 = max(x0 - r, 0), max(y0 - r, 0)  # the kernel's apron around the line
        patch = original[py0 : min(y1 + r, hh), px0 : min(x1 + r, ww)]
        blurred = cv2.filter2D(patch, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        soft[y0:y1, x0:x1] = blurred[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
    return [box.text for box in ocr.read_lines(soft, quads)]


def text_lines(
    ocr: OcrLike | None, original: np.ndarray, regions: Mapping[str, Box]
) -> tuple[list[Line], dict[int, TextBox]]:
    """The lines to judge as text, and the original's readings by line index.

    No line is read here where it can be helped: only those with some changed ink, or under
    glare, are read later (``ocr_gate_chars``). Named lines are the caller's regions; without
    them the OCR's detector finds the lines (an engine without one reads the whole page)."""
    named = [
        Line(name, b, box_quad(b))
        for name, b in regions.items()
        if is_text_line(name) and b[2] > 0 and b[3] > 0
    ]
    if ocr is None or named:
        return named, {}
    detector = getattr(ocr, "detector", None)
    if detector is not None:
        quads = detector.detect(original)
        ordered = [quads[i] for i in reading_order(quads)]
        return [Line(f"line{i}", quad_box(q), q) for i, q in enumerate(ordered)], {}
    found = [t for t in ocr.read(original) if t.text.strip()]
    lines = [Line(f"line{i}", quad_box(t.quad), t.quad) for i, t in enumerate(found)]
    return lines, dict(enumerate(found))


def copy_line_px(lines: list[Line], copy_to_original: np.ndarray) -> float:
    """The text lines' median height in the copy's own pixels (how finely it was captured)."""
    back = np.linalg.inv(copy_to_original)
    quads = np.stack([ln.quad.reshape(4, 2) for ln in lines]).astype(np.float64)
    q = cv2.perspectiveTransform(quads.reshape(-1, 1, 2), back).reshape(-1, 4, 2)
    heights = (
        np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1)
    ) / 2
    return float(np.median(heights))


@dataclass(frozen=True)
class Reading:
    """Both readings of one line, their confidences, and whether re-reading kept them apart."""

    original: str
    copy: str
    original_conf: float
    copy_conf: float
    stable: bool | None
    explained: bool | None = None  # the original, blurred like the copy, reads as the copy
