"""Decision policy: per-procedure steps, step outcomes from raw engine results, reason codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ekyc.cccd.chip import verify_chip
from ekyc.document.compare import CopyVerdict, Difference
from ekyc.face.compare import MatchResult, Thresholds
from ekyc.face.liveness import LivenessVerdict, Signal
from ekyc.icao.trust_store import TrustStore
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.verification.policy import (
    Policy,
    PolicyError,
    ProcedurePolicy,
    UnknownProcedure,
    UnknownStep,
)
from ekyc.verification.states import State
from ekyc.verification.steps import Outcome, Step, StepOutcome
from readers.vcard.aa_card import aa_sign

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
NONCE = bytes(range(8))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


@pytest.fixture(scope="module")
def chip() -> SynthChip:
    return build_chip(seed=5)


def _trusted(chip: SynthChip) -> TrustStore:
    store = TrustStore()
    store.add_certificate(chip.pki.csca_cert)
    return store


def _verify(chip: SynthChip, store: TrustStore) -> object:
    assert chip.aa_key is not None
    return verify_chip(chip.files, store, NOW, NONCE, aa_sign(chip.aa_key, NONCE))


def _liveness(decision: str, reasons: tuple[str, ...], pad: Signal) -> LivenessVerdict:
    signals = {"challenge": Signal("pass"), "passive_pad": pad}
    ids = {"detector": "yunet", "embedder": "sface"}
    return LivenessVerdict(decision, reasons, signals, "n1", 0, ids, {})  # type: ignore[arg-type]


def _match(score: float, threshold: float = 0.37) -> MatchResult:
    decision = "match" if score >= threshold else "no_match"
    return MatchResult(score, threshold, "fmr_1e-4", decision, "sface", "sface", False)  # type: ignore[arg-type]


def test_default_procedures(policy: Policy) -> None:
    copy = policy.procedure("cap-ban-sao")
    assert copy.required_steps == (Step.CHIP, Step.LIVENESS, Step.FACE_MATCH, Step.DOCUMENTS)
    assert copy.face_operating_point == "conservative"
    residence = policy.procedure("dang-ky-thuong-tru")
    assert Step.DOCUMENTS not in residence.required_steps
    with pytest.raises(UnknownProcedure) as e:
        policy.procedure("nope")
    assert e.value.code == "unknown_procedure"


def test_shipped_face_decision_sends_the_band_above_the_published_threshold_to_a_clerk(
    policy: Policy,
) -> None:
    # match at the conservative measured point; from the publisher's LFW threshold (0.363)
    # up to it: a clerk decides; below it: no match
    th = Thresholds.load()
    model = next(iter(th.models))
    conservative, published = th.get(model), th.get(model, "publisher_lfw")
    assert conservative.kind == "measured" and published.kind == "published"
    assert published.threshold == 0.363 < conservative.threshold
    for code in ("cap-ban-sao", "dang-ky-thuong-tru"):
        proc = policy.procedure(code)
        assert th.get(model, proc.face_operating_point).kind != "extrapolated"
        t = conservative.threshold

        def outcome(score: float, t: float = t, proc: ProcedurePolicy = proc) -> Outcome:
            decision = "match" if score >= t else "no_match"
            m = MatchResult(score, t, "conservative", decision, model, model, False)  # type: ignore[arg-type]
            return proc.evaluate_face_match(m).outcome

        assert outcome(t + 0.01) is Outcome.PASS
        assert outcome(0.40) is Outcome.REVIEW and outcome(published.threshold) is Outcome.REVIEW
        assert outcome(published.threshold - 0.01) is Outcome.FAIL


def test_client_may_add_steps_but_not_drop_them(policy: Policy) -> None:
    residence = policy.procedure("dang-ky-thuong-tru")
    assert residence.steps_for([]) == (Step.CHIP, Step.LIVENESS, Step.FACE_MATCH)
    assert residence.steps_for(["documents", "chip"])[-1] is Step.DOCUMENTS
    with pytest.raises(UnknownStep):
        residence.steps_for(["selfie_ok"])


def test_chip_outcomes(policy: Policy, chip: SynthChip) -> None:
    p = policy.procedure("dang-ky-thuong-tru")
    ok = p.evaluate_chip(_verify(chip, _trusted(chip)))  # type: ignore[arg-type]
    assert ok.outcome is Outcome.PASS and ok.reasons == ()
    assert ok.detail["active_authentication"] == "ok"
    unknown = p.evaluate_chip(_verify(chip, TrustStore()))  # type: ignore[arg-type]
    assert unknown.outcome is Outcome.REVIEW
    assert unknown.reasons[0].code == "issuer_unknown" and unknown.reasons[0].message
    forged = build_chip(seed=5, tamper_dg=1)
    bad = p.evaluate_chip(_verify(forged, _trusted(chip)))  # type: ignore[arg-type]
    assert bad.outcome is Outcome.FAIL
    assert bad.reasons and all(r.code and r.message and r.step == "chip" for r in bad.reasons)


def test_chip_issuer_unknown_can_be_declined(chip: SynthChip) -> None:
    doc = {
        "format": "ekyc.verification.policy/1",
        "procedures": {
            "x": {"required_steps": ["chip"], "review": {"chip_issuer_unknown": "decline"}}
        },
    }
    p = Policy.from_json(doc).procedure("x")
    out = p.evaluate_chip(_verify(chip, TrustStore()))  # type: ignore[arg-type]
    assert out.outcome is Outcome.FAIL
    assert p.decide({Step.CHIP: out}, p.required_steps).state is State.DECLINED


def _aa_policy(value: str | None) -> ProcedurePolicy:
    proc: dict = {"required_steps": ["chip"]}
    if value is not None:
        proc["chip"] = {"active_authentication": value}
    doc = {"format": "ekyc.verification.policy/1", "procedures": {"x": proc}}
    return Policy.from_json(doc).procedure("x")


def test_every_default_procedure_requires_active_authentication(policy: Policy) -> None:
    assert all(p.require_active_auth for p in policy.procedures.values())
    assert _aa_policy(None).require_active_auth


@pytest.mark.parametrize("require_aa", [True, False])
def test_aa_not_performed_fails_a_procedure_requiring_aa(
    policy: Policy, chip: SynthChip, require_aa: bool
) -> None:
    # even a verification run with require_aa=False (verdict valid) cannot pass this policy
    v = verify_chip(chip.files, _trusted(chip), NOW, NONCE, None, require_aa=require_aa)
    assert v.active is not None and v.active.status.value == "not_performed"
    for p in (policy.procedure("xac-thuc-chip"), _aa_policy("required")):
        out = p.evaluate_chip(v)
        assert out.outcome is Outcome.FAIL
        assert out.detail["active_authentication"] == "not_performed"
        assert [r.code for r in out.reasons].count("aa_missing") == 1
        assert p.decide({Step.CHIP: out}, p.required_steps).state is State.DECLINED


def test_a_policy_may_make_active_authentication_optional(chip: SynthChip) -> None:
    p = _aa_policy("optional")
    assert not p.require_active_auth
    skipped = verify_chip(chip.files, _trusted(chip), NOW, NONCE, None, require_aa=False)
    assert p.evaluate_chip(skipped).outcome is Outcome.PASS
    forged_answer = verify_chip(chip.files, _trusted(chip), NOW, NONCE, bytes(128))
    assert p.evaluate_chip(forged_answer).outcome is Outcome.FAIL  # performed and failed


def test_active_authentication_choice_is_validated() -> None:
    with pytest.raises(PolicyError):
        _aa_policy("sometimes")


def test_liveness_outcomes(policy: Policy) -> None:
    p = policy.procedure("cap-ban-sao")
    live = p.evaluate_liveness(_liveness("live", (), Signal("pass", 0.91, 0.5)))
    assert live.outcome is Outcome.PASS and live.score == pytest.approx(0.91)
    assert live.threshold == 0.5 and live.model_ids["embedder"] == "sface"
    no_pad = p.evaluate_liveness(
        _liveness("review", ("pad_unavailable",), Signal("unavailable", None, 0.5))
    )
    assert no_pad.outcome is Outcome.REVIEW
    assert [r.code for r in no_pad.reasons] == ["pad_unavailable"]
    spoof = p.evaluate_liveness(_liveness("not_live", ("pad_spoof",), Signal("fail", 0.1, 0.5)))
    assert spoof.outcome is Outcome.FAIL and "attack" in spoof.reasons[0].message


def test_face_match_outcomes(policy: Policy) -> None:
    p = policy.procedure("cap-ban-sao")  # review margin 0.03
    assert p.evaluate_face_match(_match(0.8)).outcome is Outcome.PASS
    marginal = p.evaluate_face_match(_match(0.35))
    assert marginal.outcome is Outcome.REVIEW
    assert marginal.reasons[0].code == "face_score_marginal"
    mismatch = p.evaluate_face_match(_match(0.1))
    assert mismatch.outcome is Outcome.FAIL and mismatch.reasons[0].code == "face_mismatch"
    assert mismatch.score == pytest.approx(0.1) and mismatch.threshold == pytest.approx(0.37)


def test_documents_outcomes(policy: Policy) -> None:
    p = policy.procedure("cap-ban-sao")
    assert p.evaluate_documents(CopyVerdict("MATCH", [])).outcome is Outcome.PASS
    diff = Difference(0, "name", (1, 2, 3, 4), "text_changed", "NGUYỄN VĂN A", "NGUYỄN VĂN B")
    altered = p.evaluate_documents(CopyVerdict("MISMATCH", [diff]))
    assert altered.outcome is Outcome.FAIL
    assert altered.reasons[0].code == "text_changed"
    # the text read from the card is personal data: it never reaches the outcome
    assert "NGUYỄN" not in json.dumps(altered.to_json(), ensure_ascii=False)
    blurry = p.evaluate_documents(CopyVerdict("UNREADABLE", [], why=["page 0: too_blurry"]))
    assert blurry.outcome is Outcome.REVIEW and blurry.reasons[0].code == "document_unreadable"


def _outcome(step: Step, outcome: Outcome, code: str = "x") -> StepOutcome:
    from ekyc.verification.steps import Reason

    reasons = () if outcome is Outcome.PASS else (Reason(code, f"{code} happened", step.value),)
    return StepOutcome(step, outcome, reasons=reasons)


def test_decide() -> None:
    p = ProcedurePolicy("p", "p", (Step.CHIP, Step.LIVENESS, Step.FACE_MATCH))
    req = p.required_steps
    pending = p.decide({Step.CHIP: _outcome(Step.CHIP, Outcome.PASS)}, req)
    assert pending.state is State.IN_PROGRESS
    assert pending.pending == (Step.LIVENESS, Step.FACE_MATCH)
    # a failure declines at once, with the failing step's codes
    early = p.decide({Step.CHIP: _outcome(Step.CHIP, Outcome.FAIL, "sod_signature")}, req)
    assert early.state is State.DECLINED
    assert [(r.code, r.step) for r in early.reasons] == [("sod_signature", "chip")]
    # review waits for every step, and a later failure still wins
    review = {
        Step.CHIP: _outcome(Step.CHIP, Outcome.REVIEW, "issuer_unknown"),
        Step.LIVENESS: _outcome(Step.LIVENESS, Outcome.PASS),
    }
    assert p.decide(review, req).state is State.IN_PROGRESS
    review[Step.FACE_MATCH] = _outcome(Step.FACE_MATCH, Outcome.PASS)
    decided = p.decide(review, req)
    assert decided.state is State.REVIEW and decided.reasons[0].code == "issuer_unknown"
    review[Step.FACE_MATCH] = _outcome(Step.FACE_MATCH, Outcome.FAIL, "face_mismatch")
    assert p.decide(review, req).state is State.DECLINED
    approved = {s: _outcome(s, Outcome.PASS) for s in req}
    assert p.decide(approved, req).state is State.APPROVED


@pytest.mark.parametrize(
    "doc",
    [
        {"format": "other"},
        {"format": "ekyc.verification.policy/1", "procedures": {}},
        {"format": "ekyc.verification.policy/1", "procedures": {"x": {"required_steps": []}}},
        {"format": "ekyc.verification.policy/1", "procedures": {"x": {"required_steps": ["nfc"]}}},
        {
            "format": "ekyc.verification.policy/1",
            "procedures": {"x": {"required_steps": ["face_match"]}},
        },
        {
            "format": "ekyc.verification.policy/1",
            "procedures": {"x": {"required_steps": ["chip"], "review": {"chip_expired": "accept"}}},
        },
    ],
)
def test_bad_policy_documents(doc: dict) -> None:
    with pytest.raises(PolicyError):
        Policy.from_json(doc)


def test_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({
        "format": "ekyc.verification.policy/1",
        "procedures": {"only-chip": {"required_steps": ["chip"]}},
    }))  # fmt: skip
    assert list(Policy.load(path).procedures) == ["only-chip"]
    with pytest.raises(PolicyError):
        Policy.load(tmp_path / "missing.json")
