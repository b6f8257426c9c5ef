"""The service issues the certified copy when a session with a documents step is approved:
automatically by the policy, or by a clerk's review; sealed with its own retention, read
back audit-logged, checked valid; none for a declined session."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from ekyc.document.compare import CopyVerdict
from ekyc.icao.trust_store import TrustStore
from ekyc.store.crypto import Encryptor
from ekyc.store.db import Database
from ekyc.store.keys import ApiKeys
from ekyc.store.models import AuditEntry, EvidenceKind, EvidenceRow
from ekyc.synth import pdf_pki
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.verification.copy_issuer import CertifiedCopies, CertifiedCopyNotAvailable
from ekyc.verification.pdf_signing import PdfSigningIdentity, PdfTrust, TimeStampingUnit
from ekyc.verification.policy import Policy
from ekyc.verification.service import VerificationService
from ekyc.verification.signing import Signer, generate_key
from ekyc.verification.states import State
from readers.vcard.aa_card import aa_sign

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def chip() -> SynthChip:
    return build_chip(seed=11, aa="ec")


@pytest.fixture(scope="module")
def copies() -> CertifiedCopies:
    pki = pdf_pki.make_pdf_pki(T0)
    tsa = TimeStampingUnit(pki.tsa_key, pki.tsa_cert)
    identity = PdfSigningIdentity(
        pki.signer_key, pki.signer_cert, (pki.ca_cert,), (pki.crl,), tsa, test_ca=True
    )
    return CertifiedCopies(identity, PdfTrust.of(identity), dt.timedelta(days=730))


def _page(seed: int) -> bytes:
    image = np.full((600, 420, 3), 230, np.uint8)
    cv2.putText(image, f"page {seed}", (40, 300), 0, 1.5, (10, 10, 10), 3)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def _service(
    tmp_path: Path, chip: SynthChip, copies: CertifiedCopies, verdict: str
) -> tuple[VerificationService, Clock, dict[str, str]]:
    db = Database(f"sqlite:///{tmp_path / 'ekyc.db'}")
    db.migrate()
    with db.session() as s:
        keys = ApiKeys(s, random.Random(1).randbytes)
        ids = {
            "kiosk": keys.create("kiosk-1", "kiosk", T0).key.id,
            "clerk": keys.create("Trần Thị Bích Ngọc", "clerk", T0).key.id,
        }
    trust = TrustStore()
    trust.add_certificate(chip.pki.csca_cert)
    clock = Clock()

    def comparer(originals: list, copies_: list) -> CopyVerdict:
        why = ["low_resolution"] if verdict == "UNREADABLE" else []
        return CopyVerdict(verdict, [], why=why)  # type: ignore[arg-type]

    service = VerificationService(
        db, Encryptor({"k1": bytes(range(32))}, "k1"),
        Signer.from_keys([generate_key()], issuer="ekyc-test"), Policy.load(),
        trust_store=trust, documents=comparer, clock=clock, rng=random.Random(2).randbytes,
        certified_copies=copies,
    )  # fmt: skip
    return service, clock, ids


def _run(service: VerificationService, chip: SynthChip, key: str, pages: list[bytes]) -> str:
    sess = service.create_session(key, "xac-thuc-chip", steps=["documents"])
    service.submit_documents(sess.id, "d1", [_page(9)] * len(pages), pages)
    service.submit_chip(sess.id, "c1", chip.files, aa_sign(chip.aa_key, sess.aa_nonce))  # type: ignore[arg-type]
    return sess.id


def _actions(service: VerificationService, sid: str) -> list[str]:
    with service.db.session(readonly=True) as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.session_id == sid)))


def test_automatic_approval_issues_a_valid_copy_kept_past_the_purge(
    tmp_path: Path, chip: SynthChip, copies: CertifiedCopies
) -> None:
    service, clock, ids = _service(tmp_path, chip, copies, "MATCH")
    pages = [_page(1), _page(2)]
    sid = _run(service, chip, ids["kiosk"], pages)
    assert service.get_session(sid).state is State.APPROVED
    pdf = service.certified_copy(sid, ids["kiosk"])
    v = service.verify_pdf(pdf)
    assert v.valid and v.session_id == sid and v.procedure == "xac-thuc-chip", v.message
    assert v.certified_by == "automatic (policy xac-thuc-chip)" and v.level == "B-LT"
    assert len(v.page_sha256) == 2
    actions = _actions(service, sid)
    assert "certified_copy.issued" in actions and "certified_copy.read" in actions

    # the raw evidence goes with the session; the certified copy keeps its own retention
    clock.now = T0 + dt.timedelta(days=1)
    service.purge()
    with service.db.session(readonly=True) as s:
        kinds = set(s.scalars(select(EvidenceRow.kind).where(EvidenceRow.session_id == sid)))
    assert kinds == {EvidenceKind.CERTIFIED_COPY.value}
    assert service.certified_copy(sid, ids["kiosk"]) == pdf
    clock.now = T0 + dt.timedelta(days=731)
    service.purge()
    with pytest.raises(CertifiedCopyNotAvailable):
        service.certified_copy(sid, ids["kiosk"])


def test_a_clerk_approval_names_the_clerk(
    tmp_path: Path, chip: SynthChip, copies: CertifiedCopies
) -> None:
    service, _, ids = _service(tmp_path, chip, copies, "UNREADABLE")
    sid = _run(service, chip, ids["kiosk"], [_page(3)])
    assert service.get_session(sid).state is State.REVIEW
    with pytest.raises(CertifiedCopyNotAvailable):
        service.certified_copy(sid, ids["clerk"])
    service.resolve_review(sid, ids["clerk"], approve=True, note="copy checked by eye")
    v = service.verify_pdf(service.certified_copy(sid, ids["clerk"]))
    assert v.valid and v.certified_by == "clerk: Trần Thị Bích Ngọc", v.message


def test_a_declined_session_has_no_copy(
    tmp_path: Path, chip: SynthChip, copies: CertifiedCopies
) -> None:
    service, _, ids = _service(tmp_path, chip, copies, "UNREADABLE")
    sid = _run(service, chip, ids["kiosk"], [_page(4)])
    service.resolve_review(sid, ids["clerk"], approve=False, note="illegible")
    with pytest.raises(CertifiedCopyNotAvailable):
        service.certified_copy(sid, ids["clerk"])
