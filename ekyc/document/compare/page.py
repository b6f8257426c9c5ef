"""One page pair: align, judge every line and region, the heatmap and the page verdict."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import cv2
import numpy as np

from ekyc.document.compare.align import align
from ekyc.document.compare.blur import line_sharpness, page_smear_px
from ekyc.document.compare.geometry import region_of, scale_box
from ekyc.document.compare.glare import glare_mask
from ekyc.document.compare.graphics import FaceComparer, portrait_score, structure_ncc
from ekyc.document.compare.ink import (
    ink_differences,
    ink_reason,
    line_evidence,
    page_differences,
)
from ekyc.document.compare.judge import judge_line, uncrowd
from ekyc.document.compare.prepare import (
    bgr,
    flatten_bgr,
    is_blank,
    laplacian_sharpness,
    resize_long,
    to_grey,
    valid_image,
)
from ekyc.document.compare.reading import (
    OcrLike,
    Reading,
    TextBox,
    copy_line_px,
    softened_readings,
    stable_differences,
    text_lines,
)
from ekyc.document.compare.regions import is_graphic
from ekyc.document.compare.results import Box, Difference, LineCheck, PageResult, Verdict
from ekyc.document.compare.settings import CompareSettings
from ekyc.document.compare.text import alnum, same_text, softness_explains


def _heatmap(copy_aligned: np.ndarray, diff: np.ndarray, boxes: list[Box]) -> np.ndarray:
    base = cv2.cvtColor(to_grey(copy_aligned), cv2.COLOR_GRAY2BGR)
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
    heat = bgr(image) if valid_image(image) else np.zeros((*shape[:2], 3), np.uint8)  # type: ignore[arg-type]
    return PageResult(page, "UNREADABLE", [], heat.copy(), why, scores=scores or {})


def _colour_spread(image_bgr: np.ndarray) -> float:
    """Mean distance of a pixel's channels from their mean (0 for a grey image)."""
    small = cv2.resize(image_bgr, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    v = small.astype(np.int16)
    return float(np.abs(v - v.mean(axis=2, keepdims=True)).mean())


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
    if not valid_image(original):
        return _unreadable(page, "original_invalid", (1, 1), copy)
    if not valid_image(copy):
        return _unreadable(page, "copy_invalid", original.shape, original)
    o_bgr, c_bgr = bgr(original), bgr(copy)
    oh, ow = o_bgr.shape[:2]
    o_grey = to_grey(o_bgr)
    o_work, f = resize_long(o_grey, min(s.work_side, max(oh, ow)))
    c_work, fc = resize_long(to_grey(c_bgr), int(max(o_work.shape) * 1.25))
    if is_blank(c_work, s):
        return _unreadable(page, "blank_page", original.shape, copy)
    if is_blank(o_work, s):
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
    c_grey = to_grey(copy_full)  # the aligned copy at the original's size
    timings["align"] = (tick() - t0) * 1000
    if laplacian_sharpness(aligned) < s.blur_ratio * laplacian_sharpness(o_work):
        return _unreadable(page, "too_blurry", original.shape, copy)

    t1 = tick()
    lines, o_reads = text_lines(ocr, o_bgr, regions)
    timings["ocr"] = (tick() - t1) * 1000  # finding the lines (and reading them on a page)
    line_px = copy_line_px(lines, h_full) if lines else 0.0
    if lines and line_px < s.min_line_px:
        scores = {"lines.copy_px": line_px}
        return _unreadable(page, "low_resolution", original.shape, copy, scores)
    printed = [ln.box for ln in lines] + [b for n, b in regions.items() if n.startswith("mrz")]
    smear = page_smear_px(o_grey, c_grey, printed)
    if smear > s.max_smear_px:
        scores = {"lines.copy_px": line_px, "blur.smear_px": smear}
        return _unreadable(page, "motion_blur", original.shape, copy, scores)
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
    boxes = [scale_box(ln.box, f) for ln in lines]  # the text lines in working pixels
    diff = ink_differences(o_work, aligned, valid, s, boxes)
    exclude = np.zeros((wh, ww), np.uint8)  # text lines and graphics: judged on their own
    for name, box in regions.items():
        if is_graphic(name):
            x, y, w, h = scale_box(box, f)
            exclude[max(y - 4, 0) : y + h + 4, max(x - 4, 0) : x + w + 4] = 1

    # A grey copy came from a copier or a flatbed, which make no glare; what looks like glare
    # there is the copier's curve whitening the card's pale background print.
    if _colour_spread(c_bgr) < s.grey_copy_spread:
        glare = np.zeros((wh, ww), bool)
    else:
        glare = glare_mask(o_work, aligned, valid, s)
    inks = [line_evidence(box, diff, glare) for box in boxes]
    timings["compare"] = (tick() - t2) * 1000

    # OCR only the lines with some changed ink or under glare: on a line with none the
    # reading alone would be the evidence, and OCR misreads honest copies more often than a
    # forger leaves no ink at all (reading every line was most of a comparison's time).
    t1 = tick()
    gated = [
        i
        for i, ink in enumerate(inks)
        if ink.chars > s.ocr_gate_chars or ink.glare >= s.glare_share
    ]
    c_reads: dict[int, TextBox] = {}
    stable: dict[int, bool] = {}
    explained: dict[int, bool] = {}
    if ocr is not None and gated:
        unread = [i for i in gated if i not in o_reads]
        if unread:
            found = ocr.read_lines(o_bgr, [lines[i].quad for i in unread])
            o_reads.update(zip(unread, found, strict=True))
        c_flat = flatten_bgr(copy_full)
        c_found = ocr.read_lines(c_flat, [lines[i].quad for i in gated])
        c_reads = dict(zip(gated, c_found, strict=True))
        disputed = [i for i in gated if not same_text(o_reads[i].text, c_reads[i].text)]
        if disputed:
            quads = [lines[i].quad for i in disputed]
            found_stable = stable_differences(ocr, o_bgr, c_flat, quads, s)
            stable = dict(zip(disputed, found_stable, strict=True))
            softened = softened_readings(ocr, o_bgr, o_grey, c_grey, quads)
            explained = {
                i: softness_explains(o_reads[i].text, c_reads[i].text, t)
                for i, t in zip(disputed, softened, strict=True)
            }
    timings["ocr"] += (tick() - t1) * 1000

    differences: list[Difference] = []
    checks: list[LineCheck] = []
    glare_lines: list[str] = []
    blurred_lines: list[str] = []  # differing readings too soft or too slight to confirm
    certain: set[str] = set()  # lines a crowd of noisy lines must not hide (changed digits)
    t3 = tick()
    haze = float(np.median([ink.chars for ink in inks])) if inks else 0.0
    scores = {"lines.haze": haze, "lines.copy_px": line_px, "blur.smear_px": smear}
    for i, (ln, (x, y, w, h), ink) in enumerate(zip(lines, boxes, inks, strict=True)):
        exclude[max(y - 2, 0) : y + h + 2, max(x - 2, 0) : x + w + 2] = 1
        sharp = line_sharpness(diff.o_dark, diff.c_dark, (x, y, w, h))
        o_read = o_reads.get(i)
        c_read = c_reads.get(i)
        o_text = o_read.text if o_read is not None else None
        c_text = c_read.text if c_read is not None else None
        o_conf = float(o_read.confidence) if o_read is not None else None
        c_conf = float(c_read.confidence) if c_read is not None else None
        reading = None
        if o_read is not None and c_read is not None:
            reading = Reading(
                o_read.text,
                c_read.text,
                o_conf or 0.0,
                c_conf or 0.0,
                stable.get(i),
                explained.get(i),
            )
        judged = judge_line(reading, ink, sharp, s, haze)
        flagged, unreadable = judged.verdict == "flag", judged.verdict == "unsure"
        if judged.verdict == "glare":
            glare_lines.append(ln.region)
        elif unreadable:
            blurred_lines.append(ln.region)
        elif flagged:
            r = int(diff.removed[y : y + h, x : x + w].sum())
            a = int(diff.added[y : y + h, x : x + w].sum())
            reason = "text_changed" if judged.text_differs else ink_reason(r, a)
            if judged.removed or (c_text is not None and o_text and not alnum(c_text)):
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

    differences, crowded = uncrowd(differences, checks, certain, s, scores)
    for b, reason, n in page_differences(diff, exclude, glare, s, scores):
        box = scale_box(b, back)
        differences.append(Difference(page, region_of(box, regions), box, reason, score=n))
    for name, (x, y, w, h) in regions.items():
        if not is_graphic(name):
            continue
        o_p, c_p = o_bgr[y : y + h, x : x + w], copy_full[y : y + h, x : x + w]
        ncc = structure_ncc(o_p, c_p)
        if name == "portrait":
            delta, colour = portrait_score(o_bgr, copy_full, (x, y, w, h), s)
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
    timings["compare"] += (tick() - t3) * 1000

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
