"""The HTTP service under load: a real server process on loopback, 1/4/16 clients.

Per database (SQLite, and PostgreSQL when a URL is given) and per concurrency level it
measures two phases against one ``uvicorn`` process:

- API overhead: ``POST /v1/sessions`` + ``GET /v1/sessions/{id}`` (no inference);
- full sessions: chip verify (PA + AA over the session nonce), a liveness challenge,
  5 liveness frames, face match.

Server time comes from the server's own access log (``duration_ms`` that
``api.observability.ObservabilityMiddleware`` writes per request, matched to the response's
``X-Request-ID``); client time is the wall time around each HTTP call. A session's server
time is the sum of its requests' server times. ``python -m benchmarks.service_load``.

The helpers (``ServerProcess``, ``Workload``, ``create_key``) are shared with the crash test.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.machine import describe, percentile

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FACES = SHARED / "data" / "faces"
PAD_DIR = SHARED / "models" / "minifasnet"
LIVE_PHOTO = "obama__obama-480p.jpg"
PORTRAIT_PHOTO = "obama__obama2.jpg"
PROCEDURE = "dang-ky-thuong-tru"  # chip + liveness + face_match
LEVELS = (1, 4, 16)
OVERHEAD_FLOOR_MS = 5.0
SESSION_FLOOR_MS = 1500.0
#: orders that 5 synthetic frames cannot show (the checker reads them as out of order or
#: incomplete: turn_right, see tests/api, and look_up straight into turn_left): ask again
AVOID_ACTION = "turn_right"
AVOID_PAIR = ("look_up", "turn_left")
FRAME_COUNT = 5


class BenchError(RuntimeError):
    """The server did not start, or answered something a benchmark step cannot go on from."""

    code = "bench_failed"


# --- the server process ---------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``uvicorn api.app:create_app --factory`` (or ``app``) on 127.0.0.1 in its own process
    group."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 1,
        app: str = "api.app:create_app",
        factory: bool = True,
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.app = app  # another app on the same uvicorn settings: the suite's bare peer
        self.factory = factory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 90.0) -> None:
        """Start the server and wait until /readyz answers 200 (BenchError on timeout)."""
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            *(["--factory"] if self.factory else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode}: {self.tail()}")
            try:
                r = httpx.get(f"{self.base_url}/readyz", timeout=2.0)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as e:
                last = str(e)
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"server not ready after {ready_timeout:.0f} s: {last}; {self.tail()}")

    def kill9(self) -> None:
        """SIGKILL the whole process group (a crash: no shutdown handlers run)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful shutdown), SIGKILL when it takes longer than ``timeout``."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
        self.proc = None

    def tail(self, chars: int = 2000) -> str:
        """The end of the server's log (for error messages)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    def request_durations(self, expect: set[str], wait_s: float = 10.0) -> dict[str, float]:
        """Server-side ms per request id, from the server's JSON access log.

        The server writes a request's line after the response has gone out, so a client can
        be done before the line of its last request is there: wait (up to ``wait_s``) until
        every expected id has its line.
        """
        deadline = time.monotonic() + wait_s
        while True:
            out = self._read_durations()
            if expect <= out.keys() or time.monotonic() >= deadline:
                return out
            time.sleep(0.05)

    def _read_durations(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with self.log_path.open("rb") as f:
            for raw in f:
                if not raw.startswith(b"{"):
                    continue
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
                if line.get("msg") == "request" and "duration_ms" in line:
                    out[str(line.get("request_id"))] = float(line["duration_ms"])
        return out


# --- what the clients send ------------------------------------------------------------------


def _jpeg(bgr: Any, quality: int = 92) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BenchError("JPEG encoding failed")
    return bytes(buf.tobytes())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclasses.dataclass
class Workload:
    """A synthetic chip with a real portrait, a CSCA folder, and pre-rendered liveness frames."""

    workdir: Path
    csca_dir: Path
    manifest: Path | None
    chip: Any  # ekyc.synth.chip.SynthChip
    neutral: list[bytes]  # JPEGs of the subject looking ahead (different noise)
    peaks: dict[str, bytes]  # action -> JPEG at the action's peak

    @classmethod
    def build(cls, workdir: Path, faces_dir: Path = FACES, pad: bool = True) -> Workload:
        """Render everything once (the clients only send bytes: no client CPU in the run)."""
        import cv2
        import numpy as np
        from cryptography.hazmat.primitives import serialization

        from ekyc.face.challenge import ACTIONS
        from ekyc.face.pipeline import FaceEngine
        from ekyc.synth import liveness as sl
        from ekyc.synth.chip import build_chip

        if not (faces_dir / LIVE_PHOTO).is_file():
            raise BenchError(f"face photos missing in {faces_dir}")
        portrait = _jpeg(cv2.imread(str(faces_dir / PORTRAIT_PHOTO)), 90)
        chip = build_chip(seed=11, aa="ec", portrait=portrait)

        csca = workdir / "csca"
        csca.mkdir(parents=True, exist_ok=True)
        pem = chip.pki.csca_cert.public_bytes(serialization.Encoding.PEM)
        (csca / "csca-vn.pem").write_bytes(pem)
        manifest = _pad_manifest(workdir) if pad else None

        photo = cv2.imread(str(faces_dir / LIVE_PHOTO))
        if photo is None:
            raise BenchError(f"cannot decode {faces_dir / LIVE_PHOTO}")
        det = FaceEngine.from_registry().detector.detect(photo)[0]
        nose = (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
        subject = sl.frame_from_photo(photo, det.box, nose)
        rng = np.random.default_rng(3)
        neutral = [_jpeg(sl.add_noise(sl.render(subject, None, 0.0), 2.0, rng)) for _ in range(4)]
        peaks = {
            str(a.value): _jpeg(sl.add_noise(sl.render(subject, a, 1.0), 2.0, rng)) for a in ACTIONS
        }
        return cls(workdir, csca, manifest, chip, neutral, peaks)

    def chip_body(self, nonce_b64: str) -> dict[str, Any]:
        """The chip step's JSON: raw files and the AA signature over the session nonce."""
        from readers.vcard.aa_card import aa_sign

        nonce = base64.b64decode(nonce_b64)
        return {
            "files": {n: _b64(d) for n, d in self.chip.files.items()},
            "aa_signature": _b64(aa_sign(self.chip.aa_key, nonce)),
        }

    def frames(self, actions: list[str]) -> list[tuple[int, bytes]]:
        """``FRAME_COUNT`` frames 100 ms apart: ahead, each action's peak, ahead again."""
        seq = [self.neutral[0]] + [self.peaks[a] for a in actions]
        seq += self.neutral[1 : 1 + FRAME_COUNT - len(seq)]
        return [(200 + 100 * i, data) for i, data in enumerate(seq[:FRAME_COUNT])]

    def frames_body(self, nonce: str, actions: list[str]) -> dict[str, Any]:
        """The liveness frames step as JSON (base64 frames and their timestamps)."""
        frames = self.frames(actions)
        return {
            "nonce": nonce,
            "frames": [_b64(d) for _, d in frames],
            "timestamps_ms": [t for t, _ in frames],
        }


