"""A deployer's PaddleOCR models from a folder: rapidocr's PP-OCRv6 recogniser stands in."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.ocr import load_ocr
from models.ocr.assets import package_dir
from models.ocr.errors import EngineUnavailable
from models.ocr.paddle_rec import PaddleRecognizer, read_paddle_folder

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PP_REC = "models/PP-OCRv6_rec_small.onnx"  # a paddle2onnx export, characters in its metadata


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        src = package_dir("rapidocr") / PP_REC
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("paddle")
    shutil.copyfile(src, out / "rec.onnx")
    return out


def _line(text: str) -> np.ndarray:
    if not FONT.exists():
        pytest.skip("fonts-dejavu-core is not installed")
    im = Image.new("RGB", (700, 60), (245, 245, 240))
    ImageDraw.Draw(im).text(
        (10, 10), text, font=ImageFont.truetype(str(FONT), 32), fill=(15, 15, 20)
    )
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)


def test_paddle_engine_reads_lines_with_the_deployers_model(folder: Path) -> None:
    engine = load_ocr("paddle", model_dir=folder)
    assert engine.name.startswith("paddle:")
    page = np.full((300, 900, 3), 245, np.uint8)
    page[40:100, 50:750] = _line("CAN CUOC 2024")
    page[180:240, 50:750] = _line("Date of birth 02/01/1990")
    texts = [t.text for t in engine.read(page)]
    assert texts == ["CAN CUOC 2024", "Date of birth 02/01/1990"]


def test_recognizer_batches_lines_of_any_width_in_order(folder: Path) -> None:
    files = read_paddle_folder(folder)
    rec = PaddleRecognizer(files.rec, files.characters, batch_size=2)
    crops = [_line("2024"), _line("HELLO WORLD 123")[:, :400], _line("ABC")]
    out = rec.recognize(crops)
    assert [t for t, _ in out] == ["2024", "HELLO WORLD 123", "ABC"]
    assert all(0.5 < c <= 1.0 for _, c in out)


def test_a_character_list_that_does_not_fit_the_model_is_refused(folder: Path) -> None:
    (folder / "keys.txt").write_text("a\nb\nc\n", encoding="utf-8")
    try:
        with pytest.raises(EngineUnavailable, match="3 characters"):
            load_ocr("paddle", model_dir=folder)
    finally:
        (folder / "keys.txt").unlink()


def test_paddle_engine_needs_its_folder(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="EKYC_OCR_MODEL_DIR"):
        load_ocr("paddle")
    with pytest.raises(EngineUnavailable, match="rec.onnx"):
        load_ocr("paddle", model_dir=tmp_path)
