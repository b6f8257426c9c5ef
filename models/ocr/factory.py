"""Build an OCR engine by name."""

from __future__ import annotations

from models.ocr.aster_rec import AsterRecognizer
from models.ocr.base import OcrEngine
from models.ocr.errors import EngineUnavailable
from models.ocr.rapid_det import RapidTextDetector
from models.ocr.tesseract import TesseractEngine, TesseractRecognizer
from models.session import RuntimeOptions

ENGINES = ("default", "tesseract", "tesseract-page")


def load_ocr(name: str = "default", options: RuntimeOptions | None = None) -> OcrEngine:
    """An engine: "default" (PP-OCR det + asternet), "tesseract" (PP-OCR det + tesseract), or
    "tesseract-page" (tesseract's own layout)."""
    opts = options or RuntimeOptions()
    if name == "default":
        return OcrEngine(RapidTextDetector(opts), AsterRecognizer(opts), name="default")
    if name == "tesseract":
        return TesseractEngine(RapidTextDetector(opts), TesseractRecognizer())
    if name == "tesseract-page":
        return TesseractEngine(None, TesseractRecognizer())
    raise EngineUnavailable(name, f"unknown engine; choose one of {', '.join(ENGINES)}")
