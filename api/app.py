"""The FastAPI application: health probes and server-side CCCD chip verification.

Routes stay thin: parse, call ``ekyc``, map the result. The server chooses every Active
Authentication nonce (``/v1/chip/challenge``); a verify request quotes the challenge id
and the nonce is spent on first use, so a recorded chip answer cannot be replayed.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import (
    BodyLimitMiddleware,
    ChallengeExpired,
    ChallengeUsed,
    RequestIdMiddleware,
    install_error_handlers,
    problem,
)
from api.schemas import (
    MAX_REQUEST_BYTES,
    ChallengeResponse,
    VerifyRequest,
    VerifyResponse,
    problem_responses,
)
from ekyc.cccd.chip import ChipVerification, verify_chip
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.trust_store import TrustStore
from ekyc.settings import Settings

Clock = Callable[[], dt.datetime]
Rng = Callable[[int], bytes]

CHALLENGE_TTL = dt.timedelta(minutes=5)
MAX_CHALLENGES = 10_000
AA_NONCE_BYTES = 8  # what INTERNAL AUTHENTICATE takes on an eMRTD


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Challenge:
    id: str
    nonce: bytes
    expires_at: dt.datetime
    used: bool = False


class ChallengeStore:
    """Live AA challenges in memory: bounded, expiring, each nonce usable once."""

    def __init__(
        self,
        clock: Clock,
        rng: Rng,
        ttl: dt.timedelta = CHALLENGE_TTL,
        max_size: int = MAX_CHALLENGES,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._ttl = ttl
        self._max_size = max_size
        self._items: OrderedDict[str, Challenge] = OrderedDict()  # oldest first
        self._lock = threading.Lock()  # sync routes run on a thread pool

    def issue(self) -> Challenge:
        """A fresh challenge; the oldest one is dropped when the store is full."""
        now = self._clock()
        challenge = Challenge(
            base64.urlsafe_b64encode(self._rng(18)).decode("ascii"),
            self._rng(AA_NONCE_BYTES),
            now + self._ttl,
        )
        with self._lock:
            self._prune(now)
            while len(self._items) >= self._max_size:
                self._items.popitem(last=False)
            self._items[challenge.id] = challenge
        return challenge

    def consume(self, challenge_id: str) -> bytes:
        """Spend a challenge and return its nonce, or raise ChallengeExpired/ChallengeUsed."""
        now = self._clock()
        with self._lock:
            self._prune(now)
            challenge = self._items.get(challenge_id)
            if challenge is None:
                raise ChallengeExpired("the challenge is unknown or expired; request a new one")
            if challenge.used:
                raise ChallengeUsed("the challenge was already used; request a new one")
            # kept until it expires so that a replay is told "used", not "expired"
            challenge.used = True
            return challenge.nonce

    def _prune(self, now: dt.datetime) -> None:
        # insertion order is expiry order: the TTL is constant
        while self._items and next(iter(self._items.values())).expires_at <= now:
            self._items.popitem(last=False)


def _portrait_jpeg(result: ChipVerification) -> str | None:
    """The DG2 portrait re-encoded as base64 JPEG, or None when absent or undecodable."""
    try:
        image = result.portrait_image()
    except (MalformedData, UnsupportedData):
        return None  # already visible to the client as a DG2 problem in the verification
    if image is None:
        return None
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return base64.b64encode(out.getvalue()).decode("ascii")


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, rng: Rng = os.urandom
) -> FastAPI:
    """Build the API; the trust store named in ``settings`` is loaded once at startup."""
    settings = settings or Settings()
    now = clock or _utcnow
    challenges = ChallengeStore(now, rng)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a trust store that cannot be read stops startup: TrustStoreError propagates
        app.state.trust_store = TrustStore.load(*settings.trust_store)
        yield

    app = FastAPI(
        title="ekyc",
        summary="Biometric eKYC: server-side verification of CCCD chip reads",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # added last = outermost: the request id exists before the body limit can refuse
    app.add_middleware(BodyLimitMiddleware, limit=MAX_REQUEST_BYTES)
    app.add_middleware(RequestIdMiddleware, rng=rng)

    def trust_store() -> TrustStore | None:
        return getattr(app.state, "trust_store", None)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=problem_responses(503))
    def readyz(request: Request) -> Any:
        """Readiness: the CSCA trust store is loaded and holds at least one CSCA."""
        store = trust_store()
        if store is None or len(store) == 0:
            return problem(
                request,
                503,
                "not_ready",
                "no CSCA certificate is loaded: set EKYC_TRUST_STORE",
                cscas=0,
            )
        return {"status": "ready", "cscas": len(store), "countries": sorted(store.countries)}

    @app.post("/v1/chip/challenge", tags=["chip"], status_code=201)
    def chip_challenge() -> ChallengeResponse:
        """Issue a single-use Active Authentication nonce for the chip to sign."""
        c = challenges.issue()
        return ChallengeResponse(
            challenge_id=c.id, nonce=base64.b64encode(c.nonce).decode(), expires_at=c.expires_at
        )

    @app.post(
        "/v1/chip/verify",
        tags=["chip"],
        response_model=VerifyResponse,
        responses=problem_responses(409, 410, 413, 422),
    )
    def chip_verify(body: VerifyRequest, include_portrait: bool = False) -> JSONResponse:
        """Verify raw chip files (Passive + Active Authentication, DG1/DG13 consistency)."""
        nonce = challenges.consume(body.challenge_id)
        store = trust_store()
        if store is None:
            store = TrustStore()
        result = verify_chip(
            body.file_bytes(), store, now(), aa_nonce=nonce, aa_signature=body.signature_bytes()
        )
        out = result.to_dict()
        if include_portrait:
            out["portrait_jpeg"] = _portrait_jpeg(result)
        return JSONResponse(out)

    return app


__all__ = ["Challenge", "ChallengeStore", "create_app"]
