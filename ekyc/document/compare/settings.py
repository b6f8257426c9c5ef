"""Every threshold of the comparison, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass


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
    # A difference of letters read the same way at every framing stands on a sharp line with
    # barely any changed ink: a letter edited into one of a similar shape (ờ → ă, a → q)
    # barely changes the ink (a line with none at all is not read: ocr_gate_chars).
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
    # Lines with no more changed ink than this and clear of glare are not read at all (OCR
    # was most of a comparison's time). On the held-out pairs every verdict stayed the same.
    ocr_gate_chars: float = 0.0
    # A sharp copy line (a scan, a photocopy) of a page whose lines agree in ink: any clear
    # changed ink is an edit, however the OCR read it (an edited mark, or a letter the OCR's
    # language prior read back as the original word: Quậv read Quận). On the tuning seeds
    # honest photocopied and scanned lines read alike carried no changed ink at all (1383 of
    # 1383), while such edits carried 0.36–0.85 characters.
    clean_line_sharpness: float = 0.85
    clean_confirm_chars: float = 0.3
    haze_factor: float = 3.0  # ... and this many times the page's median line ink
    ink_only_chars: float = 1.0  # without OCR, this much changed ink flags a line
    # A confident change of digits only (same letters, same number of digits) stands on barely
    # any changed ink: a changed date on a scan or an A4 page leaves almost no changed ink, and
    # on the tuning seeds the OCR never changed digits alone on an honest copy.
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
