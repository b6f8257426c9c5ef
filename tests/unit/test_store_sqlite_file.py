"""What is physically in the SQLite file: pragmas, no plaintext biometrics, purged bytes gone."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ekyc.store import ApiKeys, Database, Encryptor, EvidenceStore, Role, Sessions, purge

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/var/ekyc.db")
    database.migrate()
    yield database
    database.dispose()


def raw_bytes(db: Database) -> bytes:
    """The main file plus any WAL, after folding the WAL back into the file."""
    db.checkpoint()
    path = Path(str(db.url.database))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def chunks(data: bytes, size: int = 32) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data) - size, len(data) // 8)]


def new_session(db: Database) -> str:
    with db.session() as s:
        key = ApiKeys(s).create("kiosk", Role.KIOSK, NOW).key
        return (
            Sessions(s)
            .create(api_key_id=key.id, procedure="p", required_steps=["liveness"], now=NOW)
            .id
        )


def test_pragmas_and_default_directory(db: Database, tmp_path: Path) -> None:
    assert (tmp_path / "var" / "ekyc.db").exists()  # parent folder created
    with db.engine.connect() as conn:
        pragmas = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "foreign_keys", "secure_delete")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "secure_delete": 1}


def test_image_plaintext_never_in_the_file(db: Database) -> None:
    session_id = new_session(db)
    image = jpeg(1)
    enc = Encryptor({"k1": bytes(range(32))}, "k1", rng=random.Random(3).randbytes)
    with db.session() as s:
        ev = EvidenceStore(s, enc).put(session_id, "selfie_frame", image, NOW)
    raw = raw_bytes(db)
    assert ev.ciphertext[100:140] in raw  # the sealed blob is there (the scan works) …
    assert not any(c in raw for c in chunks(image))  # … the image is not
    with db.session() as s:
        assert EvidenceStore(s, enc).read(ev.id) == image


def test_purge_removes_the_bytes_from_the_file(db: Database) -> None:
    session_id = new_session(db)
    enc = Encryptor({"k1": bytes(range(32))}, "k1")
    with db.session() as s:
        store = EvidenceStore(s, enc)
        rows = [store.put(session_id, "selfie_frame", jpeg(i), NOW) for i in range(3)]
        store.schedule_purge(session_id, NOW)
    before = raw_bytes(db)
    blobs = [c for r in rows for c in chunks(r.ciphertext)]
    assert all(b in before for b in blobs)
    with db.session() as s:
        assert purge(s, NOW).evidence_deleted == 3
    after = raw_bytes(db)
    leftovers = [b for b in blobs if b in after]
    assert leftovers == []
    path = Path(str(db.url.database))
    assert path.with_name(path.name + "-wal").stat().st_size == 0  # truncated


def test_api_key_secret_not_in_the_file(db: Database) -> None:
    with db.session() as s:
        created = ApiKeys(s).create("admin", Role.ADMIN, NOW)
    raw = raw_bytes(db)
    secret_text = created.token.split("_", 2)[2]  # the secret may itself contain "_"
    assert len(secret_text) == 43
    assert secret_text.encode() not in raw
    assert created.token.encode() not in raw
    assert created.key.key_hash.encode() in raw and created.key.prefix.encode() in raw
    with db.session() as s:
        assert ApiKeys(s).authenticate(created.token) is not None
