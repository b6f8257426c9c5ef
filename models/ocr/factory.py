"""Build an OCR engine by name."""

from __future__ import annotations

from pathlib import Path

from models.ocr.aster_rec import AsterRecognizer
from models.ocr.base import OcrEngine
from models.ocr.errors import EngineUnavailable
from models.ocr.paddle_rec import PaddleRecognizer, read_paddle_folder
from models.ocr.rapid_det import RapidTextDetector
from models.ocr.tesseract import TesseractEngine, TesseractRecognizer
from models.session import RuntimeOptions

ENGINES = ("default", "tesseract", "tesseract-page", "paddle")


def load_ocr(
    name: str = "default", options: RuntimeOptions | None = None, model_dir: Path | None = None
) -> OcrEngine:
    """An engine: "default" (PP-OCR det + asternet), "tesseract" (PP-OCR det + tesseract),
    "tesseract-page" (tesseract's own layout) or "paddle" (a deployer's PaddleOCR models
    from ``model_dir``, see models.ocr.paddle_rec)."""
    opts = options or RuntimeOptions()
    if name == "paddle":
        if model_dir is None:
            raise EngineUnavailable(name, "needs a model folder (EKYC_OCR_MODEL_DIR)")
        files = read_paddle_folder(model_dir)
        recognizer = PaddleRecognizer(files.rec, files.characters, opts)
        return OcrEngine(
            RapidTextDetector(opts, model=files.det), recognizer, name=f"paddle:{files.sha256[:12]}"
        )
    if name == "default":
        return OcrEngine(RapidTextDetector(opts), AsterRecognizer(opts), name="default")
    if name == "tesseract":
        return TesseractEngine(RapidTextDetector(opts), TesseractRecognizer())
    if name == "tesseract-page":
        return TesseractEngine(None, TesseractRecognizer())
    raise EngineUnavailable(name, f"unknown engine; choose one of {', '.join(ENGINES)}")
