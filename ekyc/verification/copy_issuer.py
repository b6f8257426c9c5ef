"""Certified copies in the service: issued when a session with a documents step is approved,
sealed as evidence of kind ``certified_copy`` with their own retention, read back, checked.

Issuing runs inside the transaction that approves the session, so an approval and its
certified copy are committed together (the copy pages are still sealed then: raw evidence
is purged only after the session ends). A copy that cannot be issued (the signer's
certificate expired, a copy page no longer stored) fails the approval with its error
rather than approving without the deliverable.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ekyc.errors import EkycError
from ekyc.store.crypto import Encryptor
from ekyc.store.evidence import EvidenceStore
from ekyc.store.models import EvidenceKind, EvidenceRow
from ekyc.verification.certified_copy import (
    CertifiedCopyError,
    Certifier,
    CopyFacts,
    issue_certified_copy,
)
from ekyc.verification.pdf_signing import PdfSigningIdentity, PdfTrust
from ekyc.verification.pdf_verify import PdfVerification, verify_certified_copy
from ekyc.verification.steps import Step, StepOutcome

if TYPE_CHECKING:
    from ekyc.settings import Settings

COPY_PREFIX = "copy_"  # the documents step's evidence names of the copy pages: copy_0 …


class CertifiedCopyNotAvailable(EkycError):
    """The session has no certified copy: not approved, no documents step, or purged."""

    code = "certified_copy_not_available"


def copy_page_hashes(documents: StepOutcome) -> tuple[str, ...]:
    """The SHA-256 of each copy page, in page order, from the documents step's evidence."""
    pages = {
        int(name[len(COPY_PREFIX) :]): digest
        for name, digest in documents.evidence.items()
        if name.startswith(COPY_PREFIX) and name[len(COPY_PREFIX) :].isdigit()
    }
    return tuple(pages[i] for i in sorted(pages))


def verdict_text(documents: StepOutcome, certifier: Certifier) -> str:
    """The comparison's verdict as the certification page states it."""
    verdict = str(documents.detail.get("verdict", documents.outcome.value.upper()))
    text = f"{verdict} ({documents.outcome.value})"
    if documents.outcome.value == "review" and certifier.kind == "clerk":
        text += " — duyệt bởi cán bộ / approved by the clerk"
    return text


@dataclass(frozen=True)
class CertifiedCopies:
    """The signing identity, what checks trust, and how long issued copies are kept."""

    identity: PdfSigningIdentity
    trust: PdfTrust
    retention: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings, now: dt.datetime) -> CertifiedCopies:
        """``EKYC_PDF_*`` (the local test CA when no signer is configured)."""
        identity = PdfSigningIdentity.from_settings(settings, now)
        return cls(
            identity,
            PdfTrust.from_settings(settings, identity),
            dt.timedelta(seconds=settings.retention_certified_copy_seconds),
        )

    def issue(
        self,
        s: Session,
        encryptor: Encryptor,
        *,
        session_id: str,
        procedure: str,
        procedure_title: str,
        outcomes: Mapping[Step, StepOutcome],
        certifier: Certifier,
        verify_url: str,
        now: dt.datetime,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> EvidenceRow | None:
        """Build, sign and seal the certified copy (None without a documents outcome)."""
        documents = outcomes.get(Step.DOCUMENTS)
        if documents is None:
            return None
        hashes = copy_page_hashes(documents)
        if not hashes:
            raise CertifiedCopyError("the documents step recorded no copy pages")
        ev = EvidenceStore(s, encryptor, rng)
        stored = {r.sha256: r for r in ev.for_session(session_id, EvidenceKind.DOCUMENT_IMAGE)}
        missing = [i + 1 for i, h in enumerate(hashes) if h not in stored]
        if missing:
            raise CertifiedCopyError(f"copy pages {missing} are no longer stored")
        pages = [ev.read(stored[h].id) for h in hashes]
        facts = CopyFacts(
            session_id=session_id,
            procedure=procedure,
            procedure_title=procedure_title,
            certifier=certifier,
            certified_at=now,
            verdict=verdict_text(documents, certifier),
            page_sha256=hashes,
            verify_url=verify_url,
            reasons=tuple(r.code for r in documents.reasons),
            signer_subject=self.identity.subject,
            test_ca=self.identity.test_ca,
        )
        pdf = issue_certified_copy(pages, facts, self.identity)
        return ev.put(session_id, EvidenceKind.CERTIFIED_COPY, pdf, now, now + self.retention)

    def read(self, s: Session, encryptor: Encryptor, session_id: str) -> tuple[EvidenceRow, bytes]:
        """The session's certified copy (the latest one), decrypted."""
        rows = EvidenceStore(s, encryptor).for_session(session_id, EvidenceKind.CERTIFIED_COPY)
        if not rows:
            raise CertifiedCopyNotAvailable(f"session {session_id} has no certified copy")
        row = rows[-1]
        return row, EvidenceStore(s, encryptor).read(row.id)

    def verify(self, data: bytes, now: dt.datetime) -> PdfVerification:
        """Check a certified copy PDF against the configured trust roots and CRLs."""
        return verify_certified_copy(data, self.trust, now)


__all__ = [
    "CertifiedCopies",
    "CertifiedCopyNotAvailable",
    "copy_page_hashes",
    "verdict_text",
]
