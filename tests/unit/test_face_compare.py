"""Cosine comparison, per-model thresholds, threshold files and the calibration arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ekyc.face.calibrate import (
    development_pairs,
    operating_points,
    point_name,
    read_pairs_csv,
    threshold_at_fmr,
)
from ekyc.face.compare import (
    Embedding,
    ModelThresholds,
    OperatingPoint,
    Thresholds,
    compare,
    cosine,
)
from ekyc.face.errors import (
    CalibrationError,
    ModelMismatch,
    ThresholdFileError,
    ThresholdNotFound,
)
from tests.support import FACES


def _table() -> Thresholds:
    ops = {
        "fmr_1e-3": OperatingPoint("fmr_1e-3", 0.30, 1e-3),
        "fmr_1e-4": OperatingPoint("fmr_1e-4", 0.40, 1e-4, extrapolated=True),
    }
    return Thresholds({"m1": ModelThresholds("m1", ops, "fmr_1e-3")})


def _unit(v: list[float]) -> np.ndarray:
    a = np.array(v, np.float32)
    return a / np.linalg.norm(a)


def test_cosine() -> None:
    assert cosine(np.array([1.0, 0]), np.array([3.0, 0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0]), np.array([0, 2.0])) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        cosine(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError):
        cosine(np.ones(2), np.ones(3))


def test_decision_at_named_operating_points() -> None:
    a = Embedding(_unit([1, 0]), "m1")
    b = Embedding(_unit([0.35, np.sqrt(1 - 0.35**2)]), "m1")  # cosine 0.35
    r = compare(a, b, _table())
    assert r.operating_point == "fmr_1e-3" and r.threshold == 0.30
    assert r.decision == "match" and r.matched and r.score == pytest.approx(0.35, abs=1e-6)
    assert (r.model_id_a, r.model_id_b) == ("m1", "m1")
    strict = compare(a, b, _table(), "fmr_1e-4")
    assert strict.decision == "no_match" and strict.threshold == 0.40 and strict.extrapolated


def test_refuses_different_models() -> None:
    with pytest.raises(ModelMismatch) as e:
        compare(Embedding(_unit([1, 0]), "m1"), Embedding(_unit([1, 0]), "m2"), _table())
    assert e.value.code == "model_mismatch"


def test_unknown_model_or_point() -> None:
    x = Embedding(_unit([1, 0]), "other")
    with pytest.raises(ThresholdNotFound):
        compare(x, x, _table())
    y = Embedding(_unit([1, 0]), "m1")
    with pytest.raises(ThresholdNotFound):
        compare(y, y, _table(), "fmr_1e-9")


def test_threshold_file_round_trip_and_validation(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    _table().save(p)
    back = Thresholds.load(p)
    assert back.get("m1", "fmr_1e-4").threshold == 0.40 and back.get("m1").name == "fmr_1e-3"
    doc = json.loads(p.read_text())
    doc["models"]["m1"]["operating_points"]["fmr_1e-3"]["threshold"] = 7
    p.write_text(json.dumps(doc))
    with pytest.raises(ThresholdFileError):
        Thresholds.load(p)
    p.write_text('{"format": "something else"}')
    with pytest.raises(ThresholdFileError):
        Thresholds.load(p)
    with pytest.raises(ThresholdFileError):
        Thresholds.load(tmp_path / "missing.json")


def test_point_names() -> None:
    assert point_name(1e-3) == "fmr_1e-3" and point_name(1e-4) == "fmr_1e-4"


def test_threshold_read_off_when_enough_impostors() -> None:
    imp = np.linspace(0.0, 0.5, 2000)
    t, extrapolated = threshold_at_fmr(imp, 1e-3)
    assert not extrapolated
    assert int((imp >= t).sum()) == 2  # 1e-3 of 2000
    assert t > imp[-3]


def test_threshold_extrapolated_when_too_few_impostors() -> None:
    imp = np.random.default_rng(1).normal(0.1, 0.06, 53)
    t3, e3 = threshold_at_fmr(imp, 1e-3)
    t4, e4 = threshold_at_fmr(imp, 1e-4)
    assert e3 and e4
    assert imp.max() < t3 < t4 <= 1.0
    gen = np.array([0.2, 0.5, 0.8, 0.9])
    pts = operating_points(gen, imp, (1e-3, 1e-4))
    assert [p.name for p in pts] == ["fmr_1e-3", "fmr_1e-4"]
    assert all(p.extrapolated and "10000" in pts[1].note for p in pts)
    assert pts[0].empirical_fmr == 0.0
    assert pts[0].fnmr == pytest.approx(float(np.mean(gen < t3)))


def test_calibration_needs_both_kinds() -> None:
    with pytest.raises(CalibrationError):
        operating_points(np.array([0.9]), np.array([]))


def test_read_pairs_csv(tmp_path: Path) -> None:
    p = tmp_path / "pairs.csv"
    p.write_text("path_a,path_b,same\na.jpg,b.jpg,1\n# comment\nc.jpg,d.jpg,false\n")
    pairs = read_pairs_csv(p)
    assert [(x.a.name, x.b.name, x.same) for x in pairs] == [
        ("a.jpg", "b.jpg", True),
        ("c.jpg", "d.jpg", False),
    ]
    assert pairs[0].a.parent == tmp_path
    p.write_text("a.jpg,b.jpg,maybe\n")
    with pytest.raises(CalibrationError):
        read_pairs_csv(p)


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_development_pairs() -> None:
    pairs = development_pairs(FACES)
    names = {p.a.name for p in pairs} | {p.b.name for p in pairs}
    assert not any(n.startswith("multi__") for n in names)
    assert len([n for n in names if n.startswith("obama__obama-")]) == 1
    assert len({"biden__biden.jpg", "biden__knn_train.jpg"} & names) == 1  # same bytes
    assert all((p.a.name.split("__")[0] == p.b.name.split("__")[0]) == p.same for p in pairs)
    assert sum(p.same for p in pairs) == 13 and sum(not p.same for p in pairs) == 53


def test_default_threshold_file_records_its_calibration() -> None:
    th = Thresholds.load()
    entry = th.models["sface-2021dec-int8bq"]
    cal = entry.calibration
    assert cal["genuine_pairs"] >= 10 and cal["impostor_pairs"] >= 50
    op3, op4 = th.get(entry.model_id, "fmr_1e-3"), th.get(entry.model_id, "fmr_1e-4")
    assert op3.extrapolated and op4.extrapolated  # too few impostors to resolve either
    assert cal["impostor_scores"]["max"] < op3.threshold < op4.threshold
    assert op4.threshold < cal["genuine_scores"]["min"]


def test_an_extrapolated_point_is_never_the_default(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    _table().save(p)
    doc = json.loads(p.read_text())
    doc["models"]["m1"]["default_operating_point"] = "fmr_1e-4"  # the extrapolated one
    p.write_text(json.dumps(doc))
    with pytest.raises(ThresholdFileError, match="extrapolated"):
        Thresholds.load(p)
    doc["models"]["m1"]["default_operating_point"] = "fmr_1e-3"
    doc["models"]["m1"]["operating_points"]["fmr_1e-3"]["kind"] = "guessed"
    p.write_text(json.dumps(doc))
    with pytest.raises(ThresholdFileError, match="kind"):
        Thresholds.load(p)


def test_shipped_default_rests_on_evidence_each_point_cited() -> None:
    th = Thresholds.load()
    entry = th.models["sface-2021dec-int8bq"]
    default = th.get(entry.model_id)
    assert default.kind == "measured" and default.threshold > 0.363  # above the LFW point
    for op in entry.operating_points.values():
        assert op.source, op.name  # every threshold says where it comes from
    assert th.get(entry.model_id, "publisher_lfw").kind == "published"
    assert "OpenCV Zoo" in th.get(entry.model_id, "publisher_lfw").source
