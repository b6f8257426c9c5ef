"""Cosine comparison of face embeddings against per-model thresholds at named operating points."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ekyc.face.errors import ModelMismatch, ThresholdFileError, ThresholdNotFound

FORMAT = "ekyc.face.thresholds/1"
DEFAULT_FILE = "thresholds.json"


@dataclass(frozen=True)
class Embedding:
    """A face template: an L2-normalised vector and the id of the model that made it."""

    vector: np.ndarray
    model_id: str


Kind = Literal["measured", "published", "extrapolated"]
KINDS: tuple[Kind, ...] = ("measured", "published", "extrapolated")


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold on a model's score scale and the evidence it rests on.

    ``kind``: ``measured`` (read off labelled pairs enough for what it claims),
    ``published`` (the model publisher's figure, cited in ``source``) or ``extrapolated``
    (beyond what its pairs resolve: kept for information, never the default decision).
    """

    name: str
    threshold: float
    target_fmr: float
    #: True when the calibration set had too few impostor pairs to resolve target_fmr
    extrapolated: bool = False
    fnmr: float | None = None
    kind: Kind = "measured"
    source: str = ""

    def __post_init__(self) -> None:
        if self.extrapolated and self.kind != "extrapolated":
            object.__setattr__(self, "kind", "extrapolated")


@dataclass(frozen=True)
class ModelThresholds:
    """The operating points of one model and the one used when none is named."""

    model_id: str
    operating_points: dict[str, OperatingPoint]
    default: str
    calibration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """Outcome of a 1:1 comparison with everything needed to audit it."""

    score: float
    threshold: float
    operating_point: str
    decision: Literal["match", "no_match"]
    model_id_a: str
    model_id_b: str
    extrapolated: bool

    @property
    def matched(self) -> bool:
        """True when the score reached the threshold."""
        return self.decision == "match"


class Thresholds:
    """Thresholds per model id at named operating points (e.g. ``fmr_1e-3``)."""

    def __init__(self, models: dict[str, ModelThresholds]) -> None:
        self.models = models

    def get(self, model_id: str, operating_point: str | None = None) -> OperatingPoint:
        """The operating point for a model; its default one when none is named."""
        entry = self.models.get(model_id)
        if entry is None:
            raise ThresholdNotFound(model_id, operating_point or "default")
        name = operating_point or entry.default
        op = entry.operating_points.get(name)
        if op is None:
            raise ThresholdNotFound(model_id, name)
        return op

    def to_json(self) -> dict[str, Any]:
        """The threshold file's content."""
        return {
            "format": FORMAT,
            "models": {
                mid: {
                    "default_operating_point": m.default,
                    "operating_points": {
                        name: {
                            "threshold": op.threshold,
                            "target_fmr": op.target_fmr,
                            "extrapolated": op.extrapolated,
                            "fnmr": op.fnmr,
                            "kind": op.kind,
                            "source": op.source,
                        }
                        for name, op in m.operating_points.items()
                    },
                    "calibration": m.calibration,
                }
                for mid, m in self.models.items()
            },
        }

    @classmethod
    def from_json(cls, doc: object) -> Thresholds:
        """Parse and validate a threshold file's content."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ThresholdFileError(f"not a {FORMAT} document")
        models: dict[str, ModelThresholds] = {}
        try:
            for mid, m in doc["models"].items():
                ops = {
                    name: OperatingPoint(
                        name=name,
                        threshold=float(o["threshold"]),
                        target_fmr=float(o["target_fmr"]),
                        extrapolated=bool(o.get("extrapolated", False)),
                        fnmr=None if o.get("fnmr") is None else float(o["fnmr"]),
                        kind=o.get("kind", "measured"),
                        source=str(o.get("source", "")),
                    )
                    for name, o in m["operating_points"].items()
                }
                default = str(m["default_operating_point"])
                if default not in ops:
                    raise ThresholdFileError(f"{mid}: default {default!r} is not defined")
                if ops[default].kind == "extrapolated":
                    raise ThresholdFileError(
                        f"{mid}: default {default!r} is extrapolated beyond its calibration"
                        " pairs; the default decision needs a measured or published threshold"
                    )
                for op in ops.values():
                    if op.kind not in KINDS:
                        raise ThresholdFileError(f"{mid}/{op.name}: kind must be one of {KINDS}")
                    if not math.isfinite(op.threshold) or not -1.0 <= op.threshold <= 1.0:
                        raise ThresholdFileError(f"{mid}/{op.name}: threshold out of [-1, 1]")
                models[str(mid)] = ModelThresholds(
                    str(mid), ops, default, dict(m.get("calibration", {}))
                )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ThresholdFileError(f"malformed threshold file: {e!r}") from e
        return cls(models)

    @classmethod
    def load(cls, path: Path | None = None) -> Thresholds:
        """Load a threshold file; the calibrated defaults shipped with the package when None."""
        try:
            if path is None:
                text = resources.files("ekyc.face").joinpath(DEFAULT_FILE).read_text("utf-8")
            else:
                text = Path(path).read_text("utf-8")
            doc = json.loads(text)
        except (OSError, json.JSONDecodeError) as e:
            raise ThresholdFileError(f"cannot read threshold file: {e}") from e
        return cls.from_json(doc)

    def save(self, path: Path) -> None:
        """Write the threshold file."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", "utf-8")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (normalised here, so raw vectors work too)."""
    va = np.asarray(a, dtype=np.float64).ravel()
    vb = np.asarray(b, dtype=np.float64).ravel()
    if va.shape != vb.shape:
        raise ValueError(f"embedding sizes differ: {va.shape} vs {vb.shape}")
    na, nb = float(np.linalg.norm(va)), float(np.linalg.norm(vb))
    if na == 0.0 or nb == 0.0:
        raise ValueError("zero embedding")
    return float(np.dot(va, vb) / (na * nb))


def compare(
    a: Embedding, b: Embedding, thresholds: Thresholds, operating_point: str | None = None
) -> MatchResult:
    """Compare two templates of the same model at an operating point; refuse mixed models."""
    if a.model_id != b.model_id:
        raise ModelMismatch(a.model_id, b.model_id)
    op = thresholds.get(a.model_id, operating_point)
    score = cosine(a.vector, b.vector)
    return MatchResult(
        score=score,
        threshold=op.threshold,
        operating_point=op.name,
        decision="match" if score >= op.threshold else "no_match",
        model_id_a=a.model_id,
        model_id_b=b.model_id,
        extrapolated=op.extrapolated,
    )
