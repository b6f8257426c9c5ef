"""Error-rate statistics for face calibration: exact binomial intervals, resolvability, EER.

Clopper–Pearson intervals are exact (conservative) binomial intervals: with ``k`` errors in
``n`` independent trials the two-sided 95% interval is ``[B(0.025; k, n-k+1),
B(0.975; k+1, n-k)]`` for the beta quantile ``B``. Pairs that share an image are not
independent, so on a pair set built from few images the true uncertainty is larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


def _log_binom_pmf(i: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if i == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if i == n else -math.inf
    return (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
    )


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (exact for n up to ~1e6)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    logs = [_log_binom_pmf(i, n, p) for i in range(k + 1)]
    top = max(logs)
    if top == -math.inf:
        return 0.0
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _solve(f: object, target: float) -> float:
    """p in [0, 1] with f(p) == target for f decreasing in p (bisection, 1e-12)."""
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) > target:  # type: ignore[operator]
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact two-sided interval for a proportion of ``k`` in ``n`` (``(0, 1)`` when n == 0)."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"k={k} not in [0, n={n}]")
    alpha = 1.0 - confidence
    # lower: P(X >= k | p) = alpha/2, i.e. cdf(k-1) = 1 - alpha/2; upper: cdf(k) = alpha/2
    lower = 0.0 if k == 0 else _solve(lambda p: binom_cdf(k - 1, n, p), 1.0 - alpha / 2)
    upper = 1.0 if k == n else _solve(lambda p: binom_cdf(k, n, p), alpha / 2)
    return lower, upper


def zero_error_upper(n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided upper bound on a rate when ``n`` trials showed no error (≈ 3/n at 95%)."""
    return 1.0 if n <= 0 else 1.0 - (1.0 - confidence) ** (1.0 / n)


def pairs_to_resolve(target: float, confidence: float = CONFIDENCE) -> int:
    """Impostor pairs needed, all rejected, to bound FMR below ``target`` (rule of three)."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-target))


@dataclass(frozen=True)
class Rate:
    """Errors out of trials, the proportion and its Clopper–Pearson interval."""

    errors: int
    trials: int

    @property
    def value(self) -> float | None:
        """errors / trials, None without trials."""
        return None if self.trials == 0 else self.errors / self.trials

    @property
    def interval(self) -> tuple[float, float]:
        """Two-sided 95% Clopper–Pearson interval."""
        return clopper_pearson(self.errors, self.trials)

    def to_json(self) -> dict[str, object]:
        """``{"errors", "trials", "rate", "ci95"}`` rounded for reports."""
        lo, hi = self.interval
        return {
            "errors": self.errors,
            "trials": self.trials,
            "rate": None if self.value is None else round(self.value, 6),
            "ci95": [round(lo, 6), round(hi, 6)],
        }


def fmr_at(impostor: np.ndarray, threshold: float) -> Rate:
    """False matches: impostor pairs scoring at or above the threshold."""
    return Rate(int(np.sum(np.asarray(impostor) >= threshold)), len(impostor))


def fnmr_at(genuine: np.ndarray, threshold: float) -> Rate:
    """False non-matches: genuine pairs scoring below the threshold."""
    return Rate(int(np.sum(np.asarray(genuine) < threshold)), len(genuine))


def eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(equal error rate, threshold there): where FMR and FNMR cross over all score cuts."""
    g, i = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
    if len(g) == 0 or len(i) == 0:
        raise ValueError("EER needs genuine and impostor scores")
    cuts = np.unique(np.concatenate([g, i, [np.inf]]))
    fmr = np.array([np.mean(i >= t) for t in cuts])
    fnmr = np.array([np.mean(g < t) for t in cuts])
    k = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[k] + fnmr[k]) / 2), float(cuts[k])
