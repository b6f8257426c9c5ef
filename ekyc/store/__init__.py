"""Persistence: SQLite by default or PostgreSQL, encryption at rest, retention, audit log."""

from ekyc.store.audit import AuditLog, ChainHead, ChainVerification
from ekyc.store.challenges import ChallengeExpired, ChallengeUsed, ChipChallenges
from ekyc.store.crypto import Encryptor, Sealed
from ekyc.store.db import Database
from ekyc.store.errors import (
    ConcurrentUpdate,
    DecryptionFailed,
    IntegrityError,
    KeyConfigError,
    NotFound,
    StoreError,
    UnknownKey,
)
from ekyc.store.evidence import EvidenceStore
from ekyc.store.keys import ApiKeys, CreatedKey
from ekyc.store.models import (
    ApiKey,
    AuditEntry,
    ChipChallenge,
    DeliveryStatus,
    EvidenceKind,
    EvidenceRow,
    ResultRow,
    Role,
    SessionEvent,
    SessionRow,
    StepRow,
    WebhookDelivery,
)
from ekyc.store.retention import PurgeReport, purge
from ekyc.store.sessions import Results, Sessions, StepRecord, Steps
from ekyc.store.webhooks import Webhooks

__all__ = [
    "ApiKey",
    "ApiKeys",
    "AuditEntry",
    "AuditLog",
    "ChainHead",
    "ChainVerification",
    "ChallengeExpired",
    "ChallengeUsed",
    "ChipChallenge",
    "ChipChallenges",
    "ConcurrentUpdate",
    "CreatedKey",
    "Database",
    "DecryptionFailed",
    "DeliveryStatus",
    "Encryptor",
    "EvidenceKind",
    "EvidenceRow",
    "EvidenceStore",
    "IntegrityError",
    "KeyConfigError",
    "NotFound",
    "PurgeReport",
    "ResultRow",
    "Results",
    "Role",
    "Sealed",
    "SessionEvent",
    "SessionRow",
    "Sessions",
    "StepRecord",
    "StepRow",
    "Steps",
    "StoreError",
    "UnknownKey",
    "WebhookDelivery",
    "Webhooks",
    "purge",
]
