"""kill -9 the real server mid-session, restart it on the same database, and resume.

A uvicorn process on 127.0.0.1 with a fresh SQLite file (and a scratch database on the
PostgreSQL server of EKYC_TEST_POSTGRES_URL when set). After each crash the session's
rows must be consistent (each step stored once, evidence only with its step, the audit
chain intact) and the client must either resume (replays return the stored outcome, the
next steps succeed) or get a clear problem+json error: never a 5xx.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.service_load import (
    FACES,
    PROCEDURE,
    ServerProcess,
    Workload,
    create_key,
    renderable,
    scratch_postgres,
    server_env,
)
from tests.session_checks import check_rows

PG_URL = os.environ.get("EKYC_TEST_POSTGRES_URL")
PROBLEM = "application/problem+json"
TIMEOUT = 30.0  # seconds for any one HTTP call


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    if not (FACES / "obama__obama-480p.jpg").is_file():
        pytest.skip("../shared/data/faces missing")
    return Workload.build(tmp_path_factory.mktemp("work"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ekyc.db'}"
        return
    if not PG_URL:
        pytest.skip('EKYC_TEST_POSTGRES_URL not set (eval "$(.ci/postgres.sh start)")')
    with scratch_postgres(PG_URL, "ekyc_crash") as url:
        yield url


@pytest.fixture
def server(work: Workload, database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(server_env(work, database_url, tmp_path), tmp_path / "server.log")
    srv.start(ready_timeout=60)
    try:
        yield srv
    finally:
        srv.kill9()  # the data is thrown away: no need for a graceful stop


@pytest.fixture
def client(server: ServerProcess, database_url: str) -> Iterator[httpx.Client]:
    token = create_key(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=TIMEOUT) as c:
        yield c


def crash_and_restart(server: ServerProcess) -> None:
    server.kill9()
    server.start(ready_timeout=60)


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def start_session(c: httpx.Client, work: Workload) -> tuple[str, dict[str, Any]]:
    """A face session with its chip step done under Idempotency-Key chip-1."""
    sess = ok(c.post("/v1/sessions", json={"procedure": PROCEDURE}), 201)
    sid = sess["id"]
    chip = ok(
        c.post(
            f"/v1/sessions/{sid}/chip",
            json=work.chip_body(sess["nonce"]),
            headers={"Idempotency-Key": "chip-1"},
        )
    )
    assert chip["step"]["outcome"] == "pass" and chip["session"]["state"] == "in_progress"
    return sid, chip


def challenge(c: httpx.Client, sid: str) -> dict[str, Any]:
    for _ in range(20):
        ch = ok(c.post(f"/v1/sessions/{sid}/liveness/challenge"), 201)
        if renderable(ch["actions"]):
            return ch
    raise AssertionError("no challenge the synthetic frames can perform")


def frames_request(work: Workload, ch: dict[str, Any]) -> bytes:
    return json.dumps(work.frames_body(ch["nonce"], ch["actions"])).encode()


def finish(c: httpx.Client, work: Workload, sid: str, key: str) -> dict[str, Any]:
    """Liveness then face match under ``key``; returns the final session."""
    ch = challenge(c, sid)
    live = ok(
        c.post(
            f"/v1/sessions/{sid}/liveness/frames",
            content=frames_request(work, ch),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
    )
    assert live["replayed"] is False and live["step"]["outcome"] in ("pass", "review")
    return resume_face_match(c, sid)


def resume_face_match(c: httpx.Client, sid: str) -> dict[str, Any]:
    match = ok(c.post(f"/v1/sessions/{sid}/face-match", json={}))
    assert match["step"]["outcome"] == "pass"
    assert match["session"]["state"] in ("approved", "review")
    return dict(match["session"])


def test_kill_after_chip_then_resume(
    server: ServerProcess, client: httpx.Client, work: Workload, database_url: str
) -> None:
    sid, chip = start_session(client, work)
    crash_and_restart(server)

    got = ok(client.get(f"/v1/sessions/{sid}"))
    assert got["state"] == "in_progress" and list(got["steps"]) == ["chip"]
    assert check_rows(database_url, sid) == {"chip": 1}
    again = client.post(
        f"/v1/sessions/{sid}/chip",
        json=work.chip_body(got["nonce"]),
        headers={"Idempotency-Key": "chip-1"},
    )
    body = ok(again)
    assert body["replayed"] is True and again.headers["idempotent-replayed"] == "true"
    assert body["step"] == chip["step"]
    assert check_rows(database_url, sid) == {"chip": 1}

    final = finish(client, work, sid, "live-1")
    counts = check_rows(database_url, sid)
    assert counts["chip"] == counts["liveness"] == counts["face_match"] == 1
    assert final["state"] in ("approved", "review")


def _send_partial(port: int, path: str, token: str, body: bytes) -> socket.socket:
    """A request whose body stops half-way: the upload is still in flight."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nIdempotency-Key: live-1\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def _send_whole(base_url: str, path: str, headers: dict[str, str], body: bytes) -> threading.Thread:
    """A complete request sent from a thread; the crash cuts it off."""

    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it: the point
            httpx.post(base_url + path, content=body, headers=headers, timeout=TIMEOUT)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("kill_point", ["upload", "inference"])
