"""Debian tesseract as the comparison engine (skipped where the binary is missing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.ocr.errors import EngineTimeout, EngineUnavailable
from models.ocr.tesseract import TesseractEngine, TesseractRecognizer, find_tesseract

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
NAME = "Nguyễn Thị Hương"

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract binary")


def render(text: str, size: int = 32) -> np.ndarray:
    """A BGR line crop of the text in black on white."""
    if not FONT.exists():
        pytest.skip("fonts-dejavu-core is not installed")
    f = ImageFont.truetype(str(FONT), size)
    x0, y0, x1, y1 = (int(v) for v in f.getbbox(text))
    im = Image.new("RGB", (x1 - x0 + 30, y1 - y0 + 24), "white")
    ImageDraw.Draw(im).text((15 - x0, 12 - y0), text, font=f, fill="black")
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def tess() -> TesseractRecognizer:
    try:
        return TesseractRecognizer()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))


def test_reads_lines_in_one_run(tess: TesseractRecognizer) -> None:
    out = tess.recognize([render(NAME), render("Việt Nam"), np.full((40, 200, 3), 255, np.uint8)])
    assert len(out) == 3
    assert out[0][0] == NAME and 0.5 < out[0][1] <= 1.0
    assert out[1][0] == "Việt Nam"
    assert len(out[2][0]) <= 2  # tesseract may call a blank crop "¬"; nothing more


def test_page_mode_finds_lines(tess: TesseractRecognizer) -> None:
    page = np.full((200, 600, 3), 255, np.uint8)
    page[20 : 20 + render(NAME).shape[0], 20 : 20 + render(NAME).shape[1]] = render(NAME)
    boxes = TesseractEngine(None, tess).read(page)
    assert [b.text for b in boxes] == [NAME]
    assert boxes[0].quad[:, 0].min() >= 20


def test_missing_language_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable) as info:
        find_tesseract("zzz")
    assert info.value.code == "ocr_engine_unavailable"


def test_timeout_is_typed(tess: TesseractRecognizer) -> None:
    slow = TesseractRecognizer(timeout_s=0.001, binary=tess.binary)
    with pytest.raises(EngineTimeout):
        slow.recognize([render(NAME)])
