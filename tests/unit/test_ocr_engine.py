"""PP-OCR detection, the combined engine, model hashes and the engine factory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from models.ocr import InvalidImage, ModelHashMismatch, OcrEngine, load_ocr
from models.ocr.assets import load_model, manifest, package_dir
from models.ocr.base import crop_quad, order_quad, reading_order
from models.ocr.errors import EngineUnavailable
from models.ocr.rapid_det import RapidTextDetector

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES = ["Nguyễn Thị Hương", "Phường Hải Châu, Quận Hải Châu, Đà Nẵng", "Ngày sinh: 02/01/1990"]


def page() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A 1012x638 card-sized BGR image with three lines, and each line's true box."""
    if not FONT.exists():
        pytest.skip("fonts-dejavu-core is not installed")
    im = Image.new("RGB", (1012, 638), (236, 240, 232))
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 30)
    boxes = []
    for i, text in enumerate(LINES):
        xy = (60 + 25 * i, 80 + 150 * i)
        draw.text(xy, text, font=font, fill=(20, 20, 30))
        x0, y0, x1, y1 = draw.textbbox(xy, text, font=font)
        boxes.append((int(x0), int(y0), int(x1), int(y1)))
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR), boxes


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    try:
        return load_ocr("default")
    except EngineUnavailable as exc:
        pytest.skip(str(exc))


def test_detector_finds_each_line(engine: OcrEngine) -> None:
    image, truth = page()
    assert engine.detector is not None
    quads = engine.detector.detect(image)
    assert len(quads) == len(LINES)
    for x0, y0, x1, y1 in truth:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hits = [q for q in quads if q[:, 0].min() <= cx <= q[:, 0].max()]
        hits = [q for q in hits if q[:, 1].min() <= cy <= q[:, 1].max()]
        assert len(hits) == 1
        q = hits[0]
        # The quad covers the glyphs and is not much larger than the line.
        assert q[:, 0].min() <= x0 + 2 and q[:, 0].max() >= x1 - 2
        assert q[:, 1].max() - q[:, 1].min() < 2.5 * (y1 - y0)


def test_read_returns_lines_in_reading_order(engine: OcrEngine) -> None:
    image, _ = page()
    boxes = engine.read(image)
    assert [b.text for b in boxes] == LINES
    assert all(b.quad.shape == (4, 2) and 0.5 < b.confidence <= 1.0 for b in boxes)


def test_read_lines_keeps_the_given_order(engine: OcrEngine) -> None:
    image, truth = page()
    quads = [
        np.array(
            [[x0 - 6, y0 - 6], [x1 + 6, y0 - 6], [x1 + 6, y1 + 6], [x0 - 6, y1 + 6]], np.float32
        )
        for x0, y0, x1, y1 in reversed(truth)
    ]
    assert [b.text for b in engine.read_lines(image, quads)] == LINES[::-1]


def test_blank_image_reads_nothing(engine: OcrEngine) -> None:
    assert engine.read(np.full((638, 1012, 3), 255, np.uint8)) == []


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((50, 50, 3), np.float32),
        np.zeros((50, 50, 2), np.uint8),
    ],
)
def test_bad_images_are_typed_errors(engine: OcrEngine, bad: np.ndarray) -> None:
    with pytest.raises(InvalidImage) as info:
        engine.read(bad)
    assert info.value.code == "ocr_invalid_image"


def test_hash_mismatch_is_refused(tmp_path: Path) -> None:
    rec = manifest()["asternet-vi-rec"]
    real = package_dir(rec.package) / rec.file
    fake = tmp_path / "asternet.onnx"
    fake.write_bytes(real.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelHashMismatch) as info:
        load_model("asternet-vi-rec", fake)
    assert info.value.code == "model_hash_mismatch"
    assert info.value.actual == hashlib.sha256(fake.read_bytes()).hexdigest()
    with pytest.raises(ModelHashMismatch):
        RapidTextDetector(model_path=fake)


def test_missing_model_and_unknown_engine_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as info:
        load_model("ppocrv6-det-small", tmp_path / "absent.onnx")
    assert info.value.code == "ocr_engine_unavailable"
    with pytest.raises(EngineUnavailable):
        load_ocr("paddle-remote")


def test_asterocr_is_never_imported(engine: OcrEngine) -> None:
    import sys

    assert "asterocr" not in sys.modules
    assert not any(m.startswith("asterocr.") for m in sys.modules)


def test_quad_helpers() -> None:
    q = order_quad(np.array([[10, 20], [0, 0], [10, 0], [0, 20]]))
    assert q.tolist() == [[0, 0], [10, 0], [10, 20], [0, 20]]
    tall = np.array([[0, 0], [10, 0], [10, 40], [0, 40]], np.float32)
    assert crop_quad(np.zeros((50, 50, 3), np.uint8), tall).shape[:2] == (10, 40)
    a = np.array([[50, 10], [90, 10], [90, 30], [50, 30]], np.float32)
    b = np.array([[0, 12], [40, 12], [40, 32], [0, 32]], np.float32)
    c = np.array([[0, 60], [40, 60], [40, 80], [0, 80]], np.float32)
    assert reading_order([c, a, b]) == [2, 1, 0]