def renderable(actions: list[str]) -> bool:
    """Whether the pre-rendered 5 frames can perform this challenge."""
    pairs = zip(actions, actions[1:], strict=False)
    return AVOID_ACTION not in actions and AVOID_PAIR not in pairs


def _pad_manifest(workdir: Path) -> Path | None:
    """A model manifest adding the MiniFASNet PAD models when they are in ../shared."""
    from models.face_pad import register_minifasnet
    from models.registry import default_registry

    manifest = workdir / "models.json"
    if not register_minifasnet(default_registry(manifest), PAD_DIR):
        return None
    return manifest


def server_env(work: Workload, database_url: str, var: Path) -> dict[str, str]:
    """The EKYC_* environment of a server on ``database_url`` with the face models."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env.update(
        EKYC_DATABASE_URL=database_url,
        EKYC_TRUST_STORE=str(work.csca_dir),
        EKYC_SIGNING_KEY_DIR=str(var / "signing"),
        EKYC_ENCRYPTION_KEY_FILE=str(var / "keys.json"),
        EKYC_FACE_MODELS_ENABLED="true",
        EKYC_LOG_JSON="true",
        EKYC_BACKGROUND_JOBS="false",
        EKYC_MAX_INFLIGHT_PER_KEY="0",  # every client drives one key: no per-key cap here
        PYTHONPATH=str(ROOT),
    )
    if work.manifest is not None:
        env["EKYC_MODELS_MANIFEST"] = str(work.manifest)
    return env


def create_key(database_url: str, role: str = "kiosk", rate: int = 1_000_000) -> str:
    """Migrate the database and create an API key; returns its token."""
    from ekyc.store.db import Database
    from ekyc.store.keys import ApiKeys

    db = Database(database_url)
    try:
        db.migrate()
        with db.session() as s:
            name = f"bench-{role}-{os.urandom(3).hex()}"
            return ApiKeys(s).create(name, role, dt.datetime.now(dt.UTC), rate).token
    finally:
        db.dispose()


@contextlib.contextmanager
def scratch_postgres(server_url: str, prefix: str = "ekyc_bench") -> Iterator[str]:
    """A fresh database on the server of ``server_url``, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.urandom(4).hex()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- clients --------------------------------------------------------------------------------


