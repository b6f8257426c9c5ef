"""The decision policy: per procedure code, which steps are required, the face operating
point, what goes to manual review; and the mapping from raw engine results to outcomes.

The service never takes a verdict from a client: it runs ``verify_chip``, ``check_liveness``,
``FaceEngine.compare`` and ``compare_documents`` itself and hands their results here. A
forged or invalid input always fails (no policy can accept it); the policy only chooses
between review and decline for the inconclusive cases (issuer not in the trust store, no
PAD model, an unreadable copy, a face score just under the threshold).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ekyc.errors import EkycError
from ekyc.verification.states import State
from ekyc.verification.steps import Outcome, Reason, Step, StepOutcome

if TYPE_CHECKING:
    from ekyc.cccd.chip import ChipVerification
    from ekyc.document.compare import CopyVerdict
    from ekyc.face.compare import MatchResult
    from ekyc.face.liveness import LivenessVerdict

FORMAT = "ekyc.verification.policy/1"
DEFAULT_FILE = "default_policy.json"
Inconclusive = Literal["review", "decline"]

LIVENESS_MESSAGES: dict[str, str] = {
    "nonce_unknown": "the liveness challenge was never issued or has expired",
    "nonce_replayed": "the liveness challenge was already used",
    "session_mismatch": "the liveness challenge belongs to another session",
    "challenge_mismatch": "the submitted challenge differs from the one the server issued",
    "deadline": "the frames were captured or uploaded after the challenge deadline",
    "frame_count": "too few or too many frames",
    "timestamps_not_increasing": "frame timestamps do not increase",
    "frame_burst": "frames arrived faster than a camera produces them",
    "frame_gap": "a gap between frames hides part of the challenge",
    "duplicate_frames": "the same picture was submitted more than once",
    "no_face": "no face in some frames",
    "several_faces": "more than one face in the frames",
    "face_too_small": "the face is too small in some frames",
    "no_neutral_start": "the sequence does not start facing the camera",
    "challenge_incomplete": "not every requested head movement was performed",
    "challenge_order": "the head movements were performed out of order",
    "static_sequence": "the head did not move",
    "identity_changed": "the person changed during the sequence",
    "pad_spoof": "presentation attack detected (photo, screen or mask)",
    "pad_unavailable": "no presentation-attack model is installed: a person must confirm",
}


class PolicyError(EkycError):
    """A policy file is missing fields or holds invalid values."""

    code = "policy_error"


class UnknownProcedure(EkycError):
    """The procedure code has no policy."""

    code = "unknown_procedure"

    def __init__(self, procedure: str) -> None:
        self.procedure = procedure
        super().__init__(f"no verification policy for procedure {procedure!r}")


class UnknownStep(EkycError):
    """A step name the service does not know."""

    code = "unknown_step"

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(f"unknown step {step!r}; known: {', '.join(s.value for s in Step)}")


@dataclass(frozen=True)
class Decision:
    """The session's state as the policy sees it, with the reasons for a decline or review."""

    state: State
    reasons: tuple[Reason, ...]
    pending: tuple[Step, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "state": self.state.value,
            "reasons": [r.to_json() for r in self.reasons],
            "pending": [s.value for s in self.pending],
        }


def parse_steps(names: Iterable[str]) -> tuple[Step, ...]:
    """Step names to ``Step`` values in canonical order, or raise ``UnknownStep``."""
    wanted: set[Step] = set()
    for name in names:
        try:
            wanted.add(Step(name))
        except ValueError:
            raise UnknownStep(str(name)) from None
    return tuple(s for s in Step if s in wanted)


