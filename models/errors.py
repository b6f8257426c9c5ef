"""Errors raised by the model layer; each has a stable ``code`` for the API and CLI."""

from __future__ import annotations


class ModelError(Exception):
    """Base class of model-layer errors."""

    code = "model_error"


class ModelIntegrityError(ModelError):
    """A model file's sha256 differs from the manifest: the file is refused, never loaded."""

    code = "model_integrity"

    def __init__(self, model_id: str, path: str, expected: str, actual: str) -> None:
        self.model_id = model_id
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(f"{model_id}: {path} has sha256 {actual}, manifest says {expected}")


class ModelFileMissing(ModelError):
    """The file a manifest entry names does not exist or cannot be read."""

    code = "model_file_missing"

    def __init__(self, model_id: str, path: str) -> None:
        self.model_id = model_id
        self.path = path
        super().__init__(f"{model_id}: model file {path} not found")


class ModelNotRegistered(ModelError):
    """No model of the requested kind (or id) is registered."""

    code = "model_not_registered"


class ManifestError(ModelError):
    """A manifest is not valid JSON or misses required fields."""

    code = "manifest_invalid"


class UnsupportedModel(ModelError):
    """The model's preprocessing or outputs are not something this code can run."""

    code = "unsupported_model"