def test_kill_during_liveness(
    server: ServerProcess,
    client: httpx.Client,
    work: Workload,
    database_url: str,
    kill_point: str,
) -> None:
    sid, _ = start_session(client, work)
    ch = challenge(client, sid)
    path = f"/v1/sessions/{sid}/liveness/frames"
    body = frames_request(work, ch)
    token = str(client.headers["Authorization"]).removeprefix("Bearer ")
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "live-1",
    }
    if kill_point == "upload":
        sock = _send_partial(server.port, path, token, body)
        time.sleep(0.3)  # the server is waiting for the rest of the body
        crash_and_restart(server)
        sock.close()
    else:
        sender = _send_whole(server.base_url, path, headers, body)
        time.sleep(0.15)  # the body is in; decoding and inference are running
        crash_and_restart(server)
        sender.join(timeout=TIMEOUT)
        assert not sender.is_alive()

    got = ok(client.get(f"/v1/sessions/{sid}"))
    counts = check_rows(database_url, sid)
    assert counts.get("chip") == 1
    if counts.get("liveness"):  # the step committed before the crash
        assert "liveness" in got["steps"]
    else:
        assert got["state"] == "in_progress" and list(got["steps"]) == ["chip"]

    # resume: the same request again, same nonce and idempotency key
    retry = httpx.post(server.base_url + path, content=body, headers=headers, timeout=TIMEOUT)
    assert retry.status_code < 500, retry.text
    if kill_point == "upload":
        # nothing was read, so nothing was spent: the retry is processed afresh
        live = ok(retry)
        assert live["replayed"] is False
    elif retry.status_code == 200:
        assert retry.json()["replayed"] is bool(counts.get("liveness"))
    else:
        # the nonce was spent but no outcome stored: a clear error, then a fresh challenge
        assert retry.headers["content-type"].startswith(PROBLEM)
        problem = retry.json()
        assert problem["status"] == retry.status_code == 409, problem
        assert problem["code"] in ("nonce_replayed", "challenge_rejected"), problem
        assert not counts.get("liveness")
        finish_live = client.post(
            path,
            content=frames_request(work, fresh := challenge(client, sid)),
            headers={"Content-Type": "application/json", "Idempotency-Key": "live-2"},
        )
        assert ok(finish_live)["step"]["outcome"] in ("pass", "review"), fresh

    final = resume_face_match(client, sid)
    counts = check_rows(database_url, sid)
    assert counts["chip"] == counts["liveness"] == counts["face_match"] == 1
    assert final["state"] in ("approved", "review")
