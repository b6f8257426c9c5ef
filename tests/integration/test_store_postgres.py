"""PostgreSQL-only behaviour: several processes sharing one database.

Needs a server: ``eval "$(.ci/postgres.sh start)"`` exports EKYC_TEST_POSTGRES_URL. Skipped
when it is unset; failing when it is set but the server does not answer.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.pool
import os
from collections.abc import Iterator

import pytest

from ekyc.store import ApiKeys, AuditLog, Database, Role, Sessions, Webhooks

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
URL = os.environ.get("EKYC_TEST_POSTGRES_URL")


@pytest.fixture
def pg() -> Iterator[Database]:
    if not URL:
        pytest.skip('EKYC_TEST_POSTGRES_URL unset: run `eval "$(.ci/postgres.sh start)"` first')
    db = Database(URL)
    if not db.ping():
        pytest.fail(f"EKYC_TEST_POSTGRES_URL is set but the server is unreachable: {URL}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    yield db
    db.dispose()


def _migrate(url: str) -> str | None:
    db = Database(url)
    db.migrate()
    return db.current_revision()


def _claim_all(url: str) -> list[str]:
    db, mine = Database(url), list[str]()
    while True:
        with db.session() as s:
            batch = [d.id for d in Webhooks(s).claim_due(NOW, limit=4)]
        if not batch:
            db.dispose()
            return mine
        mine += batch


def _audit(url: str) -> int:
    db = Database(url)
    for i in range(10):
        with db.session() as s:
            AuditLog(s).append("tick", NOW, actor=str(os.getpid()), detail={"i": i})
    db.dispose()
    return 10


def _pool(n: int) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("spawn").Pool(n)


def _session(db: Database) -> str:
    with db.session() as s:
        key = ApiKeys(s).create("k", Role.PORTAL, NOW).key
        return (
            Sessions(s)
            .create(api_key_id=key.id, procedure="p", required_steps=["chip"], now=NOW)
            .id
        )


def test_replicas_migrating_together(pg: Database) -> None:
    assert URL
    with _pool(4) as pool:
        assert pool.map(_migrate, [URL] * 4) == ["0002"] * 4


def test_skip_locked_claim_does_not_wait_for_a_busy_worker(pg: Database) -> None:
    pg.migrate()
    session_id = _session(pg)
    with pg.session() as s:
        for i in range(10):
            Webhooks(s).enqueue(session_id, "https://h", f"e{i}", "{}", NOW)
    with pg.session() as busy:
        held = {d.id for d in Webhooks(busy).claim_due(NOW, limit=4)}  # locks held, uncommitted
        with pg.session() as other:
            # without SKIP LOCKED this claim would block on the busy worker's rows: fail fast
            other.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            got = {d.id for d in Webhooks(other).claim_due(NOW, limit=100)}
        assert len(held) == 4 and len(got) == 6 and not held & got


def test_processes_claim_each_delivery_once(pg: Database) -> None:
    assert URL
    pg.migrate()
    session_id = _session(pg)
    with pg.session() as s:
        ids = {Webhooks(s).enqueue(session_id, "https://h", "e", "{}", NOW).id for _ in range(60)}
    with _pool(4) as pool:
        claimed = [d for batch in pool.map(_claim_all, [URL] * 4) for d in batch]
    assert sorted(claimed) == sorted(ids)


def test_processes_append_one_audit_chain(pg: Database) -> None:
    assert URL
    pg.migrate()
    with _pool(4) as pool:
        assert sum(pool.map(_audit, [URL] * 4)) == 40
    with pg.session() as s:
        result = AuditLog(s).verify_chain()
    assert result.ok and result.checked == 40
