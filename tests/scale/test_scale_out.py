"""Scale-out: three API replicas behind a round-robin balancer, sharing PostgreSQL, Redis
(rate and concurrency limits) and a local Ray cluster (inference on Ray Serve).

- 50 kiosks run a full session each at the same time (chip, liveness, face match), one
  HTTP connection per request so consecutive steps land on different replicas; mid-run one
  API replica is killed (SIGKILL) and one Ray replica of the face deployment is killed.
  Every session must end decided, its stored rows consistent, and its chip the one that
  kiosk sent (nothing lost, nothing mixed up).
- One key's budget holds across replicas: with three replicas a key still gets its rate
  once, not three times, whichever replica each request hits.

Clients do what a well-behaved kiosk does: retry a step under the same Idempotency-Key on a
dropped connection or a 503/429 (after Retry-After), and ask for a fresh liveness challenge
when the old one was spent by a request that died with its replica.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.service_load import (
    FACES,
    PROCEDURE,
    ServerProcess,
    Workload,
    renderable,
    scratch_postgres,
    server_env,
)
from ekyc.inference.launcher import ServeProcess, start_serve
from ekyc.inference.ray_backend import FACE
from tests.scale.balancer import RoundRobin
from tests.session_checks import check_rows

pytestmark = [pytest.mark.scale, pytest.mark.ray, pytest.mark.timeout(900)]

PG_URL = os.environ.get("EKYC_TEST_POSTGRES_URL")
REPLICAS = 3
KIOSKS = 50
CHIPS = 5  # distinct chips (own document signer, own SOD): a mixed-up session shows
TIMEOUT = 60.0  # one HTTP call
SESSION_DEADLINE_S = 600.0  # one kiosk's whole session, retries included
RETRYABLE = {429, 502, 503}
SPENT = ("nonce_replayed", "challenge_rejected")  # the challenge must be asked again


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    if not (FACES / "obama__obama-480p.jpg").is_file():
        pytest.skip("../shared/data/faces missing")
    return Workload.build(tmp_path_factory.mktemp("scale-work"))


@pytest.fixture(scope="module")
def chips(work: Workload) -> list[Any]:
    """``CHIPS`` chips under the workload's CSCA, with the workload's portrait."""
    from ekyc.synth.chip import build_chip

    portrait = (FACES / "obama__obama2.jpg").read_bytes()
    return [work.chip] + [
        build_chip(seed=100 + i, aa="ec", portrait=portrait, pki=work.chip.pki)
        for i in range(1, CHIPS)
    ]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip('EKYC_TEST_POSTGRES_URL not set (eval "$(.ci/postgres.sh start)")')
    with scratch_postgres(PG_URL, "ekyc_scale") as url:
        yield url


def create_keys(database_url: str, n: int, role: str = "kiosk", rate: int = 100_000) -> list[str]:
    from ekyc.store.db import Database
    from ekyc.store.keys import ApiKeys

    db = Database(database_url)
    try:
        db.migrate()
        now = dt.datetime.now(dt.UTC)
        with db.session() as s:
            keys = ApiKeys(s)
            return [keys.create(f"scale-{role}-{i}", role, now, rate).token for i in range(n)]
    finally:
        db.dispose()


# --- a kiosk ---------------------------------------------------------------------------------


class Kiosk:
    """One kiosk's client: a fresh connection per request, retries as a real kiosk would."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.retries: dict[str, int] = {}
        self.why: Counter[str] = Counter()  # what each retry answered: "503 inference_…"
        self.deadline = time.monotonic() + SESSION_DEADLINE_S

    def send(self, what: str, method: str, path: str, **kw: Any) -> httpx.Response:
        """The request, again on a dropped connection or a 429/502/503 (after Retry-After)."""
        while True:
            if time.monotonic() > self.deadline:
                raise AssertionError(f"{what}: no answer before the session deadline")
            try:
                r = self.http.request(method, path, **kw)
            except httpx.TransportError as e:
                self.retries[what] = self.retries.get(what, 0) + 1
                self.why[type(e).__name__] += 1
                time.sleep(0.5)
                continue
            if r.status_code not in RETRYABLE:
                return r
            assert r.headers.get("content-type", "").startswith("application/problem+json"), r
            self.retries[what] = self.retries.get(what, 0) + 1
            self.why[f"{r.status_code} {r.json().get('code')}"] += 1
            time.sleep(min(float(r.headers.get("retry-after", "1")), 5.0))

    def close(self) -> None:
        self.http.close()


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.text[:400]}"
    body: dict[str, Any] = r.json()
    return body


