"""The signed result: claims over the decision and each step, and its QR code.

Claims hold outcomes, scores, thresholds, model ids, reason codes and SHA-256 hashes of
the evidence — never the evidence itself, nor names or numbers read from the card.

QR: a phone camera reads a QR code reliably up to roughly version 25 at error
correction M (about 1 KB of binary data); beyond that modules get too small at normal
print and screen sizes. A token up to ``MAX_QR_TOKEN`` characters is put in the QR
itself (verifiable offline with the JWKS); a longer one — the usual case for a full
session, whose token is 2–4 KB — becomes a verify link carrying the session id and a
hash of the token, so the page can fetch the token and show that it is this one.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import segno

from ekyc.verification.policy import Decision
from ekyc.verification.steps import Step, StepOutcome

CLAIMS_VERSION = "ekyc.result/1"
MAX_QR_TOKEN = 1000  # characters: QR version ≤ 25 at error correction M


def sha256_hex(data: bytes) -> str:
    """The SHA-256 hex digest evidence is referred to by."""
    return hashlib.sha256(data).hexdigest()


def result_claims(
    session_id: str,
    procedure: str,
    decision: Decision,
    outcomes: Mapping[Step, StepOutcome],
    required: tuple[Step, ...],
    decided_at: int,
) -> dict[str, Any]:
    """The claims the service signs for a session in a final (or review) state."""
    return {
        "ver": CLAIMS_VERSION,
        "sid": session_id,
        "procedure": procedure,
        "decision": decision.state.value,
        "reasons": [r.to_json() for r in decision.reasons],
        "required_steps": [s.value for s in required],
        "steps": {
            s.value: {
                "outcome": o.outcome.value,
                "score": None if o.score is None else round(o.score, 4),
                "threshold": None if o.threshold is None else round(o.threshold, 4),
                "model_ids": o.model_ids,
                "reasons": [r.code for r in o.reasons],
                "evidence_sha256": o.evidence,
                **_step_facts(o),
            }
            for s, o in sorted(outcomes.items(), key=lambda kv: list(Step).index(kv[0]))
        },
        "decided_at": decided_at,
    }


def _step_facts(o: StepOutcome) -> dict[str, Any]:
    """The few non-personal facts per step worth signing (verdicts, operating point)."""
    keys = {
        Step.CHIP: ("verdict", "passive_authentication", "active_authentication"),
        Step.LIVENESS: ("decision", "nonce"),
        Step.FACE_MATCH: ("operating_point", "extrapolated"),
        Step.DOCUMENTS: ("verdict",),
    }[o.step]
    return {k: o.detail[k] for k in keys if k in o.detail}


@dataclass(frozen=True)
class ResultQr:
    png: bytes
    content: str
    kind: Literal["token", "link"]


def verify_link(base_url: str, session_id: str, token: str) -> str:
    """The verify link: session id plus the first 128 bits of the token's SHA-256."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()[:16])
    return f"{base_url.rstrip('/')}/{quote(session_id, safe='')}?h={digest.decode().rstrip('=')}"


def result_qr(
    token: str, session_id: str, verify_base_url: str, *, scale: int = 4, border: int = 4
) -> ResultQr:
    """A PNG QR code of the token when short enough to scan reliably, else of a verify link."""
    if len(token) <= MAX_QR_TOKEN:
        content, kind = token, "token"
    else:
        content, kind = verify_link(verify_base_url, session_id, token), "link"
    qr = segno.make_qr(content, error="m", boost_error=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=border)
    return ResultQr(out.getvalue(), content, "token" if kind == "token" else "link")