@dataclass(frozen=True)
class ProcedurePolicy:
    code: str
    title: str
    required_steps: tuple[Step, ...]
    face_operating_point: str | None = None  # None: the embedder's default point
    #: a score this far below the threshold goes to review instead of decline
    face_review_margin: float = 0.0
    #: a threshold marked "extrapolated" (calibrated on too few pairs) sends matches to review
    review_extrapolated_threshold: bool = False
    chip_issuer_unknown: Inconclusive = "review"
    chip_expired: Inconclusive = "review"
    liveness_unconfirmed: Inconclusive = "review"  # no PAD model
    documents_unreadable: Inconclusive = "review"
    #: a chip offering Active Authentication must have signed the session nonce; only a
    #: policy that says ``"chip": {"active_authentication": "optional"}`` lets a chip whose
    #: AA was not performed pass (AA performed and failed always fails)
    require_active_auth: bool = True

    def steps_for(self, requested: Iterable[str]) -> tuple[Step, ...]:
        """The session's steps: the policy's required ones plus any the client adds."""
        extra = parse_steps(requested)
        return tuple(s for s in Step if s in self.required_steps or s in extra)

    def evaluate_chip(self, v: ChipVerification) -> StepOutcome:
        """Outcome of a server-side chip verification (PA, AA, MRZ/DG13 consistency)."""
        verdict = v.verdict.value
        reasons = tuple(Reason(r.code, r.message, Step.CHIP.value) for r in v.reasons)
        outcome = {
            "valid": Outcome.PASS,
            "issuer_unknown": _inconclusive(self.chip_issuer_unknown),
            "expired": _inconclusive(self.chip_expired),
        }.get(verdict, Outcome.FAIL)
        if outcome is not Outcome.PASS and not reasons:
            reasons = (Reason(f"chip_{verdict}", f"chip verdict: {verdict}", Step.CHIP.value),)
        if outcome is not Outcome.PASS and verdict == "issuer_unknown":
            reasons = (
                Reason(
                    "issuer_unknown",
                    "the chip data is authentic but its CSCA is not in the trust store",
                    Step.CHIP.value,
                ),
                *reasons,
            )
        active = v.active
        if self.require_active_auth and active is not None and not active.performed:
            # strict even for a verification computed with require_aa=False
            outcome = Outcome.FAIL
            missing = Reason(
                "aa_missing",
                f"{active.message}; this procedure requires Active Authentication",
                Step.CHIP.value,
            )
            reasons = (*(r for r in reasons if r.code != "aa_missing"), missing)
        return StepOutcome(
            step=Step.CHIP,
            outcome=outcome,
            reasons=reasons if outcome is not Outcome.PASS else (),
            detail={
                "verdict": verdict,
                "passive_authentication": v.passive.verdict.value,
                "active_authentication": None if active is None else active.status.value,
                "consistency": dict(v.consistency),
            },
        )

    def evaluate_liveness(self, v: LivenessVerdict) -> StepOutcome:
        """Outcome of ``check_liveness``; review when PAD was unavailable (policy permitting)."""
        outcome = {
            "live": Outcome.PASS,
            "review": _inconclusive(self.liveness_unconfirmed),
        }.get(v.decision, Outcome.FAIL)
        pad = v.signals.get("passive_pad")
        reasons = tuple(
            Reason(code, LIVENESS_MESSAGES.get(code, f"liveness check failed: {code}"), "liveness")
            for code in v.reasons
        )
        if outcome is not Outcome.PASS and not reasons:
            reasons = (Reason(f"liveness_{v.decision}", "liveness not confirmed", "liveness"),)
        score = pad.value if pad is not None and isinstance(pad.value, int | float) else None
        threshold = pad.threshold if pad is not None and isinstance(pad.threshold, float) else None
        return StepOutcome(
            step=Step.LIVENESS,
            outcome=outcome,
            score=None if score is None else float(score),
            threshold=threshold,
            model_ids=dict(v.model_ids),
            reasons=reasons if outcome is not Outcome.PASS else (),
            detail={
                "decision": v.decision,
                "nonce": v.nonce,
                "best_frame": v.best_frame,
                "signals": {k: s.status for k, s in v.signals.items()},
            },
        )

    def evaluate_face_match(self, m: MatchResult, detector_id: str | None = None) -> StepOutcome:
        """Outcome of the best live frame vs the chip portrait at this policy's operating point."""
        step = Step.FACE_MATCH.value
        model_ids = {"embedder": m.model_id_a, **({"detector": detector_id} if detector_id else {})}
        detail = {"operating_point": m.operating_point, "extrapolated": m.extrapolated}
        if m.matched:
            if self.review_extrapolated_threshold and m.extrapolated:
                reason = Reason(
                    "threshold_extrapolated",
                    "the face threshold was calibrated on too few pairs to decide alone",
                    step,
                )
                return StepOutcome(
                    Step.FACE_MATCH, Outcome.REVIEW, m.score, m.threshold, model_ids,
                    (reason,), detail,
                )  # fmt: skip
            return StepOutcome(
                Step.FACE_MATCH, Outcome.PASS, m.score, m.threshold, model_ids, (), detail
            )
        near = m.score >= m.threshold - self.face_review_margin
        outcome = Outcome.REVIEW if near and self.face_review_margin > 0 else Outcome.FAIL
        reason = (
            Reason("face_score_marginal", "the face score is just below the threshold", step)
            if outcome is Outcome.REVIEW
            else Reason("face_mismatch", "the live face does not match the chip portrait", step)
        )
        return StepOutcome(
            Step.FACE_MATCH, outcome, m.score, m.threshold, model_ids, (reason,), detail
        )

    def evaluate_face_unusable(self, code: str, message: str, which: str) -> StepOutcome:
        """Review when a face cannot be compared at all (e.g. no face found in the portrait)."""
        reason = Reason(f"{which}_{code}", f"{which}: {message}", Step.FACE_MATCH.value)
        return StepOutcome(
            Step.FACE_MATCH, Outcome.REVIEW, reasons=(reason,), detail={"which": which}
        )

    def evaluate_documents(self, v: CopyVerdict) -> StepOutcome:
        """Outcome of the copy-vs-original comparison; any difference fails."""
        step = Step.DOCUMENTS.value
        outcome = {
            "MATCH": Outcome.PASS,
            "UNREADABLE": _inconclusive(self.documents_unreadable),
        }.get(v.verdict, Outcome.FAIL)
        reasons: tuple[Reason, ...] = ()
        if outcome is not Outcome.PASS:
            codes = sorted({d.reason for d in v.differences})
            reasons = tuple(
                Reason(c, f"the copy differs from the original: {c.replace('_', ' ')}", step)
                for c in codes
            ) or tuple(Reason("document_unreadable", f"cannot compare: {w}", step) for w in v.why)
            if not reasons:
                reasons = (Reason("document_unreadable", "the pages cannot be compared", step),)
        return StepOutcome(
            step=Step.DOCUMENTS,
            outcome=outcome,
            reasons=reasons,
            detail={
                "verdict": v.verdict,
                "pages": len(v.pages),
                # where and why, never the text read (it is personal data)
                "differences": [
                    {"page": d.page, "region": d.region, "box": list(d.box), "reason": d.reason}
                    for d in v.differences
                ],
            },
        )

    def decide(self, outcomes: Mapping[Step, StepOutcome], required: Iterable[Step]) -> Decision:
        """Declined on any failed step; in progress while steps are pending; then review or
        approved."""
        failed = [o for o in outcomes.values() if o.outcome is Outcome.FAIL]
        if failed:
            return Decision(State.DECLINED, tuple(r for o in failed for r in o.reasons))
        pending = tuple(s for s in required if s not in outcomes)
        if pending:
            return Decision(State.IN_PROGRESS, (), pending)
        review = [o for o in outcomes.values() if o.outcome is Outcome.REVIEW]
        if review:
            return Decision(State.REVIEW, tuple(r for o in review for r in o.reasons))
        return Decision(State.APPROVED, ())


