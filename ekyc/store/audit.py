"""Append-only audit log, hash-chained: each row's hash covers the previous hash and the row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ekyc.store.models import AuditEntry

GENESIS = "0" * 64
#: pg_advisory_xact_lock key serialising appends across processes (SQLite: the writer lock)
AUDIT_LOCK = 0x656B7961


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text per value, so hashes are reproducible."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str | None,
    action: str,
    session_id: str | None,
    detail: str,
) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the row."""
    row = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "session_id": session_id,
        "detail": detail,
    }
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(row).encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    #: rows checked before stopping
    checked: int
    head: ChainHead | None
    first_bad_seq: int | None = None
    #: hash_mismatch (row edited), broken_link / seq_gap (row removed or inserted),
    #: head_mismatch (the chain no longer reaches a head recorded earlier)
    reason: str | None = None


class AuditLog:
    """Append entries and verify the chain."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def append(
        self,
        action: str,
        now: dt.datetime,
        *,
        actor: str | None = None,
        session_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry; appends from concurrent transactions are serialised."""
        if self.s.get_bind().dialect.name == "postgresql":
            # held until commit: append late in a transaction to keep the critical section short
            self.s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
        head = self.head()
        seq = head.seq + 1 if head else 1
        prev = head.hash if head else GENESIS
        at = now.astimezone(dt.UTC)
        detail_text = canonical_json(detail or {})
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            session_id=session_id,
            detail=detail_text,
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, actor, action, session_id, detail_text),
        )
        self.s.add(entry)
        self.s.flush()
        return entry

    def head(self) -> ChainHead | None:
        """The last entry's sequence number and hash (keep it elsewhere to detect truncation)."""
        q = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        row = self.s.execute(q).first()
        return ChainHead(row.seq, row.hash) if row else None

    def entries(
        self, session_id: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries in order, optionally for one session."""
        q = select(AuditEntry).where(AuditEntry.seq > after_seq)
        if session_id is not None:
            q = q.where(AuditEntry.session_id == session_id)
        return list(self.s.scalars(q.order_by(AuditEntry.seq).limit(limit)))

    def verify_chain(self, anchor: ChainHead | None = None) -> ChainVerification:
        """Recompute every hash and link; an ``anchor`` (earlier head) must still be on it."""
        prev, expected_seq, checked = GENESIS, 1, 0
        last: ChainHead | None = None
        anchor_seen = anchor is None
        q = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)
        for e in self.s.scalars(q):
            bad = None
            if e.seq != expected_seq:
                bad = "seq_gap"
            elif e.prev_hash != prev:
                bad = "broken_link"
            elif e.hash != entry_hash(
                e.prev_hash, e.seq, e.at, e.actor, e.action, e.session_id, e.detail
            ):
                bad = "hash_mismatch"
            if bad is not None:
                return ChainVerification(False, checked, last, e.seq, bad)
            if anchor is not None and e.seq == anchor.seq:
                if e.hash != anchor.hash:
                    return ChainVerification(False, checked, last, e.seq, "head_mismatch")
                anchor_seen = True
            checked += 1
            prev, expected_seq, last = e.hash, e.seq + 1, ChainHead(e.seq, e.hash)
        if not anchor_seen:
            return ChainVerification(False, checked, last, expected_seq, "head_mismatch")
        return ChainVerification(True, checked, last)
