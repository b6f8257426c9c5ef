"""Chip challenges in the database: issue, single use, expiry, races and purge (SQLite and,
when EKYC_TEST_POSTGRES_URL is set, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ekyc.store import (
    ChallengeExpired,
    ChallengeUsed,
    ChipChallenge,
    ChipChallenges,
    Database,
    purge,
)
from ekyc.store.db import MIGRATIONS
from ekyc.store.models import Base
from tests.unit.conftest import parallel

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=5)


def counting_rng() -> Callable[[int], bytes]:
    """Deterministic, never-repeating bytes: each call is filled with its own counter."""
    counter = itertools.count(1)
    return lambda n: next(counter).to_bytes(n, "big")


def issue(db: Database, now: dt.datetime = NOW, rng: Callable[[int], bytes] = os.urandom) -> str:
    with db.session() as s:
        return ChipChallenges(s, rng).issue(now, TTL).id


def consume(db: Database, challenge_id: str, now: dt.datetime) -> bytes:
    with db.session() as s:
        return ChipChallenges(s).consume(challenge_id, now)


def stored(db: Database, challenge_id: str) -> ChipChallenge | None:
    with db.session(readonly=True) as s:
        return s.get(ChipChallenge, challenge_id)


# -- schema ---------------------------------------------------------------------------------


def test_migration_0002_matches_models_and_downgrades(empty_db: Database) -> None:
    empty_db.migrate()
    assert empty_db.current_revision() == "0002"
    with empty_db.engine.connect() as conn:
        assert "chip_challenges" in inspect(conn).get_table_names()
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    with empty_db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert empty_db.current_revision() == "0001"
    with empty_db.engine.connect() as conn:
        assert "chip_challenges" not in inspect(conn).get_table_names()
    empty_db.migrate()
    assert empty_db.current_revision() == "0002"


# -- issue and consume ----------------------------------------------------------------------


def test_issue_stores_a_fresh_8_byte_nonce(db: Database) -> None:
    rng = counting_rng()
    with db.session() as s:
        row = ChipChallenges(s, rng).issue(NOW, TTL)
    assert row.id == (1).to_bytes(16, "big").hex()
    assert row.nonce == (2).to_bytes(8, "big")
    assert (row.issued_at, row.expires_at, row.used_at) == (NOW, NOW + TTL, None)
    back = stored(db, row.id)
    assert back is not None
    assert (back.nonce, back.expires_at, back.used_at) == (row.nonce, NOW + TTL, None)
    assert issue(db, rng=rng) != row.id


def test_consume_returns_the_nonce_once(db: Database) -> None:
    with db.session() as s:
        row = ChipChallenges(s).issue(NOW, TTL)
    later = NOW + dt.timedelta(minutes=1)
    assert consume(db, row.id, later) == row.nonce
    spent = stored(db, row.id)
    assert spent is not None and spent.used_at == later
    with pytest.raises(ChallengeUsed) as e:
        consume(db, row.id, later)
    assert e.value.code == "challenge_used"


def test_expired_and_unknown_challenges_are_refused(db: Database) -> None:
    cid = issue(db)
    with pytest.raises(ChallengeExpired) as e:
        consume(db, cid, NOW + TTL)  # expiry is exclusive
    assert e.value.code == "challenge_expired"
    untouched = stored(db, cid)
    assert untouched is not None and untouched.used_at is None
    with pytest.raises(ChallengeExpired):
        consume(db, "A" * 24, NOW)
    assert consume(db, issue(db), NOW + TTL - dt.timedelta(microseconds=1))


def test_spent_challenge_past_expiry_reads_expired(db: Database) -> None:
    cid = issue(db)
    consume(db, cid, NOW)
    with pytest.raises(ChallengeExpired):
        consume(db, cid, NOW + TTL)


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_consumers_exactly_one_wins(db: Database, round_: int) -> None:
    cid = issue(db)

    def attempt(_: int) -> bytes | str:
        try:
            return consume(db, cid, NOW + dt.timedelta(seconds=1))
        except ChallengeUsed as e:
            return e.code

    outcomes = parallel(6, attempt)
    winners = [o for o in outcomes if isinstance(o, bytes)]
    assert len(winners) == 1 and len(winners[0]) == 8
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["challenge_used"] * 5


# -- retention ------------------------------------------------------------------------------


def test_purge_deletes_expired_challenges_only(db: Database) -> None:
    old_spent, old_unused = issue(db), issue(db)
    consume(db, old_spent, NOW)
    fresh = issue(db, NOW + dt.timedelta(minutes=3))
    with db.session() as s:
        assert purge(s, NOW + TTL - dt.timedelta(seconds=1)).chip_challenges_deleted == 0
    with db.session() as s:
        report = purge(s, NOW + TTL)
    assert report.chip_challenges_deleted == 2 and report.evidence_deleted == 0
    assert stored(db, old_spent) is None and stored(db, old_unused) is None
    assert consume(db, fresh, NOW + TTL)
