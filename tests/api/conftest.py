"""The API over HTTP: an app per database (SQLite, and PostgreSQL when
EKYC_TEST_POSTGRES_URL is set), API keys per role, a synthetic chip with a real portrait."""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from api.app import create_app
from ekyc.settings import Settings
from ekyc.synth.chip import SynthChip, build_chip
from tests.support import FACES, PAD_DIR, SHARED, face_engine  # noqa: F401 (re-exported)

LIVE_PHOTO = "obama__obama-480p.jpg"
PORTRAIT_PHOTO = "obama__obama2.jpg"
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
PROBLEM = "application/problem+json"
ROLES = ("kiosk", "portal", "clerk", "auditor", "admin")


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def jpeg(bgr: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == code and body["status"] == status, body
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def chip_with_portrait(portrait: bytes | None, seed: int = 11) -> SynthChip:
    """A synthetic CCCD chip (EC AA), with ``portrait`` in DG2 when given."""
    return build_chip(seed=seed, aa="ec", portrait=portrait)


@pytest.fixture(scope="session")
def face() -> Any:
    if not FACES.is_dir():
        pytest.skip("../shared/data/faces missing")
    return face_engine()


@pytest.fixture(scope="session")
def portrait() -> bytes:
    if not FACES.is_dir():
        pytest.skip("../shared/data/faces missing")
    return jpeg(cv2.imread(str(FACES / PORTRAIT_PHOTO)), 90)


@pytest.fixture(scope="session")
def chip() -> SynthChip:
    """A chip-only synthetic card (no face needed)."""
    return build_chip(seed=11, aa="ec")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not os.environ.get("EKYC_TEST_POSTGRES_URL"):
        pytest.skip('EKYC_TEST_POSTGRES_URL not set (eval "$(.ci/postgres.sh start)")')
    return str(request.param)


@dataclass
class Api:
    client: TestClient
    clock: FakeClock
    keys: dict[str, str]  # role -> token
    key_ids: dict[str, str]

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def new_key(self, role: str, rate: int = 100_000) -> tuple[str, str]:
        from ekyc.store.keys import ApiKeys

        rt = self.client.app.state.runtime  # type: ignore[attr-defined]
        with rt.db.session() as s:
            created = ApiKeys(s).create(f"{role}-{os.urandom(3).hex()}", role, T0, rate)
            return created.token, created.key.id

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]


AppFactory = Callable[..., Api]


@pytest.fixture(scope="session")
def make_api(
    db_kind: str, tmp_path_factory: pytest.TempPathFactory, chip: SynthChip
) -> Iterator[AppFactory]:
    """Start apps on this database; every app gets one key per role."""
    started: list[TestClient] = []
    csca = tmp_path_factory.mktemp("csca")
    pem = chip.pki.csca_cert.public_bytes(serialization.Encoding.PEM)
    (csca / "csca-vn.pem").write_bytes(pem)
    var = tmp_path_factory.mktemp("var")
    url = (
        f"sqlite:///{var / 'ekyc.db'}"
        if db_kind == "sqlite"
        else os.environ["EKYC_TEST_POSTGRES_URL"]
    )

    def make(face: Any = None, **overrides: Any) -> Api:
        options: dict[str, Any] = {
            "trust_store": [csca],
            "database_url": url,
            "encryption_key_file": var / "keys.json",
            "signing_key_dir": var / "signing",
            "pdf_test_ca_dir": var / "pdf-test-ca",
            "background_jobs": False,
            "face_models_enabled": face is not None,
            "log_json": False,
            **overrides,
        }
        settings = Settings(**options)
        clock = FakeClock()
        client = TestClient(create_app(settings, clock=clock, rng=os.urandom, face=face))
        client.__enter__()
        started.append(client)
        api = Api(client, clock, {}, {})
        for role in ROLES:
            api.keys[role], api.key_ids[role] = api.new_key(role)
        return api

    yield make
    for c in started:
        c.__exit__(None, None, None)


@pytest.fixture(scope="session")
def api(make_api: AppFactory) -> Api:
    """A shared app without face models (chip-only and access tests)."""
    return make_api()


@pytest.fixture(scope="session")
def face_api(make_api: AppFactory, face: Any) -> Api:
    """A shared app with the face engine."""
    return make_api(face=face)
