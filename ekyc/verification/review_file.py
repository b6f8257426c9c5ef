"""What a clerk sees before deciding: the review queue, one session's review file, and its
evidence read back (decrypted, audit-logged).

The review file is rebuilt from sealed evidence, never from what a client said: the chip
part re-verifies the raw chip files (Passive and Active Authentication as of the time the
step ran), the liveness part reads the verdict the step sealed (every signal, per-frame head
pose and PAD scores), the documents part reads the comparison the step sealed (each
difference with both readings, a heatmap per page), and the cross-source table compares the
chip's DG13 and MRZ with the card printed on the original pages (read again on request).

Evidence is named as the step outcomes name it (``selfie_frame_0``, ``chip_portrait``,
``original_0``, ``heatmap_0`` …); a name a step recorded whose bytes are gone was purged
(410 ``evidence_purged``), any other name is unknown (404 ``evidence_not_found``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ekyc.errors import EkycError, MalformedData
from ekyc.store.audit import AuditLog
from ekyc.store.evidence import EvidenceStore
from ekyc.store.models import EvidenceRow, SessionRow
from ekyc.store.sessions import Sessions, Steps
from ekyc.verification.states import State
from ekyc.verification.steps import Step, StepOutcome

if TYPE_CHECKING:
    from ekyc.document.compare import CopyVerdict
    from ekyc.face.liveness import Frame, LivenessVerdict
    from ekyc.verification.service import SessionView, VerificationService

#: sealed evidence kinds written by the steps for this file
LIVENESS_VERDICT_KIND = "liveness_verdict"
COMPARISON_KIND = "document_compare"
HEATMAP_KIND = "document_heatmap"
AA_SIGNATURE_KIND = "chip_aa_signature"
CHIP_FILES_KIND = "chip_files"  # the same name the service seals the raw chip files under
CHALLENGE_STEP = "liveness_challenge"

MAX_PAGE_SIZE = 100
_IMAGE_TYPES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\x00\x00\x00\x0cjP  ": "image/jp2",
    b"\xff\x4f\xff\x51": "image/jp2",  # a bare JPEG 2000 codestream
    b"RIFF": "image/webp",
}


class EvidenceNotFound(EkycError):
    """No step of the session recorded evidence under this name."""

    code = "evidence_not_found"


class EvidencePurged(EkycError):
    """The evidence existed but its retention is over: the bytes were deleted."""

    code = "evidence_purged"


class EvidenceUnavailable(EkycError):
    """A sealed record this review file needs is not stored (purged, or an older session)."""

    code = "evidence_unavailable"


# --- what the steps seal for the review file ----------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and dataclasses as JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


def liveness_record(verdict: LivenessVerdict, frames: Sequence[Frame]) -> bytes:
    """The whole liveness verdict (every signal with its detail) and the frame timestamps."""
    return _dumps({**verdict.to_json(), "timestamps_ms": [f.timestamp_ms for f in frames]})


def comparison_record(verdict: CopyVerdict) -> list[tuple[str, str, bytes]]:
    """(kind, name, bytes) to seal for a comparison: its JSON (with both readings of every
    difference, which are personal data) and one heatmap PNG per page."""
    doc = {
        "verdict": verdict.verdict,
        "why": list(verdict.why),
        "differences": [_difference(d) for d in verdict.differences],
        "pages": [
            {
                "page": p.page,
                "verdict": p.verdict,
                "why": p.why,
                "differences": [_difference(d) for d in p.differences],
                "scores": {k: round(float(v), 4) for k, v in p.scores.items()},
                "size": [int(p.heatmap.shape[1]), int(p.heatmap.shape[0])],
            }
            for p in verdict.pages
        ],
    }
    out = [(COMPARISON_KIND, COMPARISON_KIND, _dumps(doc))]
    for p in verdict.pages:
        ok, png = cv2.imencode(".png", p.heatmap)
        if ok:
            out.append((HEATMAP_KIND, f"heatmap_{p.page}", png.tobytes()))
    return out


def _difference(d: Any) -> dict[str, Any]:
    return {
        "page": d.page,
        "region": d.region,
        "box": [int(v) for v in d.box],
        "kind": d.reason,
        "original_text": d.original_text,
        "copy_text": d.copy_text,
        "score": round(float(d.score), 4),
    }


# --- the queue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, with the next page's offset (None on the last page)."""
        nxt = self.offset + len(self.items)
        return {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": nxt if nxt < self.total else None,
        }


