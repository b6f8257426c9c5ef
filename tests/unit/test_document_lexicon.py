"""Words OCR read as no word at all, corrected by what the line's own CTC frames support."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ekyc.document.lexicon import MARGIN, alternatives, correct_line, known, words
from models.ocr.aster_rec import ctc_log_likelihood, ctc_log_likelihoods

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_forward_algorithm_sums_every_alignment() -> None:
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(3), size=4))

    def collapse(path: tuple[int, ...]) -> list[int]:
        out = [c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)]
        return out

    for labels in ([1], [1, 1], [1, 2], [2, 1, 2]):
        paths = [p for p in itertools.product(range(3), repeat=4) if collapse(p) == labels]
        total = np.logaddexp.reduce([sum(log_probs[t, c] for t, c in enumerate(p)) for p in paths])
        assert ctc_log_likelihood(log_probs, labels) == pytest.approx(float(total))
    assert ctc_log_likelihood(log_probs, [1, 2, 1, 2, 1]) == float("-inf")  # longer than T
    # several readings of different lengths in one pass: each as alone
    readings = [[1], [2, 1, 2], [], [1, 1], [1, 2, 1, 2, 1]]
    together = ctc_log_likelihoods(log_probs, readings)
    assert together.tolist() == pytest.approx([ctc_log_likelihood(log_probs, r) for r in readings])


def test_lexicon_holds_the_words_of_cards() -> None:
    assert len(words()) > 4000
    for w in ("Nguyễn", "Phường", "Huyện", "Đắk", "Lắk", "YẾN", "Đỗ", "Vũng", "name", "birth"):
        assert known(w), w
    for w in ("Vũg", "Khhải", "Tuyế", "Bni", "LaLý"):
        assert not known(w), w


def test_alternatives_one_edit_away_cased_like_the_reading() -> None:
    assert "Vũ" in alternatives("Vũg") and "Vũng" in alternatives("Vũg")
    assert "KHẢI" in alternatives("KHHẢI")
    assert "Mai" in alternatives("aMai")  # a stray letter before a name
    assert "La Lý" in alternatives("LaLý")  # two words run together


def test_correction_needs_the_frames_support() -> None:
    # a scorer preferring "Vũ" a little to the reading: corrected
    near = {"Quận Tuyết Vũg": -3.0, "Quận Tuyết Vũ": -4.0}
    assert correct_line("Quận Tuyết Vũg", lambda ts: [near.get(t, -50.0) for t in ts]) == (
        "Quận Tuyết Vũ"
    )
    # frames that saw the letter clearly: the reading stays
    far = {"Quận Tuyết Vũg": -1.0, "Quận Tuyết Vũ": -1.0 - MARGIN - 1}
    assert correct_line("Quận Tuyết Vũg", lambda ts: [far.get(t, -50.0) for t in ts]) == (
        "Quận Tuyết Vũg"
    )
    # no scorer (an engine that cannot score), an MRZ line, known words: untouched
    assert correct_line("Quận Tuyết Vũg", lambda ts: None) == "Quận Tuyết Vũg"
    assert correct_line("IDVNM0901<<3", lambda ts: [0.0] * len(ts)) == "IDVNM0901<<3"
    assert correct_line("Huyện Yên Bái", lambda ts: 1 / 0) == "Huyện Yên Bái"


def _drawn(
    text: str, size: int, canvas: tuple[int, int], at: tuple[int, int]
) -> tuple[np.ndarray, ImageFont.FreeTypeFont]:
    """``text`` in DejaVu Sans of ``size`` px, black at ``at`` on a white canvas (BGR)."""
    font = ImageFont.truetype(str(DEJAVU), size)
    im = Image.new("RGB", canvas, "white")
    ImageDraw.Draw(im).text(at, text, font=font, fill="black")
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR), font


@pytest.mark.skipif(not DEJAVU.exists(), reason="fonts-dejavu-core is not installed")
def test_a_real_line_scores_its_print_above_a_stray_stroke() -> None:
    from models.ocr.factory import load_ocr

    text = "Thị xã Phúc Đỗ, Lạng Sơn"
    image, _ = _drawn(text, 34, (520, 60), (10, 8))
    quad = np.array([[0, 0], [520, 0], [520, 60], [0, 60]], np.float32)
    engine = load_ocr("default")
    assert engine.read_lines(image, [quad])[0].text == text
    scores = engine.score_line(
        image, quad, [text, "Thị xã Phúc Đỗg, Lạng Sơn", "Thị xã Phúc Đồ, Lạng Sơn"]
    )
    assert scores is not None and scores[0] > max(scores[1:]) + MARGIN
    # the invented stroke corrected against the real frames
    misread = "Thị xã Phúc Đỗg, Lạng Sơn"
    assert correct_line(misread, lambda ts: engine.score_line(image, quad, ts)) == text


@pytest.mark.skipif(not DEJAVU.exists(), reason="fonts-dejavu-core is not installed")
def test_a_second_look_in_a_taller_framing_restores_marks_the_box_cut() -> None:
    from models.ocr.factory import load_ocr

    text = "Huyện Yến Đỗ"
    image, font = _drawn(text, 28, (600, 120), (10, 40))
    _, top, _, bottom = font.getbbox("Huyen Yen Do")  # the letters' box, without the marks
    quad = np.array([[5, 40 + top], [590, 40 + top], [590, 43 + bottom], [5, 43 + bottom]])
    engine = load_ocr("default")
    box = engine.read_lines(image, [quad.astype(np.float32)])[0]
    assert box.text != text  # the marks above the box are lost, and the letters with them
    assert engine.second_look(image, [box])[0].text == text
    # a line read the same both ways is left as it was
    whole = np.array([[0, 0], [600, 0], [600, 120], [0, 120]], np.float32)
    clear = engine.read_lines(image, [whole])[0]
    assert engine.second_look(image, [clear]) == [clear]
