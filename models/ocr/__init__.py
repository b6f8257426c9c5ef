"""OCR engines: PP-OCR text detection, Vietnamese line recognition, and tesseract to compare."""

from models.ocr.base import OcrEngine, TextBox, TextDetector, TextRecognizer
from models.ocr.errors import (
    EngineFailed,
    EngineTimeout,
    EngineUnavailable,
    InvalidImage,
    ModelHashMismatch,
    OcrError,
)
from models.ocr.factory import load_ocr
from models.session import RuntimeOptions

__all__ = [
    "EngineFailed",
    "EngineTimeout",
    "EngineUnavailable",
    "InvalidImage",
    "ModelHashMismatch",
    "OcrEngine",
    "OcrError",
    "RuntimeOptions",
    "TextBox",
    "TextDetector",
    "TextRecognizer",
    "load_ocr",
]
