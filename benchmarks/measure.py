"""How the suite times things: warm-up, repetitions until the median is stable, the summary.

``repeat`` runs a call a few times untimed (warm-up: lazy initialisation, caches, the first
ONNX Runtime run that plans its memory), then times it until at least ``min_runs`` samples
are in and the 95 % confidence interval of the median (from order statistics, no normality
assumed) is within ``rel_ci`` of the median, or the time or run budget is spent. The summary
says whether it got there (``stable``), so a figure measured on a noisy machine says so.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: samples kept in the results document per stage (for the distribution plots)
MAX_KEPT_SAMPLES = 400


@dataclass(frozen=True)
class Budget:
    """How long to time one call: runs and seconds, and how stable the median must be."""

    warmup: int = 3
    min_runs: int = 20
    max_runs: int = 500
    max_seconds: float = 10.0
    rel_ci: float = 0.02
    #: the fewest runs a scaled (slow-call) budget keeps
    floor_runs: int = 8

    def scaled(self, factor: float) -> Budget:
        """The budget of a slow call: ``factor`` times the runs (never under ``floor_runs``),
        the same seconds."""
        low = max(self.floor_runs, round(self.min_runs * factor))
        return Budget(
            self.warmup,
            low,
            max(low, round(self.max_runs * factor)),
            self.max_seconds,
            self.rel_ci,
            self.floor_runs,
        )


FULL = Budget()
QUICK = Budget(warmup=1, min_runs=5, max_runs=40, max_seconds=0.6, rel_ci=0.05, floor_runs=2)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median_ci95(values: list[float]) -> tuple[float, float]:
    """Distribution-free 95 % interval of the median: order statistics n/2 ± 0.98·√n."""
    ordered = sorted(values)
    n = len(ordered)
    half = 0.98 * math.sqrt(n)  # 1.96 * sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return ordered[lo], ordered[hi]


def _stable(values: list[float], rel_ci: float) -> bool:
    lo, hi = median_ci95(values)
    med = statistics.median(values)
    return med > 0 and (hi - lo) / 2 <= rel_ci * med


def summarise(values: list[float], unit: str = "ms", rel_ci: float = FULL.rel_ci) -> dict[str, Any]:
    """n, p50, p95, p99, min, max, mean, the median's 95 % interval and whether it is stable."""
    if not values:
        return {"n": 0, "unit": unit}
    lo, hi = median_ci95(values)
    return {
        "n": len(values),
        "unit": unit,
        "p50": round(statistics.median(values), 4),
        "p95": round(percentile(values, 95), 4),
        "p99": round(percentile(values, 99), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "mean": round(statistics.fmean(values), 4),
        "p50_ci95": [round(lo, 4), round(hi, 4)],
        "stable": len(values) >= 5 and _stable(values, rel_ci),
    }


def repeat(
    fn: Callable[[], object],
    budget: Budget = FULL,
    tick: Callable[[], None] | None = None,
) -> list[float]:
    """Milliseconds of each timed call of ``fn`` after ``budget.warmup`` untimed ones."""
    for _ in range(budget.warmup):
        fn()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < budget.max_runs:
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
        if tick is not None:
            tick()
        if len(samples) < budget.min_runs:
            continue
        if time.perf_counter() - started >= budget.max_seconds:
            break
        if len(samples) % 5 == 0 and _stable(samples, budget.rel_ci):
            break
    return samples


def stage(samples: list[float], unit: str = "ms", **extra: Any) -> dict[str, Any]:
    """A stage entry of the results: its summary and (a thinned copy of) its samples."""
    kept = samples
    if len(samples) > MAX_KEPT_SAMPLES:
        step = len(samples) / MAX_KEPT_SAMPLES
        kept = [samples[int(i * step)] for i in range(MAX_KEPT_SAMPLES)]
    return {**summarise(samples, unit), "samples": [round(v, 4) for v in kept], **extra}
