"""The verification service: sessions, steps decided server-side, signed results, webhooks.

Each step runs in three phases so that inference never holds the database's write lock:
a read (session, expiry, idempotency), the computation from raw inputs (chip files, frames,
images — never a verdict from the client), then one write transaction that records the
outcome, seals the evidence, asks the policy for the session's state, moves the state
(optimistic version check), signs the result when final and enqueues a webhook per change.

A step is idempotent under its ``client_request_id``: the same id returns the stored
outcome without running anything again. A step already done under another id is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from ekyc.cccd.chip import verify_chip
from ekyc.errors import EkycError
from ekyc.face.challenge import Challenge, ChallengeRejected, issue_challenge
from ekyc.face.errors import FaceRejected, ImageRejected
from ekyc.face.image import decode_image
from ekyc.face.liveness import Frame, check_liveness
from ekyc.store.audit import AuditLog
from ekyc.store.crypto import Encryptor
from ekyc.store.db import Database
from ekyc.store.errors import NotFound
from ekyc.store.evidence import EvidenceStore
from ekyc.store.keys import ApiKeys
from ekyc.store.models import EvidenceKind, SessionRow
from ekyc.store.retention import PurgeReport
from ekyc.store.retention import purge as purge_evidence
from ekyc.store.sessions import Results, Sessions, Steps
from ekyc.store.webhooks import Webhooks
from ekyc.verification.certified_copy import Certifier
from ekyc.verification.citizen_status import (
    CitizenStatus,
    citizen_status,
    status_json,
    status_link,
)
from ekyc.verification.copy_issuer import CertifiedCopies, CertifiedCopyNotAvailable
from ekyc.verification.pdf_verify import PdfVerification
from ekyc.verification.policy import Decision, Policy, ProcedurePolicy
from ekyc.verification.result import (
    ResultQr,
    result_claims,
    result_qr,
    sha256_hex,
    verify_link,
)
from ekyc.verification.review_file import (
    AA_SIGNATURE_KIND,
    LIVENESS_VERDICT_KIND,
    comparison_record,
    liveness_record,
)
from ekyc.verification.signing import Signer, VerifyOutcome
from ekyc.verification.states import State, is_final, transition
from ekyc.verification.steps import Reason, Step, StepOutcome
from ekyc.verification.webhooks import check_callback_url, event_body

if TYPE_CHECKING:
    from ekyc.document.compare import CopyVerdict
    from ekyc.face.pipeline import FaceEngine
    from ekyc.icao.trust_store import TrustStore
    from ekyc.settings import Settings

Clock = Callable[[], dt.datetime]
Rng = Callable[[int], bytes]
#: compares original pages with copy pages (BGR arrays): ekyc.document.compare.compare_documents
DocumentComparer = Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], "CopyVerdict"]

AA_NONCE_BYTES = 8  # INTERNAL AUTHENTICATE takes 8 bytes on an eMRTD (ICAO 9303-11 §6.1)
CHALLENGE_STEP = "liveness_challenge"  # rows holding issued challenges (by nonce)
NONCE_USED_STEP = "liveness_nonce_used"  # the unique row that spends a challenge nonce
EVENT = "session.state_changed"
MAX_PAGES = 8
CHIP_FILES_KIND = "chip_files"


class SessionNotFound(EkycError):
    code = "session_not_found"


class SessionExpired(EkycError):
    """A step arrived after the session's expiry; the session is now ``expired``."""

    code = "session_expired"


class SessionClosed(EkycError):
    """The session already reached a final state (or waits for review)."""

    code = "session_closed"


class StepNotRequired(EkycError):
    code = "step_not_required"


class StepAlreadyDone(EkycError):
    """The step has an outcome under another client request id."""

    code = "step_already_done"


class StepOutOfOrder(EkycError):
    """The step needs an earlier step's evidence (face_match needs chip and liveness)."""

    code = "step_out_of_order"


class CapabilityNotInstalled(EkycError):
    """The engine a step needs is not installed in this deployment."""

    code = "capability_not_installed"


class ResultNotReady(EkycError):
    """The session has no signed result yet: it is not in a final state."""

    code = "result_not_ready"


