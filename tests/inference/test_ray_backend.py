"""The Ray Serve backend against the in-process one, and how its failures reach a caller.

One ``ekyc inference serve`` (a local Ray cluster in a subprocess, started by the launcher)
serves the whole module; this process joins it as a driver. For the same inputs the remote
face detector / embedder / PAD, OCR engine and copy comparer must answer exactly what the
local models answer. Failures must come back as the inference 503s, soon: a cluster that is
not there, an application deleted or killed, a full queue, a call past its deadline. Through
the HTTP API (a real server process with ``EKYC_INFERENCE=ray``) a full session runs end to
end and a face comparison answers the local score.

The last tests delete the application and kill the cluster: they run in file order, last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.support import FACES, PAD_DIR, read_face

pytest.importorskip("ray.serve", reason="Ray Serve is not installed (pip install -e '.[ray]')")

pytestmark = [
    pytest.mark.ray,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing"),
]

PHOTOS = ("obama__obama.jpg", "obama__obama2.jpg", "obama__obama-480p.jpg", "biden__biden.jpg")
#: the module's application: small queues on Compare so a few calls overload it, a batch
#: window wide enough that concurrent embeddings from this process's threads meet
FACE_OPTIONS = {"max_batch_size": 8, "batch_wait_timeout_s": 0.05}
COMPARE_OPTIONS = {"max_ongoing_requests": 1, "max_queued_requests": 1}


# --- comparing results ---------------------------------------------------------------------

IGNORED = {"timings_ms", "timings"}  # wall times: never equal twice


def same(a: Any, b: Any, where: str = "result") -> None:
    """Assert ``a`` and ``b`` are equal field by field, arrays exactly, times left out."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
        for f in dataclasses.fields(a):
            if f.name not in IGNORED:
                same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{where}: array vs {type(b).__name__}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b}"
        assert np.array_equal(a, b), f"{where}: arrays differ (max {np.abs(a - b).max()})"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {a.keys()} {b}"
        for k in a:
            if k not in IGNORED:
                same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


# --- the application and this process as its driver ----------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A model manifest with the MiniFASNet PAD models (None when ../shared lacks them)."""
    from models.face_pad import register_minifasnet
    from models.registry import default_registry

    path = tmp_path_factory.mktemp("models") / "manifest.json"
    return path if register_minifasnet(default_registry(path), PAD_DIR, "dev copy") else None


