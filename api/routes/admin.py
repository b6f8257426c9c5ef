"""API keys (admin) and the hash-chained audit log (auditor)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import Principal, RuntimeDep, require
from api.schemas import AuditEntryOut, KeyCreate, KeyCreated, KeyOut, problem_responses
from ekyc.store.audit import AuditLog
from ekyc.store.keys import ApiKeys, key_summary
from ekyc.store.models import AuditEntry, Role

router = APIRouter()

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
_ERR = problem_responses(401, 403, 404, 422, 429)


def _entry_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "session_id": e.session_id,
        "detail": json.loads(e.detail) if isinstance(e.detail, str) else e.detail,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


@router.post("/v1/keys", tags=["keys"], status_code=201, response_model=KeyCreated, responses=_ERR)
def create_key(body: KeyCreate, principal: Admin, rt: RuntimeDep) -> JSONResponse:
    """Create a key; the token is in this response only."""
    now = rt.clock()
    with rt.db.session() as s:
        created = ApiKeys(s, rt.service.rng).create(body.name, body.role, now, body.rate_per_minute)
        AuditLog(s).append(
            "key.created", now, actor=principal.key_id,
            detail={"key_id": created.key.id, "role": body.role, "name": body.name},
        )  # fmt: skip
        out = {**key_summary(created.key), "token": created.token}
    return JSONResponse(out, status_code=201)


@router.get("/v1/keys", tags=["keys"], response_model=list[KeyOut], responses=_ERR)
def list_keys(_p: Admin, rt: RuntimeDep) -> JSONResponse:
    """Every key, revoked ones included."""
    with rt.db.session(readonly=True) as s:
        return JSONResponse([key_summary(k) for k in ApiKeys(s).list()])


@router.post("/v1/keys/{key_id}/revoke", tags=["keys"], response_model=KeyOut, responses=_ERR)
def revoke_key(key_id: str, principal: Admin, rt: RuntimeDep) -> JSONResponse:
    """Revoke a key at once (idempotent)."""
    now = rt.clock()
    with rt.db.session() as s:
        key = ApiKeys(s).revoke(key_id, now)
        AuditLog(s).append("key.revoked", now, actor=principal.key_id, detail={"key_id": key_id})
        return JSONResponse(key_summary(key))


@router.get("/v1/audit", tags=["audit"], response_model=list[AuditEntryOut], responses=_ERR)
def audit_entries(
    _p: Auditor,
    rt: RuntimeDep,
    session_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    """Audit entries in order (optionally one session's), ``after_seq`` to page on."""
    with rt.db.session(readonly=True) as s:
        rows = AuditLog(s).entries(session_id, after_seq, limit)
        return JSONResponse([_entry_json(e) for e in rows])


@router.get("/v1/audit/verify", tags=["audit"], responses=_ERR)
def audit_verify(_p: Auditor, rt: RuntimeDep) -> JSONResponse:
    """Recompute the hash chain: ok, or the first bad entry and why."""
    with rt.db.session(readonly=True) as s:
        v = AuditLog(s).verify_chain()
    head = None if v.head is None else {"seq": v.head.seq, "hash": v.head.hash}
    return JSONResponse(
        {
            "ok": v.ok,
            "checked": v.checked,
            "head": head,
            "first_bad_seq": v.first_bad_seq,
            "reason": v.reason,
        }
    )
