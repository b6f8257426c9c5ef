"""asternet line recognition: Vietnamese text, MRZ, long-line splitting, batching."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.ocr.aster_rec import MAX_WIDTH, AsterRecognizer, ctc_greedy, split_points, to_height
from models.ocr.errors import EngineUnavailable

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
NAME = "Nguyễn Thị Hương"
PLACE = "Phường Hải Châu, Quận Hải Châu, Đà Nẵng"
MRZ = "IDVNM0901234562001090123456<<3"


def render(text: str, font: str = "DejaVuSans.ttf", size: int = 28) -> np.ndarray:
    """A BGR line crop of the text in black on white with a small margin."""
    if not (DEJAVU / font).exists():
        pytest.skip("fonts-dejavu-core is not installed")
    f = ImageFont.truetype(str(DEJAVU / font), size)
    x0, y0, x1, y1 = (int(v) for v in f.getbbox(text))
    im = Image.new("RGB", (x1 - x0 + 16, y1 - y0 + 12), "white")
    ImageDraw.Draw(im).text((8 - x0, 6 - y0), text, font=f, fill="black")
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)


def cer(truth: str, read: str) -> float:
    """Character error rate: Levenshtein distance over the truth's length."""
    prev = list(range(len(read) + 1))
    for i, a in enumerate(truth, 1):
        cur = [i] + [0] * len(read)
        for j, b in enumerate(read, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1] / len(truth)


@pytest.fixture(scope="module")
def rec() -> AsterRecognizer:
    try:
        return AsterRecognizer()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))


def test_reads_vietnamese_name_and_place(rec: AsterRecognizer) -> None:
    (name, c1), (place, c2) = rec.recognize([render(NAME), render(PLACE, "DejaVuSerif.ttf")])
    assert cer(NAME, name) < 0.05
    assert cer(PLACE, place) < 0.05
    assert 0.5 < c1 <= 1.0 and 0.5 < c2 <= 1.0


def test_reads_mrz_line_exactly(rec: AsterRecognizer) -> None:
    [(text, conf)] = rec.recognize([render(MRZ, "DejaVuSansMono.ttf")])
    assert text == MRZ
    assert conf > 0.8


def test_batched_equals_one_by_one(rec: AsterRecognizer) -> None:
    crops = [render(NAME), render(PLACE), render("Việt Nam"), render(MRZ, "DejaVuSansMono.ttf")]
    batched = rec.recognize(crops)
    single = [rec.recognize([c])[0] for c in crops]
    assert [t for t, _ in batched] == [t for t, _ in single]
    assert batched[0][0] == NAME


def test_long_line_is_split_at_a_gap_and_read(rec: AsterRecognizer) -> None:
    text = ", ".join([PLACE] * 3)
    crop = render(text, size=24)
    line = to_height(crop)
    assert line.shape[1] > MAX_WIDTH  # would overflow the model's 256-step positional table
    cuts = split_points(line)
    assert cuts and all(gap > 0 for _, gap in cuts)
    [(read, _)] = rec.recognize([crop])
    assert cer(text, read) < 0.05


def test_blank_crop_reads_empty(rec: AsterRecognizer) -> None:
    [(text, _)] = rec.recognize([np.full((40, 300, 3), 255, np.uint8)])
    assert text == ""


def test_ctc_greedy_collapses_repeats_and_blanks() -> None:
    vocab = ["<blank>", "a", "b"]
    p = np.full((6, 3), 1e-3, dtype=np.float32)
    for t, k in enumerate([1, 1, 0, 1, 2, 2]):
        p[t, k] = 0.9 if t != 4 else 0.6
    text, conf = ctc_greedy(np.log(p), vocab)
    assert text == "aab"
    assert conf == pytest.approx((0.9 + 0.9 + 0.9) / 3)
