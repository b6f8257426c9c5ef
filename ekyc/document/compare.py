"""Copy vs original: align each page, read every text line on both, and locate every difference.

Per page pair the copy is registered onto the original (ORB features, ratio test, RANSAC
homography, then ``findTransformECC`` refinement) and warped into the original's pixels.

Text lines (the caller's regions, one box per printed line, e.g. ``card_regions``; else the OCR
detector's lines on the original) are judged by OCR first: each line is read on the original
and, through the same quad, on the aligned copy (``read_lines``), and the normalised strings
compared. OCR alone misreads now and then, so a differing reading is reported only when the
line's ink agrees (some changed strokes inside the line after tone matching), and ink alone
reports a line only when a large share of it changed (a removed line). On lines under glare on
the copy (bright, washed-out ink) only what glare cannot fake counts: a confident change of
letters read alike at every framing, or the original's ink missing where the line is clear of
the glare; anything else there makes the page UNREADABLE (why ``glare``). A copy captured too
coarsely to read (its text lines under ``min_line_px`` of its own pixels) is UNREADABLE (why
``low_resolution``) before any line is judged, and so is one smeared by a shaking hand (why
``motion_blur``: the blur kernel fitted on each text line smears further than
``max_smear_px`` along one direction). A forger changes a few lines: when most lines
differ a little (a soft phone photo of an A4 page), only a line far out of that crowd is
reported and the page is otherwise UNREADABLE (why ``too_many_differences``).

Everything else on the page (stamps, headings, removed or added marks) is compared as ink:
both pages flattened (background divided out), the copy's tones matched to the original's per
tile (a photocopier's grey, contrast and faded red ink are not differences), and darkness on
one side beyond the other's neighbourhood kept when it forms a large blob. A portrait is
judged by the face comparer when given, else by structure correlation plus its levels seen
through the copy's tone curve (measured on the card around it). Boxes are ``(x, y, w, h)``
in the original page's pixels.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np

from ekyc.cccd.layouts import Model, Side, card_layout
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
#: regions compared as pictures (structure correlation), not as ink or text
GRAPHICS = ("portrait", "emblem", "seal", "chip", "fingerprint")
#: regions compared as ink only (no text to read)
INK_ONLY = ("qr", "mrz")


def _is_graphic(name: str) -> bool:
    return name.split(".")[0] in GRAPHICS


def _is_text_line(name: str) -> bool:
    return not _is_graphic(name) and name.split(".")[0] not in INK_ONLY


Box = tuple[int, int, int, int]
#: True when the two portrait crops (BGR) show the same person.
FaceComparer = Callable[[np.ndarray, np.ndarray], bool]


class _TextBox(Protocol):  # read-only, as models.ocr.base.TextBox (a frozen dataclass)
    @property
    def quad(self) -> np.ndarray: ...
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` compare needs."""

    def read(self, image_bgr: np.ndarray) -> Sequence[_TextBox]: ...

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[_TextBox]: ...


