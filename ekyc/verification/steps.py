"""What one verification step produced: an outcome the policy computed from raw inputs.

An outcome carries everything the signed result states about the step (status, score,
threshold, model ids, reasons, evidence hashes) and nothing personal: names, numbers and
images stay in sealed evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    CHIP = "chip"
    LIVENESS = "liveness"
    FACE_MATCH = "face_match"
    DOCUMENTS = "documents"


class Outcome(StrEnum):
    PASS = "pass"
    REVIEW = "review"  # a human must look: the automated check could not conclude
    FAIL = "fail"  # forged, invalid, not live, not the same person, altered copy


@dataclass(frozen=True)
class Reason:
    """A machine code with human text; ``step`` says which step raised it."""

    code: str
    message: str
    step: str | None = None

    def to_json(self) -> dict[str, str]:
        """JSON-ready form (``step`` omitted when None)."""
        out = {"code": self.code, "message": self.message}
        if self.step is not None:
            out["step"] = self.step
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Reason:
        """Parse the form written by ``to_json``."""
        return cls(str(d["code"]), str(d["message"]), d.get("step"))


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    outcome: Outcome
    score: float | None = None
    threshold: float | None = None
    model_ids: dict[str, str] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    #: evidence kind → SHA-256 hex of the raw bytes (the bytes themselves are sealed apart)
    evidence: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, stored with the step and copied into the signed result."""
        return {
            "step": self.step.value,
            "outcome": self.outcome.value,
            "score": self.score,
            "threshold": self.threshold,
            "model_ids": dict(self.model_ids),
            "reasons": [r.to_json() for r in self.reasons],
            "detail": self.detail,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepOutcome:
        """Parse the form written by ``to_json``."""
        return cls(
            step=Step(d["step"]),
            outcome=Outcome(d["outcome"]),
            score=None if d.get("score") is None else float(d["score"]),
            threshold=None if d.get("threshold") is None else float(d["threshold"]),
            model_ids={str(k): str(v) for k, v in d.get("model_ids", {}).items()},
            reasons=tuple(Reason.from_json(r) for r in d.get("reasons", [])),
            detail=dict(d.get("detail", {})),
            evidence={str(k): str(v) for k, v in d.get("evidence", {}).items()},
        )

    def with_evidence(self, evidence: dict[str, str]) -> StepOutcome:
        """A copy with evidence hashes added."""
        return StepOutcome(
            self.step,
            self.outcome,
            self.score,
            self.threshold,
            self.model_ids,
            self.reasons,
            self.detail,
            {**self.evidence, **evidence},
        )
