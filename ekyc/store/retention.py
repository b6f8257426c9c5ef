"""Retention: raw evidence and expired chip challenges are deleted once due; sessions, steps
and signed results stay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from ekyc.store.challenges import ChipChallenges
from ekyc.store.models import OWN_RETENTION_KINDS, EvidenceRow, SessionRow


@dataclass(frozen=True)
class PurgeReport:
    evidence_deleted: int
    chip_challenges_deleted: int = 0


def purge(
    s: Session,
    now: dt.datetime,
    grace: dt.timedelta = dt.timedelta(0),
    keep_states: Collection[str] = ("review",),
) -> PurgeReport:
    """Delete evidence past its ``purge_after``, and that of sessions expired ``grace`` ago.

    Kinds in ``OWN_RETENTION_KINDS`` (certified copies) go only by their ``purge_after``.

    Chip challenges past their expiry go too: spent or not, they can no longer be used.

    Sessions in ``keep_states`` (manual review) keep their evidence until their own
    ``purge_after`` is set when they end.

    On SQLite (``secure_delete=ON``) the freed pages are zeroed; call
    ``Database.checkpoint()`` afterwards so the WAL copy of the pages is gone too.
    """
    expired = select(SessionRow.id).where(
        SessionRow.expires_at <= now - grace, SessionRow.state.not_in(keep_states)
    )
    result = s.execute(
        delete(EvidenceRow)
        .where(
            or_(
                EvidenceRow.purge_after <= now,
                and_(
                    EvidenceRow.session_id.in_(expired),
                    EvidenceRow.kind.not_in(OWN_RETENTION_KINDS),
                ),
            )
        )
        .execution_options(synchronize_session=False)
    )
    challenges = ChipChallenges(s).purge(now)
    s.expire_all()
    return PurgeReport(
        evidence_deleted=int(result.rowcount),  # type: ignore[attr-defined]
        chip_challenges_deleted=challenges,
    )
