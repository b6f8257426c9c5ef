"""Repositories on SQLite and, when EKYC_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from ekyc.store import (
    ApiKeys,
    AuditLog,
    ConcurrentUpdate,
    Database,
    DecryptionFailed,
    Encryptor,
    EvidenceRow,
    EvidenceStore,
    NotFound,
    Results,
    Role,
    SessionRow,
    Sessions,
    StepRow,
    Steps,
    UnknownKey,
    Webhooks,
    purge,
)
from ekyc.store.models import Base
from tests.unit.conftest import parallel

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
K1, K2 = bytes(range(32)), bytes(range(32, 64))


@pytest.fixture
def enc() -> Encryptor:
    return Encryptor({"k1": K1}, "k1")


def new_session(db: Database, **kw: object) -> SessionRow:
    with db.session() as s:
        key = ApiKeys(s).create("kiosk 1", Role.KIOSK, NOW).key
        args: dict[str, object] = {
            "api_key_id": key.id,
            "procedure": "bank-account",
            "required_steps": ["chip", "liveness", "face_match"],
            "now": NOW,
        }
        args.update(kw)
        return Sessions(s).create(**args)  # type: ignore[arg-type]


# -- schema ---------------------------------------------------------------------------------


def test_migrations_from_empty_match_models(empty_db: Database) -> None:
    assert empty_db.current_revision() is None
    empty_db.migrate()
    empty_db.migrate()  # a second run is a no-op
    assert empty_db.current_revision() == "0002"
    with empty_db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_ping(db: Database) -> None:
    assert db.ping()
    assert not Database("postgresql+psycopg://nobody@127.0.0.1:1/none").ping()


def test_foreign_keys_enforced(db: Database) -> None:
    with pytest.raises(DBAPIError), db.session() as s:
        Steps(s).record("no-such-session", "chip", "r1", {}, NOW)


# -- api keys -------------------------------------------------------------------------------


def test_api_key_create_authenticate_revoke(db: Database) -> None:
    with db.session() as s:
        created = ApiKeys(s).create("portal", "portal", NOW, rate_per_minute=30)
    token = created.token
    assert token.startswith(f"ekyc_{created.key.prefix}_")
    with db.session() as s:
        keys = ApiKeys(s)
        found = keys.authenticate(token)
        assert found is not None and found.id == created.key.id
        assert found.role == "portal" and found.rate_per_minute == 30
        assert token not in found.key_hash and found.key_hash != token
        assert keys.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert keys.authenticate("ekyc_000000000000_" + token.split("_")[2]) is None
        assert keys.authenticate("garbage") is None
        keys.revoke(created.key.id, NOW + dt.timedelta(hours=1))
    with db.session() as s:
        assert ApiKeys(s).authenticate(token) is None
        [listed] = ApiKeys(s).list()
        assert listed.revoked_at == NOW + dt.timedelta(hours=1)
        assert ApiKeys(s).list(include_revoked=False) == []
    with pytest.raises(ValueError), db.session() as s:
        ApiKeys(s).create("x", "superuser", NOW)


# -- sessions, steps, results ---------------------------------------------------------------


def test_session_round_trip(db: Database) -> None:
    row = new_session(db, callback_url="https://portal.example/hook")
    with db.session(readonly=True) as s:
        got = Sessions(s).get(row.id)
        assert got.procedure == "bank-account"
        assert got.required_steps == ["chip", "liveness", "face_match"]
        assert got.state == "created" and got.version == 1
        assert got.created_at == NOW and got.created_at.tzinfo is not None
        assert got.expires_at == NOW + dt.timedelta(minutes=30)
        assert len(got.server_nonce) == 32 and got.server_nonce == row.server_nonce
        assert got.callback_url == "https://portal.example/hook"
        assert [e.to_state for e in Sessions(s).events(row.id)] == ["created"]
        assert [r.id for r in Sessions(s).for_key(row.api_key_id)] == [row.id]
        with pytest.raises(NotFound):
            Sessions(s).get("missing")


def test_transition_records_events_and_detects_stale_version(db: Database) -> None:
    row = new_session(db)
    later = NOW + dt.timedelta(seconds=5)
    with db.session() as s:
        moved = Sessions(s).transition(row.id, 1, "in_progress", later, reason="chip")
        assert (moved.state, moved.version, moved.updated_at) == ("in_progress", 2, later)
    with pytest.raises(ConcurrentUpdate) as e, db.session() as s:
        Sessions(s).transition(row.id, 1, "declined", later)
    assert e.value.code == "concurrent_update" and e.value.expected_version == 1
    with db.session() as s:
        events = Sessions(s).events(row.id)
        assert [(ev.from_state, ev.to_state) for ev in events] == [
            (None, "created"),
            ("created", "in_progress"),
        ]
        assert events[1].reason == "chip" and events[1].at == later
        assert Sessions(s).get(row.id).state == "in_progress"


def test_concurrent_transitions_exactly_one_wins(db: Database) -> None:
    row = new_session(db)

    def attempt(i: int) -> str:
        try:
            with db.session() as s:
                Sessions(s).transition(row.id, 1, f"state{i}", NOW)
            return "won"
        except ConcurrentUpdate:
            return "lost"

    outcomes = parallel(10, attempt)
    assert outcomes.count("won") == 1
    with db.session() as s:
        assert Sessions(s).get(row.id).version == 2
        assert len(Sessions(s).events(row.id)) == 2


def test_step_insert_idempotent_under_20_threads(db: Database) -> None:
    row = new_session(db)

    def record(i: int) -> tuple[int, bool, dict[str, object]]:
        with db.session() as s:
            rec = Steps(s).record(row.id, "chip", "req-1", {"attempt": i}, NOW)
            return rec.row.id, rec.created, rec.row.outcome

    results = parallel(20, record)
    assert len({r[0] for r in results}) == 1
    assert [r[1] for r in results].count(True) == 1
    first_outcome = next(r[2] for r in results if r[1])
    assert all(r[2] == first_outcome for r in results)
    with db.session() as s:
        assert s.scalars(select(StepRow)).all().__len__() == 1
        other = Steps(s).record(row.id, "chip", "req-2", {"attempt": "b"}, NOW)
        assert other.created and other.row.outcome == {"attempt": "b"}
        assert [r.client_request_id for r in Steps(s).for_session(row.id)] == ["req-1", "req-2"]


def test_result_written_once(db: Database) -> None:
    row = new_session(db)
    exp = NOW + dt.timedelta(days=365)
    with db.session() as s:
        first = Results(s).put(row.id, "approved", "a.b.c", NOW, exp)
        again = Results(s).put(row.id, "declined", "x.y.z", NOW, exp)
        assert (first.jws, again.jws, again.decision) == ("a.b.c", "a.b.c", "approved")
    with db.session() as s:
        got = Results(s).get(row.id)
        assert got is not None and got.expires_at == exp
        assert Results(s).get("other") is None


# -- evidence -------------------------------------------------------------------------------


def test_evidence_round_trip_binding_and_rotation(db: Database, enc: Encryptor) -> None:
    a, b = new_session(db), new_session(db)
    image = os.urandom(5000)
    with db.session() as s:
        ev = EvidenceStore(s, enc).put(a.id, "selfie_frame", image, NOW)
        other = EvidenceStore(s, enc).put(b.id, "selfie_frame", b"other", NOW)
    with db.session() as s:
        store = EvidenceStore(s, enc)
        assert store.read(ev.id) == image
        assert [e.id for e in store.for_session(a.id, "selfie_frame")] == [ev.id]
        row = store.get(ev.id)
        assert row.size == 5000 and row.key_id == "k1" and image not in row.ciphertext
        # moving a blob to another row (another session) breaks its AAD binding
        victim = store.get(other.id)
        victim.ciphertext, victim.nonce = row.ciphertext, row.nonce
    with db.session() as s:
        with pytest.raises(DecryptionFailed):
            EvidenceStore(s, enc).read(other.id)
        with pytest.raises(DecryptionFailed):
            EvidenceStore(s, Encryptor({"k1": K2}, "k1")).read(ev.id)
        with pytest.raises(UnknownKey):
            EvidenceStore(s, Encryptor({"k2": K2}, "k2")).read(ev.id)
        rotated = EvidenceStore(s, Encryptor({"k1": K1, "k2": K2}, "k2"))
        assert rotated.read(ev.id) == image
        assert rotated.reseal(ev.id).key_id == "k2"
    with db.session() as s:
        assert EvidenceStore(s, Encryptor({"k2": K2}, "k2")).read(ev.id) == image


def test_purge_removes_due_evidence_and_keeps_results(db: Database, enc: Encryptor) -> None:
    ended = new_session(db)
    running = new_session(db, ttl=dt.timedelta(hours=2))
    review = new_session(db)
    with db.session() as s:
        store = EvidenceStore(s, enc)
        gone = store.put(ended.id, "selfie_frame", b"frame-1", NOW)
        kept = store.put(running.id, "chip_portrait", b"portrait", NOW)
        held = store.put(review.id, "document_image", b"doc", NOW)
        Sessions(s).transition(review.id, 1, "review", NOW)
        assert store.schedule_purge(ended.id, NOW + dt.timedelta(minutes=1)) == 1
        Results(s).put(ended.id, "approved", "a.b.c", NOW, NOW + dt.timedelta(days=1))
        Steps(s).record(ended.id, "chip", "r1", {"verdict": "valid"}, NOW)
    with db.session() as s:
        assert purge(s, NOW).evidence_deleted == 0
    with db.session() as s:
        # one minute on: the ended session's purge time has come
        assert purge(s, NOW + dt.timedelta(minutes=1)).evidence_deleted == 1
    with db.session() as s:
        # an hour on: the review session expired but is held; the running one is not expired
        assert purge(s, NOW + dt.timedelta(hours=1)).evidence_deleted == 0
        ids = set(s.scalars(select(EvidenceRow.id)))
        assert ids == {kept.id, held.id} and gone.id not in ids
        assert Results(s).get(ended.id) is not None
        assert len(Steps(s).for_session(ended.id)) == 1
    with db.session() as s:
        assert purge(s, NOW + dt.timedelta(hours=3)).evidence_deleted == 1
        assert set(s.scalars(select(EvidenceRow.id))) == {held.id}
        with pytest.raises(NotFound):
            EvidenceStore(s, enc).read(kept.id)


# -- webhooks -------------------------------------------------------------------------------


def test_webhook_claims_are_exclusive_across_workers(db: Database) -> None:
    row = new_session(db)
    with db.session() as s:
        hooks = Webhooks(s)
        ids = {hooks.enqueue(row.id, "https://h", f"e{i}", "{}", NOW).id for i in range(40)}

    def worker(_: int) -> list[str]:
        mine: list[str] = []
        while True:
            with db.session() as s:
                claimed = [d.id for d in Webhooks(s).claim_due(NOW, limit=3)]
            if not claimed:
                return mine
            mine += claimed

    claimed = [d for batch in parallel(8, worker) for d in batch]
    assert sorted(claimed) == sorted(ids)  # every delivery once, none twice
    lease_end = NOW + dt.timedelta(seconds=60)
    with db.session() as s:
        hooks = Webhooks(s)
        assert hooks.claim_due(NOW + dt.timedelta(seconds=59)) == []
        again = hooks.claim_due(lease_end, limit=100)
        assert len(again) == 40 and {d.attempts for d in again} == {2}
        first, second = sorted(ids)[:2]
        hooks.mark_delivered(first, 204, lease_end)
        hooks.mark_attempt_failed(second, lease_end, None, status=500, error="boom")
        retry = sorted(ids)[2]
        hooks.mark_attempt_failed(retry, lease_end, lease_end, error="timeout")
    with db.session() as s:
        log = {d.id: d for d in Webhooks(s).for_session(row.id)}
        assert (log[first].status, log[first].last_status) == ("delivered", 204)
        assert (log[second].status, log[second].last_error) == ("failed", "boom")
        due = Webhooks(s).claim_due(lease_end)
        assert [d.id for d in due] == [retry]


# -- audit log ------------------------------------------------------------------------------


def _append_five(db: Database) -> None:
    with db.session() as s:
        log = AuditLog(s)
        for i in range(5):
            log.append(
                "session.created",
                NOW + dt.timedelta(seconds=i),
                actor="key1",
                session_id=f"s{i}",
                detail={"i": i, "tên": "Nguyễn"},
            )


def _drop_guards(db: Database) -> None:
    """What an attacker with database access does first."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")


