"""ORM tables (SQLAlchemy 2 typed declarative); the schema itself is created by migrations."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID_LEN = 32  # 16 random bytes, hex


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        # SQLite compares timestamps as text: store one fixed format without an offset
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Role(StrEnum):
    KIOSK = "kiosk"
    PORTAL = "portal"
    CLERK = "clerk"
    AUDITOR = "auditor"
    ADMIN = "admin"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class EvidenceKind(StrEnum):
    """Known evidence kinds; the column accepts any short name so new steps need no migration."""

    SELFIE_FRAME = "selfie_frame"
    CHIP_PORTRAIT = "chip_portrait"
    DOCUMENT_IMAGE = "document_image"
    #: the signed certified copy PDF: the citizen's deliverable, kept by its own retention
    CERTIFIED_COPY = "certified_copy"


#: kinds deleted only by their own ``purge_after``, never with the raw evidence of an ended
#: session (the certified copy is the citizen's deliverable, not raw evidence)
OWN_RETENTION_KINDS = (EvidenceKind.CERTIFIED_COPY.value,)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        list[str]: JsonType,
        bytes: LargeBinary(),
    }


def _roles_check() -> str:
    return "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")"


def _status_check() -> str:
    return "status IN (" + ", ".join(f"'{s.value}'" for s in DeliveryStatus) + ")"


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_roles_check(), name="role"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    #: public part of the token, used to find the row before the constant-time hash compare
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    #: SHA-256 (hex) of the 32-byte secret; the secret itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    rate_per_minute: Mapped[int] = mapped_column(Integer)


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (Index(None, "state"), Index(None, "expires_at"))

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(64))
    required_steps: Mapped[list[str]]
    state: Mapped[str] = mapped_column(String(16))
    server_nonce: Mapped[bytes]
    callback_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    version: Mapped[int] = mapped_column(Integer)


class SessionEvent(Base):
    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(Text)


class StepRow(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("session_id", "step", "client_request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(32))
    client_request_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class EvidenceRow(Base):
    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    #: SHA-256 (hex) of the plaintext: what signed results carry instead of the image
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes]
    ciphertext: Mapped[bytes]
    created_at: Mapped[dt.datetime]
    purge_after: Mapped[dt.datetime | None] = mapped_column(index=True)


class ResultRow(Base):
    __tablename__ = "results"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    jws: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_status_check(), name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(64))
    #: the exact body bytes (UTF-8 JSON) that are signed and sent on every attempt
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    #: api key id of whoever acted (None: the service itself)
    actor: Mapped[str | None] = mapped_column(String(ID_LEN))
    action: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    #: canonical JSON text, stored verbatim so the hash can be recomputed byte for byte
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def detail_dict(self) -> dict[str, Any]:
        """The detail JSON decoded."""
        value: dict[str, Any] = json.loads(self.detail)
        return value


class ChipChallenge(Base):
    """A server-chosen Active Authentication nonce for the stateless chip check, usable once."""

    __tablename__ = "chip_challenges"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    nonce: Mapped[bytes]
    issued_at: Mapped[dt.datetime]
    #: indexed: the retention purge deletes by it
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: set once, by the single UPDATE that spends the challenge
    used_at: Mapped[dt.datetime | None]


def new_id(rng: Callable[[int], bytes]) -> str:
    """A fresh 128-bit random row id, hex."""
    return rng(16).hex()
