"""Request and response bodies of the HTTP API (pydantic v2), apart from the domain types."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ekyc.icao.lds import MAX_FILE_BYTES

#: the most bytes each chip file may decode to (images 200 KiB, everything else 32 KiB)
FILE_LIMITS: dict[str, int] = MAX_FILE_BYTES
#: the chip files a client may send: EF.COM, EF.SOD, EF.CardAccess and every data group
ChipFileName = Literal[
    "EF.COM", "EF.SOD", "EF.CardAccess",
    "DG1", "DG2", "DG3", "DG4", "DG5", "DG6", "DG7", "DG8",
    "DG9", "DG10", "DG11", "DG12", "DG13", "DG14", "DG15", "DG16",
]  # fmt: skip
#: an AA signature is at most one RSA-4096 block
AA_SIGNATURE_LIMIT = 512
#: the whole request body, checked before any JSON is parsed (base64 adds a third)
MAX_REQUEST_BYTES = 1024 * 1024


def decode_base64(text: str, limit: int) -> bytes:
    """Decode canonical, padded standard base64 of at most ``limit`` bytes, else ValueError."""
    if len(text) > 4 * -(-limit // 3):
        raise ValueError(f"longer than {limit} bytes")
    try:
        data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not strict base64") from None
    # strict_mode still accepts non-zero pad bits; only the canonical form is one encoding
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not canonical base64")
    if len(data) > limit:
        raise ValueError(f"longer than {limit} bytes")
    return data


def _files(files: dict[ChipFileName, str]) -> dict[ChipFileName, str]:
    for name, text in files.items():
        try:
            decode_base64(text, FILE_LIMITS[name])
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return files


def _signature(text: str | None) -> str | None:
    if text is not None:
        decode_base64(text, AA_SIGNATURE_LIMIT)
    return text


ChallengeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


class ChallengeResponse(BaseModel):
    challenge_id: str
    nonce: str = Field(description="8 random bytes, base64: the chip signs them in AA")
    expires_at: dt.datetime


class VerifyRequest(BaseModel):
    """Raw chip files as read, and the chip's AA signature over the server's nonce."""

    model_config = ConfigDict(extra="forbid")

    files: Annotated[dict[ChipFileName, str], AfterValidator(_files)] = Field(
        description=(
            "file name → base64 content: EF.SOD, EF.COM, EF.CardAccess, DG1 … DG16; every DG"
            " is hash-checked against EF.SOD, those without a parser are reported as present,"
            " not parsed"
        )
    )
    challenge_id: ChallengeId
    aa_signature: Annotated[str | None, AfterValidator(_signature)] = Field(
        default=None,
        description=(
            "the chip's answer to INTERNAL AUTHENTICATE over the challenge nonce; without it a"
            " chip offering AA (DG15) has AA not_performed and is not valid"
        ),
    )

    def file_bytes(self) -> dict[str, bytes]:
        """The files decoded (already validated)."""
        return {n: decode_base64(t, FILE_LIMITS[n]) for n, t in self.files.items()}

    def signature_bytes(self) -> bytes | None:
        """The AA signature decoded, if any."""
        sig = self.aa_signature
        return None if sig is None else decode_base64(sig, AA_SIGNATURE_LIMIT)


class ReasonOut(BaseModel):
    code: str
    message: str


class VerifyResponse(BaseModel):
    """``ChipVerification.to_dict()`` plus, on request, the portrait re-encoded as JPEG."""

    model_config = ConfigDict(extra="allow")

    verdict: Literal["valid", "issuer_unknown", "expired", "invalid"]
    reasons: list[ReasonOut]
    portrait_jpeg: str | None = Field(
        default=None, description="base64 JPEG, only with ?include_portrait=true"
    )


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str
    request_id: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json bodies."""
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in statuses}


# --- sessions -----------------------------------------------------------------------------

StepName = Literal["chip", "liveness", "face_match", "documents"]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