def test_audit_chain_verifies_and_is_append_only(db: Database) -> None:
    _append_five(db)
    with db.session() as s:
        result = AuditLog(s).verify_chain()
        assert result.ok and result.checked == 5 and result.head is not None
        assert result.head.seq == 5
        [entry] = AuditLog(s).entries(session_id="s2")
        assert entry.detail_dict == {"i": 2, "tên": "Nguyễn"} and entry.at.tzinfo is not None
    for sql in ("UPDATE audit_log SET action = 'x' WHERE seq = 2", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.exec_driver_sql(sql)


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        ("UPDATE audit_log SET detail = '{\"i\":9}' WHERE seq = 3", 3, "hash_mismatch"),
        ("UPDATE audit_log SET actor = 'key2' WHERE seq = 1", 1, "hash_mismatch"),
        ("DELETE FROM audit_log WHERE seq = 2", 3, "seq_gap"),
        ("UPDATE audit_log SET seq = seq - 1 WHERE seq > 2", 2, "broken_link"),
    ],
)
def test_audit_chain_detects_tampering(
    db: Database, tamper: str, bad_seq: int, reason: str
) -> None:
    _append_five(db)
    _drop_guards(db)
    with db.engine.begin() as conn:
        if tamper.startswith("UPDATE audit_log SET seq"):
            conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 2")
        conn.exec_driver_sql(tamper)
    with db.session() as s:
        result = AuditLog(s).verify_chain()
    assert not result.ok
    assert (result.first_bad_seq, result.reason) == (bad_seq, reason)


def test_audit_anchor_detects_truncation(db: Database) -> None:
    _append_five(db)
    with db.session() as s:
        head = AuditLog(s).head()
    assert head is not None
    _drop_guards(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= 4")
    with db.session() as s:
        assert AuditLog(s).verify_chain().ok  # a shortened chain is consistent in itself
        result = AuditLog(s).verify_chain(anchor=head)
    assert not result.ok and result.reason == "head_mismatch"


def test_audit_appends_from_threads_form_one_chain(db: Database) -> None:
    def append(i: int) -> None:
        for j in range(5):
            with db.session() as s:
                AuditLog(s).append("step", NOW, actor=f"k{i}", detail={"j": j})

    parallel(8, append)
    with db.session() as s:
        result = AuditLog(s).verify_chain()
        assert result.ok and result.checked == 40
        assert s.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one() == 40