def _outcomes(s: Session, session_id: str) -> dict[Step, StepOutcome]:
    known = {x.value for x in Step}
    rows = [r for r in Steps(s).for_session(session_id) if r.step in known]
    return {Step(r.step): StepOutcome.from_json(r.outcome) for r in rows}


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def review_queue(service: VerificationService, limit: int = 20, offset: int = 0) -> QueuePage:
    """Sessions waiting for a clerk, the longest waiting first, with why each waits."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    review = State.REVIEW.value
    with service.db.session(readonly=True) as s:
        total = int(
            s.scalar(select(func.count()).select_from(SessionRow).where(SessionRow.state == review))
            or 0
        )
        q = (
            select(SessionRow)
            .where(SessionRow.state == review)
            .order_by(SessionRow.updated_at, SessionRow.id)
            .limit(limit)
            .offset(offset)
        )
        items = []
        for row in s.scalars(q):
            proc = service.policy.procedure(row.procedure)
            required = tuple(Step(x) for x in row.required_steps)
            decision = proc.decide(_outcomes(s, row.id), required)
            since = [e.at for e in Sessions(s).events(row.id) if e.to_state == review]
            items.append(
                {
                    "id": row.id,
                    "procedure": row.procedure,
                    "procedure_title": proc.title,
                    "created_at": _iso(row.created_at),
                    "in_review_since": _iso(since[-1] if since else row.updated_at),
                    "expires_at": _iso(row.expires_at),
                    "reasons": [r.to_json() for r in decision.reasons],
                }
            )
    return QueuePage(items, total, limit, offset)


# --- evidence ---------------------------------------------------------------------------------


def _recorded(outcomes: dict[Step, StepOutcome]) -> dict[str, tuple[Step, str]]:
    """Evidence name → (step, SHA-256) as every step outcome recorded it."""
    out: dict[str, tuple[Step, str]] = {}
    for step, o in outcomes.items():
        for name, sha in o.evidence.items():
            out.setdefault(name, (step, sha))
    return out


def _row_for(rows: Sequence[EvidenceRow], sha: str) -> EvidenceRow | None:
    return next((r for r in rows if r.sha256 == sha), None)


def media_type(data: bytes, kind: str) -> str:
    """The evidence's media type, sniffed from its first bytes."""
    if kind in (CHIP_FILES_KIND, LIVENESS_VERDICT_KIND, COMPARISON_KIND):
        return "application/json"
    for magic, mime in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


