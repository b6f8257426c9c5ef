"""Evidence (selfie frames, chip portraits, document images) sealed with AES-GCM at rest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ekyc.store.crypto import Encryptor, Sealed, evidence_aad
from ekyc.store.errors import IntegrityError, NotFound
from ekyc.store.models import OWN_RETENTION_KINDS, EvidenceKind, EvidenceRow, new_id


class EvidenceStore:
    """Put and read evidence blobs; the plaintext never reaches the database."""

    def __init__(
        self, s: Session, encryptor: Encryptor, rng: Callable[[int], bytes] = os.urandom
    ) -> None:
        self.s = s
        self.encryptor = encryptor
        self.rng = rng

    def put(
        self,
        session_id: str,
        kind: EvidenceKind | str,
        data: bytes,
        now: dt.datetime,
        purge_after: dt.datetime | None = None,
    ) -> EvidenceRow:
        """Seal and store a blob bound to its session, kind and row id."""
        evidence_id = new_id(self.rng)
        kind = str(kind)
        sealed = self.encryptor.seal(data, evidence_aad(session_id, kind, evidence_id))
        row = EvidenceRow(
            id=evidence_id,
            session_id=session_id,
            kind=kind,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            created_at=now,
            purge_after=purge_after,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def get(self, evidence_id: str) -> EvidenceRow:
        """An evidence row (still sealed); raises NotFound, also once purged."""
        row = self.s.get(EvidenceRow, evidence_id)
        if row is None:
            raise NotFound("evidence", evidence_id)
        return row

    def read(self, evidence_id: str) -> bytes:
        """The decrypted blob; raises DecryptionFailed, UnknownKey or IntegrityError."""
        row = self.get(evidence_id)
        data = self.encryptor.open(
            Sealed(row.key_id, row.nonce, row.ciphertext),
            evidence_aad(row.session_id, row.kind, row.id),
        )
        if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), row.sha256):
            raise IntegrityError(f"evidence {evidence_id} does not match its SHA-256")
        return data

    def for_session(self, session_id: str, kind: str | None = None) -> list[EvidenceRow]:
        """A session's evidence rows (sealed), oldest first."""
        q = select(EvidenceRow).where(EvidenceRow.session_id == session_id)
        if kind is not None:
            q = q.where(EvidenceRow.kind == kind)
        return list(self.s.scalars(q.order_by(EvidenceRow.created_at, EvidenceRow.id)))

    def schedule_purge(self, session_id: str, at: dt.datetime) -> int:
        """Set when a session's raw evidence may be purged (call it when the session ends);
        kinds with their own retention (certified copies) keep theirs."""
        result = self.s.execute(
            update(EvidenceRow)
            .where(EvidenceRow.session_id == session_id)
            .where(EvidenceRow.kind.not_in(OWN_RETENTION_KINDS))
            .where((EvidenceRow.purge_after.is_(None)) | (EvidenceRow.purge_after > at))
            .values(purge_after=at)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def reseal(self, evidence_id: str) -> EvidenceRow:
        """Re-encrypt one blob under the active key (key rotation)."""
        row = self.get(evidence_id)
        aad = evidence_aad(row.session_id, row.kind, row.id)
        sealed = self.encryptor.seal(
            self.encryptor.open(Sealed(row.key_id, row.nonce, row.ciphertext), aad), aad
        )
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        self.s.flush()
        return row