@dataclass(frozen=True)
class CompareSettings:
    """Thresholds of the comparison (pixels are at the working scale).

    Tuned on benchmark seeds 10_000+ (``benchmarks/copy_compare.py``), reported on seeds 0+.
    """

    work_side: int = 1400  # long side the pages are aligned at
    ink_side: int = 1800  # pages up to this long side are compared as ink at full size (A4)
    tolerance_px: int = 1  # ink this close in the other image is not a difference
    line_shift_px: int = 3  # each text line is re-registered by up to this many pixels
    ink_delta: int = 60  # darkness (0–255) one side must exceed the other's by
    reread_grow: tuple[float, ...] = (1.12, 1.3)  # re-framings of a line whose readings differ
    # A difference of letters read the same way at every framing stands without ink on a sharp
    # line: a letter edited into one of a similar shape (ờ → ă, a → q) barely changes the ink.
    # Tone- or mark-only differences never do: honest scans misread those marks just as stably.
    stable_min_sharp: float = 0.8
    stable_min_conf: float = 0.9  # both readings (garbled graphics are read at 0.2–0.5)
    tile_px: int = 96  # tone matching is local to tiles of this size
    min_diff_px: int = 18  # a difference blob smaller than this is noise
    min_box_px: int = 40  # a grouped difference smaller than this is noise
    page_min_box_px: int = 300  # off the text lines, a difference needs this many pixels
    group_px: tuple[int, int] = (15, 7)  # blobs this close (x, y) form one difference
    margin_fraction: float = 0.015  # page border ignored (crop and warp edges)
    min_inliers: int = 20
    min_copy_features: int = 60  # fewer: the copy is too blank or blurry to align
    blank_std: float = 6.0
    blur_ratio: float = 0.04  # copy sharpness / original sharpness below this: too blurry
    # The copy's text lines must be at least this tall in the copy's own pixels: an A4 page
    # photographed at webcam resolution (~1 MP, lines ~20 px) loses its diacritics, the OCR
    # garbles most lines and ink differs everywhere, so no verdict on it can be trusted.
    # Cards, scans and phone photos of pages at ≥ 3 MP give lines of 35–45 px.
    min_line_px: float = 28.0
    # A copy smeared by a shaking hand further than this (original pixels; the median over
    # its text lines of each line's fitted blur kernel) is UNREADABLE ("motion_blur"): the
    # OCR then misreads letters stably and confidently and the smear turns strokes into
    # changed ink. On the tuning seeds honest and tampered photocopies, scans and phone
    # photos measured at most 2.2 px, shaken photos about their true smear (3.0 → 3.2,
    # 8.0 → 7.5), and honest shaken photos were flagged MISMATCH at 4.5–6 px (3 of 33) and
    # 6–8 px (17 of 39). Only lines the blurred original fits well (R² ≥ 0.8) count, MRZ
    # lines included: a card back has three text lines, and an edited one is no smear.
    max_smear_px: float = 4.5
    # honest copies scored down to 0.949 (a photocopy) on 50-odd tuning cards; swapped cartoon
    # portraits on photocopies score up to 0.995, so structure alone cannot catch all of those
    portrait_min_ncc: float = 0.94
    graphic_min_ncc: float = 0.5
    # a line's changed ink, in "characters" (changed px / (0.06 × line height²))
    ocr_confirm_chars: float = 0.2  # an OCR difference needs at least this much changed ink
    ink_alone_chars: float = 4.0  # this much changed ink flags a line whose readings differ
    # Lines read the same on both sides need twice that (unless sharp, below): a soft phone
    # photo leaves a haze of changed ink (up to 7 characters on tuning lines before lines were
    # re-registered), while an edit the OCR did not see (or a removed line) leaves far more.
    same_reading_chars: float = 8.0
    # A sharp copy line (a scan, a photocopy) of a page whose lines agree in ink: any clear
    # changed ink is an edit, however the OCR read it (an edited mark, or a letter the OCR's
    # language prior read back as the original word: Quậv read Quận). On the tuning seeds
    # honest photocopied and scanned lines read alike carried no changed ink at all (1383 of
    # 1383), while such edits carried 0.36–0.85 characters.
    clean_line_sharpness: float = 0.85
    clean_confirm_chars: float = 0.3
    haze_factor: float = 3.0  # ... and this many times the page's median line ink
    ink_only_chars: float = 1.0  # without OCR, this much changed ink flags a line
    # A confident change of digits only (same letters, same number of digits) stands without
    # ink: a changed date on a scan or an A4 page leaves almost no changed ink, and on the
    # tuning seeds the OCR never changed digits alone on an honest copy.
    digit_change_conf: float = 0.95  # both readings at least this confident
    # A copy line much softer than the original (a blurred phone photo) makes OCR misread
    # diacritics and leaves a haze of changed ink: it needs more ink to confirm a difference,
    # and a difference it cannot confirm makes the page UNREADABLE, not MISMATCH.
    blurred_line_sharpness: float = 0.6  # copy line gradient energy / original's below this
    blurred_confirm_chars: float = 0.65
    # Readings that differ in tone marks only (Tiền/Tiến, Ngãi/Ngải) are the OCR's commonest
    # misreading of a degraded copy: they need more ink to confirm.
    tone_confirm_chars: float = 0.4
    # Readings that differ in any diacritics only (GIÁM/GIẤM, SỞ/SỐ, Phạm/Pham) are how the OCR
    # garbles a soft phone photo of an A4 page; on the tuning seeds such honest lines carried up
    # to 2 characters of changed ink, tampered ones under 0.3 (too slight to confirm anyway).
    marks_confirm_chars: float = 2.5
    glare_level: float = 240.0  # copy paper this bright (0–255) may be glare
    glare_excess: float = 8.0  # ... and this many levels above what the page's lighting predicts
    glare_share: float = 0.25  # a line this much under glare is not judged
    glare_read_conf: float = 0.85  # ... unless both readings are this confident and differ
    # Glare fades only where it lies: most of the original's ink missing from the copy where
    # the line is clear of glare is a removed line, whatever glare hides of the rest.
    glare_clear_loss: float = 0.5
    grey_copy_spread: float = 1.5  # colour spread below this: a grey copy (photocopy)
    portrait_max_delta: float = 12.0  # portrait level error (0–255) above this: another face
    portrait_max_delta_grey: float = 20.0  # the same for a grey copy (a copier's steep curve)
    # A forger changes a few lines; when more than this share of a page's text lines differ
    # (at least ``crowd_min_lines`` of them) the copy is too degraded to read line by line
    # (a phone photo of an A4 page): the page is UNREADABLE ("too_many_differences") unless a
    # line stands far out of the crowd (its changed ink ``crowd_outlier`` × the lines' median,
    # and at least ``ink_alone_chars``), or a graphic or off-line mark differs.
    crowd_share: float = 0.3
    crowd_min_lines: int = 4
    crowd_outlier: float = 4.0
    crowd_certain_max: int = 2  # at most this many changed-digit lines stand out of a crowd


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
class LineCheck:
    """The evidence gathered on one text line (kept for audit and threshold tuning)."""

    region: str
    box: Box
    original_text: str | None
    copy_text: str | None
    ink_chars: float  # changed ink inside the line, in characters
    stable: bool | None  # differing readings that persist when re-read (None: same reading)
    glare: float  # share of the line under glare on the copy
    flagged: bool
    original_confidence: float | None = None  # the OCR's confidence in each reading
    copy_confidence: float | None = None
    sharpness: float = 1.0  # the copy line's sharpness relative to the original's
    unreadable: bool = False  # too blurred, glared or faint on the copy to judge its text
    clear_loss: float = 0.0  # share of the original's ink clear of glare missing on the copy
    explained: bool | None = None  # differing readings the original blurred like the copy gives


