"""Copy vs original: align each page, compare ink and text, and locate every difference.

Per page pair: the copy is registered onto the original (ORB features, ratio test,
RANSAC homography, then ``findTransformECC`` refinement); both are normalised the way a
photocopy needs (grey, background divided out, median denoise, dark-ink threshold) and
their ink compared with a small tolerance, so noise, contrast and 1-px misalignment are not
differences. Strokes missing from the copy are ``content_removed``, strokes only in the
copy ``content_added``, both at once ``text_changed``; with an OCR engine, every line of the
original is read on both images and a differing line reports both strings. A portrait
region (``regions["portrait"]``) is judged by the face comparer when given, else by
structure correlation. Boxes are ``(x, y, w, h)`` in the original page's pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np

from ekyc.document import normalise

Verdict = Literal["MATCH", "MISMATCH", "UNREADABLE"]
Reason = Literal[
    "text_changed",
    "content_removed",
    "content_added",
    "portrait_changed",
    "page_count",
    "different_document",
    "graphic_changed",
]
#: regions compared as pictures (structure correlation), not as ink
GRAPHICS = ("portrait", "emblem", "seal", "chip", "fingerprint")


def _is_graphic(name: str) -> bool:
    return name.split(".")[0] in GRAPHICS


Box = tuple[int, int, int, int]
#: True when the two portrait crops (BGR) show the same person.
FaceComparer = Callable[[np.ndarray, np.ndarray], bool]


class _TextBox(Protocol):
    quad: np.ndarray
    text: str
    confidence: float


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` compare needs."""

    def read(self, image_bgr: np.ndarray) -> Sequence[_TextBox]: ...

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[_TextBox]: ...


@dataclass(frozen=True)
class CompareSettings:
    """Thresholds of the comparison (pixels are at the working scale)."""

    work_side: int = 1400  # long side the pages are compared at
    tolerance_px: int = 1  # ink this close in the other image is not a difference
    ink_delta: int = 60  # darkness (0–255) one side must exceed the other's by
    min_diff_px: int = 18  # a difference blob smaller than this is noise
    min_box_px: int = 40  # a grouped difference smaller than this is noise
    group_px: tuple[int, int] = (15, 7)  # blobs this close (x, y) form one difference
    margin_fraction: float = 0.015  # page border ignored (crop and warp edges)
    min_inliers: int = 20
    min_copy_features: int = 60  # fewer: the copy is too blank or blurry to align
    blank_std: float = 6.0
    blur_ratio: float = 0.12  # copy sharpness / original sharpness below this: too blurry
    portrait_min_ncc: float = 0.55
    graphic_min_ncc: float = 0.5


@dataclass(frozen=True)
class Difference:
    """One located difference: where (page, region name, box), why, and the texts if read."""

    page: int
    region: str
    box: Box
    reason: Reason
    original_text: str | None = None
    copy_text: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class PageResult:
    """The verdict of one page pair, with the heatmap (BGR, original page size)."""

    page: int
    verdict: Verdict
    differences: list[Difference]
    heatmap: np.ndarray
    why: str | None = None  # reason code when UNREADABLE
    homography: np.ndarray | None = None  # copy → original page pixels


@dataclass(frozen=True)
class CopyVerdict:
    """The overall verdict, every difference, and a heatmap per page."""

    verdict: Verdict
    differences: list[Difference]
    pages: list[PageResult] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    @property
    def heatmaps(self) -> list[np.ndarray]:
        return [p.heatmap for p in self.pages]

    @property
    def heatmap(self) -> np.ndarray:
        """All page heatmaps stacked top to bottom at the first page's width."""
        if not self.pages:
            return np.zeros((1, 1, 3), np.uint8)
        width = self.pages[0].heatmap.shape[1]
        rows = []
        for p in self.pages:
            h, w = p.heatmap.shape[:2]
            rows.append(cv2.resize(p.heatmap, (width, max(1, round(h * width / w)))))
        return np.vstack(rows)


# --- preparation ------------------------------------------------------------------------------


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., :3]


def _resize_long(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    s = side / max(image.shape[:2])
    if abs(s - 1) < 1e-3:
        return image, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, None, fx=s, fy=s, interpolation=interp), s


def _valid_image(image: object) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim in (2, 3)
        and min(image.shape[:2]) >= 32
    )