def _inconclusive(choice: Inconclusive) -> Outcome:
    return Outcome.REVIEW if choice == "review" else Outcome.FAIL


_CHOICES = ("review", "decline")
_AA_CHOICES = ("required", "optional")


class Policy:
    """Procedure policies by code, loaded from a JSON document."""

    def __init__(self, procedures: Mapping[str, ProcedurePolicy]) -> None:
        self.procedures = dict(procedures)

    def procedure(self, code: str) -> ProcedurePolicy:
        """The policy for a procedure code, or raise ``UnknownProcedure``."""
        try:
            return self.procedures[code]
        except KeyError:
            raise UnknownProcedure(code) from None

    @classmethod
    def from_json(cls, doc: object) -> Policy:
        """Parse and validate a policy document."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise PolicyError(f"not a {FORMAT} document")
        out: dict[str, ProcedurePolicy] = {}
        try:
            for code, p in doc["procedures"].items():
                out[str(code)] = _procedure(str(code), p)
        except (KeyError, TypeError, ValueError, AttributeError, UnknownStep) as e:
            raise PolicyError(f"malformed policy: {e}") from e
        if not out:
            raise PolicyError("the policy defines no procedure")
        return cls(out)

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        """Load a policy file; the packaged default when None."""
        try:
            if path is None:
                text = resources.files("ekyc.verification").joinpath(DEFAULT_FILE).read_text()
            else:
                text = Path(path).read_text("utf-8")
            doc = json.loads(text)
        except (OSError, json.JSONDecodeError) as e:
            raise PolicyError(f"cannot read policy file: {e}") from e
        return cls.from_json(doc)


def _procedure(code: str, p: dict[str, Any]) -> ProcedurePolicy:
    steps = parse_steps(p["required_steps"])
    if not steps:
        raise PolicyError(f"{code}: no required steps")
    if Step.FACE_MATCH in steps and not {Step.CHIP, Step.LIVENESS} <= set(steps):
        raise PolicyError(f"{code}: face_match needs the chip portrait and a live frame")
    review = p.get("review", {})
    choices: dict[str, Inconclusive] = {}
    for key in ("chip_issuer_unknown", "chip_expired", "liveness_unconfirmed",
                "documents_unreadable"):  # fmt: skip
        value = review.get(key, "review")
        if value not in _CHOICES:
            raise PolicyError(f"{code}: review.{key} must be one of {_CHOICES}")
        choices[key] = value
    aa = p.get("chip", {}).get("active_authentication", "required")
    if aa not in _AA_CHOICES:
        raise PolicyError(f"{code}: chip.active_authentication must be one of {_AA_CHOICES}")
    face = p.get("face", {})
    margin = float(face.get("review_margin", 0.0))
    if not 0.0 <= margin < 1.0:
        raise PolicyError(f"{code}: face.review_margin out of [0, 1)")
    return ProcedurePolicy(
        code=code,
        title=str(p.get("title", code)),
        required_steps=steps,
        face_operating_point=face.get("operating_point"),
        face_review_margin=margin,
        review_extrapolated_threshold=bool(face.get("review_extrapolated_threshold", False)),
        require_active_auth=aa == "required",
        **choices,
    )
