"""The copy's blur kernel fitted per text line: camera-shake smear and softness."""

from __future__ import annotations

import numpy as np

from ekyc.document.compare.geometry import grown, quad_box
from ekyc.document.compare.prepare import laplacian_sharpness
from ekyc.document.compare.results import Box

#: half-size of the copy's blur kernel, in original pixels: a smear of up to 15 px (a
#: hand-held phone photo taken with a shaking hand) or a defocus of that diameter
PSF_RADIUS = 7
_PSF_SAMPLES = 6000  # pixels of a line that the kernel is fitted on (plenty for 225 weights)
_SMEAR_MIN_FIT = 0.8  # R² a line's kernel needs to count in the page's smear


def fit_psf(
    o_grey: np.ndarray, c_grey: np.ndarray, box: Box, samples: int
) -> tuple[np.ndarray, float] | None:
    """The blur kernel that turns the original's ``box`` into the aligned copy's, and how
    well it does (R², 1 = the copy is exactly the blurred original), or None.

    Least squares on up to ``samples`` of the box's pixels (copy = original ⊛ kernel + tone
    offset), ridge-regularised, negatives clipped, normalised to sum 1: any blur, not only a
    Gaussian one. The copy's own contrast goes into the kernel's sum, which the normalisation
    removes."""
    r = PSF_RADIUS
    x, y, w, h = box
    hh, ww = o_grey.shape[:2]
    x0, y0, x1, y1 = max(x, r), max(y, r), min(x + w, ww - r), min(y + h, hh - r)
    if x1 - x0 < 16 or y1 - y0 < 8:
        return None
    a = o_grey[y0 - r : y1 + r, x0 - r : x1 + r].astype(np.float32)
    b = c_grey[y0:y1, x0:x1].astype(np.float32)
    if float(a.std()) < 1.0 or float(b.std()) < 1.0:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(a, (2 * r + 1, 2 * r + 1))
    n = min(b.size, samples)
    picked = np.random.default_rng(0).choice(b.size, n, replace=False)  # the same every run
    iy, ix = np.unravel_index(picked, b.shape)
    design = np.hstack([windows[iy, ix].reshape(n, -1), np.ones((n, 1), np.float32)])
    design = design.astype(np.float64)
    target = b[iy, ix].astype(np.float64)
    gram = design.T @ design
    ridge = np.eye(len(gram)) * (1e-2 * np.trace(gram) / len(gram))
    ridge[-1, -1] = 0.0  # the tone offset is not regularised
    weights = np.linalg.solve(gram + ridge, design.T @ target)
    fit = 1.0 - float(np.var(target - design @ weights)) / max(float(np.var(target)), 1e-9)
    kernel = np.clip(weights[:-1].reshape(2 * r + 1, 2 * r + 1), 0.0, None)
    total = float(kernel.sum())
    return ((kernel / total).astype(np.float32), fit) if total > 1e-6 else None


def copy_psf(o_grey: np.ndarray, c_grey: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The copy's blur kernel around one text line (``fit_psf``): a shaking hand smears a
    phone photo along one direction, and the OCR then misreads the copy in ways no isotropic
    blur of the original reproduces (05 read 06)."""
    found = fit_psf(o_grey, c_grey, quad_box(grown(quad, 1.3)), _PSF_SAMPLES)
    return found[0] if found is not None else None


def page_smear_px(o_grey: np.ndarray, c_grey: np.ndarray, boxes: list[Box]) -> float:
    """The median camera-shake smear (``smear_px``) of the page's printed lines, each line's
    kernel fitted on its own (one kernel for the page would also take in how each line sits
    a pixel or two off the page's homography, which reads as a smear across the page).

    Only lines the blurred original explains well count: an edited or removed line fits
    badly and its kernel is noise. With fewer than two such lines there is nothing to
    measure (0)."""
    fits = [fit_psf(o_grey, c_grey, box, _PSF_SAMPLES // 2) for box in boxes]
    smears = [smear_px(k) for k, fit in filter(None, fits) if fit >= _SMEAR_MIN_FIT]
    return float(np.median(smears)) if len(smears) >= 2 else 0.0


def smear_px(kernel: np.ndarray) -> float:
    """How far a kernel smears along its main direction beyond its spread across it: the
    length of the straight camera-shake path that would add that much (a soft focus or a
    photocopier's blur spreads alike in every direction and gives about 0)."""
    if float(kernel.max()) <= 0.0:
        return 0.0
    size = kernel.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    w = kernel.astype(np.float64)
    w[w < 0.2 * w.max()] = 0.0  # the fit's noise floor would spread every kernel alike
    w /= w.sum()
    mx, my = float((w * xs).sum()), float((w * ys).sum())
    cxx = float((w * (xs - mx) ** 2).sum())
    cyy = float((w * (ys - my) ** 2).sum())
    cxy = float((w * (xs - mx) * (ys - my)).sum())
    spread = np.linalg.eigvalsh(np.array([[cxx, cxy], [cxy, cyy]]))
    # a segment of length L has variance L²/12 along itself
    return float(np.sqrt(12.0 * max(spread[1] - spread[0], 0.0)))


def line_sharpness(o_grey: np.ndarray, c_grey: np.ndarray, box: Box) -> float:
    """The aligned copy line's gradient energy over the original's (1 = as sharp)."""
    x, y, w, h = box
    hh, ww = o_grey.shape[:2]
    ys, xs = slice(max(y, 0), min(y + h, hh)), slice(max(x, 0), min(x + w, ww))
    if ys.stop - ys.start < 4 or xs.stop - xs.start < 4:
        return 1.0
    o = laplacian_sharpness(o_grey[ys, xs])
    return laplacian_sharpness(c_grey[ys, xs]) / o if o > 0 else 1.0