def _is_blank(grey: np.ndarray, s: CompareSettings) -> bool:
    return float(grey.std()) < s.blank_std or float(_ink(grey).mean()) < 5e-4


def normalise_photometric(grey: np.ndarray) -> np.ndarray:
    """Background divided out (paper → 255), denoised: a photocopy and a scan look alike."""
    k = max(15, (min(grey.shape) // 20) | 1)
    background = cv2.medianBlur(cv2.dilate(grey, np.ones((7, 7), np.uint8)), k)
    flat = cv2.divide(grey, np.maximum(background, 1), scale=255)
    return cv2.medianBlur(flat, 3)


def _ink(grey: np.ndarray) -> np.ndarray:
    """Dark ink (bool) of a page: Otsu on the flattened page, clamped to a strict range."""
    return _ink_levels(normalise_photometric(grey))[0]


def _ink_levels(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(surely ink, not surely paper) of a flattened page; the band between is undecided."""
    t, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = min(max(t, 90.0), 160.0)
    return flat < dark, flat < 215


def _sharpness(grey: np.ndarray) -> float:
    smooth = cv2.GaussianBlur(grey, (3, 3), 0)
    return float(cv2.Laplacian(smooth, cv2.CV_32F).var())


# --- alignment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alignment:
    homography: np.ndarray | None  # copy (work scale) → original (work scale)
    why: str | None  # set when homography is None


def _features(grey: np.ndarray) -> tuple[list[cv2.KeyPoint], np.ndarray | None]:
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    # ORB: in every OpenCV build (AKAZE left the main module in OpenCV 5), binary and fast.
    detector = cv2.ORB_create(nfeatures=6000, scaleFactor=1.2, nlevels=8, fastThreshold=10)
    kp, desc = detector.detectAndCompute(clahe.apply(grey), None)
    return list(kp), desc


def align(original: np.ndarray, copy: np.ndarray, s: CompareSettings) -> _Alignment:
    """Homography taking the copy onto the original (both grey, work scale), refined by ECC."""
    kp_o, d_o = _features(original)
    kp_c, d_c = _features(copy)
    if d_c is None or len(kp_c) < s.min_copy_features:
        return _Alignment(None, "too_few_features")
    if d_o is None or len(kp_o) < s.min_copy_features:
        return _Alignment(None, "original_unreadable")
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(d_c, d_o, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < s.min_inliers:
        return _Alignment(None, "different_document")
    src = np.float32([kp_c[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
    dst = np.float32([kp_o[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 4.0, maxIters=5000, confidence=0.999)
    if h is None or inliers is None or int(inliers.sum()) < s.min_inliers:
        return _Alignment(None, "different_document")
    if not _plausible(h, copy.shape, original.shape):
        return _Alignment(None, "alignment_failed")
    return _Alignment(_refine_ecc(original, copy, h), None)


def _plausible(h: np.ndarray, copy_shape: tuple[int, ...], orig_shape: tuple[int, ...]) -> bool:
    """The copy's page maps to a convex quad of sane size over the original."""
    ch, cw = copy_shape[:2]
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(corners, h).reshape(4, 2)
    if not cv2.isContourConvex(mapped.reshape(-1, 1, 2).astype(np.float32)):
        return False
    area = abs(cv2.contourArea(mapped))
    return 0.2 * orig_shape[0] * orig_shape[1] < area < 50 * orig_shape[0] * orig_shape[1]


def _refine_ecc(original: np.ndarray, copy: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Sub-pixel refinement of ``h`` by ECC at half scale; ``h`` unchanged if ECC fails."""
    oh, ow = original.shape[:2]
    warped = cv2.warpPerspective(
        copy, h, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    half = 0.5
    a = cv2.GaussianBlur(cv2.resize(original, None, fx=half, fy=half), (5, 5), 0)
    b = cv2.GaussianBlur(cv2.resize(warped, None, fx=half, fy=half), (5, 5), 0)
    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        _, warp = cv2.findTransformECC(
            a.astype(np.float32),
            b.astype(np.float32),
            warp,
            cv2.MOTION_HOMOGRAPHY,
            criteria,
            None,
            5,
        )
    except cv2.error:
        return h
    scale = np.diag([half, half, 1.0])
    # ECC's warp maps original (half) → warped copy (half); invert to go copy → original.
    refine = np.linalg.inv(scale) @ warp.astype(np.float64) @ scale
    if np.abs(refine[:2, 2]).max() > 8 or np.abs(refine[:2, :2] - np.eye(2)).max() > 0.02:
        return h  # ECC wandered off; keep the feature alignment
    return np.linalg.inv(refine) @ h


# --- differences ------------------------------------------------------------------------------


def _boxes(mask: np.ndarray, min_px: int) -> list[tuple[Box, int]]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [
        ((int(x), int(y), int(w), int(h)), int(a)) for x, y, w, h, a in stats[1:] if a >= min_px
    ]


def _match_tones(source: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``source`` mapped through the monotone curve that gives it ``reference``'s histogram."""
    src_hist = np.bincount(source[valid], minlength=256).astype(np.float64)
    ref_hist = np.bincount(reference[valid], minlength=256).astype(np.float64)
    src_cdf = np.cumsum(src_hist) / max(src_hist.sum(), 1)
    ref_cdf = np.cumsum(ref_hist) / max(ref_hist.sum(), 1)
    lut = np.searchsorted(ref_cdf, src_cdf).clip(0, 255).astype(np.uint8)
    return cv2.LUT(source, lut)


def _ink_differences(
    o_flat: np.ndarray, c_flat: np.ndarray, valid: np.ndarray, s: CompareSettings
) -> tuple[list[tuple[Box, Reason, int]], np.ndarray]:
    # Darkness maps, lightly blurred so a sharp original and a soft copy meet halfway; the
    # copy's tones are matched to the original's (a copier's contrast and grey are not
    # differences). A difference is darkness on one side beyond the darkest of the other
    # side's neighbourhood (the tolerance absorbs misalignment and stroke thickening).
    o_dark = 255 - cv2.GaussianBlur(o_flat, (0, 0), 1.0)
    c_dark = 255 - cv2.GaussianBlur(c_flat, (0, 0), 1.0)
    mask = valid.astype(bool)
    c_dark = _match_tones(c_dark, o_dark, mask)
    k = np.ones((2 * s.tolerance_px + 1,) * 2, np.uint8)
    added_level = cv2.subtract(c_dark, cv2.dilate(o_dark, k))
    removed_level = cv2.subtract(o_dark, cv2.dilate(c_dark, k))
    removed = ((removed_level > s.ink_delta) & mask).astype(np.uint8)
    added = ((added_level > s.ink_delta) & mask).astype(np.uint8)
    # 1-px slivers along stroke edges are thickening or thinning, not content.
    opener = np.ones((2, 2), np.uint8)
    removed = cv2.morphologyEx(removed, cv2.MORPH_OPEN, opener)
    added = cv2.morphologyEx(added, cv2.MORPH_OPEN, opener)
    keep = np.zeros_like(removed)
    for m in (removed, added):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= s.min_diff_px)
        big = big[big > 0]
        keep |= np.isin(labels, big).astype(np.uint8)
    removed &= keep
    added &= keep
    gx, gy = s.group_px
    grouped = cv2.dilate(removed | added, np.ones((gy, gx), np.uint8))
    found: list[tuple[Box, Reason, int]] = []
    for (x, y, w, h), _ in _boxes(grouped, 1):
        r = int(removed[y : y + h, x : x + w].sum())
        a = int(added[y : y + h, x : x + w].sum())
        if r + a < s.min_box_px:
            continue
        reason: Reason
        if r > 4 * a:
            reason = "content_removed"
        elif a > 4 * r:
            reason = "content_added"
        else:
            reason = "text_changed"
        found.append(((x, y, w, h), reason, r + a))
    return found, (removed | added).astype(bool)


def _structure_ncc(a: np.ndarray, b: np.ndarray) -> float:
    size = (64, 80)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    x = cv2.GaussianBlur(clahe.apply(cv2.resize(_grey(a), size)), (5, 5), 0).astype(np.float32)
    y = cv2.GaussianBlur(clahe.apply(cv2.resize(_grey(b), size)), (5, 5), 0).astype(np.float32)
    x -= x.mean()
    y -= y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else 0.0


def _overlap(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _region_of(box: Box, regions: Mapping[str, Box]) -> str:
    best = max(regions.items(), key=lambda kv: _overlap(box, kv[1]), default=None)
    return best[0] if best is not None and _overlap(box, best[1]) > 0 else "page"


def _scale_box(box: Box, f: float) -> Box:
    return (round(box[0] * f), round(box[1] * f), round(box[2] * f), round(box[3] * f))


def _quad_box(quad: np.ndarray) -> Box:
    q = np.asarray(quad, np.float32).reshape(-1, 2)
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _heatmap(copy_aligned: np.ndarray, diff: np.ndarray, boxes: list[Box]) -> np.ndarray:
    base = cv2.cvtColor(_grey(copy_aligned), cv2.COLOR_GRAY2BGR)
    hot = cv2.dilate(diff.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    out = base.copy()
    out[hot] = (0.35 * base[hot] + 0.65 * np.array([0, 0, 255])).astype(np.uint8)
    for x, y, w, h in boxes:
        cv2.rectangle(out, (x - 2, y - 2), (x + w + 2, y + h + 2), (0, 0, 255), 2)
    return out


def _unreadable(page: int, why: str, shape: tuple[int, ...], image: object) -> PageResult:
    heat = _bgr(image) if _valid_image(image) else np.zeros((*shape[:2], 3), np.uint8)
    return PageResult(page, "UNREADABLE", [], heat.copy(), why)


def _ocr_lines(ocr: OcrLike, original: np.ndarray, copy: np.ndarray) -> list[tuple[Box, str, str]]:
    """(box, original text, copy text) for each line of the original whose text differs."""
    lines = [b for b in ocr.read(original) if b.text.strip()]
    if not lines:
        return []
    read = ocr.read_lines(copy, [b.quad for b in lines])
    out = []
    for o, c in zip(lines, read, strict=True):
        if normalise.text(o.text) != normalise.text(c.text):
            out.append((_quad_box(o.quad), o.text, c.text))
    return out


def compare_page(
    original: np.ndarray,
    copy: np.ndarray,
    *,
    page: int = 0,
    ocr: OcrLike | None = None,
    face: FaceComparer | None = None,
    regions: Mapping[str, Box] | None = None,
    settings: CompareSettings | None = None,
) -> PageResult:
    """Compare one copy page with its original page (see the module docstring)."""
    s = settings or CompareSettings()
    regions = dict(regions or {})
    if not _valid_image(original):
        return _unreadable(page, "original_invalid", (1, 1), copy)
    if not _valid_image(copy):
        return _unreadable(page, "copy_invalid", original.shape, original)
    oh, ow = original.shape[:2]
    o_work, f = _resize_long(_grey(original), min(s.work_side, max(oh, ow)))
    c_work, fc = _resize_long(_grey(copy), int(max(o_work.shape) * 1.25))
    if _is_blank(c_work, s):
        return _unreadable(page, "blank_page", original.shape, copy)
    if _is_blank(o_work, s):
        return _unreadable(page, "original_blank", original.shape, copy)
    al = align(o_work, c_work, s)
    if al.homography is None:
        assert al.why is not None
        if al.why == "different_document":
            heat = _bgr(original).copy()
            whole = Difference(page, "page", (0, 0, ow, oh), "different_document")
            return PageResult(page, "MISMATCH", [whole], heat, None)
        return _unreadable(page, al.why, original.shape, copy)
    wh, ww = o_work.shape[:2]
    aligned = cv2.warpPerspective(
        c_work, al.homography, (ww, wh), flags=cv2.INTER_LINEAR, borderValue=255
    )
    covered = (
        cv2.warpPerspective(
            np.full_like(c_work, 255), al.homography, (ww, wh), flags=cv2.INTER_NEAREST
        )
        > 0
    )
    if _sharpness(aligned) < s.blur_ratio * _sharpness(o_work):
        return _unreadable(page, "too_blurry", original.shape, copy)
    m = int(s.margin_fraction * max(wh, ww))
    valid = np.zeros((wh, ww), np.uint8)
    valid[m : wh - m, m : ww - m] = 1
    valid &= cv2.erode(covered.astype(np.uint8), np.ones((9, 9), np.uint8))
    work_regions = {k: _scale_box(b, f) for k, b in regions.items()}
    for name, (x, y, w, h) in work_regions.items():
        if _is_graphic(name):
            valid[max(y - 4, 0) : y + h + 4, max(x - 4, 0) : x + w + 4] = 0
    found, diff = _ink_differences(
        normalise_photometric(o_work), normalise_photometric(aligned), valid, s
    )
    back = 1.0 / f
    differences = [
        Difference(page, _region_of(_scale_box(b, back), regions), _scale_box(b, back), r, score=n)
        for b, r, n in found
    ]
    copy_full = cv2.warpPerspective(
        _bgr(copy),
        np.diag([back, back, 1.0]) @ al.homography @ np.diag([fc, fc, 1.0]),
        (ow, oh),
        flags=cv2.INTER_LINEAR,
        borderValue=(255, 255, 255),
    )
    if ocr is not None:
        differences = _merge_text(
            differences, _ocr_lines(ocr, _bgr(original), copy_full), page, regions
        )
    for name, (x, y, w, h) in regions.items():
        if not _is_graphic(name):
            continue
        o_p, c_p = _bgr(original)[y : y + h, x : x + w], copy_full[y : y + h, x : x + w]
        ncc = _structure_ncc(o_p, c_p)
        if name == "portrait":
            same = face(o_p, c_p) if face is not None else ncc >= s.portrait_min_ncc
            if not same:
                differences.append(
                    Difference(page, name, (x, y, w, h), "portrait_changed", score=ncc)
                )
        elif ncc < s.graphic_min_ncc:
            differences.append(Difference(page, name, (x, y, w, h), "graphic_changed", score=ncc))
    diff_full = cv2.resize(diff.astype(np.uint8), (ow, oh), interpolation=cv2.INTER_NEAREST)
    heat = _heatmap(copy_full, diff_full.astype(bool), [d.box for d in differences])
    verdict: Verdict = "MISMATCH" if differences else "MATCH"
    h_full = np.diag([back, back, 1.0]) @ al.homography @ np.diag([fc, fc, 1.0])
    return PageResult(page, verdict, differences, heat, None, h_full)


def _merge_text(
    differences: list[Difference],
    lines: list[tuple[Box, str, str]],
    page: int,
    regions: Mapping[str, Box],
) -> list[Difference]:
    """Attach OCR strings to pixel differences on a differing line; keep OCR-only lines too."""
    out = list(differences)
    for box, o_text, c_text in lines:
        hits = [
            i
            for i, d in enumerate(out)
            if _overlap(d.box, box) > 0 and d.reason not in ("portrait_changed",)
        ]
        if hits:
            for i in hits:
                d = out[i]
                out[i] = Difference(page, d.region, d.box, "text_changed", o_text, c_text, d.score)
        else:
            out.append(
                Difference(page, _region_of(box, regions), box, "text_changed", o_text, c_text)
            )
    return out


def compare_documents(
    original_pages: Sequence[np.ndarray],
    copy_pages: Sequence[np.ndarray],
    ocr: OcrLike | None = None,
    face: FaceComparer | None = None,
    *,
    regions: Mapping[str, Box] | Sequence[Mapping[str, Box]] | None = None,
    settings: CompareSettings | None = None,
) -> CopyVerdict:
    """Compare copy pages with original pages, paired in order; any difference → MISMATCH."""
    per_page: list[Mapping[str, Box]]
    if regions is None:
        per_page = [{}] * len(original_pages)
    elif isinstance(regions, Mapping):
        per_page = [regions] * len(original_pages)
    else:
        per_page = list(regions) + [{}] * max(0, len(original_pages) - len(regions))
    pages = [
        compare_page(o, c, page=i, ocr=ocr, face=face, regions=per_page[i], settings=settings)
        for i, (o, c) in enumerate(zip(original_pages, copy_pages, strict=False))
    ]
    differences = [d for p in pages for d in p.differences]
    why = [f"page {p.page}: {p.why}" for p in pages if p.why]
    if len(original_pages) != len(copy_pages):
        n = min(len(original_pages), len(copy_pages))
        differences.append(
            Difference(
                n,
                "page",
                (0, 0, 0, 0),
                "page_count",
                str(len(original_pages)),
                str(len(copy_pages)),
            )
        )
    if not original_pages or not copy_pages:
        why.append("no pages")
    verdict: Verdict
    if differences:
        verdict = "MISMATCH"
    elif why:
        verdict = "UNREADABLE"
    else:
        verdict = "MATCH"
    return CopyVerdict(verdict, differences, pages, why)
