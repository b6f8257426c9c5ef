"""Sessions with optimistic locking, their state-change events, step outcomes and results."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ekyc.store.errors import ConcurrentUpdate, NotFound
from ekyc.store.models import ResultRow, SessionEvent, SessionRow, StepRow, new_id
from ekyc.store.upsert import insert_if_absent

DEFAULT_TTL = dt.timedelta(minutes=30)
NONCE_BYTES = 32


class Sessions:
    """Session rows; every state change bumps ``version`` and is recorded as an event."""

    def __init__(self, s: Session, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.s = s
        self.rng = rng

    def create(
        self,
        *,
        api_key_id: str,
        procedure: str,
        required_steps: Sequence[str],
        now: dt.datetime,
        ttl: dt.timedelta = DEFAULT_TTL,
        callback_url: str | None = None,
        state: str = "created",
    ) -> SessionRow:
        """A new session with a fresh server nonce; its creation is the first event."""
        row = SessionRow(
            id=new_id(self.rng),
            api_key_id=api_key_id,
            procedure=procedure,
            required_steps=list(required_steps),
            state=state,
            server_nonce=self.rng(NONCE_BYTES),
            callback_url=callback_url,
            created_at=now,
            expires_at=now + ttl,
            updated_at=now,
            version=1,
        )
        self.s.add(row)
        self.s.flush()  # no ORM relationship orders the inserts: the session row goes first
        self.s.add(SessionEvent(session_id=row.id, from_state=None, to_state=state, at=now))
        self.s.flush()
        return row

    def get(self, session_id: str) -> SessionRow:
        """The current row (re-read from the database); raises NotFound."""
        row = self.s.get(SessionRow, session_id, populate_existing=True)
        if row is None:
            raise NotFound("sessions", session_id)
        return row

    def transition(
        self,
        session_id: str,
        expected_version: int,
        to_state: str,
        now: dt.datetime,
        reason: str | None = None,
    ) -> SessionRow:
        """Move to ``to_state`` if still at ``expected_version``, else raise ConcurrentUpdate."""
        current = self.get(session_id)
        if current.version != expected_version:
            raise ConcurrentUpdate("sessions", session_id, expected_version)
        from_state = current.state
        # the WHERE on version is what makes this safe across processes, not the read above
        result = self.s.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.version == expected_version)
            .values(state=to_state, updated_at=now, version=SessionRow.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate("sessions", session_id, expected_version)
        event = SessionEvent(session_id=session_id, from_state=from_state, to_state=to_state)
        event.at, event.reason = now, reason
        self.s.add(event)
        self.s.flush()
        return self.get(session_id)

    def events(self, session_id: str) -> list[SessionEvent]:
        """State changes of a session, oldest first."""
        q = select(SessionEvent).where(SessionEvent.session_id == session_id)
        return list(self.s.scalars(q.order_by(SessionEvent.id)))

    def for_key(self, api_key_id: str, limit: int = 100) -> list[SessionRow]:
        """Sessions a key created, newest first."""
        q = select(SessionRow).where(SessionRow.api_key_id == api_key_id)
        return list(self.s.scalars(q.order_by(SessionRow.created_at.desc()).limit(limit)))

    def past_expiry(
        self, now: dt.datetime, states: Collection[str], limit: int = 500
    ) -> list[SessionRow]:
        """Sessions still in one of ``states`` whose expiry time has passed."""
        q = select(SessionRow).where(SessionRow.expires_at <= now, SessionRow.state.in_(states))
        return list(self.s.scalars(q.order_by(SessionRow.expires_at).limit(limit)))


@dataclass(frozen=True)
class StepRecord:
    row: StepRow
    #: False when this client request id was seen before and ``row`` is the first outcome
    created: bool


class Steps:
    """Step outcomes, idempotent per (session, step, client request id)."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def record(
        self,
        session_id: str,
        step: str,
        client_request_id: str,
        outcome: dict[str, Any],
        now: dt.datetime,
    ) -> StepRecord:
        """Store an outcome once; a repeated request id returns the first stored row."""
        created = insert_if_absent(
            self.s,
            StepRow,
            {
                "session_id": session_id,
                "step": step,
                "client_request_id": client_request_id,
                "outcome": outcome,
                "created_at": now,
            },
            ["session_id", "step", "client_request_id"],
        )
        row = self.get(session_id, step, client_request_id)
        if row is None:  # inserted or conflicting, the row exists now unless the session does not
            raise NotFound("steps", f"{session_id}/{step}/{client_request_id}")
        return StepRecord(row, created)

    def get(self, session_id: str, step: str, client_request_id: str) -> StepRow | None:
        """The outcome stored for one client request, if any."""
        q = select(StepRow).where(
            StepRow.session_id == session_id,
            StepRow.step == step,
            StepRow.client_request_id == client_request_id,
        )
        return self.s.scalars(q.execution_options(populate_existing=True)).one_or_none()

    def for_session(self, session_id: str) -> list[StepRow]:
        """Every stored step outcome of a session, oldest first."""
        q = select(StepRow).where(StepRow.session_id == session_id).order_by(StepRow.id)
        return list(self.s.scalars(q))


class Results:
    """Signed results: one per session, written once and kept after purges."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def put(
        self,
        session_id: str,
        decision: str,
        jws: str,
        issued_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ResultRow:
        """Store the session's result unless one exists; returns the stored one either way."""
        insert_if_absent(
            self.s,
            ResultRow,
            {
                "session_id": session_id,
                "decision": decision,
                "jws": jws,
                "issued_at": issued_at,
                "expires_at": expires_at,
            },
            ["session_id"],
        )
        row = self.get(session_id)
        if row is None:
            raise NotFound("results", session_id)
        return row

    def get(self, session_id: str) -> ResultRow | None:
        """The stored result of a session, if any."""
        return self.s.get(ResultRow, session_id, populate_existing=True)
