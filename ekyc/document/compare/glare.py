"""Glare on the copy: bright, washed-out regions where ink cannot be judged."""

from __future__ import annotations

import numpy as np

from ekyc.document.compare.prepare import paper_background
from ekyc.document.compare.settings import CompareSettings


def glare_mask(
    o_grey: np.ndarray, c_grey: np.ndarray, valid: np.ndarray, s: CompareSettings
) -> np.ndarray:
    """Where the aligned copy's paper is much brighter than the original's, beyond the smooth
    (planar) lighting difference of the whole page, and near white: a light reflection."""
    bg_c, bg_o = (paper_background(g).astype(np.float32) for g in (c_grey, o_grey))
    ratio = bg_c / np.maximum(bg_o, 1.0)
    ys, xs = np.nonzero(valid)
    if ys.size < 100:
        return np.zeros_like(valid, bool)
    step = max(1, ys.size // 20000)
    a = np.stack([xs[::step], ys[::step], np.ones_like(xs[::step])], axis=1).astype(np.float64)
    r = ratio[ys[::step], xs[::step]].astype(np.float64)
    keep = np.ones(r.size, bool)
    for _ in range(3):  # refit without the bright outliers, so glare does not lift the plane
        coef, *_ = np.linalg.lstsq(a[keep], r[keep], rcond=None)
        keep = r < (a @ coef) * 1.03
        if keep.sum() < 50:
            break
    yy, xx = np.mgrid[0 : ratio.shape[0], 0 : ratio.shape[1]]
    plane = coef[0] * xx + coef[1] * yy + coef[2]
    # measured in levels: glare saturates the paper, so its ratio is capped near 255 / paper
    excess = bg_c - plane * bg_o
    return (excess > s.glare_excess) & (bg_c >= s.glare_level) & valid.astype(bool)
