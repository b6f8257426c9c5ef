"""Two API replicas on one database: a chip challenge issued by either is spent once by any."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from ekyc.synth.chip import SynthChip
from readers.vcard.aa_card import aa_sign
from tests.api.conftest import T0, Api, AppFactory, assert_problem, b64


@pytest.fixture(scope="module")
def replicas(make_api: AppFactory) -> tuple[Api, Api]:
    """Two app instances (own process state, own rate limits) on the same database."""
    return make_api(), make_api()


@pytest.fixture(autouse=True)
def _reset_clocks(replicas: tuple[Api, Api]) -> None:
    for r in replicas:
        r.clock.now = T0


def issue(api: Api) -> tuple[str, bytes]:
    r = api.client.post("/v1/chip/challenge")
    assert r.status_code == 201, r.text
    return r.json()["challenge_id"], base64.b64decode(r.json()["nonce"])


def verify_body(chip: SynthChip, cid: str, nonce: bytes) -> dict[str, Any]:
    assert chip.aa_key is not None
    return {
        "files": {n: b64(d) for n, d in chip.files.items()},
        "challenge_id": cid,
        "aa_signature": b64(aa_sign(chip.aa_key, nonce)),
    }


def verify(api: Api, body: dict[str, Any]) -> httpx.Response:
    return api.client.post("/v1/chip/verify", json=body)


def test_challenge_from_one_replica_verifies_on_the_other_once(
    replicas: tuple[Api, Api], chip: SynthChip
) -> None:
    a, b = replicas
    assert a.runtime is not b.runtime  # two instances: nothing shared but the database
    cid, nonce = issue(a)
    body = verify_body(chip, cid, nonce)
    r = verify(b, body)
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "valid"
    assert r.json()["active_authentication"]["status"] == "ok"
    assert_problem(verify(b, body), 409, "challenge_used")
    assert_problem(verify(a, body), 409, "challenge_used")


def test_expiry_is_judged_by_the_verifying_replica(
    replicas: tuple[Api, Api], chip: SynthChip
) -> None:
    a, b = replicas
    cid, nonce = issue(b)
    a.clock.now = T0 + dt.timedelta(minutes=5)
    assert_problem(verify(a, verify_body(chip, cid, nonce)), 410, "challenge_expired")
    assert verify(b, verify_body(chip, cid, nonce)).json()["verdict"] == "valid"


def test_replicas_racing_for_one_challenge_spend_it_once(
    replicas: tuple[Api, Api], chip: SynthChip
) -> None:
    cid, nonce = issue(replicas[0])
    body = verify_body(chip, cid, nonce)
    start = threading.Barrier(6)

    def attempt(i: int) -> int:
        start.wait()
        return verify(replicas[i % 2], body).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(attempt, range(6)))
    assert codes == [200, 409, 409, 409, 409, 409]
