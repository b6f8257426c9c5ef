"""Ink differences: tone-matched, flattened pages compared stroke by stroke."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ekyc.document.compare.prepare import normalise_photometric
from ekyc.document.compare.results import Box, Reason
from ekyc.document.compare.settings import CompareSettings


def _boxes(mask: np.ndarray) -> list[Box]:
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h, _a in stats[1:]]


def _match_tones(source: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``source`` mapped through the monotone curve that gives it ``reference``'s histogram."""
    src_hist = np.bincount(source[valid], minlength=256).astype(np.float64)
    ref_hist = np.bincount(reference[valid], minlength=256).astype(np.float64)
    src_cdf = np.cumsum(src_hist) / max(src_hist.sum(), 1)
    ref_cdf = np.cumsum(ref_hist) / max(ref_hist.sum(), 1)
    lut = np.searchsorted(ref_cdf, src_cdf).clip(0, 255).astype(np.uint8)
    return cv2.LUT(source, lut)


def match_tones_tiled(
    source: np.ndarray, reference: np.ndarray, valid: np.ndarray, tile: int
) -> np.ndarray:
    """Histogram matching per tile (with a half-tile apron), so tone drift across a page,
    uneven light and faded colour inks are matched where they are."""
    out = _match_tones(source, reference, valid)
    h, w = source.shape[:2]
    apron = tile // 2
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            ys = slice(max(y - apron, 0), min(y + tile + apron, h))
            xs = slice(max(x - apron, 0), min(x + tile + apron, w))
            v = valid[ys, xs]
            if v.sum() < tile * tile // 4:
                continue
            matched = _match_tones(source[ys, xs], reference[ys, xs], v)
            iy, ix = y - ys.start, x - xs.start
            out[y : y + tile, x : x + tile] = matched[iy : iy + tile, ix : ix + tile]
    return out


@dataclass(frozen=True)
class _InkDiff:
    removed: np.ndarray  # uint8 0/1, ink of the original missing from the copy
    added: np.ndarray  # uint8 0/1, ink only on the copy
    o_dark: np.ndarray  # original darkness (0 paper .. 255 ink)
    c_dark: np.ndarray  # copy darkness, tone-matched to the original


def _register_lines(
    o_dark: np.ndarray, c_dark: np.ndarray, boxes: list[Box], shift: int
) -> np.ndarray:
    """``c_dark`` with each line moved by the whole-pixel shift (up to ``shift``) that best
    matches the original's line: a page's homography can be a few pixels off at one edge
    (a phone photo's lens, a curled page), which would read as changed strokes."""
    out = c_dark.copy()
    hh, ww = o_dark.shape[:2]
    for x, y, w, h in boxes:
        if w < 8 or h < 8 or x < shift or y < shift or x + w + shift > ww or y + h + shift > hh:
            continue
        template = o_dark[y : y + h, x : x + w]
        if float(template.std()) < 2.0:
            continue  # nothing printed to register on
        around = c_dark[y - shift : y + h + shift, x - shift : x + w + shift]
        score = cv2.matchTemplate(around, template, cv2.TM_CCOEFF_NORMED)
        _, _, _, (dx, dy) = cv2.minMaxLoc(score)
        out[y : y + h, x : x + w] = around[dy : dy + h, dx : dx + w]
    return out