@dataclasses.dataclass
class Call:
    endpoint: str
    status: int
    client_ms: float
    request_id: str


class Client:
    """One benchmark client: its own connection, every call recorded."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
        self.calls: list[Call] = []

    def call(self, endpoint: str, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send one request and record its client-observed latency and request id."""
        t0 = time.perf_counter()
        r = self.http.request(method, url, **kw)
        ms = (time.perf_counter() - t0) * 1000
        self.calls.append(Call(endpoint, r.status_code, ms, r.headers.get("x-request-id", "")))
        return r

    def close(self) -> None:
        self.http.close()


def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    if r.status_code != status:
        raise BenchError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    body: dict[str, Any] = r.json()
    return body


def overhead_round(c: Client) -> None:
    """Create a session and read it back: no inference."""
    sess = _ok(
        c.call("POST /v1/sessions", "POST", "/v1/sessions", json={"procedure": PROCEDURE}), 201
    )
    _ok(c.call("GET /v1/sessions/{id}", "GET", f"/v1/sessions/{sess['id']}"))


def full_session(c: Client, work: Workload) -> dict[str, Any]:
    """Chip, liveness challenge + frames, face match; returns the outcomes and timings."""
    first = len(c.calls)
    t0 = time.perf_counter()
    sess = _ok(
        c.call("POST /v1/sessions", "POST", "/v1/sessions", json={"procedure": PROCEDURE}), 201
    )
    sid = sess["id"]
    chip = _ok(
        c.call(
            "POST .../chip", "POST", f"/v1/sessions/{sid}/chip", json=work.chip_body(sess["nonce"])
        )
    )
    for _ in range(10):
        challenge = _ok(
            c.call("POST .../liveness/challenge", "POST", f"/v1/sessions/{sid}/liveness/challenge"),
            201,
        )
        if renderable(challenge["actions"]):
            break
    body = work.frames_body(challenge["nonce"], challenge["actions"])
    live = _ok(
        c.call("POST .../liveness/frames", "POST", f"/v1/sessions/{sid}/liveness/frames", json=body)
    )
    match = c.call("POST .../face-match", "POST", f"/v1/sessions/{sid}/face-match", json={})
    return {
        "client_ms": (time.perf_counter() - t0) * 1000,
        "request_ids": [x.request_id for x in c.calls[first:]],
        "chip": chip["step"]["outcome"],
        "liveness": live["step"]["outcome"],
        "face_match": match.json().get("step", {}).get("outcome", f"http_{match.status_code}"),
        "state": (match.json().get("session") or live["session"])["state"],
    }


def _drive(
    base_url: str,
    token: str,
    clients: int,
    per_client: int,
    time_limit_s: float,
    job: Callable[[Client], dict[str, Any] | None],
) -> tuple[list[Call], list[dict[str, Any]], float]:
    """Run ``job`` ``per_client`` times on each of ``clients`` threads, stopping at the limit."""
    deadline = time.monotonic() + time_limit_s
    lock = threading.Lock()
    calls: list[Call] = []
    results: list[dict[str, Any]] = []

    def worker(_: int) -> None:
        c = Client(base_url, token)
        try:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    break
                out = job(c)
                if out is not None:
                    with lock:
                        results.append(out)
        finally:
            c.close()
            with lock:
                calls.extend(c.calls)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return calls, results, time.perf_counter() - t0


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2),
    }