@pytest.fixture(scope="module")
def serve_app(manifest: Path | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ekyc.inference.launcher import start_serve

    env = {
        "EKYC_RAY_FACE": json.dumps(FACE_OPTIONS),
        "EKYC_RAY_COMPARE": json.dumps(COMPARE_OPTIONS),
        "EKYC_FACE_MODELS_ENABLED": "true",
    }
    if manifest is not None:
        env["EKYC_MODELS_MANIFEST"] = str(manifest)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with start_serve(env=env, timeout=240, log_path=log) as app:
        yield app


@pytest.fixture(scope="module")
def settings(manifest: Path | None) -> Any:
    from ekyc.settings import Settings

    return Settings(models_manifest=manifest, face_models_enabled=True)


@pytest.fixture(scope="module")
def client(serve_app: Any, settings: Any) -> Iterator[Any]:
    """A RayClient of the application, this test process joined to the cluster as a driver."""
    import ray

    from ekyc.inference.ray_backend import RayClient

    c = RayClient(serve_app.address, serve_app.app, timeout_s=60.0)
    c.ensure_connected(wait_s=60)
    yield c
    ray.shutdown()


@pytest.fixture(scope="module")
def local_face(settings: Any) -> Any:
    from ekyc.inference.local import build_face

    return build_face(settings)


@pytest.fixture(scope="module")
def remote_face(client: Any, settings: Any) -> Any:
    from ekyc.inference.ray_backend import remote_face

    return remote_face(client, settings)


@pytest.fixture(scope="module")
def local_ocr() -> Any:
    from ekyc.inference.local import LazyOcr

    return LazyOcr("default")


@pytest.fixture(scope="module")
def card() -> Any:
    from ekyc.synth.card import render_card
    from ekyc.synth.chip import sample_citizen

    return render_card(sample_citizen(3), "front", "cccd2021", 3)


# --- identity ------------------------------------------------------------------------------


def test_face_detect_embed_pad_compare_answer_what_the_local_models_answer(
    local_face: Any, remote_face: Any, manifest: Path | None
) -> None:
    assert remote_face.detector.model_id == local_face.detector.model_id
    assert remote_face.embedder.model_id == local_face.embedder.model_id
    assert remote_face.embedder.dim == local_face.embedder.dim
    analyses = {}
    for name in PHOTOS:
        image = read_face(name)
        same(local_face.detector.detect(image), remote_face.detector.detect(image), name)
        here, there = local_face.analyse(image), remote_face.analyse(image)
        same(here, there, f"analyse({name})")
        assert there.embedding is not None
        analyses[name] = (here, there)
        if manifest is not None:
            box = tuple(float(v) for v in here.subject.box)  # type: ignore[union-attr]
            assert remote_face.pad is not None and local_face.pad is not None
            same(local_face.pad.score(image, box), remote_face.pad.score(image, box), "pad")
    for a in PHOTOS:
        for b in PHOTOS:
            local = local_face.compare(analyses[a][0], analyses[b][0], require_quality=False)
            remote = remote_face.compare(analyses[a][1], analyses[b][1], require_quality=False)
            same(local, remote, f"compare({a}, {b})")
    assert remote_face.compare(*(analyses[n][1] for n in PHOTOS[:2])).matched
    # several crops in one call come back in order, each as alone
    crops = np.stack([analyses[n][0].aligned_rgb for n in PHOTOS])
    same(local_face.embedder.embed(crops), remote_face.embedder.embed(crops), "embed(4)")


def test_a_model_error_crosses_back_as_the_same_exception(
    local_face: Any, remote_face: Any
) -> None:
    bad = np.zeros((2, 50, 50, 3), np.uint8)  # not 112×112 crops
    with pytest.raises(Exception) as here:
        local_face.embedder.embed(bad)
    with pytest.raises(Exception) as there:
        remote_face.embedder.embed(bad)
    assert type(there.value) is type(here.value)
    assert str(there.value) == str(here.value)


def test_ocr_read_read_lines_and_card_reading_answer_what_the_local_engine_answers(
    client: Any, local_ocr: Any, card: Any
) -> None:
    from ekyc.document.fields import read_card
    from ekyc.inference.ray_backend import RemoteOcrLoader

    here, there = local_ocr(), RemoteOcrLoader(client)()
    assert there.name == here.name
    assert (there.detector is None) == (here.detector is None)
    image = card.image_bgr
    lines = here.read(image)
    assert any(b.text for b in lines)
    same(lines, there.read(image), "read")
    quads = [b.quad for b in lines[:6]]
    same(here.read_lines(image, quads), there.read_lines(image, quads), "read_lines")
    readings = [lines[0].text, lines[0].text + "x"]
    same(
        here.score_line(image, quads[0], readings),
        there.score_line(image, quads[0], readings),
        "score_line",
    )
    if here.detector is not None:
        same(here.detector.detect(image), there.detector.detect(image), "detect")
    local_reading = read_card(image, here)
    assert local_reading.fields.get("id_number") == card.fields["id_number"]
    same(local_reading, read_card(image, there), "read_card")


def test_copy_comparison_answers_what_the_local_comparer_answers(
    client: Any, local_face: Any, local_ocr: Any, card: Any
) -> None:
    from ekyc.inference.ray_backend import RemoteComparer
    from ekyc.synth import degrade
    from ekyc.verification.service import document_comparer

    local = document_comparer(local_face, local_ocr)
    assert local is not None
    original, copy = card.image_bgr, degrade.photocopy(card.image_bgr, seed=1)
    here = local([original], [copy])
    same(here, RemoteComparer(client)([original], [copy]), "compare")


# --- batching ------------------------------------------------------------------------------


def test_concurrent_embeddings_are_batched_and_give_the_same_vectors(
    client: Any, local_face: Any, remote_face: Any
) -> None:
    from ekyc.inference.ray_backend import FACE

    crops = [local_face.analyse(read_face(n)).aligned_rgb for n in PHOTOS]
    jobs = [crops[i % len(crops)] for i in range(32)]
    expected = [local_face.embedder.embed(c[None]) for c in jobs]
    before = Counter(client.stats(FACE)["batch_sizes"])
    start = threading.Barrier(len(jobs))

    def embed(crop: np.ndarray) -> np.ndarray:
        start.wait(timeout=30)
        out: np.ndarray = remote_face.embedder.embed(crop[None])
        return out

    with ThreadPoolExecutor(len(jobs)) as pool:
        got = list(pool.map(embed, jobs))
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        same(e, g, f"embedding {i}")
    after = Counter({int(k): v for k, v in client.stats(FACE)["batch_sizes"].items()})
    seen = after - Counter({int(k): v for k, v in before.items()})
    assert sum(k * v for k, v in seen.items()) == len(jobs), seen
    assert max(seen) > 1, f"no batch of more than one crop: {dict(seen)}"
    assert max(seen) <= FACE_OPTIONS["max_batch_size"]


# --- failures ------------------------------------------------------------------------------


def test_a_full_queue_is_inference_overloaded(client: Any, card: Any) -> None:
    from ekyc.inference.errors import InferenceOverloaded
    from ekyc.inference.ray_backend import RemoteComparer

    compare = RemoteComparer(client)
    page = card.image_bgr
    start = threading.Barrier(6)

    def one(_: int) -> str:
        start.wait(timeout=30)
        t0 = time.monotonic()
        try:
            compare([page], [page])
        except InferenceOverloaded as e:
            assert e.retry_after == client.retry_after
            assert time.monotonic() - t0 < 5, "refused only after waiting"
            return "overloaded"
        return "answered"

    with ThreadPoolExecutor(6) as pool:
        outcomes = Counter(pool.map(one, range(6)))
    # one running, one queued (max_ongoing_requests 1, max_queued_requests 1): the rest refused
    assert outcomes["overloaded"] >= 3 and outcomes["answered"] >= 1, outcomes


def test_a_call_past_its_deadline_is_inference_timeout(serve_app: Any, card: Any) -> None:
    from ekyc.inference.errors import InferenceTimeout
    from ekyc.inference.ray_backend import COMPARE, RayClient, RemoteComparer

    slow = RayClient(serve_app.address, serve_app.app, timeout_s=0.3)
    t0 = time.monotonic()
    with pytest.raises(InferenceTimeout) as e:
        RemoteComparer(slow)([card.image_bgr], [card.image_bgr])  # about a second of work
    assert 0.3 <= time.monotonic() - t0 < 3.0
    assert e.value.code == "inference_timeout" and e.value.retry_after == slow.retry_after
    assert slow.health(COMPARE) is None  # a slow backend is not a dead one


def _status(address: str) -> tuple[int, dict[str, Any]]:
    """``ekyc inference status --address ADDRESS`` in its own process: exit code, JSON."""
    import subprocess
    import sys

    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "ekyc.cli", "inference", "status", "--address", address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_inference_status_reports_each_deployment(serve_app: Any) -> None:
    code, status = _status(serve_app.address)
    assert code == 0 and status["healthy"] is True, status
    face = status["deployments"]["Face"]
    assert face["describe"]["max_batch_size"] == FACE_OPTIONS["max_batch_size"]
    assert face["stats"]["embed_requests"] > 0  # the tests above ran on it
    assert status["deployments"]["Ocr"]["describe"]["name"]
    assert status["deployments"]["Compare"]["describe"]["installed"] is True


# --- through the HTTP API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from benchmarks.service_load import Workload

    return Workload.build(tmp_path_factory.mktemp("work"))


def _server(work: Any, tmp: Path, extra: dict[str, str]) -> Any:
    from benchmarks.service_load import ServerProcess, create_key, server_env

    url = f"sqlite:///{tmp / 'api.db'}"
    env = server_env(work, url, tmp)
    env.update(extra)
    server = ServerProcess(env, tmp / "api.log")
    server.start(ready_timeout=120)
    server.token = create_key(url, "kiosk")  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def api(
    serve_app: Any, work: Any, manifest: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """An API server process on the Ray backend."""
    extra = {**serve_app.env(), "EKYC_INFERENCE_TIMEOUT_SECONDS": "60"}
    if manifest is not None:
        extra["EKYC_MODELS_MANIFEST"] = str(manifest)
    server = _server(work, tmp_path_factory.mktemp("api"), extra)
    try:
        deadline = time.monotonic() + 60
        while True:  # ready before it joined the cluster: wait until it has
            inference = httpx.get(f"{server.base_url}/readyz", timeout=5).json()["inference"]
            assert inference["backend"] == "ray"
            if inference["connected"]:
                break
            assert time.monotonic() < deadline, inference
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


def _compare_faces(server: Any, a: str, b: str, timeout: float = 90.0) -> httpx.Response:
    files = {"a": (a, (FACES / a).read_bytes(), "image/jpeg"),
             "b": (b, (FACES / b).read_bytes(), "image/jpeg")}  # fmt: skip
    return httpx.post(
        f"{server.base_url}/v1/faces/compare",
        files=files,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=timeout,
    )


def test_a_full_session_and_a_face_comparison_over_http(
    api: Any, work: Any, local_face: Any
) -> None:
    from benchmarks.service_load import Client, full_session

    c = Client(api.base_url, api.token)
    try:
        s = full_session(c, work)
    finally:
        c.close()
    assert (s["chip"], s["face_match"]) == ("pass", "pass"), s
    assert s["liveness"] in ("pass", "review") and s["state"] in ("approved", "review"), s

    r = _compare_faces(api, PHOTOS[0], PHOTOS[1])
    assert r.status_code == 200, r.text
    here = local_face.compare(
        local_face.analyse(read_face(PHOTOS[0])), local_face.analyse(read_face(PHOTOS[1]))
    )
    body = r.json()
    assert body["score"] == here.score and body["decision"] == here.decision == "match"
    assert body["model_id"] == here.model_id_a


def _assert_unavailable(r: httpx.Response, elapsed: float, within: float) -> dict[str, Any]:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == "inference_unavailable", body
    assert int(r.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
    assert elapsed < within, f"answered after {elapsed:.1f} s"
    return body


def test_no_cluster_at_the_address_is_503_inference_unavailable_soon(
    work: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from benchmarks.service_load import free_port

    extra = {
        "EKYC_INFERENCE": "ray",
        "EKYC_RAY_ADDRESS": f"127.0.0.1:{free_port()}",  # nothing listens there
        "EKYC_INFERENCE_TIMEOUT_SECONDS": "60",
    }
    server = _server(work, tmp_path_factory.mktemp("api-nocluster"), extra)
    try:
        ready = httpx.get(f"{server.base_url}/readyz", timeout=5)
        assert ready.status_code == 200  # the rest of the service works without Ray
        assert ready.json()["inference"]["connected"] is False
        for _ in range(2):  # the first call waits for the connection attempt, the next not
            t0 = time.monotonic()
            r = _compare_faces(server, PHOTOS[0], PHOTOS[1])
            _assert_unavailable(r, time.monotonic() - t0, within=15.0)
        t0 = time.monotonic()
        r = _compare_faces(server, PHOTOS[0], PHOTOS[1])
        _assert_unavailable(r, time.monotonic() - t0, within=8.0)
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_a_deleted_application_then_a_killed_cluster_are_503_soon(
    api: Any, serve_app: Any, client: Any
) -> None:
    """Runs last: it takes the module's application down."""
    import ray
    from ray import serve

    assert _compare_faces(api, PHOTOS[0], PHOTOS[2]).status_code == 200  # warm, connected
    serve.delete(serve_app.app)
    t0 = time.monotonic()
    r = _compare_faces(api, PHOTOS[0], PHOTOS[2])
    _assert_unavailable(r, time.monotonic() - t0, within=10.0)
    code, status = _status(serve_app.address)
    assert code == 1 and status["healthy"] is False and "Face" in status["problems"], status

    ray.shutdown()  # this process leaves the cluster before it goes
    os.killpg(serve_app.process.pid, signal.SIGKILL)  # the command and its whole cluster
    serve_app.stop()
    for _ in range(2):
        t0 = time.monotonic()
        r = _compare_faces(api, PHOTOS[0], PHOTOS[2])
        _assert_unavailable(r, time.monotonic() - t0, within=10.0)
    assert httpx.get(f"{api.base_url}/healthz", timeout=5).status_code == 200