def chip_body(work: Workload, chip: Any, nonce_b64: str) -> dict[str, Any]:
    import base64

    from readers.vcard.aa_card import aa_sign

    nonce = base64.b64decode(nonce_b64)
    return {
        "files": {n: base64.b64encode(d).decode() for n, d in chip.files.items()},
        "aa_signature": base64.b64encode(aa_sign(chip.aa_key, nonce)).decode(),
    }


def run_session(
    k: Kiosk, work: Workload, chip: Any, chip_done: threading.Barrier, n: int
) -> dict[str, Any]:
    """Create, chip, (all kiosks together) liveness, face match; returns the final session."""
    sess = ok(k.send("create", "POST", "/v1/sessions", json={"procedure": PROCEDURE}), 201)
    sid = sess["id"]
    chip_step = ok(
        k.send(
            "chip",
            "POST",
            f"/v1/sessions/{sid}/chip",
            json=chip_body(work, chip, sess["nonce"]),
            headers={"Idempotency-Key": f"chip-{n}"},
        )
    )
    assert chip_step["step"]["outcome"] == "pass", chip_step
    chip_done.wait(timeout=SESSION_DEADLINE_S)  # the kills land while liveness runs
    for attempt in range(10):
        for _ in range(20):
            ch = ok(k.send("challenge", "POST", f"/v1/sessions/{sid}/liveness/challenge"), 201)
            if renderable(ch["actions"]):
                break
        r = k.send(
            "liveness",
            "POST",
            f"/v1/sessions/{sid}/liveness/frames",
            json=work.frames_body(ch["nonce"], ch["actions"]),
            headers={"Idempotency-Key": f"live-{n}-{attempt}"},
        )
        if r.status_code == 409 and r.json().get("code") in SPENT:
            continue  # its request died with a replica after spending the nonce: ask again
        live = ok(r)
        assert live["step"]["outcome"] in ("pass", "review"), live
        break
    else:
        raise AssertionError(f"session {sid}: no liveness after 10 challenges")
    match = ok(
        k.send(
            "face_match",
            "POST",
            f"/v1/sessions/{sid}/face-match",
            json={},
            headers={"Idempotency-Key": f"match-{n}"},
        )
    )
    assert match["step"]["outcome"] == "pass", match
    final = ok(k.send("get", "GET", f"/v1/sessions/{sid}"))
    return {
        "id": sid,
        "session": final,
        "chip_step": chip_step["step"],
        "retries": k.retries,
        "why": k.why,
    }


# --- the deployment --------------------------------------------------------------------------


#: two Face replicas (one is killed); 2 CPUs reserved in all, what this 2-core machine has
RAY_FACE = {"num_replicas": 2, "num_cpus": 0.5}
RAY_OTHERS = {"num_cpus": 0.25}


@pytest.fixture(scope="module")
def ray_serve(tmp_path_factory: pytest.TempPathFactory, work: Workload) -> Iterator[ServeProcess]:
    """``ekyc inference serve`` on a local Ray cluster of its own, with the PAD models."""
    env = {
        "EKYC_RAY_FACE": json.dumps(RAY_FACE),
        "EKYC_RAY_OCR": json.dumps(RAY_OTHERS),
        "EKYC_RAY_COMPARE": json.dumps(RAY_OTHERS),
    }
    if work.manifest is not None:
        env["EKYC_MODELS_MANIFEST"] = str(work.manifest)
    log = tmp_path_factory.mktemp("ray") / "serve.log"
    with start_serve(env=env, timeout=300, log_path=log) as app:
        yield app


@contextlib.contextmanager
def replicas(env: dict[str, str], logs: Path) -> Iterator[list[ServerProcess]]:
    servers = [ServerProcess(dict(env), logs / f"api-{i}.log") for i in range(REPLICAS)]
    try:
        for s in servers:  # one after another: the first one creates the signing keys
            s.start(ready_timeout=90)
        yield servers
    finally:
        for s in servers:
            s.kill9()


