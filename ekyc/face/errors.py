"""Errors of the face capability, each with a stable ``code``."""

from __future__ import annotations

from typing import Literal

from ekyc.errors import EkycError

ImageCode = Literal[
    "not_an_image", "truncated_image", "too_many_pixels", "image_too_small", "unsupported_image"
]
FaceCode = Literal[
    "no_face",
    "several_faces",
    "face_too_small",
    "eyes_too_close",
    "pose_out_of_range",
    "blurry",
    "overexposed",
    "underexposed",
]


class ImageRejected(EkycError):
    """Uploaded bytes cannot be turned into a usable image."""

    code: str = "image_rejected"

    def __init__(self, code: ImageCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class FaceRejected(EkycError):
    """The image holds no face usable for matching; ``code`` is the first quality reason."""

    code: str = "face_rejected"

    def __init__(self, code: FaceCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class ModelMismatch(EkycError):
    """Two embeddings come from different models and must never be compared."""

    code = "model_mismatch"

    def __init__(self, model_a: str, model_b: str) -> None:
        self.model_a = model_a
        self.model_b = model_b
        super().__init__(f"embeddings of different models: {model_a!r} vs {model_b!r}")


class ThresholdNotFound(EkycError):
    """No calibrated threshold exists for this model id and operating point."""

    code = "threshold_not_found"

    def __init__(self, model_id: str, operating_point: str) -> None:
        self.model_id = model_id
        self.operating_point = operating_point
        super().__init__(f"no threshold for model {model_id!r} at {operating_point!r}")


class ThresholdFileError(EkycError):
    """A threshold file is missing fields or holds invalid values."""

    code = "threshold_file_error"


class CalibrationError(EkycError):
    """A calibration cannot be computed (no usable genuine or impostor pairs)."""

    code = "calibration_error"