class InvalidInput(EkycError):
    code = "invalid_input"


@dataclass(frozen=True)
class SessionView:
    """A session as the API shows it (no evidence, no personal data)."""

    id: str
    api_key_id: str
    procedure: str
    required_steps: tuple[Step, ...]
    state: State
    server_nonce: bytes
    callback_url: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    updated_at: dt.datetime
    version: int
    steps: dict[Step, StepOutcome] = field(default_factory=dict)
    decision: Decision | None = None
    status_url: str | None = None  # the citizen's status page (a capability link)

    @property
    def citizen_status(self) -> CitizenStatus:
        # the policy's reasons explain the state only when the policy chose it (a clerk's
        # decline is the clerk's, whatever the automated steps found)
        d = self.decision
        reasons = [r.code for r in d.reasons] if d is not None and d.state is self.state else []
        return citizen_status(self.state, reasons)

    @property
    def aa_nonce(self) -> bytes:
        """The nonce the chip must sign for Active Authentication (first 8 server bytes)."""
        return self.server_nonce[:AA_NONCE_BYTES]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "procedure": self.procedure,
            "required_steps": [s.value for s in self.required_steps],
            "state": self.state.value,
            "nonce": base64.b64encode(self.aa_nonce).decode(),
            "callback_url": self.callback_url,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "steps": {s.value: o.to_json() for s, o in self.steps.items()},
            "decision": None if self.decision is None else self.decision.to_json(),
            "citizen_status": status_json(self.citizen_status),
            "status_url": self.status_url,
        }


@dataclass(frozen=True)
class StepResponse:
    """A step's outcome and the session state after it; ``replayed`` for a repeated id."""

    outcome: StepOutcome
    session: SessionView
    replayed: bool = False


@dataclass(frozen=True)
class SignedResult:
    session_id: str
    decision: str
    token: str
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Evidence:
    kind: str
    key: str  # name in the outcome's evidence map
    data: bytes


class _DbChallengeStore:
    """face.challenge.ChallengeStore over the steps table: single use across replicas."""

    def __init__(self, s: Session, session_id: str, now: dt.datetime) -> None:
        self.steps = Steps(s)
        self.session_id = session_id
        self.now = now

    def put(self, challenge: Challenge) -> None:
        """Remember an issued challenge under its nonce."""
        self.steps.record(
            self.session_id, CHALLENGE_STEP, challenge.nonce, challenge.to_json(), self.now
        )

    def consume(self, nonce: str, session_id: str | None) -> Challenge:
        """Spend a nonce (the unique row decides the first use) and return its challenge."""
        if session_id != self.session_id:
            raise ChallengeRejected("session_mismatch", "nonce belongs to another session")
        issued = self.steps.get(self.session_id, CHALLENGE_STEP, nonce)
        if issued is None:
            raise ChallengeRejected("nonce_unknown", "nonce was never issued")
        used = self.steps.record(self.session_id, NONCE_USED_STEP, nonce, {}, self.now)
        if not used.created:
            raise ChallengeRejected("nonce_replayed", "nonce already used")
        return Challenge.from_json(issued.outcome)


class _Spent:
    """A store holding one challenge already consumed from the database."""

    def __init__(self, challenge: Challenge) -> None:
        self.challenge = challenge

    def put(self, challenge: Challenge) -> None:
        """Never called: the challenge was issued earlier."""
        raise NotImplementedError

    def consume(self, nonce: str, session_id: str | None) -> Challenge:
        """Return the already spent challenge when it is the one asked for."""
        if nonce != self.challenge.nonce or session_id != self.challenge.session_id:
            raise ChallengeRejected("challenge_mismatch", "not the challenge being checked")
        return self.challenge


def document_comparer(
    face: FaceEngine | None = None, ocr: Callable[[], Any] | None = None
) -> DocumentComparer | None:
    """compare_documents with the OCR engine (``ocr()``, loaded on first use) and the face
    capability's portrait check bound in; None when the document capability is missing."""
    try:
        from ekyc.document.compare import compare_documents
        from ekyc.document.portrait import face_comparer
    except ImportError:
        return None
    same = face_comparer(face) if face is not None else None

    def compare(originals: Sequence[np.ndarray], copies: Sequence[np.ndarray]) -> CopyVerdict:
        return compare_documents(originals, copies, ocr() if ocr is not None else None, same)

    return compare