@pytest.fixture(scope="module")
def cluster(
    work: Workload,
    database_url: str,
    redis_url: str,
    ray_serve: ServeProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[ServerProcess], RoundRobin]]:
    var = tmp_path_factory.mktemp("var")
    env = server_env(work, database_url, var)
    env.update(
        EKYC_INFERENCE="ray",
        EKYC_RAY_ADDRESS=ray_serve.address,
        EKYC_RATE_LIMIT_STORAGE=redis_url,
        EKYC_MAX_INFLIGHT_PER_KEY="2",
    )
    # the API replicas load no models (Ray does); their manifest says PAD is there to use
    with replicas(env, var) as servers:
        backends = [("127.0.0.1", s.port) for s in servers]
        with RoundRobin(backends) as lb:
            yield servers, lb


# --- the tests -------------------------------------------------------------------------------


def test_sessions_survive_a_replica_and_a_ray_replica_killed(
    cluster: tuple[list[ServerProcess], RoundRobin],
    ray_serve: ServeProcess,
    work: Workload,
    chips: list[Any],
    database_url: str,
) -> None:
    servers, lb = cluster
    tokens = create_keys(database_url, KIOSKS)
    chip_done = threading.Barrier(KIOSKS + 1)
    first = len(lb.choices)

    def kiosk(n: int) -> dict[str, Any]:
        k = Kiosk(lb.base_url, tokens[n])
        try:
            return run_session(k, work, chips[n % CHIPS], chip_done, n)
        except BaseException:
            chip_done.abort()  # the others must not wait for a kiosk that failed
            raise
        finally:
            k.close()

    with ThreadPoolExecutor(KIOSKS) as pool:
        futures = [pool.submit(kiosk, n) for n in range(KIOSKS)]
        chip_done.wait(timeout=SESSION_DEADLINE_S)
        time.sleep(1.5)  # liveness frames are in flight on every replica
        servers[1].kill9()
        killed = ray_serve.kill_replica(FACE)
        results = [f.result() for f in futures]

    hits = Counter(lb.choices[first:])
    assert set(hits) == set(range(REPLICAS)), hits  # every replica served this run
    assert len({r["id"] for r in results}) == KIOSKS
    for n, r in enumerate(results):
        assert r["session"]["state"] in ("approved", "review"), r["session"]
        sent_sod = hashlib.sha256(chips[n % CHIPS].files["EF.SOD"]).hexdigest()
        assert r["chip_step"]["evidence"]["ef_sod"] == sent_sod, (n, r["chip_step"])
        counts = check_rows(database_url, r["id"])
        assert counts["chip"] == counts["liveness"] == counts["face_match"] == 1, counts
    # calls the Face kill caught in flight, sent again to the other replica by the API
    resent = sum(
        s.log_path.read_text(errors="replace").count("replica died under") for s in servers
    )
    retried = sum(sum(r["retries"].values()) for r in results)
    why = sum((r["why"] for r in results), Counter())
    print(
        f"\n{KIOSKS} sessions decided; requests retried: {retried} ({dict(why)}); "
        f"per replica: {dict(hits)}; "
        f"Face replica pid {killed} killed ({resent} calls on it sent again), replicas now "
        f"{ray_serve.replica_pids(FACE)}"
    )


def test_one_key_one_budget_across_replicas(
    cluster: tuple[list[ServerProcess], RoundRobin], database_url: str
) -> None:
    servers, lb = cluster
    for s in servers:
        if s.proc is None:
            s.start(ready_timeout=90)  # the first test killed one
    rate = 12  # a minute's burst of 12 requests, whoever serves them
    (token,) = create_keys(database_url, 1, role="portal", rate=rate)
    first = len(lb.choices)
    statuses = []
    with httpx.Client(
        base_url=lb.base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as c:
        for _ in range(3 * rate):
            r = c.get("/v1/sessions/nonexistent-session-id")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
    served = lb.choices[first:]
    assert len(served) == len(statuses)
    allowed = [i for i, code in enumerate(statuses) if code != 429]
    refused = [i for i, code in enumerate(statuses) if code == 429]
    # the budget refills at rate/60 per second: the run takes a few seconds at most
    assert rate <= len(allowed) <= rate + 2, statuses
    assert {served[i] for i in refused} == set(range(REPLICAS)), "every replica refused"
