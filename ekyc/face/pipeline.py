"""The face engine: decode, detect, choose the subject, gate quality, align, embed, compare."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ekyc.face.align import align
from ekyc.face.compare import Embedding, MatchResult, Thresholds, compare
from ekyc.face.errors import FaceRejected
from ekyc.face.image import decode_image
from ekyc.face.quality import (
    QUALITY_TABLE,
    FaceBox,
    QualityReport,
    QualityThresholds,
    Role,
    assess,
    choose_subject,
)

if TYPE_CHECKING:
    from models.session import RuntimeOptions


class Detector(Protocol):
    """models.face_detector.FaceDetector, as seen by the engine."""

    model_id: str

    def detect(self, image_bgr: np.ndarray) -> Sequence[FaceBox]: ...


class Embedder(Protocol):
    """models.face_embedder.FaceEmbedder, as seen by the engine."""

    model_id: str
    dim: int

    def embed(self, aligned_rgb: np.ndarray) -> np.ndarray: ...


class PadScore(Protocol):
    """models.face_pad.PadScore: the fused live-class probability."""

    @property
    def live(self) -> float: ...


class Pad(Protocol):
    """models.face_pad.FacePad, as seen by the engine (liveness calls it)."""

    model_id: str

    def score(self, image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> PadScore: ...


@dataclass(frozen=True)
class FaceAnalysis:
    """Everything the engine learnt about one image; ``embedding`` is None without a face."""

    role: Role
    faces: tuple[FaceBox, ...]
    subject_index: int | None
    quality: QualityReport
    aligned_rgb: np.ndarray | None
    embedding: Embedding | None
    detector_id: str
    embedder_id: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def subject(self) -> FaceBox | None:
        """The chosen face, or None when no face was found."""
        return None if self.subject_index is None else self.faces[self.subject_index]

    @property
    def usable(self) -> bool:
        """True when the quality gate passed and an embedding exists."""
        return self.quality.passed and self.embedding is not None


class FaceEngine:
    """Detector, embedder, optional PAD model and thresholds bundled behind one interface."""

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        pad: Pad | None,
        thresholds: Thresholds,
        quality_table: dict[Role, QualityThresholds] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.pad = pad
        self.thresholds = thresholds
        self.quality_table = quality_table or QUALITY_TABLE
        self._clock = clock

    @classmethod
    def from_registry(
        cls,
        registry: Any = None,
        options: RuntimeOptions | None = None,
        thresholds_path: Path | None = None,
        thresholds: Thresholds | None = None,
    ) -> FaceEngine:
        """Build the engine from the model registry (the default one when None)."""
        from models.face_detector import load_detector
        from models.face_embedder import load_embedder
        from models.face_pad import load_pad
        from models.registry import default_registry
        from models.session import RuntimeOptions

        reg = registry if registry is not None else default_registry()
        opts = options if options is not None else RuntimeOptions()
        return cls(
            load_detector(reg, opts),
            load_embedder(reg, opts),
            load_pad(reg, opts),
            thresholds if thresholds is not None else Thresholds.load(thresholds_path),
        )

    def _ms(self, start: float) -> float:
        return (self._clock() - start) * 1000.0

    def analyse(
        self, image_bgr: np.ndarray, role: Role = "selfie", embed: bool = True
    ) -> FaceAnalysis:
        """Detect, choose the subject, gate quality, align and embed one BGR image."""
        timings: dict[str, float] = {}
        t = self._clock()
        faces = tuple(self.detector.detect(image_bgr))
        timings["detect"] = self._ms(t)
        t = self._clock()
        subject = choose_subject(faces, image_bgr.shape)
        report = assess(image_bgr, faces, role, self.quality_table, subject)
        timings["quality"] = self._ms(t)
        aligned = None
        embedding = None
        if subject is not None:
            t = self._clock()
            aligned = align(image_bgr, faces[subject].landmarks)
            timings["align"] = self._ms(t)
            if embed:
                t = self._clock()
                vec = self.embedder.embed(aligned[None])[0]
                timings["embed"] = self._ms(t)
                embedding = Embedding(np.asarray(vec, dtype=np.float32), self.embedder.model_id)
        return FaceAnalysis(
            role=role,
            faces=faces,
            subject_index=subject,
            quality=report,
            aligned_rgb=aligned,
            embedding=embedding,
            detector_id=self.detector.model_id,
            embedder_id=self.embedder.model_id,
            timings_ms=timings,
        )

    def analyse_bytes(
        self, data: bytes, role: Role = "selfie", max_pixels: int = 40_000_000
    ) -> FaceAnalysis:
        """Decode untrusted image bytes (ImageRejected on bad input), then analyse them."""
        t = self._clock()
        image = decode_image(data, max_pixels=max_pixels)
        decode_ms = self._ms(t)
        result = self.analyse(image, role)
        result.timings_ms["decode"] = decode_ms
        return result

    def compare(
        self,
        a: FaceAnalysis | Embedding,
        b: FaceAnalysis | Embedding,
        operating_point: str | None = None,
        require_quality: bool = True,
    ) -> MatchResult:
        """Compare two analyses (or stored templates); FaceRejected when one is unusable."""
        return compare(
            _template(a, require_quality),
            _template(b, require_quality),
            self.thresholds,
            operating_point,
        )


def _template(x: FaceAnalysis | Embedding, require_quality: bool) -> Embedding:
    if isinstance(x, Embedding):
        return x
    if require_quality:
        x.quality.raise_if_failed()
    if x.embedding is None:
        raise FaceRejected("no_face", "no face to compare")
    return x.embedding
