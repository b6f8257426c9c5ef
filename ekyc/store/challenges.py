"""Chip challenges in the database: issued by any replica, spent once by any replica."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ekyc.store.errors import StoreError
from ekyc.store.models import ChipChallenge, new_id

CHALLENGE_TTL = dt.timedelta(minutes=5)
AA_NONCE_BYTES = 8  # what INTERNAL AUTHENTICATE takes on an eMRTD


class ChallengeExpired(StoreError):
    """The quoted challenge is unknown, purged or past its expiry."""

    code = "challenge_expired"


class ChallengeUsed(StoreError):
    """The quoted challenge was already spent: a nonce is single-use."""

    code = "challenge_used"


class ChipChallenges:
    """Active Authentication challenges: fresh random nonces, each spent at most once."""

    def __init__(self, s: Session, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.s = s
        self.rng = rng

    def issue(self, now: dt.datetime, ttl: dt.timedelta = CHALLENGE_TTL) -> ChipChallenge:
        """A new challenge with a fresh 8-byte nonce, valid until ``now + ttl``."""
        row = ChipChallenge(
            id=new_id(self.rng),
            nonce=self.rng(AA_NONCE_BYTES),
            issued_at=now,
            expires_at=now + ttl,
            used_at=None,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def consume(self, challenge_id: str, now: dt.datetime) -> bytes:
        """Spend a challenge and return its nonce; raises ChallengeExpired or ChallengeUsed."""
        # the conditional UPDATE is the claim: of concurrent consumers (any process) exactly
        # one matches the row, the row lock (PostgreSQL) or file lock (SQLite) orders the rest
        result = self.s.execute(
            update(ChipChallenge)
            .where(
                ChipChallenge.id == challenge_id,
                ChipChallenge.used_at.is_(None),
                ChipChallenge.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        row = self.s.execute(
            select(ChipChallenge.nonce, ChipChallenge.expires_at).where(
                ChipChallenge.id == challenge_id
            )
        ).one_or_none()
        if result.rowcount == 1 and row is not None:  # type: ignore[attr-defined]
            return bytes(row.nonce)
        # expiry is told first: a spent challenge past its expiry reads as expired, as after purge
        if row is None or row.expires_at <= now:
            raise ChallengeExpired("the challenge is unknown or expired; request a new one")
        raise ChallengeUsed("the challenge was already used; request a new one")

    def purge(self, now: dt.datetime) -> int:
        """Delete challenges past their expiry (spent or not); returns how many."""
        result = self.s.execute(
            delete(ChipChallenge)
            .where(ChipChallenge.expires_at <= now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
