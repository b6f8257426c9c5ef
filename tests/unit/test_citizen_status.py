"""What the citizen is told, from the session state and the reasons of a decline."""

from __future__ import annotations

import pytest

from ekyc.verification.citizen_status import (
    CitizenStatus,
    citizen_status,
    status_link,
    status_token,
    token_matches,
)
from ekyc.verification.states import State


@pytest.mark.parametrize(
    ("state", "reasons", "expected"),
    [
        (State.CREATED, [], CitizenStatus.SUBMITTED),
        (State.IN_PROGRESS, [], CitizenStatus.RECEIVED),
        (State.REVIEW, ["face_score_marginal"], CitizenStatus.RECEIVED),
        (State.APPROVED, [], CitizenStatus.DONE),
        (State.EXPIRED, ["session_expired"], CitizenStatus.NEEDS_MORE_DOCUMENTS),
        (State.ERROR, [], CitizenStatus.NEEDS_MORE_DOCUMENTS),
        (State.DECLINED, ["document_unreadable"], CitizenStatus.NEEDS_MORE_DOCUMENTS),
        (State.DECLINED, ["live_frame_no_face"], CitizenStatus.NEEDS_MORE_DOCUMENTS),
        (State.DECLINED, ["face_mismatch"], CitizenStatus.REJECTED),
        # one reason the citizen cannot fix is enough to reject
        (State.DECLINED, ["document_unreadable", "chip_invalid"], CitizenStatus.REJECTED),
        (State.DECLINED, ["manual_review"], CitizenStatus.REJECTED),
        (State.DECLINED, [], CitizenStatus.REJECTED),
    ],
)
def test_status_by_state_and_reasons(
    state: State, reasons: list[str], expected: CitizenStatus
) -> None:
    assert citizen_status(state, reasons) is expected


def test_status_token_is_a_capability_of_the_hidden_nonce() -> None:
    nonce = bytes(range(32))
    token = status_token(nonce)
    assert len(token) == 22 and token_matches(nonce, token)
    # the 8 bytes the client sees (the AA challenge) do not give the token away
    assert not token_matches(nonce[:8] + bytes(24), token)
    assert status_link("https://x.gov.vn/s/", "abc", nonce) == f"https://x.gov.vn/s/abc?t={token}"
