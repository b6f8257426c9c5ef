"""Judging one text line from its readings and ink, and a page crowded with differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ekyc.document.compare.ink import Ink
from ekyc.document.compare.reading import Reading
from ekyc.document.compare.results import Difference, LineCheck
from ekyc.document.compare.settings import CompareSettings
from ekyc.document.compare.text import digits_only_change, same_text, unmarked, untoned


@dataclass(frozen=True)
class _Judgement:
    verdict: Literal["flag", "unsure", "glare", "ok"]
    text_differs: bool = False
    certain: bool = False  # stands even among many noisy lines
    removed: bool = False  # the line's ink is gone from the copy


def judge_line(
    read: Reading | None, ink: Ink, sharp: float, s: CompareSettings, haze: float = 0.0
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
    differs = not same_text(read.original, read.copy) and not read.explained
    conf = min(read.original_conf, read.copy_conf)
    digits = (
        differs and conf >= s.digit_change_conf and digits_only_change(read.original, read.copy)
    )
    blurred = sharp < s.blurred_line_sharpness
    tone_only = differs and untoned(read.original) == untoned(read.copy)
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


def uncrowd(
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