def as_jpeg(data: bytes) -> bytes:
    """An image re-encoded as JPEG (a JPEG 2000 chip portrait for a browser)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            out = io.BytesIO()
            im.convert("RGB").save(out, "JPEG", quality=92)
    except (OSError, ValueError) as e:
        raise EvidenceUnavailable(f"the image cannot be decoded: {e}") from e
    return out.getvalue()


@dataclass(frozen=True)
class EvidenceBlob:
    name: str
    kind: str
    evidence_id: str
    sha256: str
    data: bytes

    @property
    def media_type(self) -> str:
        return media_type(self.data, self.kind)


def read_evidence(
    service: VerificationService, session_id: str, name: str, actor: str
) -> EvidenceBlob:
    """One piece of a session's evidence, decrypted; the access (or the attempt on purged
    evidence) is written to the audit log with the actor and the evidence id."""
    from ekyc.verification.service import SessionNotFound

    now = service.clock()
    blob: EvidenceBlob | None = None
    with service.db.session() as s:
        if s.get(SessionRow, session_id) is None:
            raise SessionNotFound(f"no session {session_id!r}")
        recorded = _recorded(_outcomes(s, session_id)).get(name)
        if recorded is None:
            raise EvidenceNotFound(f"session {session_id} has no evidence named {name!r}")
        step, sha = recorded
        ev = EvidenceStore(s, service.encryptor)
        row = _row_for(ev.for_session(session_id), sha)
        audit = {"name": name, "step": step.value, "sha256": sha}
        if row is None:  # recorded, then purged: the refusal is on the record too
            AuditLog(s).append(
                "evidence.read_refused", now, actor=actor, session_id=session_id,
                detail={**audit, "why": "purged"},
            )  # fmt: skip
        else:
            blob = EvidenceBlob(name, row.kind, row.id, sha, ev.read(row.id))
            AuditLog(s).append(
                "evidence.read", now, actor=actor, session_id=session_id,
                detail={**audit, "evidence_id": row.id, "kind": row.kind},
            )  # fmt: skip
    if blob is None:
        raise EvidencePurged(f"evidence {name!r} of session {session_id} was purged")
    return blob


# --- the review file --------------------------------------------------------------------------


class _Sealed:
    """A session's sealed evidence, read on demand within one database session."""

    def __init__(self, s: Session, service: VerificationService, view: SessionView) -> None:
        self.ev = EvidenceStore(s, service.encryptor)
        self.rows = self.ev.for_session(view.id)
        self.recorded = _recorded(view.steps)

    def available(self, name: str) -> bool:
        got = self.recorded.get(name)
        return got is not None and _row_for(self.rows, got[1]) is not None

    def read(self, name: str) -> bytes | None:
        got = self.recorded.get(name)
        row = _row_for(self.rows, got[1]) if got is not None else None
        return None if row is None else self.ev.read(row.id)

    def listing(self) -> list[dict[str, Any]]:
        out = []
        for name, (step, sha) in sorted(self.recorded.items(), key=lambda kv: _name_key(kv[0])):
            row = _row_for(self.rows, sha)
            out.append(
                {
                    "name": name,
                    "step": step.value,
                    "kind": row.kind if row is not None else None,
                    "sha256": sha,
                    "size": row.size if row is not None else None,
                    "available": row is not None,
                }
            )
        return out


def _name_key(name: str) -> tuple[str, int]:
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (name, -1)


def _json(data: bytes | None) -> Any:
    return None if data is None else json.loads(data)


def _step_time(s: Session, session_id: str, step: Step) -> dt.datetime | None:
    rows = [r for r in Steps(s).for_session(session_id) if r.step == step.value]
    return rows[0].created_at if rows else None


Ocr = Callable[[], Any]


