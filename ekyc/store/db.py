"""Engine and session handling for SQLite (default, one file) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"
#: pg_advisory_lock key serialising migrations of several replicas starting together
MIGRATION_LOCK = 0x656B7963
#: seconds an SQLite writer waits for the file lock before failing
SQLITE_BUSY_TIMEOUT_S = 30
_READONLY = "ekyc_readonly"


class Database:
    """One database: engine, migrations and transactional ORM sessions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.engine: Engine = (
            self._sqlite_engine(echo) if self.dialect == "sqlite" else self._pg_engine(echo)
        )
        self._readonly_engine = self.engine.execution_options(**{_READONLY: True})
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(self._readonly_engine, expire_on_commit=False)

    def _sqlite_engine(self, echo: bool) -> Engine:
        database = self.url.database
        memory = not database or database == ":memory:"
        if not memory:
            Path(database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # take transaction control away from the sqlite3 module so "begin" below decides
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            # deleted rows (purged biometrics) are overwritten with zeros in the file
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # a writer takes the file lock up front: read-then-write transactions never hit
            # SQLITE_BUSY on upgrade, and a claim (SELECT then UPDATE) is single-writer
            readonly = conn.get_execution_options().get(_READONLY, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine

    def _pg_engine(self, echo: bool) -> Engine:
        return create_engine(self.url, echo=echo, pool_pre_ping=True, pool_size=10)

    def migrate(self) -> None:
        """Bring the schema to the latest migration (safe to call from several processes)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("path_separator", "os")
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        """The migration revision the database is at (None when never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        factory = self._readonly_sessions if readonly else self._sessions
        with factory() as s, s.begin():
            yield s

    def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self._readonly_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
        except SQLAlchemyError:
            return False
        return True

    def checkpoint(self) -> None:
        """SQLite: fold the WAL back into the main file and truncate it (no-op elsewhere)."""
        if self.dialect != "sqlite":
            return
        # on the raw connection: outside any transaction, which a checkpoint needs
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
