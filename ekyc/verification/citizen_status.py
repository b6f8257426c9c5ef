"""The status a citizen follows: the session states in the words of a public-service portal.

Portals tell citizens where their file stands: submitted, received (being processed),
needs more documents, rejected, done (the seeds also name "fee due"; this service takes no
fees, so it never says so). A session maps onto them by its state and, once declined or
expired, by why: a decline the citizen can fix by submitting again (an unreadable page, a
blurred selfie, an expired card, a session left unfinished) is "needs more documents"; one
that says the evidence is wrong (a chip that fails Passive Authentication, a face that does
not match, a copy that differs) is "rejected".

The public status page is reached by a link that carries a capability: a hash of the part
of the session's server nonce that is never shown to anyone (the client sees only the first
8 bytes, the Active Authentication challenge). Any replica can check it, nothing new is
stored, and without it a session id alone shows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import quote

from ekyc.verification.states import State


class CitizenStatus(StrEnum):
    SUBMITTED = "submitted"
    RECEIVED = "received"
    NEEDS_MORE_DOCUMENTS = "needs_more_documents"
    REJECTED = "rejected"
    DONE = "done"


#: (Vietnamese, English) as a portal shows them
LABELS: dict[CitizenStatus, tuple[str, str]] = {
    CitizenStatus.SUBMITTED: ("Đã nộp hồ sơ", "Submitted"),
    CitizenStatus.RECEIVED: ("Đã tiếp nhận, đang xử lý", "Received, being processed"),
    CitizenStatus.NEEDS_MORE_DOCUMENTS: ("Cần bổ sung hồ sơ", "Needs more documents"),
    CitizenStatus.REJECTED: ("Từ chối", "Rejected"),
    CitizenStatus.DONE: ("Đã hoàn thành", "Done"),
}

#: decline reasons a new submission can fix
RESUBMIT_REASONS = frozenset(
    {
        "session_expired",
        "document_unreadable",
        "liveness_unconfirmed",
        "chip_expired",
        "face_score_marginal",
    }
)
#: the live selfie could not be used (no face, blurred, too small …): take another one
RESUBMIT_PREFIXES = ("live_frame_",)

_BY_STATE = {
    State.CREATED: CitizenStatus.SUBMITTED,
    State.IN_PROGRESS: CitizenStatus.RECEIVED,
    State.REVIEW: CitizenStatus.RECEIVED,
    State.APPROVED: CitizenStatus.DONE,
    # a failure of the service itself: the citizen is asked to submit again, not refused
    State.ERROR: CitizenStatus.NEEDS_MORE_DOCUMENTS,
}


def citizen_status(state: State, reasons: Iterable[str] = ()) -> CitizenStatus:
    """The citizen's status for a session in ``state`` decided for ``reasons`` (codes)."""
    if state in _BY_STATE:
        return _BY_STATE[state]
    codes = list(reasons)
    if state is State.EXPIRED:
        return CitizenStatus.NEEDS_MORE_DOCUMENTS
    fixable = [c in RESUBMIT_REASONS or c.startswith(RESUBMIT_PREFIXES) for c in codes]
    # declined: only when every reason can be fixed by submitting again
    return CitizenStatus.NEEDS_MORE_DOCUMENTS if codes and all(fixable) else CitizenStatus.REJECTED


def status_json(status: CitizenStatus) -> dict[str, str]:
    vi, en = LABELS[status]
    return {"code": status.value, "label_vi": vi, "label_en": en}


def status_token(server_nonce: bytes) -> str:
    """The capability of a session's status link (128 bits, URL-safe)."""
    digest = hashlib.sha256(b"ekyc.status/1\x00" + server_nonce).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(server_nonce: bytes, token: str) -> bool:
    return hmac.compare_digest(status_token(server_nonce), token)


def status_link(base_url: str, session_id: str, server_nonce: bytes) -> str:
    """The link a citizen follows: ``{base}/{session id}?t={token}``."""
    sid = quote(session_id, safe="")
    return f"{base_url.rstrip('/')}/{sid}?t={status_token(server_nonce)}"
