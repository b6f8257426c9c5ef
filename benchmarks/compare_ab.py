"""Before/after timing of copy vs original: two source trees, interleaved on the same pairs.

Each tree runs in its own worker process (its root first on ``sys.path``, one thread); the
driver sends every pair to both, alternating which goes first, so load on a shared machine
falls on both alike. Reports CPU-time and wall-time p50/p95 per card side and per A4 page and
whether every verdict (verdict, why, differences' regions and reasons) is identical.

    python -m benchmarks.compare_ab /tmp/before . --seed 0 --pairs 0-14,16
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import cv2
cv2.setNumThreads(1)
import benchmarks.copy_compare as cc
for line in sys.stdin:
    kind, i, seed = json.loads(line)
    c0, w0 = time.process_time(), time.perf_counter()
    s = cc._pair(kind, i, seed)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    key = [s["verdict"], s["why"], sorted((d["region"], d["reason"]) for d in s["differences"])]
    print(json.dumps({"family": s["family"], "key": key, "cpu": cpu, "wall": wall}), flush=True)
"""


def _pairs(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _start(tree: str) -> subprocess.Popen[str]:
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    root = str(Path(tree).resolve())
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, root],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _ask(p: subprocess.Popen[str], job: list[Any]) -> dict[str, Any]:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(json.dumps(job) + "\n")
    p.stdin.flush()
    return dict(json.loads(p.stdout.readline()))


def _stats(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"p50 {np.percentile(xs, 50):.2f} s  p95 {np.percentile(xs, 95):.2f} s  (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pairs", default="0-14,16", help="pair indices per tamper kind, e.g. 0-14,16")
    ap.add_argument("--kinds", default="char,date,portrait,line_removed,honest")
    args = ap.parse_args()
    procs = {"before": _start(args.before), "after": _start(args.after)}
    rows: dict[str, dict[str, dict[str, list[float]]]] = {}
    same, n = 0, 0
    for k, (kind, i) in enumerate(
        (kind, i) for i in _pairs(args.pairs) for kind in args.kinds.split(",")
    ):
        order = ["before", "after"] if k % 2 == 0 else ["after", "before"]
        got = {name: _ask(procs[name], [kind, i, args.seed]) for name in order}
        n += 1
        same += got["before"]["key"] == got["after"]["key"]
        if got["before"]["key"] != got["after"]["key"]:
            print(f"DIFFERENT {kind} {i}: {got['before']['key']} vs {got['after']['key']}")
        for name, r in got.items():
            fam = rows.setdefault(r["family"], {}).setdefault(name, {"cpu": [], "wall": []})
            fam["cpu"].append(r["cpu"])
            fam["wall"].append(r["wall"])
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    for family, by in sorted(rows.items()):
        for name in ("before", "after"):
            cpu, wall = _stats(by[name]["cpu"]), _stats(by[name]["wall"])
            print(f"{family:5} {name:6} cpu {cpu}   wall {wall}")
    print(f"verdicts identical: {'yes' if same == n else 'no'} ({same}/{n})")


if __name__ == "__main__":
    main()