class SessionCreate(BaseModel):
    """A verification session for a procedure; the policy names its required steps."""

    model_config = ConfigDict(extra="forbid")

    procedure: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = Field(
        description="procedure code, e.g. dang-ky-thuong-tru"
    )
    steps: list[StepName] = Field(
        default_factory=list, max_length=4, description="steps beyond the policy's"
    )
    callback_url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="https URL receiving signed webhooks on every state change"
    )
    ttl_seconds: int | None = Field(default=None, ge=60, le=24 * 3600)


class SessionOut(BaseModel):
    """A session: state, the AA nonce for the chip, each step's outcome, the decision."""

    model_config = ConfigDict(extra="allow")

    id: str
    procedure: str
    required_steps: list[str]
    state: str
    nonce: str = Field(description="8 bytes, base64: the chip signs them in AA")
    callback_url: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    updated_at: dt.datetime
    steps: dict[str, dict[str, Any]]
    decision: dict[str, Any] | None
    citizen_status: dict[str, str] = Field(
        description="what the citizen is told: code submitted | received | "
        "needs_more_documents | rejected | done, with Vietnamese and English labels"
    )
    status_url: str | None = Field(
        description="the citizen's status page; the link itself is the permission to read it"
    )


class StepOut(BaseModel):
    """A step's outcome and the session after it; ``replayed`` for a repeated request id."""

    step: dict[str, Any]
    session: SessionOut
    replayed: bool


class SessionChipRequest(BaseModel):
    """Raw chip files and the AA signature over the session nonce."""

    model_config = ConfigDict(extra="forbid")

    files: Annotated[dict[ChipFileName, str], AfterValidator(_files)]
    aa_signature: Annotated[str | None, AfterValidator(_signature)] = None
    client_request_id: RequestId | None = None

    def file_bytes(self) -> dict[str, bytes]:
        """The files decoded (already validated)."""
        return {n: decode_base64(t, FILE_LIMITS[n]) for n, t in self.files.items()}

    def signature_bytes(self) -> bytes | None:
        """The AA signature decoded, if any."""
        sig = self.aa_signature
        return None if sig is None else decode_base64(sig, AA_SIGNATURE_LIMIT)


class FaceMatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_request_id: RequestId | None = None


class ReviewRequest(BaseModel):
    """A clerk's decision on a session waiting for review."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ResultOut(BaseModel):
    session_id: str
    decision: str
    token: str = Field(description="compact JWS (ES256 or EdDSA); keys at /.well-known/jwks.json")
    issued_at: dt.datetime
    expires_at: dt.datetime


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]


class TokenCheck(BaseModel):
    valid: bool
    reason: str | None
    message: str
    kid: str | None
    claims: dict[str, Any] | None


class PdfSigner(BaseModel):
    subject: str | None
    issuer: str | None
    serial: str | None  # hex


class PdfCheck(BaseModel):
    """A certified copy PDF's check; the facts are read from the file (trust them when valid)."""

    valid: bool
    reason: (
        Literal[
            "not_a_pdf",
            "not_a_certified_copy",
            "altered",
            "unknown_signer",
            "signer_revoked",
            "signer_expired",
            "revocation_unknown",
        ]
        | None
    )
    message: str
    session_id: str | None
    procedure: str | None
    certified_by: str | None
    certified_at: str | None
    page_sha256: list[str]
    signed_at: str | None
    time_stamped: bool
    level: Literal["B-B", "B-T", "B-LT"] | None
    signer: PdfSigner
    checked_at: str | None


# --- keys and audit -----------------------------------------------------------------------

RoleName = Literal["kiosk", "portal", "clerk", "auditor", "admin"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    role: RoleName
    rate_per_minute: int = Field(default=600, ge=1, le=1_000_000)


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    prefix: str
    rate_per_minute: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeyCreated(KeyOut):
    token: str = Field(description="the bearer token: shown once, never stored")


class AuditEntryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str | None
    action: str
    session_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