def _per_endpoint(calls: list[Call], server: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ep in sorted({c.endpoint for c in calls}):
        mine = [c for c in calls if c.endpoint == ep]
        out[ep] = {
            "client_ms": _stats([c.client_ms for c in mine]),
            "server_ms": _stats([server[c.request_id] for c in mine if c.request_id in server]),
            "errors": sum(1 for c in mine if c.status >= 400),
        }
    return out


def measure_level(
    server: ServerProcess,
    token: str,
    work: Workload,
    clients: int,
    overhead_requests: int,
    sessions: int,
    time_limit_s: float,
) -> dict[str, Any]:
    """Both phases at one concurrency level."""
    per = max(1, overhead_requests // (2 * clients))
    o_calls, _, o_wall = _drive(
        server.base_url, token, clients, per, time_limit_s, lambda c: overhead_round(c)
    )
    s_calls, done, s_wall = _drive(
        server.base_url,
        token,
        clients,
        max(1, -(-sessions // clients)),
        time_limit_s,
        lambda c: full_session(c, work),
    )
    durations = server.request_durations(
        ({c.request_id for c in o_calls} | {r for s in done for r in s["request_ids"]}) - {""}
    )
    session_server = [
        sum(durations[r] for r in s["request_ids"])
        for s in done
        if all(r in durations for r in s["request_ids"])
    ]
    outcomes: dict[str, int] = {}
    for s in done:
        key = f"{s['chip']}/{s['liveness']}/{s['face_match']}->{s['state']}"
        outcomes[key] = outcomes.get(key, 0) + 1
    return {
        "clients": clients,
        "overhead": {
            "requests": len(o_calls),
            "requests_per_s": round(len(o_calls) / o_wall, 1),
            "endpoints": _per_endpoint(o_calls, durations),
        },
        "sessions": {
            "completed": len(done),
            "sessions_per_s": round(len(done) / s_wall, 3),
            "session_client_ms": _stats([s["client_ms"] for s in done]),
            "session_server_ms": _stats(session_server),
            "outcomes": outcomes,
            "endpoints": _per_endpoint(s_calls, durations),
        },
    }


def run(
    databases: dict[str, str] | None = None,
    levels: tuple[int, ...] = LEVELS,
    overhead_requests: int = 400,
    sessions: int = 16,
    time_limit_s: float = 120.0,
    workers: int = 1,
    faces_dir: Path = FACES,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Benchmark a server per database (name -> URL; ``sqlite`` = a fresh file by default)."""
    tmp = tempfile.TemporaryDirectory(prefix="ekyc-bench-") if workdir is None else None
    root = Path(tmp.name) if tmp is not None else workdir
    assert root is not None
    try:
        work = Workload.build(root, faces_dir)
        dbs = databases or {"sqlite": f"sqlite:///{root / 'bench.db'}"}
        report: dict[str, Any] = {
            "machine": describe(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "server": {
                "workers": workers,
                "pad_models": work.manifest is not None,
                "frames_per_liveness": FRAME_COUNT,
            },
            "timing": "server_ms: the server's access log (duration_ms per request id); "
            "client_ms: wall time around each HTTP call on 127.0.0.1",
            "databases": {},
        }
        for name, url in dbs.items():
            var = root / f"var-{name}"
            var.mkdir(exist_ok=True)
            token = create_key(url)
            server = ServerProcess(server_env(work, url, var), root / f"server-{name}.log", workers)
            server.start()
            try:
                report["databases"][name] = {
                    str(n): measure_level(
                        server, token, work, n, overhead_requests, sessions, time_limit_s
                    )
                    for n in levels
                }
            finally:
                server.stop()
        report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        report["floors"] = floors(report)
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()


def floors(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's floors: overhead p95 ≤ 5 ms (1 client), session p95 ≤ 1.5 s (4 clients)."""
    out: list[dict[str, Any]] = []
    for db, levels in report["databases"].items():
        if "1" in levels:
            for ep, s in levels["1"]["overhead"]["endpoints"].items():
                p95 = s["server_ms"].get("p95")
                out.append(
                    {
                        "db": db,
                        "what": f"{ep} server p95 @1 client",
                        "value_ms": p95,
                        "floor_ms": OVERHEAD_FLOOR_MS,
                        "ok": p95 is not None and p95 <= OVERHEAD_FLOOR_MS,
                    }
                )
        if "4" in levels:
            p95 = levels["4"]["sessions"]["session_server_ms"].get("p95")
            out.append(
                {
                    "db": db,
                    "what": "full session server p95 @4 clients",
                    "value_ms": p95,
                    "floor_ms": SESSION_FLOOR_MS,
                    "ok": p95 is not None and p95 <= SESSION_FLOOR_MS,
                }
            )
    return out


def print_report(report: dict[str, Any]) -> None:
    """A readable table of the report."""
    m = report["machine"]
    print(f"machine: {m['cpu']} · {m['cores']} cores · {m['memory_gib']} GiB · py {m['python']}")
    print(
        f"load average: start {report['load_average_start']} end {report.get('load_average_end')}"
        + (f" (waited {report['load_wait']['waited_s']} s)" if "load_wait" in report else "")
    )
    print(f"server: {report['server']}; {report['timing']}")
    head = f"{'db':8} {'cl':>3} {'endpoint':30} {'n':>5} {'srv p50':>8} {'p95':>8} {'p99':>8}"
    head += f" {'cli p50':>8} {'p95':>8} {'p99':>8} {'err':>4}"
    for db, levels in report["databases"].items():
        print()
        print(head)
        for n, lv in levels.items():
            for phase in ("overhead", "sessions"):
                for ep, s in lv[phase]["endpoints"].items():
                    sv, cl = s["server_ms"], s["client_ms"]
                    print(
                        f"{db:8} {n:>3} {ep:30} {cl.get('n', 0):>5} "
                        f"{sv.get('p50', '-'):>8} {sv.get('p95', '-'):>8} {sv.get('p99', '-'):>8} "
                        f"{cl.get('p50', '-'):>8} {cl.get('p95', '-'):>8} {cl.get('p99', '-'):>8} "
                        f"{s['errors']:>4}"
                    )
            ss = lv["sessions"]
            print(
                f"{db:8} {n:>3} {'= full session':30} {ss['completed']:>5} "
                f"{ss['session_server_ms'].get('p50', '-'):>8} "
                f"{ss['session_server_ms'].get('p95', '-'):>8} "
                f"{ss['session_server_ms'].get('p99', '-'):>8} "
                f"{ss['session_client_ms'].get('p50', '-'):>8} "
                f"{ss['session_client_ms'].get('p95', '-'):>8} "
                f"{ss['session_client_ms'].get('p99', '-'):>8}      "
                f"{ss['sessions_per_s']} sessions/s, {lv['overhead']['requests_per_s']} "
                f"overhead req/s; {ss['outcomes']}"
            )
    print()
    for f in report["floors"]:
        mark = "ok  " if f["ok"] else "MISS"
        print(f"{mark} {f['db']:8} {f['what']}: {f['value_ms']} ms (floor {f['floor_ms']} ms)")


def wait_for_quiet(
    max_load: float = 1.5, poll_s: float = 20.0, max_wait_s: float = 600.0
) -> dict[str, Any]:
    """Wait until the 1-minute load average is below ``max_load`` (or the wait runs out)."""
    t0 = time.monotonic()
    while True:
        load1 = os.getloadavg()[0]
        waited = time.monotonic() - t0
        if load1 < max_load or waited >= max_wait_s:
            return {"load1": round(load1, 2), "waited_s": round(waited), "quiet": load1 < max_load}
        time.sleep(min(poll_s, max_wait_s - waited))


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m benchmarks.service_load [--postgres-url URL] [--json-out FILE]``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--levels", default="1,4,16", help="concurrent clients, comma-separated")
    p.add_argument("--overhead-requests", type=int, default=400, help="per level (bounded)")
    p.add_argument("--sessions", type=int, default=16, help="full sessions per level (bounded)")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase at most")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("EKYC_TEST_POSTGRES_URL"),
        help="a PostgreSQL server (a scratch database is created and dropped)",
    )
    p.add_argument(
        "--wait-load",
        type=float,
        default=1.5,
        help="wait (≤ 10 min) for the 1-min load average below this; 0: don't",
    )
    p.add_argument("--json-out", type=Path)
    a = p.parse_args(argv)
    wait = wait_for_quiet(a.wait_load) if a.wait_load > 0 else None
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ekyc-bench-") as d:
        dbs: dict[str, str] = {}
        if not a.no_sqlite:
            dbs["sqlite"] = f"sqlite:///{Path(d) / 'bench.db'}"
        if a.postgres_url:
            dbs["postgres"] = stack.enter_context(scratch_postgres(a.postgres_url))
        report = run(
            dbs,
            tuple(int(x) for x in a.levels.split(",")),
            a.overhead_requests,
            a.sessions,
            a.time_limit,
            a.workers,
            workdir=Path(d),
        )
    if wait is not None:
        report["load_wait"] = wait
    print_report(report)
    if a.json_out:
        a.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
