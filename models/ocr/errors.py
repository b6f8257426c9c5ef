"""Typed OCR errors, each with a stable machine-readable code."""

from __future__ import annotations


class OcrError(Exception):
    """Base of every OCR error; `code` is stable and safe to show to API clients."""

    code = "ocr_error"


class EngineUnavailable(OcrError):
    """The requested engine, its model files or its binary are not installed."""

    code = "ocr_engine_unavailable"

    def __init__(self, engine: str, reason: str) -> None:
        super().__init__(f"OCR engine {engine!r} unavailable: {reason}")
        self.engine = engine
        self.reason = reason


class ModelHashMismatch(OcrError):
    """A model file's sha256 differs from the one recorded in the manifest."""

    code = "model_hash_mismatch"

    def __init__(self, model_id: str, expected: str, actual: str) -> None:
        super().__init__(f"model {model_id}: sha256 {actual} != expected {expected}")
        self.model_id = model_id
        self.expected = expected
        self.actual = actual


class InvalidImage(OcrError):
    """The image is not an 8-bit BGR (or grey) array of usable size."""

    code = "ocr_invalid_image"

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid image: {reason}")
        self.reason = reason


class EngineTimeout(OcrError):
    """An external OCR process ran past its time limit."""

    code = "ocr_timeout"

    def __init__(self, engine: str, seconds: float) -> None:
        super().__init__(f"OCR engine {engine!r} exceeded {seconds:g} s")
        self.engine = engine
        self.seconds = seconds


class EngineFailed(OcrError):
    """An external OCR process exited with an error."""

    code = "ocr_engine_failed"

    def __init__(self, engine: str, detail: str) -> None:
        super().__init__(f"OCR engine {engine!r} failed: {detail}")
        self.engine = engine
        self.detail = detail
