"""Faces embedded per second on a running Serve application, from concurrent callers.

``python -m benchmarks.ray_embeds --address HOST:PORT --app NAME --clients 16 --crops 400``
joins the cluster as a driver, sends ``--crops`` single-crop embed calls from ``--clients``
threads through the Ray backend's client (what an API process does for each face) and prints
one JSON object: embeds per second, per-call latency, and the batch sizes the Face replica
saw meanwhile (its ``stats`` before and after). Run in its own process by the service suite,
once against an application with batching on and once against one with it off, so the
benchmark process itself never joins a Ray cluster.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import percentile

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
PHOTOS = ("obama__obama.jpg", "obama__obama2.jpg", "obama__obama-480p.jpg", "biden__biden.jpg")


def crops(faces_dir: Path = FACES) -> list[np.ndarray]:
    """Aligned 112×112 face crops of the development photos (the local detector)."""
    import cv2

    from ekyc.face.pipeline import FaceEngine

    engine = FaceEngine.from_registry()
    out = []
    for name in PHOTOS:
        image = cv2.imread(str(faces_dir / name))
        if image is None:
            raise FileNotFoundError(faces_dir / name)
        aligned = engine.analyse(image, embed=False).aligned_rgb
        if aligned is not None:
            out.append(aligned)
    return out


def _batch_sizes(stats: dict[str, Any]) -> Counter[int]:
    return Counter({int(k): int(v) for k, v in stats.get("batch_sizes", {}).items()})


def measure(address: str, app: str, clients: int, count: int) -> dict[str, Any]:
    from ekyc.inference.ray_backend import FACE, RayClient

    faces = crops()
    client = RayClient(address, app, timeout_s=60.0)
    client.ensure_connected(wait_s=60)
    for c in faces:  # warm: connection, handle, the replica's first run
        client.call(FACE, "embed", c[None])
    before = _batch_sizes(client.stats(FACE))
    latencies: list[float] = []

    def one(i: int) -> None:
        t0 = time.perf_counter()
        client.call(FACE, "embed", faces[i % len(faces)][None])
        latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - t0
    after = client.stats(FACE)
    seen = _batch_sizes(after) - before
    calls = sum(seen.values())
    return {
        "app": app,
        "clients": clients,
        "crops": count,
        "max_batch_size": after.get("max_batch_size"),
        "embeds_per_s": round(count / wall, 1),
        "call_ms": {
            "p50": round(percentile(latencies, 50), 2),
            "p95": round(percentile(latencies, 95), 2),
        },
        "model_calls": calls,
        "mean_batch": round(count / calls, 2) if calls else None,
        "batch_sizes": {str(k): v for k, v in sorted(seen.items())},
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--address", required=True)
    p.add_argument("--app", default="ekyc-inference")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--crops", type=int, default=400)
    a = p.parse_args(argv)
    print(json.dumps(measure(a.address, a.app, a.clients, a.crops)))


if __name__ == "__main__":
    main()
