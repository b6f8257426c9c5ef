"""The inference backend's failures over HTTP: each a 503 problem+json with its code and
``Retry-After``, the in-flight slot given back (no Ray needed: a stand-in engine raises what
the Ray backend raises)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ekyc.face.compare import Thresholds
from ekyc.face.pipeline import FaceEngine
from ekyc.inference.errors import (
    InferenceError,
    InferenceOverloaded,
    InferenceTimeout,
    InferenceUnavailable,
)
from tests.api.conftest import AppFactory, assert_problem, jpeg

PHOTO = jpeg(np.full((240, 320, 3), 128, np.uint8))


class _Failing:
    """Detector and embedder of a backend that cannot answer."""

    model_id = "failing"
    dim = 128

    def __init__(self, error: InferenceError) -> None:
        self.error = error

    def detect(self, image_bgr: np.ndarray) -> list[Any]:
        raise self.error

    def embed(self, aligned_rgb: np.ndarray) -> np.ndarray:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InferenceUnavailable("the backend is unavailable: gone", 7), "inference_unavailable"),
        (InferenceOverloaded("Face is overloaded (its queue is full)", 3), "inference_overloaded"),
        (InferenceTimeout("Face.detect took longer than 60 s", 9), "inference_timeout"),
    ],
)  # fmt: skip
def test_inference_failures_are_503_with_retry_after(
    make_api: AppFactory, error: InferenceError, code: str
) -> None:
    failing: Any = _Failing(error)
    engine = FaceEngine(failing, failing, None, Thresholds.load(None))
    api = make_api(face=engine, max_inflight_per_key=1)
    for _ in range(3):  # the slot is given back each time: never 429 too_many_inflight
        r = api.client.post(
            "/v1/faces/compare",
            files={"a": ("a.jpg", PHOTO, "image/jpeg"), "b": ("b.jpg", PHOTO, "image/jpeg")},
            headers=api.h("portal"),
        )
        body = assert_problem(r, 503, code)
        assert r.headers["retry-after"] == str(error.retry_after)
        assert body["retry_after"] == error.retry_after
