"""The service's document comparer really uses the OCR engine and the face capability."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from ekyc.document.portrait import face_comparer
from ekyc.synth.document import render_a4
from ekyc.verification.service import document_comparer
from tests.support import FACES


@dataclass(frozen=True)
class _Box:
    quad: np.ndarray
    text: str
    confidence: float


class _FixedOcr:
    """Reads one line on any page: the original says ``ABC``, the copy ``ABC`` too."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def read(self, image_bgr: np.ndarray) -> list[_Box]:
        self.calls.append("read")
        quad = np.array([[100, 100], [400, 100], [400, 140], [100, 140]], np.float32)
        return [_Box(quad, "ABC", 0.99)]

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[_Box]:
        self.calls.append("read_lines")
        return [_Box(q, "ABC", 0.99) for q in quads]


def test_document_comparer_reads_text_with_the_bound_ocr() -> None:
    ocr = _FixedOcr()
    loads: list[int] = []

    def loader() -> _FixedOcr:
        loads.append(1)
        return ocr

    compare = document_comparer(None, loader)
    assert compare is not None
    page = render_a4(3, "diploma").image_bgr
    verdict = compare([page], [page.copy()])
    assert verdict.verdict == "MATCH"
    # the original's lines found and read; the copy's line, with no changed ink, is not read
    assert loads == [1] and ocr.calls == ["read"]
    assert [ln.original_text for ln in verdict.pages[0].lines] == ["ABC"]


def _portrait(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name))
    assert image is not None
    h, w = image.shape[:2]
    side = min(h, w)
    return np.ascontiguousarray(
        image[(h - side) // 2 : (h + side) // 2, (w - side) // 2 :][:, :side]
    )


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_face_comparer_tells_the_same_person_from_another() -> None:
    from ekyc.face.pipeline import FaceEngine

    same = face_comparer(FaceEngine.from_registry())
    obama, obama2, biden = (_portrait(n) for n in ("obama__obama.jpg", "obama__obama2.jpg",
                                                    "biden__biden.jpg"))  # fmt: skip
    assert same(obama, obama2)
    assert not same(obama, biden)
    blank = np.full_like(obama, 230)
    assert not same(obama, blank)  # no face on the copy: not the same portrait