def ink_differences(
    o_grey: np.ndarray,
    c_grey: np.ndarray,
    valid: np.ndarray,
    s: CompareSettings,
    lines: list[Box] | None = None,
) -> _InkDiff:
    # Darkness maps of the flattened pages, lightly blurred so a sharp original and a soft copy
    # meet halfway; the copy's tones matched to the original's per tile. A difference is
    # darkness on one side beyond the darkest of the other side's neighbourhood (the tolerance
    # absorbs misalignment and stroke thickening).
    o_dark = 255 - cv2.GaussianBlur(normalise_photometric(o_grey), (0, 0), 1.0)
    c_dark = 255 - cv2.GaussianBlur(normalise_photometric(c_grey), (0, 0), 1.0)
    mask = valid.astype(bool)
    c_dark = match_tones_tiled(c_dark, o_dark, mask, s.tile_px)
    if lines:
        c_dark = _register_lines(o_dark, c_dark, lines, s.line_shift_px)
    k = np.ones((2 * s.tolerance_px + 1,) * 2, np.uint8)
    added_level = cv2.subtract(c_dark, cv2.dilate(o_dark, k))
    removed_level = cv2.subtract(o_dark, cv2.dilate(c_dark, k))
    removed = ((removed_level > s.ink_delta) & mask).astype(np.uint8)
    added = ((added_level > s.ink_delta) & mask).astype(np.uint8)
    # 1-px slivers along stroke edges are thickening or thinning, not content.
    opener = np.ones((2, 2), np.uint8)
    removed = cv2.morphologyEx(removed, cv2.MORPH_OPEN, opener)
    added = cv2.morphologyEx(added, cv2.MORPH_OPEN, opener)
    return _InkDiff(removed, added, o_dark, c_dark)


def _keep_blobs(m: np.ndarray, min_px: int) -> np.ndarray:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_px)
    return np.isin(labels, big[big > 0]).astype(np.uint8)


def page_differences(
    diff: _InkDiff,
    exclude: np.ndarray,
    glare: np.ndarray,
    s: CompareSettings,
    scores: dict[str, float],
) -> list[tuple[Box, Reason, int]]:
    """Grouped ink differences off the text lines and graphics (stamps, marks, headings);
    ink missing under glare is the glare's doing, not a difference."""
    keep = 1 - exclude
    removed = _keep_blobs(diff.removed & keep & ~glare, s.min_diff_px)
    added = _keep_blobs(diff.added & keep, s.min_diff_px)
    gx, gy = s.group_px
    grouped = cv2.dilate(removed | added, np.ones((gy, gx), np.uint8))
    found: list[tuple[Box, Reason, int]] = []
    for x, y, w, h in _boxes(grouped):
        r = int(removed[y : y + h, x : x + w].sum())
        a = int(added[y : y + h, x : x + w].sum())
        scores["page_blob_max"] = max(scores.get("page_blob_max", 0.0), float(r + a))
        if r + a < s.page_min_box_px:
            continue
        found.append(((x, y, w, h), ink_reason(r, a), r + a))
    return found


def ink_reason(removed: int, added: int) -> Reason:
    if removed > 4 * added:
        return "content_removed"
    if added > 4 * removed:
        return "content_added"
    return "text_changed"


@dataclass(frozen=True)
class Ink:
    """The ink evidence inside one text line."""

    chars: float  # changed ink, in characters (changed px / (0.06 × line height²))
    glare: float  # share of the line under glare on the copy
    clear_loss: float  # share of the original's ink clear of glare that the copy lacks


def line_evidence(box: Box, diff: _InkDiff, glare_map: np.ndarray) -> Ink:
    """The changed ink, glare and ink lost clear of glare inside one line (working pixels)."""
    x, y, w, h = box
    hh, ww = diff.removed.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, ww), min(y + h, hh)
    if x1 <= x0 or y1 <= y0:
        return Ink(0.0, 0.0, 0.0)
    removed = diff.removed[y0:y1, x0:x1].astype(bool)
    glare = glare_map[y0:y1, x0:x1]
    char_px = 0.06 * max(y1 - y0, 8) ** 2
    chars = (int(removed.sum()) + int(diff.added[y0:y1, x0:x1].sum())) / char_px
    clear_ink = (diff.o_dark[y0:y1, x0:x1] > 96) & ~glare
    n_clear = int(clear_ink.sum())
    loss = int((removed & clear_ink).sum()) / n_clear if n_clear >= char_px else 0.0
    return Ink(chars, float(glare.mean()), loss)
