"""Service suite: the HTTP service on loopback (SQLite, 1 worker) at several client counts.

Built on benchmarks.service_load: per concurrency level, the no-inference phase (create a
session, read it back) and full sessions (chip + liveness challenge + 5 frames + face match).
Server times come from the server's own access log (per request id), client times from the
wall time around each call. Peer: a bare FastAPI app (``benchmarks.hello_app``) under the
same uvicorn settings, driven by the same clients: ``GET /hello`` against the service's
``GET /v1/sessions/{id}``. The breakdown is one full session at 1 client, step by step.

Inference backends: the same full sessions at 1/4/16 clients against a server on the Ray
backend (``ekyc inference serve`` on a local Ray cluster, started here), next to the local
backend's figures of the same run; and faces embedded per second by 16 concurrent callers on
a Serve application with ``@serve.batch`` on, then on one with it off (``--no-batching``),
both in the same cluster (``benchmarks.ray_embeds``, in its own process), with the local
embedder one crop at a time as the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fastapi
import httpx

from benchmarks import service_load as sl
from benchmarks.measure import stage
from benchmarks.suite import peers
from benchmarks.suite.context import Context

READ = "GET /v1/sessions/{id}"
SESSION_STEPS = (
    "POST /v1/sessions",
    "POST .../chip",
    "POST .../liveness/challenge",
    "POST .../liveness/frames",
    "POST .../face-match",
)


def _hello(c: sl.Client) -> None:
    r = c.call("GET /hello", "GET", "/hello")
    if r.status_code != 200:
        raise sl.BenchError(f"hello answered {r.status_code}")


def _hello_server(ctx: Context) -> sl.ServerProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env["PYTHONPATH"] = str(sl.ROOT)
    return sl.ServerProcess(env, ctx.workdir / "hello.log", 1, "benchmarks.hello_app:app", False)


def run(ctx: Context) -> dict[str, Any]:
    levels = sl.LEVELS  # 1/4/16 also under --quick: the backends are compared at each
    requests = ctx.pick(40, 400)
    sessions = ctx.pick(2, 16)
    root = ctx.workdir / "service"
    root.mkdir(exist_ok=True)
    with ctx.track("service: rendering the workload", None):
        work = sl.Workload.build(root)
    url = f"sqlite:///{root / 'bench.db'}"
    token = sl.create_key(url)
    var = root / "var"
    var.mkdir(exist_ok=True)
    server = sl.ServerProcess(sl.server_env(work, url, var), root / "server.log", 1)
    by_level: dict[int, dict[str, Any]] = {}
    with ctx.track("service: starting the server", None):
        server.start()
    try:
        for n in levels:
            with ctx.track(f"service: {n} client(s)", None):
                by_level[n] = _level(server, token, work, n, requests, sessions)
    finally:
        server.stop()
    ray_part, ray_skipped = _ray_backend(ctx, work, root, requests, sessions)
    hello = _hello_server(ctx)
    hello_levels: dict[int, dict[str, Any]] = {}
    with ctx.track("service peer: bare FastAPI hello", None):
        hello.start()
        try:
            for n in levels:
                per = max(1, requests // n)
                calls, _, wall = sl._drive(hello.base_url, "-", n, per, 120.0, _hello)
                hello_levels[n] = {"calls": calls, "per_s": len(calls) / wall}
        finally:
            hello.stop()
    section = _section(by_level, hello_levels, levels, work)
    _add_ray(section, by_level, ray_part, ray_skipped)
    return section


#: reservations of each Serve application here: two of them (batching on, off) share the
#: local cluster, which has os.cpu_count() CPUs (2 on the development machine)
RAY_ENV = {
    "EKYC_RAY_FACE": json.dumps({"num_cpus": 0.5}),
    "EKYC_RAY_OCR": json.dumps({"num_cpus": 0.25}),
    "EKYC_RAY_COMPARE": json.dumps({"num_cpus": 0.25}),
}
EMBED_CLIENTS = 16


def _ray_backend(
    ctx: Context, work: sl.Workload, root: Path, requests: int, sessions: int
) -> tuple[dict[str, Any] | None, str | None]:
    """Full sessions on the Ray backend at 1/4/16 clients, embeds/s with batching on and
    off; (None, why) when Ray Serve is not installed or does not start."""
    try:
        import ray.serve  # noqa: F401

        from ekyc.inference.launcher import start_serve
    except ImportError as e:
        return None, f"Ray Serve is not installed (pip install -e '.[ray]'): {e}"
    env = dict(RAY_ENV)
    if work.manifest is not None:
        env["EKYC_MODELS_MANIFEST"] = str(work.manifest)
    crops = ctx.pick(160, 480)
    out: dict[str, Any] = {"levels": {}, "embeds": {}}
    with ctx.track("service (ray): starting ekyc inference serve", None):
        t0 = time.perf_counter()
        try:
            app = start_serve(env=env, log_path=root / "serve.log")
        except RuntimeError as e:
            return None, f"ekyc inference serve did not start: {str(e)[-400:]}"
        out["serve_start_s"] = round(time.perf_counter() - t0, 1)
    try:
        url = f"sqlite:///{root / 'bench-ray.db'}"
        token = sl.create_key(url)
        var = root / "var-ray"
        var.mkdir(exist_ok=True)
        server_env = {**sl.server_env(work, url, var), **app.env()}
        server = sl.ServerProcess(server_env, root / "server-ray.log", 1)
        with ctx.track("service (ray): starting the server", None):
            server.start()
            _wait_joined(server)
        try:
            for n in sl.LEVELS:
                with ctx.track(f"service (ray): {n} client(s)", None):
                    out["levels"][n] = _level(server, token, work, n, requests // 4, sessions)
        finally:
            server.stop()
        with ctx.track("service (ray): embeds/s, batching on", None):
            out["embeds"]["batched"] = _embeds(app.address, app.app, crops)
        off_env = {**env, "EKYC_RAY_APP_NAME": f"{app.app}-nobatch"}
        with ctx.track("service (ray): embeds/s, batching off", None):
            off = start_serve(["--address", app.address, "--no-batching"], env=off_env,
                              log_path=root / "serve-nobatch.log")  # fmt: skip
            try:
                out["embeds"]["unbatched"] = _embeds(off.address, off.app, crops)
            finally:
                off.stop()
    finally:
        app.stop()
    out["embeds"]["local"] = _local_embeds(ctx)
    return out, None


def _wait_joined(server: sl.ServerProcess, timeout: float = 60.0) -> None:
    """Until the server's /readyz says it has joined the Ray cluster."""
    deadline = time.monotonic() + timeout
    while True:
        info = httpx.get(f"{server.base_url}/readyz", timeout=5).json().get("inference", {})
        if info.get("connected"):
            return
        if time.monotonic() > deadline:
            raise sl.BenchError(f"the server did not join the Ray cluster: {info}")
        time.sleep(0.2)