class VerificationService:
    """Every operation the HTTP layer calls for verification sessions."""

    def __init__(
        self,
        db: Database,
        encryptor: Encryptor,
        signer: Signer,
        policy: Policy,
        *,
        trust_store: TrustStore,
        face: FaceEngine | None = None,
        documents: DocumentComparer | None = None,
        clock: Clock,
        rng: Rng = os.urandom,
        session_ttl: dt.timedelta = dt.timedelta(minutes=30),
        result_lifetime: dt.timedelta = dt.timedelta(days=365),
        evidence_retention: dt.timedelta = dt.timedelta(0),
        verify_link_base: str = "http://127.0.0.1:8000/v/result",
        status_link_base: str = "http://127.0.0.1:8000/s",
        max_image_pixels: int = 40_000_000,
        certified_copies: CertifiedCopies | None = None,
    ) -> None:
        self.db = db
        self.encryptor = encryptor
        self.signer = signer
        self.policy = policy
        self.trust_store = trust_store
        self.face = face
        self.documents = documents if documents is not None else document_comparer(face)
        self.clock = clock
        self.rng = rng
        self.session_ttl = session_ttl
        self.result_lifetime = result_lifetime
        self.evidence_retention = evidence_retention
        self.verify_link_base = verify_link_base
        self.status_link_base = status_link_base
        self.max_image_pixels = max_image_pixels
        #: signs the certified copy of an approved session with a documents step (None: none)
        self.certified_copies = certified_copies

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Database,
        encryptor: Encryptor,
        *,
        trust_store: TrustStore,
        face: FaceEngine | None,
        clock: Clock,
        rng: Rng = os.urandom,
        ocr: Callable[[], Any] | None = None,
    ) -> VerificationService:
        """The service as configured: signing keys folder, policy file, lifetimes, links;
        documents are compared with ``ocr()`` (loaded on first use) and the face engine."""
        return cls(
            db,
            encryptor,
            Signer.from_folder(settings.signing_key_dir, settings.result_issuer),
            Policy.load(settings.policy_file),
            trust_store=trust_store,
            face=face,
            documents=document_comparer(face, ocr),
            clock=clock,
            rng=rng,
            session_ttl=dt.timedelta(seconds=settings.session_ttl_seconds),
            result_lifetime=dt.timedelta(seconds=settings.result_token_seconds),
            evidence_retention=dt.timedelta(seconds=settings.retention_evidence_seconds),
            verify_link_base=settings.verify_link_base,
            status_link_base=settings.status_link_base,
            certified_copies=CertifiedCopies.from_settings(settings, clock()),
        )

    # --- sessions ------------------------------------------------------------------------

    def create_session(
        self,
        api_key_id: str,
        procedure: str,
        steps: Sequence[str] = (),
        callback_url: str | None = None,
        ttl: dt.timedelta | None = None,
    ) -> SessionView:
        """Open a session: the policy's steps plus any extra ``steps``, a fresh server nonce."""
        proc = self.policy.procedure(procedure)
        required = proc.steps_for(steps)
        if callback_url is not None:
            check_callback_url(callback_url)
        now = self.clock()
        with self.db.session() as s:
            row = Sessions(s, self.rng).create(
                api_key_id=api_key_id,
                procedure=proc.code,
                required_steps=[x.value for x in required],
                now=now,
                ttl=ttl or self.session_ttl,
                callback_url=callback_url,
                state=State.CREATED.value,
            )
            AuditLog(s).append(
                "session.created",
                now,
                actor=api_key_id,
                session_id=row.id,
                detail={"procedure": proc.code, "steps": [x.value for x in required]},
            )
            self._notify(s, row, None, State.CREATED, now, Decision(State.CREATED, ()))
            return self._view(s, row)

    def get_session(self, session_id: str) -> SessionView:
        """The session, its step outcomes and the policy's current view (expiring it if due)."""
        self._expire_if_due(session_id)
        with self.db.session(readonly=True) as s:
            return self._view(s, self._row(s, session_id))

    def expire_due(self, limit: int = 500) -> int:
        """Expire every unattended session past its expiry; returns how many."""
        now = self.clock()
        with self.db.session(readonly=True) as s:
            due = Sessions(s).past_expiry(
                now, [State.CREATED.value, State.IN_PROGRESS.value], limit
            )
            ids = [r.id for r in due]
        return sum(1 for sid in ids if self._expire_if_due(sid))

    def purge(self, grace: dt.timedelta = dt.timedelta(0)) -> PurgeReport:
        """Delete raw evidence whose retention is over (signed results are kept)."""
        with self.db.session() as s:
            report = purge_evidence(s, self.clock(), grace)
        self.db.checkpoint()
        return report

    # --- steps ---------------------------------------------------------------------------

    def submit_chip(
        self,
        session_id: str,
        client_request_id: str,
        files: Mapping[str, bytes],
        aa_signature: bytes | None,
    ) -> StepResponse:
        """Parse the raw chip files; Passive and Active Authentication (over the session nonce)."""
        view, proc, replay = self._begin(session_id, Step.CHIP, client_request_id)
        if replay is not None:
            return replay
        now = self.clock()
        result = verify_chip(
            files,
            self.trust_store,
            now,
            view.aa_nonce,
            aa_signature,
            require_aa=proc.require_active_auth,
        )
        outcome = proc.evaluate_chip(result)
        evidence = [Evidence(CHIP_FILES_KIND, CHIP_FILES_KIND, _files_blob(files))]
        if aa_signature is not None:  # sealed so that a review can re-check AA
            evidence.append(Evidence(AA_SIGNATURE_KIND, AA_SIGNATURE_KIND, aa_signature))
        portrait = result.portrait.portrait if result.portrait is not None else None
        if portrait is not None:
            evidence.append(Evidence(EvidenceKind.CHIP_PORTRAIT, "chip_portrait", portrait.image))
        hashes = {"ef_sod": sha256_hex(files["EF.SOD"])}
        return self._finish(view, outcome.with_evidence(hashes), client_request_id, evidence)

    def liveness_challenge(self, session_id: str) -> Challenge:
        """Issue a head-movement challenge bound to this session (stored, single use)."""
        self._require_face()
        view, _, _ = self._begin(session_id, Step.LIVENESS, None)
        now = self.clock()
        challenge = issue_challenge(lambda: now.timestamp(), self.rng, session_id=view.id)
        with self.db.session() as s:
            _DbChallengeStore(s, view.id, now).put(challenge)
        return challenge

    def submit_liveness_frames(
        self,
        session_id: str,
        client_request_id: str,
        nonce: str,
        frames: Sequence[tuple[int, bytes]],
    ) -> StepResponse:
        """Check the frames against the stored challenge: PAD, poses, same person, timing."""
        face = self._require_face()
        view, proc, replay = self._begin(session_id, Step.LIVENESS, client_request_id)
        if replay is not None:
            return replay
        if not frames or len(frames) > 60:
            raise InvalidInput("between 1 and 60 frames are accepted")
        decoded = [Frame(int(t), decode_image(b, self.max_image_pixels)) for t, b in frames]
        now = self.clock()
        # spend the nonce in its own short transaction: inference must not hold the write
        # lock. The challenge comes from our database, never from the client; an unknown
        # or replayed nonce is refused (ChallengeRejected) without touching the session.
        with self.db.session() as s:
            challenge = _DbChallengeStore(s, view.id, now).consume(nonce, view.id)
        verdict = check_liveness(
            challenge, decoded, face, face.pad, now.timestamp(), store=_Spent(challenge)
        )
        outcome = proc.evaluate_liveness(verdict)
        evidence = [
            Evidence(EvidenceKind.SELFIE_FRAME, f"selfie_frame_{i}", data)
            for i, (_, data) in enumerate(frames)
        ]
        record = liveness_record(verdict, decoded)  # every signal, for a clerk's review
        evidence.append(Evidence(LIVENESS_VERDICT_KIND, LIVENESS_VERDICT_KIND, record))
        if verdict.best_frame is not None:
            best = sha256_hex(frames[verdict.best_frame][1])
            outcome = StepOutcome(
                outcome.step, outcome.outcome, outcome.score, outcome.threshold,
                outcome.model_ids, outcome.reasons,
                {**outcome.detail, "best_frame_sha256": best}, outcome.evidence,
            )  # fmt: skip
        return self._finish(view, outcome, client_request_id, evidence)

    def face_match(self, session_id: str, client_request_id: str) -> StepResponse:
        """The best live frame against the chip portrait, at the procedure's operating point."""
        face = self._require_face()
        view, proc, replay = self._begin(session_id, Step.FACE_MATCH, client_request_id)
        if replay is not None:
            return replay
        chip, live = view.steps.get(Step.CHIP), view.steps.get(Step.LIVENESS)
        best_sha = live.detail.get("best_frame_sha256") if live is not None else None
        if chip is None or live is None or best_sha is None:
            raise StepOutOfOrder("face_match needs the chip and a passed liveness step first")
        with self.db.session(readonly=True) as s:
            ev = EvidenceStore(s, self.encryptor)
            portraits = ev.for_session(view.id, EvidenceKind.CHIP_PORTRAIT)
            frames = [r for r in ev.for_session(view.id, EvidenceKind.SELFIE_FRAME)]
            frame_row = next((r for r in frames if r.sha256 == best_sha), None)
            if not portraits or frame_row is None:
                raise StepOutOfOrder("the chip portrait or the live frame is no longer stored")
            portrait_bytes, frame_bytes = ev.read(portraits[0].id), ev.read(frame_row.id)
        hashes = {"chip_portrait": sha256_hex(portrait_bytes), "live_frame": best_sha}
        live_a = face.analyse_bytes(frame_bytes, "selfie", self.max_image_pixels)
        doc_a = face.analyse(_portrait_bgr(portrait_bytes), "portrait")
        try:
            match = face.compare(live_a, doc_a, proc.face_operating_point)
        except FaceRejected as e:
            which = "chip_portrait" if live_a.usable else "live_frame"
            outcome = proc.evaluate_face_unusable(e.code, e.message, which)
        else:
            outcome = proc.evaluate_face_match(match, face.detector.model_id)
        return self._finish(view, outcome.with_evidence(hashes), client_request_id, [])

    def submit_documents(
        self,
        session_id: str,
        client_request_id: str,
        original_pages: Sequence[bytes],
        copy_pages: Sequence[bytes],
    ) -> StepResponse:
        """Compare the copy with the original, page by page."""
        if self.documents is None:
            raise CapabilityNotInstalled("document comparison is not installed")
        view, proc, replay = self._begin(session_id, Step.DOCUMENTS, client_request_id)
        if replay is not None:
            return replay
        if (
            not original_pages
            or not copy_pages
            or max(len(original_pages), len(copy_pages)) > MAX_PAGES
        ):
            raise InvalidInput(f"between 1 and {MAX_PAGES} pages of each are accepted")
        originals = [decode_image(p, self.max_image_pixels) for p in original_pages]
        copies = [decode_image(p, self.max_image_pixels) for p in copy_pages]
        compared = self.documents(originals, copies)
        outcome = proc.evaluate_documents(compared)
        evidence = [
            Evidence(EvidenceKind.DOCUMENT_IMAGE, f"original_{i}", p)
            for i, p in enumerate(original_pages)
        ] + [
            Evidence(EvidenceKind.DOCUMENT_IMAGE, f"copy_{i}", p) for i, p in enumerate(copy_pages)
        ]
        # both readings of each difference and the heatmaps, sealed for a clerk's review
        evidence += [Evidence(k, n, d) for k, n, d in comparison_record(compared)]
        return self._finish(view, outcome, client_request_id, evidence)

    def resolve_review(self, session_id: str, actor: str, approve: bool, note: str) -> SessionView:
        """A clerk's decision on a session in review: approved or declined, then signed."""
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, session_id)
            target = State.APPROVED if approve else State.DECLINED
            transition(State(row.state), target)  # IllegalTransition unless in review
            view = self._view(s, row)
            reason_text = f"manual review by {actor}: {note}"[:500]
            row = Sessions(s).transition(row.id, row.version, target.value, now, reason_text)
            AuditLog(s).append(
                "review.resolved", now, actor=actor, session_id=row.id,
                detail={"decision": target.value, "note": note[:500]},
            )  # fmt: skip
            decision = Decision(target, (Reason("manual_review", reason_text),))
            certifier = Certifier.clerk(_key_name(s, actor))
            self._on_state_change(
                s, row, State.REVIEW, target, now, decision, view.steps, certifier
            )
            return self._view(s, row)

    # --- results -------------------------------------------------------------------------

    def result(self, session_id: str) -> SignedResult:
        """The signed result of a session in a final state (raise ``ResultNotReady`` before)."""
        self._expire_if_due(session_id)
        with self.db.session(readonly=True) as s:
            row = self._row(s, session_id)
            stored = Results(s).get(session_id)
            if stored is None:
                raise ResultNotReady(f"the session is {row.state}; no result is signed yet")
            return SignedResult(
                session_id, stored.decision, stored.jws, stored.issued_at, stored.expires_at
            )

    def result_qr(self, session_id: str) -> ResultQr:
        """The result's QR code: the token itself when short, else a verify link."""
        signed = self.result(session_id)
        return result_qr(signed.token, session_id, self.verify_link_base)

    def certified_copy(self, session_id: str, actor: str) -> bytes:
        """The signed certified copy PDF of an approved session (audit-logged), or
        ``CertifiedCopyNotAvailable``."""
        if self.certified_copies is None:
            raise CertifiedCopyNotAvailable("certified copies are not issued by this service")
        now = self.clock()
        with self.db.session() as s:
            self._row(s, session_id)
            row, pdf = self.certified_copies.read(s, self.encryptor, session_id)
            AuditLog(s).append(
                "certified_copy.read", now, actor=actor, session_id=session_id,
                detail={"sha256": row.sha256, "size": row.size},
            )  # fmt: skip
            return pdf

    def verify_pdf(self, data: bytes) -> PdfVerification:
        """Check a certified copy PDF: valid, or the reason it is not, with its facts."""
        if self.certified_copies is None:
            raise CapabilityNotInstalled("certified copies are not configured")
        return self.certified_copies.verify(data, self.clock())

    def verify(self, token: str) -> VerifyOutcome:
        """Check a result token against our key set, with the reason when it fails."""
        return self.signer.verify(token, self.clock())

    def jwks(self) -> dict[str, Any]:
        """The public key set published at ``/.well-known/jwks.json``."""
        return self.signer.jwks()

    # --- internals -----------------------------------------------------------------------

    def _require_face(self) -> FaceEngine:
        if self.face is None:
            raise CapabilityNotInstalled("the face engine (liveness, face match) is not installed")
        return self.face

    def _row(self, s: Session, session_id: str) -> SessionRow:
        row = s.get(SessionRow, session_id, populate_existing=True)
        if row is None:
            raise SessionNotFound(f"no session {session_id!r}")
        return row

    def _outcomes(self, s: Session, session_id: str) -> dict[Step, StepOutcome]:
        known = {x.value for x in Step}
        rows = [r for r in Steps(s).for_session(session_id) if r.step in known]
        return {Step(r.step): StepOutcome.from_json(r.outcome) for r in rows}

    def _view(self, s: Session, row: SessionRow) -> SessionView:
        required = tuple(Step(x) for x in row.required_steps)
        outcomes = self._outcomes(s, row.id)
        decision = self.policy.procedure(row.procedure).decide(outcomes, required)
        return SessionView(
            row.id, row.api_key_id, row.procedure, required, State(row.state), row.server_nonce,
            row.callback_url, row.created_at, row.expires_at, row.updated_at, row.version,
            outcomes, decision, status_link(self.status_link_base, row.id, row.server_nonce),
        )  # fmt: skip

    def _expire_if_due(self, session_id: str) -> bool:
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, session_id)
            state = State(row.state)
            if now < row.expires_at or state not in (State.CREATED, State.IN_PROGRESS):
                return False
            view = self._view(s, row)
            row = Sessions(s).transition(row.id, row.version, State.EXPIRED.value, now, "expired")
            decision = Decision(State.EXPIRED, (Reason("session_expired", "the session expired"),))
            self._on_state_change(s, row, state, State.EXPIRED, now, decision, view.steps)
            return True

    def _begin(
        self, session_id: str, step: Step, client_request_id: str | None
    ) -> tuple[SessionView, ProcedurePolicy, StepResponse | None]:
        """Checks before a step: expiry, state, required, idempotent replay."""
        if self._expire_if_due(session_id):
            raise SessionExpired(f"session {session_id} has expired")
        with self.db.session(readonly=True) as s:
            row = self._row(s, session_id)
            view = self._view(s, row)
            if client_request_id is not None:
                stored = Steps(s).get(session_id, step.value, client_request_id)
                if stored is not None:
                    return (
                        view,
                        self.policy.procedure(row.procedure),
                        StepResponse(StepOutcome.from_json(stored.outcome), view, replayed=True),
                    )
        if view.state is State.EXPIRED:
            raise SessionExpired(f"session {session_id} has expired")
        if view.state not in (State.CREATED, State.IN_PROGRESS):
            raise SessionClosed(f"session {session_id} is {view.state.value}")
        if step not in view.required_steps:
            raise StepNotRequired(f"{step.value} is not a step of this session")
        if step in view.steps:
            raise StepAlreadyDone(f"{step.value} already has an outcome in this session")
        return view, self.policy.procedure(view.procedure), None

    def _finish(
        self,
        view: SessionView,
        outcome: StepOutcome,
        client_request_id: str,
        evidence: Sequence[Evidence],
    ) -> StepResponse:
        """Record the outcome and evidence, decide, move the state: one transaction."""
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, view.id)
            state = State(row.state)
            stored = Steps(s).get(view.id, outcome.step.value, client_request_id)
            if stored is not None:  # a concurrent request with the same id won
                return StepResponse(StepOutcome.from_json(stored.outcome), self._view(s, row), True)
            if state not in (State.CREATED, State.IN_PROGRESS):
                raise SessionClosed(f"session {view.id} is {state.value}")
            if now < row.expires_at:  # else it ran out while the step was computed
                return self._record(s, row, view, outcome, client_request_id, evidence, now)
        self._expire_if_due(view.id)
        raise SessionExpired(f"session {view.id} has expired")

    def _record(
        self,
        s: Session,
        row: SessionRow,
        view: SessionView,
        outcome: StepOutcome,
        client_request_id: str,
        evidence: Sequence[Evidence],
        now: dt.datetime,
    ) -> StepResponse:
        """The write half of ``_finish``, inside its transaction."""
        state = State(row.state)
        if outcome.step in self._outcomes(s, view.id):
            raise StepAlreadyDone(f"{outcome.step.value} already has an outcome")
        ev = EvidenceStore(s, self.encryptor, self.rng)
        hashes = {e.key: ev.put(view.id, e.kind, e.data, now).sha256 for e in evidence}
        outcome = outcome.with_evidence(hashes)
        Steps(s).record(view.id, outcome.step.value, client_request_id, outcome.to_json(), now)
        AuditLog(s).append(
            f"step.{outcome.step.value}", now, actor=row.api_key_id, session_id=view.id,
            detail={"outcome": outcome.outcome.value,
                    "reasons": [r.code for r in outcome.reasons]},
        )  # fmt: skip
        outcomes = self._outcomes(s, view.id)
        decision = self.policy.procedure(row.procedure).decide(outcomes, view.required_steps)
        for target in _path(state, decision.state):
            before = State(row.state)
            transition(before, target)
            reason = ",".join(r.code for r in decision.reasons) or None
            row = Sessions(s).transition(row.id, row.version, target.value, now, reason)
            self._on_state_change(s, row, before, target, now, decision, outcomes)
        return StepResponse(outcome, self._view(s, row))

    def _on_state_change(
        self,
        s: Session,
        row: SessionRow,
        before: State,
        after: State,
        now: dt.datetime,
        decision: Decision,
        outcomes: Mapping[Step, StepOutcome],
        certifier: Certifier | None = None,
    ) -> None:
        """Audit, sign when final, schedule the purge of raw evidence, issue the certified
        copy when approved (``certifier``: the clerk; else the policy), enqueue the webhook."""
        AuditLog(s).append(
            "session.state_changed", now, session_id=row.id,
            detail={"from": before.value, "to": after.value,
                    "reasons": [r.code for r in decision.reasons]},
        )  # fmt: skip
        if is_final(after):
            required = tuple(Step(x) for x in row.required_steps)
            final = Decision(after, decision.reasons)
            claims = result_claims(
                row.id, row.procedure, final, outcomes, required, int(now.timestamp())
            )
            token = self.signer.sign(claims, row.id, now, self.result_lifetime)
            Results(s).put(row.id, after.value, token, now, now + self.result_lifetime)
            EvidenceStore(s, self.encryptor).schedule_purge(row.id, now + self.evidence_retention)
            AuditLog(s).append(
                "result.signed", now, session_id=row.id,
                detail={"decision": after.value, "kid": self.signer.active_kid},
            )  # fmt: skip
            if after is State.APPROVED and Step.DOCUMENTS in required:
                self._issue_certified_copy(s, row, now, outcomes, token, certifier)
        self._notify(s, row, before, after, now, decision)

    def _issue_certified_copy(
        self,
        s: Session,
        row: SessionRow,
        now: dt.datetime,
        outcomes: Mapping[Step, StepOutcome],
        token: str,
        certifier: Certifier | None,
    ) -> None:
        """Sign and seal the certified copy of the copy pages (same transaction)."""
        if self.certified_copies is None:
            return
        proc = self.policy.procedure(row.procedure)
        who = certifier or Certifier.automatic(proc.code)
        issued = self.certified_copies.issue(
            s, self.encryptor, session_id=row.id, procedure=proc.code,
            procedure_title=proc.title, outcomes=outcomes, certifier=who,
            verify_url=verify_link(self.verify_link_base, row.id, token), now=now, rng=self.rng,
        )  # fmt: skip
        if issued is not None:
            identity = self.certified_copies.identity
            AuditLog(s).append(
                "certified_copy.issued", now, session_id=row.id,
                detail={"sha256": issued.sha256, "certified_by": who.label(),
                        "signer": identity.subject, "test_ca": identity.test_ca},
            )  # fmt: skip

    def _notify(
        self,
        s: Session,
        row: SessionRow,
        before: State | None,
        after: State,
        now: dt.datetime,
        decision: Decision,
    ) -> None:
        if row.callback_url is None:
            return
        event_id = self.rng(16).hex()
        data = {
            "procedure": row.procedure,
            "from": None if before is None else before.value,
            "to": after.value,
            "reasons": [r.to_json() for r in decision.reasons]
            if after is not State.CREATED
            else [],
            "final": is_final(after),
            "citizen_status": citizen_status(after, [r.code for r in decision.reasons]).value,
        }
        body = event_body(event_id, EVENT, row.id, now, data)
        Webhooks(s, self.rng).enqueue(row.id, row.callback_url, EVENT, body.decode(), now)


def _key_name(s: Session, key_id: str) -> str:
    """The name of an API key (what a certified copy names its clerk by), else its id."""
    try:
        return ApiKeys(s).get(key_id).name
    except NotFound:
        return key_id


def _path(current: State, target: State) -> list[State]:
    """The states to pass through from ``current`` to the policy's ``target``."""
    if target is current:
        return []
    if current is State.CREATED and target is not State.IN_PROGRESS:
        return [State.IN_PROGRESS, target]  # every change is recorded, the first step too
    return [target]


def _files_blob(files: Mapping[str, bytes]) -> bytes:
    """The raw chip files as one canonical JSON document (sealed as evidence)."""
    doc = {name: base64.b64encode(data).decode() for name, data in sorted(files.items())}
    return json.dumps(doc, separators=(",", ":")).encode()


def _portrait_bgr(data: bytes) -> np.ndarray:
    """Decode the DG2 portrait (JPEG or JPEG 2000) to BGR."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise ImageRejected("unsupported_image", f"the chip portrait cannot be decoded: {e}") from e
    return np.ascontiguousarray(rgb[:, :, ::-1])
