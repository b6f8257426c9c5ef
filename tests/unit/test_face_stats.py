"""Error-rate statistics of the face thresholds (ekyc.face.stats)."""

from __future__ import annotations

import numpy as np
import pytest

from ekyc.face.stats import (
    clopper_pearson,
    eer,
    fmr_at,
    fnmr_at,
    pairs_to_resolve,
    zero_error_upper,
)
from tests.support import FACES


@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [  # reference values: scipy.stats.binomtest(k, n).proportion_ci(method="exact")
        (0, 10, 0.0, 0.308497),
        (5, 10, 0.187086, 0.812914),
        (3, 572, 0.001083, 0.015250),
        (10, 10, 0.691503, 1.0),
    ],
)
def test_clopper_pearson_matches_the_exact_interval(
    k: int, n: int, lower: float, upper: float
) -> None:
    lo, hi = clopper_pearson(k, n)
    assert lo == pytest.approx(lower, abs=2e-6) and hi == pytest.approx(upper, abs=2e-6)


def test_what_n_impostor_pairs_can_resolve() -> None:
    assert zero_error_upper(572) == pytest.approx(3 / 572, rel=0.01)  # the rule of three
    assert pairs_to_resolve(1e-3) == 2995  # FMR 1e-3 needs ~3,000 rejected impostors
    with pytest.raises(ValueError):
        clopper_pearson(11, 10)


def test_rates_and_eer() -> None:
    genuine, impostor = np.array([0.7, 0.8, 0.35]), np.array([0.1, 0.2, 0.4, 0.3])
    assert fmr_at(impostor, 0.363).errors == 1 and fnmr_at(genuine, 0.363).errors == 1
    rate, threshold = eer(genuine, impostor)
    assert 0.0 < rate < 0.5 and 0.3 <= threshold <= 0.7


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_threshold_report_on_the_development_pairs() -> None:
    from benchmarks.face_thresholds import run

    r = run([])
    assert r["genuine_pairs"] == 13 and r["impostor_pairs"] == 53
    assert r["smallest_fmr_bounded"] == pytest.approx(zero_error_upper(53), abs=1e-6)
    default = next(p for p in r["points"].values() if p["default"])
    assert default["kind"] == "measured"
    assert default["fmr"]["errors"] == 0 and default["fnmr"]["trials"] == 13
    assert default["fnmr"]["ci95"][1] > 0.2  # 13 genuine pairs cannot resolve FNMR
