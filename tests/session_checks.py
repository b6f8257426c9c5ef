"""The stored rows of one session, checked for consistency after crashes and under load."""

from __future__ import annotations

from sqlalchemy import func, select

from benchmarks.service_load import FRAME_COUNT
from ekyc.store.audit import AuditLog
from ekyc.store.db import Database
from ekyc.store.models import EvidenceKind, EvidenceRow, SessionEvent, SessionRow, StepRow

STEPS = ("chip", "liveness", "face_match", "documents")


def check_rows(url: str, sid: str) -> dict[str, int]:
    """Assert the stored session is consistent; returns step counts by name."""
    db = Database(url)
    try:
        with db.session(readonly=True) as s:
            chain = AuditLog(s).verify_chain()
            assert chain.ok, chain
            row = s.get(SessionRow, sid)
            assert row is not None
            steps = list(s.scalars(select(StepRow).where(StepRow.session_id == sid)))
            counts: dict[str, int] = {}
            for st in steps:
                counts[st.step] = counts.get(st.step, 0) + 1
                if st.step in STEPS:  # never a half-written outcome
                    assert {"step", "outcome"} <= set(st.outcome), st.outcome
            for name in STEPS:
                assert counts.get(name, 0) <= 1, counts  # one outcome per step
            frames = s.scalar(
                select(func.count())
                .select_from(EvidenceRow)
                .where(EvidenceRow.session_id == sid, EvidenceRow.kind == EvidenceKind.SELFIE_FRAME)
            )
            # evidence is written in the step's transaction: all of it or none
            assert frames == FRAME_COUNT * counts.get("liveness", 0), (frames, counts)
            events = list(
                s.scalars(
                    select(SessionEvent)
                    .where(SessionEvent.session_id == sid)
                    .order_by(SessionEvent.id)
                )
            )
            assert events and events[-1].to_state == row.state
            for a, b in zip(events, events[1:], strict=False):
                assert b.from_state == a.to_state  # no lost or doubled transition
            return {k: v for k, v in counts.items() if k in STEPS}
    finally:
        db.dispose()