class ReviewFiles:
    """Builds review files for ``service``; ``ocr`` (loaded on first use) reads the cards on
    the original pages for the cross-source table."""

    def __init__(self, service: VerificationService, ocr: Ocr | None = None) -> None:
        self.service = service
        self.ocr = ocr

    def build(self, session_id: str, actor: str) -> dict[str, Any]:
        """Everything about one session a clerk needs to decide (audit-logged as read)."""
        view = self.service.get_session(session_id)
        svc = self.service
        with svc.db.session(readonly=True) as s:
            sealed = _Sealed(s, svc, view)
            chip_at = _step_time(s, view.id, Step.CHIP) or view.created_at
            challenge = None
            live = view.steps.get(Step.LIVENESS)
            nonce = live.detail.get("nonce") if live is not None else None
            if isinstance(nonce, str):
                stored = Steps(s).get(view.id, CHALLENGE_STEP, nonce)
                challenge = None if stored is None else stored.outcome
            chip_files = _json(sealed.read(CHIP_FILES_KIND))
            aa_signature = sealed.read(AA_SIGNATURE_KIND)
            liveness_doc = _json(sealed.read(LIVENESS_VERDICT_KIND))
            comparison = _json(sealed.read(COMPARISON_KIND))
            originals = [
                (n, sealed.read(n)) for n in sorted(sealed.recorded, key=_name_key)
                if n.startswith("original_")
            ]  # fmt: skip
            evidence = sealed.listing()
        chip, verification = self._chip(view, chip_files, aa_signature, chip_at)
        out = {
            "session": view.to_json(),
            "procedure_title": svc.policy.procedure(view.procedure).title,
            "review_reasons": []
            if view.decision is None
            else [r.to_json() for r in view.decision.reasons],
            "chip": chip,
            "liveness": self._liveness(view, liveness_doc, challenge, evidence),
            "face_match": self._face_match(view),
            "fields": self._fields(verification, originals),
            "documents": self._documents(view, comparison, evidence),
            "evidence": evidence,
        }
        with svc.db.session() as s:
            AuditLog(s).append(
                "review_file.read", svc.clock(), actor=actor, session_id=view.id,
                detail={"state": view.state.value},
            )  # fmt: skip
        return out

    # --- parts --------------------------------------------------------------------------------

    def _chip(
        self,
        view: SessionView,
        files_doc: Any,
        aa_signature: bytes | None,
        at: dt.datetime,
    ) -> tuple[dict[str, Any] | None, Any]:
        step = view.steps.get(Step.CHIP)
        if step is None:
            return None, None
        out: dict[str, Any] = {"step": step.to_json(), "verified_at": at.isoformat()}
        if files_doc is None:
            out.update(available=False, verification=None)
            return out, None
        from ekyc.cccd.chip import verify_chip

        files = {str(k): base64.b64decode(v) for k, v in files_doc.items()}
        proc = self.service.policy.procedure(view.procedure)
        try:
            result = verify_chip(
                files,
                self.service.trust_store,
                at,
                view.aa_nonce,
                aa_signature,
                require_aa=proc.require_active_auth,
            )
        except MalformedData as e:
            out.update(available=True, verification=None, error={"code": e.code, "detail": str(e)})
            return out, None
        out.update(
            available=True,
            verification=result.to_dict(),
            aa_signature_sealed=aa_signature is not None,
            files=sorted(files),
        )
        return out, result

    def _liveness(
        self,
        view: SessionView,
        doc: Any,
        challenge: Any,
        evidence: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        step = view.steps.get(Step.LIVENESS)
        if step is None:
            return None
        names = [e for e in evidence if e["name"].startswith("selfie_frame_")]
        best = step.detail.get("best_frame")
        signals = doc.get("signals", {}) if isinstance(doc, dict) else {}
        times = doc.get("timestamps_ms", []) if isinstance(doc, dict) else []
        poses = (signals.get("trajectory", {}).get("detail") or {}).get("poses") or []
        pad = signals.get("passive_pad") or {}
        pad_detail = pad.get("detail") or {}
        pad_scores = dict(
            zip(pad_detail.get("frames", []), pad_detail.get("scores", []), strict=False)
        )
        faces = (signals.get("faces", {}).get("detail") or {}).get("frames") or {}
        problems = {int(i): code for code, idx in faces.items() for i in idx}
        frames = []
        observed = iter(poses) if not problems else iter(())
        for e in names:
            i = int(e["name"].rsplit("_", 1)[1])
            pose = next(observed, None)
            frames.append(
                {
                    "index": i,
                    "evidence": e["name"],
                    "available": e["available"],
                    "timestamp_ms": times[i] if i < len(times) else None,
                    "yaw": pose[1] if pose else None,
                    "pitch": pose[2] if pose else None,
                    "pad_live": pad_scores.get(i),
                    "face_problem": problems.get(i),
                    "best": i == best,
                }
            )
        return {
            "step": step.to_json(),
            "actions": None if challenge is None else challenge.get("actions"),
            "signals": signals
            or {k: {"status": v} for k, v in step.detail.get("signals", {}).items()},
            "signals_sealed": bool(signals),
            "frames": frames,
        }

    def _face_match(self, view: SessionView) -> dict[str, Any] | None:
        step = view.steps.get(Step.FACE_MATCH)
        if step is None:
            return None
        proc = self.service.policy.procedure(view.procedure)
        band = None
        if step.threshold is not None and proc.face_review_margin > 0:
            band = [round(step.threshold - proc.face_review_margin, 4), step.threshold]
        live = view.steps.get(Step.LIVENESS)
        best = live.detail.get("best_frame") if live is not None else None
        return {
            "step": step.to_json(),
            "score": step.score,
            "threshold": step.threshold,
            "operating_point": step.detail.get("operating_point"),
            "extrapolated": step.detail.get("extrapolated"),
            "review_band": band,
            "outcome": step.outcome.value,
            "live_frame": None if best is None else f"selfie_frame_{best}",
            "chip_portrait": "chip_portrait",
        }

    def _fields(
        self, verification: Any, originals: list[tuple[str, bytes | None]]
    ) -> dict[str, Any] | None:
        from ekyc.document.crosscheck import cross_check

        dg13 = verification.dg13 if verification is not None else None
        mrz = verification.mrz if verification is not None else None
        printed: dict[str, str] = {}
        qr = None
        read_from: list[dict[str, Any]] = []
        for name, data in originals:
            if data is None or self.ocr is None:
                continue
            reading, why = self._read_card(data)
            read_from.append({"evidence": name, "read": reading is not None, "why": why})
            if reading is None:
                continue
            for k, v in reading.fields.items():
                printed.setdefault(k, v)
            qr = qr or reading.qr
        if dg13 is None and mrz is None and not printed and qr is None:
            return None
        report = cross_check(dg13=dg13, qr=qr, mrz=mrz, printed=printed)
        rows = [
            {
                "field": f.field,
                "values": {str(k): v for k, v in f.values.items()},
                "status": f.status,
                "disagreements": [dataclasses.asdict(d) for d in f.disagreements],
            }
            for f in report.fields.values()
            if f.status != "absent"
        ]
        return {
            "consistent": report.consistent,
            "sources": {
                "dg13": dg13 is not None,
                "mrz": mrz is not None,  # the chip's DG1
                "qr": qr is not None,
                "printed": bool(printed),
            },
            "cards_read": read_from,
            "rows": rows,
        }

    def _read_card(self, data: bytes) -> tuple[Any, str | None]:
        assert self.ocr is not None
        try:
            from ekyc.document.fields import read_card
            from ekyc.face.image import decode_image

            image = decode_image(data, self.service.max_image_pixels)
            return read_card(image, self.ocr()), None
        except ImportError as e:
            return None, f"card reading is not installed: {e}"
        except EkycError as e:
            return None, getattr(e, "reason", None) or e.code

    def _documents(
        self, view: SessionView, doc: Any, evidence: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        step = view.steps.get(Step.DOCUMENTS)
        if step is None:
            return None
        have = {e["name"]: e["available"] for e in evidence}
        pages = []
        count = int(step.detail.get("pages", 0) or 0)
        sealed_pages = {p["page"]: p for p in doc.get("pages", [])} if isinstance(doc, dict) else {}
        for i in range(max(count, len(sealed_pages))):
            p = sealed_pages.get(i, {})
            pages.append(
                {
                    "page": i,
                    "verdict": p.get("verdict"),
                    "why": p.get("why"),
                    "size": p.get("size"),
                    "original": f"original_{i}" if have.get(f"original_{i}") else None,
                    "copy": f"copy_{i}" if have.get(f"copy_{i}") else None,
                    "heatmap": f"heatmap_{i}" if have.get(f"heatmap_{i}") else None,
                }
            )
        if isinstance(doc, dict):
            differences = doc.get("differences", [])
        else:  # not sealed (an older session): where and why, without the readings
            differences = [
                {**d, "kind": d.get("reason"), "original_text": None, "copy_text": None}
                for d in step.detail.get("differences", [])
            ]
        return {
            "step": step.to_json(),
            "verdict": step.detail.get("verdict"),
            "why": doc.get("why", []) if isinstance(doc, dict) else [],
            "readings_sealed": isinstance(doc, dict),
            "pages": pages,
            "differences": differences,
        }