@dataclass(frozen=True)
class PageResult:
    """The verdict of one page pair, with the heatmap (BGR, original page size)."""

    page: int
    verdict: Verdict
    differences: list[Difference]
    heatmap: np.ndarray
    why: str | None = None  # reason code when UNREADABLE
    homography: np.ndarray | None = None  # copy → original page pixels
    lines: list[LineCheck] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # graphic and page-ink evidence


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


def card_regions(model: Model, side: Side) -> dict[str, Box]:
    """Regions of a card side for ``compare_documents``: one box per printed value line."""
    lay = card_layout(model, side)
    out: dict[str, Box] = {}
    for f in lay.fields:
        if len(f.lines) == 1:
            out[f.name] = f.lines[0]
        else:
            out.update({f"{f.name}.{i + 1}": b for i, b in enumerate(f.lines)})
    for name in ("portrait", "emblem", "seal", "chip", "qr"):
        box = getattr(lay, name)
        if box is not None:
            out[name] = box
    out.update({f"fingerprint.{i + 1}": b for i, b in enumerate(lay.fingerprints)})
    if lay.mrz is not None:
        out.update({f"mrz.{i + 1}": b for i, b in enumerate(lay.mrz)})
    return out


# --- preparation ------------------------------------------------------------------------------


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[..., :3])


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
        and (image.ndim == 2 or image.shape[2] in (1, 3, 4))
        and min(image.shape[:2]) >= 32
        and max(image.shape[:2]) <= 10_000
    )


def _is_blank(grey: np.ndarray, s: CompareSettings) -> bool:
    return float(grey.std()) < s.blank_std or float(_ink(grey).mean()) < 5e-4


