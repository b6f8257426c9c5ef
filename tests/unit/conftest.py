"""Database fixtures of the store suites: each test gets an empty database of each kind
(SQLite always; PostgreSQL when EKYC_TEST_POSTGRES_URL is set, as `make test` does)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from ekyc.store import Database

PG_URL = os.environ.get("EKYC_TEST_POSTGRES_URL")
T = TypeVar("T")


def open_backend(kind: str, tmp_path: Path) -> Database:
    """A fresh, unmigrated database of the given kind (skips or fails for PostgreSQL)."""
    if kind == "sqlite":
        return Database(f"sqlite:///{tmp_path}/ekyc.db")
    if not PG_URL:
        pytest.skip('EKYC_TEST_POSTGRES_URL unset: run `eval "$(.ci/postgres.sh start)"` first')
    db = Database(PG_URL)
    if not db.ping():
        pytest.fail(f"EKYC_TEST_POSTGRES_URL is set but the server is unreachable: {PG_URL}")
    with db.engine.begin() as conn:  # an empty public schema: each test migrates from nothing
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = open_backend(request.param, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    empty_db.migrate()
    return empty_db


def parallel(n: int, fn: Callable[[int], T]) -> list[T]:
    """Run ``fn(i)`` on ``n`` threads released together; results in index order."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