def _embeds(address: str, app: str, crops: int) -> dict[str, Any]:
    """benchmarks.ray_embeds in its own process (it joins the cluster as a driver)."""
    cmd = [sys.executable, "-m", "benchmarks.ray_embeds", "--address", address, "--app", app,
           "--clients", str(EMBED_CLIENTS), "--crops", str(crops)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(sl.ROOT)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        cmd, cwd=sl.ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise sl.BenchError(f"ray_embeds failed: {done.stderr[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _local_embeds(ctx: Context) -> dict[str, Any]:
    """The in-process embedder, one crop per call on one thread: the reference."""
    from benchmarks.ray_embeds import crops
    from ekyc.face.pipeline import FaceEngine

    engine = FaceEngine.from_registry()
    faces = crops()
    n = ctx.pick(160, 480)
    for c in faces:
        engine.embedder.embed(c[None])
    t0 = time.perf_counter()
    for i in range(n):
        engine.embedder.embed(faces[i % len(faces)][None])
    return {"crops": n, "clients": 1, "embeds_per_s": round(n / (time.perf_counter() - t0), 1)}


def _add_ray(
    section: dict[str, Any],
    local: dict[int, dict[str, Any]],
    ray: dict[str, Any] | None,
    skipped: str | None,
) -> None:
    """The Ray part into the section: stages, throughput rows, figures, a backends table."""
    if ray is None:
        section.setdefault("skipped_parts", {})["ray"] = skipped or "not run"
        return
    stages, figures = section["stages"], section["figures"]
    rows = []
    for n, lv in ray["levels"].items():
        st = stage([x["client_ms"] for x in lv["sessions"]])
        stages[f"full session (Ray backend) @{n} clients (client)"] = st
        here = local.get(n)
        local_st = stage([x["client_ms"] for x in here["sessions"]]) if here else {}
        rows.append(
            {
                "clients": n,
                "local sessions/s": round(here["sessions_per_s"], 3) if here else None,
                "ray sessions/s": round(lv["sessions_per_s"], 3),
                "local session p95 ms": local_st.get("p95"),
                "ray session p95 ms": st.get("p95"),
                "ray outcomes": lv["outcomes"],
                "ray errors": lv["errors"],
            }
        )
        figures[f"sessions_per_s_ray@{n}"] = {
            "value": round(lv["sessions_per_s"], 3),
            "unit": "1/s",
            "better": "higher",
            "label": f"full sessions/s at {n} client(s), Ray backend",
        }
        for row in section["throughput"]["levels"]:
            if row["clients"] == n:
                row["full sessions/s (Ray backend)"] = round(lv["sessions_per_s"], 3)
    for kind, e in ray["embeds"].items():
        figures[f"embeds_per_s_{kind}"] = {
            "value": e["embeds_per_s"],
            "unit": "1/s",
            "better": "higher",
            "label": f"faces embedded per second, {kind}"
            + (f" ({e['clients']} concurrent callers)" if kind != "local" else " (in-process)"),
        }
    section["backends"] = {
        "about": "full sessions (chip + challenge + 5 liveness frames + face match), SQLite, "
        "1 uvicorn worker; local: the models in the server process; ray: ekyc inference serve "
        "on a local Ray cluster on the same machine (1 replica per deployment)",
        "serve_start_s": ray["serve_start_s"],
        "levels": rows,
        "embeds": ray["embeds"],
    }
    section["detail"]["ray"] = {
        str(n): {"outcomes": lv["outcomes"], "errors": lv["errors"]}
        for n, lv in ray["levels"].items()
    }


def _level(
    server: sl.ServerProcess, token: str, work: sl.Workload, n: int, requests: int, sessions: int
) -> dict[str, Any]:
    per = max(1, requests // (2 * n))
    # one untimed round and session first (connections, caches, the first inference)
    warm = sl.Client(server.base_url, token)
    try:
        sl.overhead_round(warm)
        if n == 1:
            sl.full_session(warm, work)
    finally:
        warm.close()
    o_calls, _, o_wall = sl._drive(
        server.base_url, token, n, per, 120.0, lambda c: sl.overhead_round(c)
    )
    s_calls, done, s_wall = sl._drive(
        server.base_url, token, n, max(1, -(-sessions // n)), 300.0,
        lambda c: sl.full_session(c, work),
    )  # fmt: skip
    ids = {c.request_id for c in o_calls + s_calls} - {""}
    durations = server.request_durations(ids)
    outcomes: dict[str, int] = {}
    for s in done:
        key = f"{s['chip']}/{s['liveness']}/{s['face_match']}->{s['state']}"
        outcomes[key] = outcomes.get(key, 0) + 1
    return {
        "overhead_calls": o_calls,
        "overhead_per_s": len(o_calls) / o_wall,
        "session_calls": s_calls,
        "sessions": done,
        "sessions_per_s": len(done) / s_wall,
        "durations": durations,
        "outcomes": outcomes,
        "errors": sum(1 for c in o_calls + s_calls if c.status >= 400 and c.status != 422),
    }


def _section(
    by_level: dict[int, dict[str, Any]],
    hello: dict[int, dict[str, Any]],
    levels: tuple[int, ...],
    work: sl.Workload,
) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    one = by_level[levels[0]]
    dur = one["durations"]
    for ep in ("POST /v1/sessions", READ):
        mine = [c for c in one["overhead_calls"] if c.endpoint == ep]
        stages[f"{ep} (client)"] = stage([c.client_ms for c in mine])
        stages[f"{ep} (server)"] = stage([dur[c.request_id] for c in mine if c.request_id in dur])
    for ep in SESSION_STEPS[1:]:
        mine = [c for c in one["session_calls"] if c.endpoint == ep]
        stages[f"{ep} (server)"] = stage([dur[c.request_id] for c in mine if c.request_id in dur])
    stages["full session (client)"] = stage([s["client_ms"] for s in one["sessions"]])
    for n in levels[1:]:
        lv = by_level[n]
        stages[f"full session @{n} clients (client)"] = stage(
            [s["client_ms"] for s in lv["sessions"]]
        )
        mine = [c for c in lv["overhead_calls"] if c.endpoint == READ]
        stages[f"{READ} @{n} clients (client)"] = stage([c.client_ms for c in mine])
    hello_one = stage([c.client_ms for c in hello[levels[0]]["calls"]])
    stages["hello peer (client)"] = hello_one

    steps = []
    for ep in SESSION_STEPS:
        st = [
            dur[c.request_id]
            for c in one["session_calls"]
            if c.endpoint == ep and c.request_id in dur
        ]
        if st:
            steps.append({"name": ep + f" ×{len(st) // max(len(one['sessions']), 1)}",
                          "ms": round(sum(st) / max(len(one["sessions"]), 1), 2)})  # fmt: skip
    client = stages["full session (client)"].get("p50") or 0.0
    server_sum = sum(s["ms"] for s in steps)
    if client > server_sum:
        steps.append({"name": "HTTP, JSON and client (rest)", "ms": round(client - server_sum, 2)})
    throughput: dict[str, Any] = {
        "about": "SQLite, 1 uvicorn worker, loopback; clients on threads of this process",
        "levels": [
            {
                "clients": n,
                "service no-inference requests/s": round(by_level[n]["overhead_per_s"], 2),
                "bare FastAPI hello requests/s": round(hello[n]["per_s"], 2),
                "full sessions/s": round(by_level[n]["sessions_per_s"], 3),
            }
            for n in levels
        ],
    }
    figures: dict[str, Any] = {}
    for row in throughput["levels"]:
        for key, label in (
            ("service no-inference requests/s", "no_inference_rps"),
            ("full sessions/s", "sessions_per_s"),
        ):
            figures[f"{label}@{row['clients']}"] = {
                "value": row[key],
                "unit": "1/s",
                "better": "higher",
                "label": f"{key} at {row['clients']} client(s)",
            }
    peer_rows = [
        peers.entry(
            "fastapi.hello",
            f"{READ} (client)",
            stages[f"{READ} (client)"],
            "bare FastAPI/uvicorn GET /hello",
            hello_one,
            f"1 client, same uvicorn settings; FastAPI "
            f"{fastapi.__version__}, httpx {httpx.__version__}",
        )
    ]
    for n in levels:
        rps = by_level[n]["overhead_per_s"]
        peer_rows.append(
            {
                "id": f"fastapi.hello_rps@{n}",
                "project": f"no-inference requests/s @{n}",
                "peer": "bare FastAPI hello requests/s",
                "project_ms": {},
                "peer_ms": {},
                "ratio": round(hello[n]["per_s"] / rps, 3) if rps else None,
                "ratio_means": "hello throughput / service throughput; > 1: the service is slower",
                "note": f"{n} client(s)",
            }
        )
    return {
        "input": "a synthetic chip with a real portrait, 5 pre-rendered liveness frames"
        f" (PAD models: {work.manifest is not None}); SQLite",
        "stages": stages,
        "peers": peer_rows,
        "breakdown": {
            "about": f"one full session at {levels[0]} client: server time per step (mean of"
            f" {len(one['sessions'])} sessions), the rest of the client's median",
            "steps": steps,
        },
        "throughput": throughput,
        "detail": {
            str(n): {"outcomes": by_level[n]["outcomes"], "errors": by_level[n]["errors"]}
            for n in levels
        },
        "figures": figures,
    }