def _background(grey: np.ndarray) -> np.ndarray:
    """The paper's local brightness (uint8): ink closed over, then a wide median."""
    k = max(15, (min(grey.shape) // 20) | 1)
    return cv2.medianBlur(cv2.dilate(grey, np.ones((7, 7), np.uint8)), k)


def normalise_photometric(grey: np.ndarray) -> np.ndarray:
    """Background divided out (paper → 255), denoised: a photocopy and a scan look alike."""
    flat = cv2.divide(grey, np.maximum(_background(grey), 1), scale=255)
    return cv2.medianBlur(flat, 3)


def _ink(grey: np.ndarray) -> np.ndarray:
    """Dark ink (bool) of a page: Otsu on the flattened page, clamped to a strict range."""
    flat = normalise_photometric(grey)
    t, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return flat < min(max(t, 90.0), 160.0)


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
    detector = cv2.ORB_create(  # type: ignore[attr-defined]  # missing from cv2's stubs
        nfeatures=6000, scaleFactor=1.2, nlevels=8, fastThreshold=10
    )
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
    src = np.array([kp_c[m.queryIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp_o[m.trainIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
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
        _, warp = cv2.findTransformECC(  # type: ignore[call-overload]  # stubs lack this overload
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


# --- ink differences --------------------------------------------------------------------------


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


def _ink_differences(
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


def _page_differences(
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
        found.append(((x, y, w, h), _ink_reason(r, a), r + a))
    return found


def _ink_reason(removed: int, added: int) -> Reason:
    if removed > 4 * added:
        return "content_removed"
    if added > 4 * removed:
        return "content_added"
    return "text_changed"


# --- text lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    region: str
    box: Box  # original page pixels
    quad: np.ndarray  # original page pixels


def _box_quad(box: Box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def _quad_box(quad: np.ndarray) -> Box:
    q = np.asarray(quad, np.float32).reshape(-1, 2)
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _grown(quad: np.ndarray, grow: float) -> np.ndarray:
    """The quad enlarged about its centre: height by ``grow``, width by the same margin."""
    q = np.asarray(quad, np.float32).reshape(4, 2)
    centre = q.mean(axis=0)
    height = float(np.linalg.norm(q[3] - q[0]))
    width = float(np.linalg.norm(q[1] - q[0]))
    margin = (grow - 1.0) * height
    scale = np.array([(width + margin) / max(width, 1.0), grow], np.float32)
    return ((q - centre) * scale + centre).astype(np.float32)


def _stable_differences(
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
        framed = [_grown(q, grow) for q in quads]
        for i, (a, b) in enumerate(
            zip(ocr.read_lines(original, framed), ocr.read_lines(copy, framed), strict=True)
        ):
            stable[i] = stable[i] and not _same_text(a.text, b.text)
    return stable


#: half-size of the copy's blur kernel, in original pixels: a smear of up to 15 px (a
#: hand-held phone photo taken with a shaking hand) or a defocus of that diameter
_PSF_RADIUS = 7
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
    r = _PSF_RADIUS
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
    found = fit_psf(o_grey, c_grey, _quad_box(_grown(quad, 1.3)), _PSF_SAMPLES)
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


def _softened_readings(
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
    r = _PSF_RADIUS
    for q in quads:
        kernel = copy_psf(o_grey, c_grey, q)
        if kernel is None:
            continue
        x, y, w, h = _quad_box(q)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, ww), min(y + h, hh)
        if x1 <= x0 or y1 <= y0:
            continue
        px0, py0 = max(x0 - r, 0), max(y0 - r, 0)  # the kernel's apron around the line
        patch = original[py0 : min(y1 + r, hh), px0 : min(x1 + r, ww)]
        blurred = cv2.filter2D(patch, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        soft[y0:y1, x0:x1] = blurred[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
    return [box.text for box in ocr.read_lines(soft, quads)]


def _same_text(a: str, b: str) -> bool:
    """Equal letters and digits after NFC and case folding (OCR's spaces and stray
    punctuation vary; a forger's edit changes a letter or a digit)."""
    return _alnum(a) == _alnum(b)


def softness_explains(original: str, copy: str, softened: str) -> bool:
    """Whether the softened original's reading accounts for how the copy reads differently.

    Either it reads exactly as the copy does, or, word by word, every word whose letters the
    copy reads differently the softened original misreads too, into the same letters; words
    that differ in diacritics only are blur's commonest noise and pass beside them (a line
    differing in marks alone is not explained this way: it has its own, higher ink bar). A
    word the softened original still reads right is legible at the copy's blur, so a
    different reading of it stays unexplained."""
    if _same_text(softened, copy):
        return True
    o, c, t = ([a for a in map(_alnum, text.split()) if a] for text in (original, copy, softened))
    if not len(o) == len(c) == len(t):
        return False
    misread = [
        (o_w, c_w, t_w)
        for o_w, c_w, t_w in zip(o, c, t, strict=True)
        if unmarked(o_w) != unmarked(c_w)
    ]
    return bool(misread) and all(
        t_w != o_w and unmarked(t_w) == unmarked(c_w) for o_w, c_w, t_w in misread
    )


def digits_only_change(a: str, b: str) -> bool:
    """The same letters, the same number of digits, and different digits (a changed number)."""
    x, y = _alnum(a), _alnum(b)
    dx = "".join(ch for ch in x if ch.isdigit())
    dy = "".join(ch for ch in y if ch.isdigit())
    same_letters = [ch for ch in x if not ch.isdigit()] == [ch for ch in y if not ch.isdigit()]
    return same_letters and bool(dx) and len(dx) == len(dy) and dx != dy


#: Vietnamese tone marks (grave, acute, hook above, tilde, dot below), as combining characters
_TONE_MARKS = frozenset("\u0300\u0301\u0309\u0303\u0323")


def _untoned(value: str) -> str:
    """Letters and digits with the tone marks dropped (breve, circumflex and horn kept)."""
    nfd = unicodedata.normalize("NFD", _alnum(value))
    return unicodedata.normalize("NFC", "".join(ch for ch in nfd if ch not in _TONE_MARKS))


def unmarked(value: str) -> str:
    """Letters and digits with every diacritic dropped (đ read as d): the base letters."""
    nfd = unicodedata.normalize("NFD", _alnum(value).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in nfd if not unicodedata.combining(ch))


def _alnum(value: str) -> str:
    return "".join(ch for ch in normalise.text(value) if ch.isalnum())


def _flatten_bgr(image: np.ndarray) -> np.ndarray:
    """Each channel divided by its local background: glare and uneven light flattened for OCR."""
    out = np.empty_like(image)
    for c in range(3):
        ch = np.ascontiguousarray(image[:, :, c])
        out[:, :, c] = cv2.divide(ch, np.maximum(_background(ch), 1), scale=245)
    return out


@dataclass(frozen=True)
class _Ink:
    """The ink evidence inside one text line."""

    chars: float  # changed ink, in characters (changed px / (0.06 × line height²))
    glare: float  # share of the line under glare on the copy
    clear_loss: float  # share of the original's ink clear of glare that the copy lacks


def _line_evidence(box: Box, diff: _InkDiff, glare_map: np.ndarray) -> _Ink:
    """The changed ink, glare and ink lost clear of glare inside one line (working pixels)."""
    x, y, w, h = box
    hh, ww = diff.removed.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, ww), min(y + h, hh)
    if x1 <= x0 or y1 <= y0:
        return _Ink(0.0, 0.0, 0.0)
    removed = diff.removed[y0:y1, x0:x1].astype(bool)
    glare = glare_map[y0:y1, x0:x1]
    char_px = 0.06 * max(y1 - y0, 8) ** 2
    chars = (int(removed.sum()) + int(diff.added[y0:y1, x0:x1].sum())) / char_px
    clear_ink = (diff.o_dark[y0:y1, x0:x1] > 96) & ~glare
    n_clear = int(clear_ink.sum())
    loss = int((removed & clear_ink).sum()) / n_clear if n_clear >= char_px else 0.0
    return _Ink(chars, float(glare.mean()), loss)


def _line_sharpness(o_grey: np.ndarray, c_grey: np.ndarray, box: Box) -> float:
    """The aligned copy line's gradient energy over the original's (1 = as sharp)."""
    x, y, w, h = box
    hh, ww = o_grey.shape[:2]
    ys, xs = slice(max(y, 0), min(y + h, hh)), slice(max(x, 0), min(x + w, ww))
    if ys.stop - ys.start < 4 or xs.stop - xs.start < 4:
        return 1.0
    o = _sharpness(o_grey[ys, xs])
    return _sharpness(c_grey[ys, xs]) / o if o > 0 else 1.0


def glare_mask(
    o_grey: np.ndarray, c_grey: np.ndarray, valid: np.ndarray, s: CompareSettings
) -> np.ndarray:
    """Where the aligned copy's paper is much brighter than the original's, beyond the smooth
    (planar) lighting difference of the whole page, and near white: a light reflection."""
    bg_c, bg_o = (_background(g).astype(np.float32) for g in (c_grey, o_grey))
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


def _portrait_score(
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
    o_ch = [o[:, :, i] for i in range(3)] if colour else [_grey(o)]
    c_ch = [c[:, :, i] for i in range(3)] if colour else [_grey(c)]
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


# --- page comparison --------------------------------------------------------------------------


def _overlap(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def _region_of(box: Box, regions: Mapping[str, Box]) -> str:
    best = max(regions.items(), key=lambda kv: _overlap(box, kv[1]), default=None)
    return best[0] if best is not None and _overlap(box, best[1]) > 0 else "page"


def _scale_box(box: Box, f: float) -> Box:
    return (round(box[0] * f), round(box[1] * f), round(box[2] * f), round(box[3] * f))


def _structure_ncc(a: np.ndarray, b: np.ndarray) -> float:
    size = (64, 80)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    x = cv2.GaussianBlur(clahe.apply(cv2.resize(_grey(a), size)), (5, 5), 0).astype(np.float32)
    y = cv2.GaussianBlur(clahe.apply(cv2.resize(_grey(b), size)), (5, 5), 0).astype(np.float32)
    x -= x.mean()
    y -= y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else 0.0


def _heatmap(copy_aligned: np.ndarray, diff: np.ndarray, boxes: list[Box]) -> np.ndarray:
    base = cv2.cvtColor(_grey(copy_aligned), cv2.COLOR_GRAY2BGR)
    hot = cv2.dilate(diff.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    out = base.copy()
    out[hot] = (0.35 * base[hot] + 0.65 * np.array([0, 0, 255])).astype(np.uint8)
    for x, y, w, h in boxes:
        cv2.rectangle(out, (x - 2, y - 2), (x + w + 2, y + h + 2), (0, 0, 255), 2)
    return out


def _unreadable(
    page: int,
    why: str,
    shape: tuple[int, ...],
    image: object,
    scores: dict[str, float] | None = None,
) -> PageResult:
    heat = _bgr(image) if _valid_image(image) else np.zeros((*shape[:2], 3), np.uint8)  # type: ignore[arg-type]
    return PageResult(page, "UNREADABLE", [], heat.copy(), why, scores=scores or {})


def _text_lines(
    ocr: OcrLike | None, original: np.ndarray, regions: Mapping[str, Box]
) -> tuple[list[_Line], list[_TextBox]]:
    """The lines to judge as text, and the original's readings (empty without OCR)."""
    named = [
        _Line(name, b, _box_quad(b))
        for name, b in regions.items()
        if _is_text_line(name) and b[2] > 0 and b[3] > 0
    ]
    if ocr is None:
        return named, []
    if named:
        return named, list(ocr.read_lines(original, [ln.quad for ln in named]))
    found = [t for t in ocr.read(original) if t.text.strip()]
    lines = [_Line(f"line{i}", _quad_box(t.quad), t.quad) for i, t in enumerate(found)]
    return lines, found


def _copy_line_px(lines: list[_Line], copy_to_original: np.ndarray) -> float:
    """The text lines' median height in the copy's own pixels (how finely it was captured)."""
    back = np.linalg.inv(copy_to_original)
    quads = np.stack([ln.quad.reshape(4, 2) for ln in lines]).astype(np.float64)
    q = cv2.perspectiveTransform(quads.reshape(-1, 1, 2), back).reshape(-1, 4, 2)
    heights = (
        np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1)
    ) / 2
    return float(np.median(heights))


@dataclass(frozen=True)
class _Reading:
    """Both readings of one line, their confidences, and whether re-reading kept them apart."""

    original: str
    copy: str
    original_conf: float
    copy_conf: float
    stable: bool | None
    explained: bool | None = None  # the original, blurred like the copy, reads as the copy


@dataclass(frozen=True)
class _Judgement:
    verdict: Literal["flag", "unsure", "glare", "ok"]
    text_differs: bool = False
    certain: bool = False  # stands even among many noisy lines
    removed: bool = False  # the line's ink is gone from the copy


def _judge_line(
    read: _Reading | None, ink: _Ink, sharp: float, s: CompareSettings, haze: float = 0.0
) -> _Judgement:
    """One text line's verdict from its readings, its changed ink and the page's ink haze
    (the median changed ink of its lines; see CompareSettings)."""
    chars, under_glare = ink.chars, ink.glare >= s.glare_share
    if under_glare and ink.clear_loss >= s.glare_clear_loss:
        return _Judgement("flag", removed=True)
    if read is None:  # no OCR: ink alone, at a lower bar
        if under_glare:
            return _Judgement("glare" if chars >= s.ink_only_chars else "ok")
        return _Judgement("flag" if chars >= s.ink_only_chars else "ok")
    # a difference the original reproduces when blurred like the copy is the copy's softness
    differs = not _same_text(read.original, read.copy) and not read.explained
    conf = min(read.original_conf, read.copy_conf)
    digits = (
        differs and conf >= s.digit_change_conf and digits_only_change(read.original, read.copy)
    )
    blurred = sharp < s.blurred_line_sharpness
    tone_only = differs and _untoned(read.original) == _untoned(read.copy)
    marks_only = differs and unmarked(read.original) == unmarked(read.copy)
    bar = s.ocr_confirm_chars
    if blurred:
        bar = max(bar, s.blurred_confirm_chars)
    if tone_only:
        bar = max(bar, s.tone_confirm_chars)
    if marks_only:
        bar = max(bar, s.marks_confirm_chars)
    same_bar = s.same_reading_chars
    if sharp >= s.clean_line_sharpness:
        clean_bar = max(s.clean_confirm_chars, s.haze_factor * haze)
        bar, same_bar = min(bar, clean_bar), min(same_bar, clean_bar)
    unsure = blurred or tone_only or marks_only
    stable = (
        differs
        and not (tone_only or marks_only)
        and bool(read.stable)
        and sharp >= s.stable_min_sharp
        and conf >= s.stable_min_conf
    )
    if under_glare:
        # glare fades ink and softens the line: only a confident change of letters or digits,
        # with some changed ink or read the same way at every framing, is still evidence
        letters = differs and not (tone_only or marks_only) and conf >= s.glare_read_conf
        if digits or (letters and (chars >= s.ink_only_chars or bool(read.stable))):
            return _Judgement("flag", True, digits)
        return _Judgement("glare" if differs or chars >= s.ink_alone_chars else "ok")
    if differs and (chars >= bar or digits or stable or chars >= s.ink_alone_chars):
        return _Judgement("flag", True, digits)
    if chars >= same_bar:
        return _Judgement("flag", differs)
    if differs and unsure and chars >= s.ocr_confirm_chars:
        return _Judgement("unsure", True)
    return _Judgement("ok", differs)


def _colour_spread(image_bgr: np.ndarray) -> float:
    """Mean distance of a pixel's channels from their mean (0 for a grey image)."""
    small = cv2.resize(image_bgr, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    v = small.astype(np.int16)
    return float(np.abs(v - v.mean(axis=2, keepdims=True)).mean())


def _uncrowd(
    found: list[Difference],
    checks: list[LineCheck],
    certain: set[str],
    s: CompareSettings,
    scores: dict[str, float],
) -> tuple[list[Difference], bool]:
    """The line differences kept, and whether too many lines differ to judge them one by one.

    Honest phone photos of A4 pages differ a little on almost every line (0.7–3 characters of
    ink plus garbled readings); a forgery changes a few lines. On such a crowded page only a
    line far out of the crowd (a removed line) or a certain one (changed digits) is still
    reported."""
    differing = sum(c.flagged or c.unreadable for c in checks)
    scores["lines.differing"] = float(differing)
    if not checks or differing < max(s.crowd_min_lines, s.crowd_share * len(checks)):
        return found, False
    median = float(np.median([c.ink_chars for c in checks]))
    bar = max(s.ink_alone_chars, s.crowd_outlier * median)
    scores["lines.crowd_bar"] = bar
    # a forger changes a date or two; confident digit changes on many lines are garbling
    sure = certain if len(certain) <= s.crowd_certain_max else set()
    return [d for d in found if d.score >= bar or d.region in sure], True


def compare_page(
    original: np.ndarray,
    copy: np.ndarray,
    *,
    page: int = 0,
    ocr: OcrLike | None = None,
    face: FaceComparer | None = None,
    regions: Mapping[str, Box] | None = None,
    settings: CompareSettings | None = None,
    clock: Callable[[], float] | None = None,
) -> PageResult:
    """Compare one copy page with its original page (see the module docstring)."""
    tick = clock or time.perf_counter
    timings: dict[str, float] = {}
    t0 = tick()
    s = settings or CompareSettings()
    regions = dict(regions or {})
    if not _valid_image(original):
        return _unreadable(page, "original_invalid", (1, 1), copy)
    if not _valid_image(copy):
        return _unreadable(page, "copy_invalid", original.shape, original)
    o_bgr, c_bgr = _bgr(original), _bgr(copy)
    oh, ow = o_bgr.shape[:2]
    o_grey = _grey(o_bgr)
    o_work, f = _resize_long(o_grey, min(s.work_side, max(oh, ow)))
    c_work, fc = _resize_long(_grey(c_bgr), int(max(o_work.shape) * 1.25))
    if _is_blank(c_work, s):
        return _unreadable(page, "blank_page", original.shape, copy)
    if _is_blank(o_work, s):
        return _unreadable(page, "original_blank", original.shape, copy)
    al = align(o_work, c_work, s)
    if al.homography is None:
        assert al.why is not None
        if al.why == "different_document":
            whole = Difference(page, "page", (0, 0, ow, oh), "different_document")
            return PageResult(page, "MISMATCH", [whole], o_bgr.copy(), None)
        return _unreadable(page, al.why, original.shape, copy)
    wh, ww = o_work.shape[:2]
    aligned = cv2.warpPerspective(
        c_work, al.homography, (ww, wh), flags=cv2.INTER_LINEAR, borderValue=255
    )
    covered = cv2.warpPerspective(
        np.full_like(c_work, 255), al.homography, (ww, wh), flags=cv2.INTER_NEAREST
    )
    back = 1.0 / f
    h_full = np.diag([back, back, 1.0]) @ al.homography @ np.diag([fc, fc, 1.0])
    copy_full = cv2.warpPerspective(
        c_bgr, h_full, (ow, oh), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255)
    )
    c_grey = _grey(copy_full)  # the aligned copy at the original's size
    timings["align"] = (tick() - t0) * 1000
    if _sharpness(aligned) < s.blur_ratio * _sharpness(o_work):
        return _unreadable(page, "too_blurry", original.shape, copy)

    t1 = tick()
    lines, o_reads = _text_lines(ocr, o_bgr, regions)
    line_px = _copy_line_px(lines, h_full) if lines else 0.0
    if lines and line_px < s.min_line_px:
        scores = {"lines.copy_px": line_px}
        return _unreadable(page, "low_resolution", original.shape, copy, scores)
    printed = [ln.box for ln in lines] + [b for n, b in regions.items() if n.startswith("mrz")]
    smear = page_smear_px(o_grey, c_grey, printed)
    if smear > s.max_smear_px:
        scores = {"lines.copy_px": line_px, "blur.smear_px": smear}
        return _unreadable(page, "motion_blur", original.shape, copy, scores)
    c_reads: list[_TextBox] = []
    stable: dict[int, bool] = {}
    explained: dict[int, bool] = {}
    if ocr is not None and lines:
        c_flat = _flatten_bgr(copy_full)
        c_reads = list(ocr.read_lines(c_flat, [ln.quad for ln in lines]))
        disputed = [
            i
            for i, (a, b) in enumerate(zip(o_reads, c_reads, strict=True))
            if not _same_text(a.text, b.text)
        ]
        if disputed:
            quads = [lines[i].quad for i in disputed]
            found = _stable_differences(ocr, o_bgr, c_flat, quads, s)
            stable = dict(zip(disputed, found, strict=True))
            softened = _softened_readings(ocr, o_bgr, o_grey, c_grey, quads)
            explained = {
                i: softness_explains(o_reads[i].text, c_reads[i].text, t)
                for i, t in zip(disputed, softened, strict=True)
            }
    timings["ocr"] = (tick() - t1) * 1000

    t2 = tick()
    if f < 1.0 and max(oh, ow) <= s.ink_side:
        # Ink is compared at the page's own size when affordable: shrinking an A4 page to the
        # alignment size blurs a changed digit (6 → 8) into the same blob of ink.
        o_work, aligned, f, back = o_grey, c_grey, 1.0, 1.0
        covered = cv2.warpPerspective(
            np.full(c_bgr.shape[:2], 255, np.uint8), h_full, (ow, oh), flags=cv2.INTER_NEAREST
        )
        wh, ww = oh, ow
    m = int(s.margin_fraction * max(wh, ww))
    valid = np.zeros((wh, ww), np.uint8)
    valid[m : wh - m, m : ww - m] = 1
    valid &= np.asarray(
        cv2.erode((covered > 0).astype(np.uint8), np.ones((9, 9), np.uint8)), np.uint8
    )
    boxes = [_scale_box(ln.box, f) for ln in lines]  # the text lines in working pixels
    diff = _ink_differences(o_work, aligned, valid, s, boxes)
    exclude = np.zeros((wh, ww), np.uint8)  # text lines and graphics: judged on their own
    for name, box in regions.items():
        if _is_graphic(name):
            x, y, w, h = _scale_box(box, f)
            exclude[max(y - 4, 0) : y + h + 4, max(x - 4, 0) : x + w + 4] = 1

    # A grey copy came from a copier or a flatbed, which make no glare; what looks like glare
    # there is the copier's curve whitening the card's pale background print.
    if _colour_spread(c_bgr) < s.grey_copy_spread:
        glare = np.zeros((wh, ww), bool)
    else:
        glare = glare_mask(o_work, aligned, valid, s)
    differences: list[Difference] = []
    checks: list[LineCheck] = []
    glare_lines: list[str] = []
    blurred_lines: list[str] = []  # differing readings too soft or too slight to confirm
    certain: set[str] = set()  # lines a crowd of noisy lines must not hide (changed digits)
    inks = [_line_evidence(box, diff, glare) for box in boxes]
    haze = float(np.median([ink.chars for ink in inks])) if inks else 0.0
    scores = {"lines.haze": haze, "lines.copy_px": line_px, "blur.smear_px": smear}
    for i, (ln, (x, y, w, h), ink) in enumerate(zip(lines, boxes, inks, strict=True)):
        exclude[max(y - 2, 0) : y + h + 2, max(x - 2, 0) : x + w + 2] = 1
        sharp = _line_sharpness(diff.o_dark, diff.c_dark, (x, y, w, h))
        o_read = o_reads[i] if o_reads else None
        c_read = c_reads[i] if c_reads else None
        o_text = o_read.text if o_read is not None else None
        c_text = c_read.text if c_read is not None else None
        o_conf = float(o_read.confidence) if o_read is not None else None
        c_conf = float(c_read.confidence) if c_read is not None else None
        reading = None
        if o_read is not None and c_read is not None:
            reading = _Reading(
                o_read.text,
                c_read.text,
                o_conf or 0.0,
                c_conf or 0.0,
                stable.get(i),
                explained.get(i),
            )
        judged = _judge_line(reading, ink, sharp, s, haze)
        flagged, unreadable = judged.verdict == "flag", judged.verdict == "unsure"
        if judged.verdict == "glare":
            glare_lines.append(ln.region)
        elif unreadable:
            blurred_lines.append(ln.region)
        elif flagged:
            r = int(diff.removed[y : y + h, x : x + w].sum())
            a = int(diff.added[y : y + h, x : x + w].sum())
            reason = "text_changed" if judged.text_differs else _ink_reason(r, a)
            if judged.removed or (c_text is not None and o_text and not _alnum(c_text)):
                reason = "content_removed"
            differences.append(
                Difference(page, ln.region, ln.box, reason, o_text, c_text, ink.chars)
            )
            if judged.certain:
                certain.add(ln.region)
        checks.append(
            LineCheck(
                ln.region,
                ln.box,
                o_text,
                c_text,
                ink.chars,
                stable.get(i),
                ink.glare,
                flagged,
                o_conf,
                c_conf,
                sharp,
                unreadable,
                ink.clear_loss,
                explained.get(i),
            )
        )

    differences, crowded = _uncrowd(differences, checks, certain, s, scores)
    for b, reason, n in _page_differences(diff, exclude, glare, s, scores):
        box = _scale_box(b, back)
        differences.append(Difference(page, _region_of(box, regions), box, reason, score=n))
    for name, (x, y, w, h) in regions.items():
        if not _is_graphic(name):
            continue
        o_p, c_p = o_bgr[y : y + h, x : x + w], copy_full[y : y + h, x : x + w]
        ncc = _structure_ncc(o_p, c_p)
        if name == "portrait":
            delta, colour = _portrait_score(o_bgr, copy_full, (x, y, w, h), s)
            limit = s.portrait_max_delta if colour else s.portrait_max_delta_grey
            scores.update({"portrait.ncc": ncc, "portrait.delta": delta, "portrait.limit": limit})
            if face is not None:
                same = face(o_p, c_p)
            else:
                same = ncc >= s.portrait_min_ncc and delta <= limit
            if not same:
                differences.append(
                    Difference(page, name, (x, y, w, h), "portrait_changed", score=delta)
                )
        elif ncc < s.graphic_min_ncc:
            differences.append(Difference(page, name, (x, y, w, h), "graphic_changed", score=ncc))
    timings["compare"] = (tick() - t2) * 1000

    hot = diff.removed | diff.added
    diff_full = cv2.resize(hot, (ow, oh), interpolation=cv2.INTER_NEAREST)
    heat = _heatmap(copy_full, diff_full.astype(bool), [d.box for d in differences])
    why = None
    verdict: Verdict = "MATCH"
    if differences:
        verdict = "MISMATCH"
    elif crowded:
        verdict, why = "UNREADABLE", "too_many_differences"
    elif glare_lines:
        verdict, why = "UNREADABLE", "glare"
    elif blurred_lines:
        verdict, why = "UNREADABLE", "blurred_text"
    return PageResult(page, verdict, differences, heat, why, h_full, checks, timings, scores)


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
