"""Threshold calibration from labelled image pairs: genuine/impostor scores, FMR targets, FNMR.

A threshold for a target false-match rate (FMR) can only be read off the data when there
are at least ``1 / FMR`` impostor pairs (1e-4 needs 10,000). With fewer, the empirical FMR
resolution is ``1 / impostors``; the threshold is then the highest impostor score plus a
margin, and the operating point is flagged ``extrapolated``. The margin is the larger of a
fixed amount per missing decade of FMR and a Gaussian-tail step: the impostor scores'
standard deviation times ``z(1 - target) - z(1 - 1/impostors)``, i.e. how much further out
the target quantile lies than the highest score seen, if the tail were normal.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
import site
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ekyc.face.compare import Embedding, ModelThresholds, OperatingPoint, Thresholds, cosine
from ekyc.face.errors import CalibrationError, ImageRejected
from ekyc.face.pipeline import FaceEngine
from ekyc.face.quality import Role

DEFAULT_TARGETS = (1e-3, 1e-4)
#: margin added to the highest impostor score per decade of FMR the data cannot resolve
MARGIN_PER_DECADE = 0.03
DEV_FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".jp2", ".webp", ".bmp")


@dataclass(frozen=True)
class Pair:
    """Two image files and whether they show the same person."""

    a: Path
    b: Path
    same: bool


@dataclass(frozen=True)
class PointResult:
    """The threshold chosen for one target FMR and what it gives on the calibration set."""

    name: str
    target_fmr: float
    threshold: float
    extrapolated: bool
    empirical_fmr: float
    fnmr: float
    note: str


@dataclass(frozen=True)
class Calibration:
    """Scores of every usable pair and the operating points derived from them."""

    model_id: str
    genuine: np.ndarray
    impostor: np.ndarray
    points: tuple[PointResult, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fmr_resolution(self) -> float:
        """Smallest non-zero FMR the impostor count can show (1 / impostor pairs)."""
        return 1.0 / len(self.impostor)

    def summary(self) -> dict[str, Any]:
        """Pair counts, score ranges and operating points, as stored in the threshold file."""

        def rng(x: np.ndarray) -> dict[str, float]:
            return {
                "min": round(float(x.min()), 4),
                "median": round(float(np.median(x)), 4),
                "max": round(float(x.max()), 4),
            }

        return {
            "source": self.source,
            "genuine_pairs": len(self.genuine),
            "impostor_pairs": len(self.impostor),
            "fmr_resolution": self.fmr_resolution,
            "genuine_scores": rng(self.genuine),
            "impostor_scores": rng(self.impostor),
            "impostor_std": round(float(np.std(self.impostor)), 4),
            "margin_rule": "max(margin_per_decade * missing decades, std * (z(target) - z(1/n)))",
            "margin_per_decade": MARGIN_PER_DECADE,
            "skipped_images": [f"{p}: {why}" for p, why in self.skipped],
            "points": {
                p.name: {"empirical_fmr": p.empirical_fmr, "fnmr": p.fnmr, "note": p.note}
                for p in self.points
            },
            **self.extra,
        }

    def model_thresholds(self, default: str | None = None) -> ModelThresholds:
        """The operating points in the form the service loads."""
        ops = {
            p.name: OperatingPoint(p.name, p.threshold, p.target_fmr, p.extrapolated, p.fnmr)
            for p in self.points
        }
        resolved = [p.name for p in self.points if not p.extrapolated]
        if default is None and not resolved:
            raise CalibrationError(
                f"{len(self.impostor)} impostor pairs resolve none of the target FMRs (FMR t"
                f" needs about 3/t impostor pairs): a default decision cannot rest on them"
            )
        return ModelThresholds(self.model_id, ops, default or resolved[0], self.summary())


def point_name(fmr: float) -> str:
    """Operating point name for a target FMR, e.g. 1e-3 -> ``fmr_1e-3``."""
    exp = math.log10(fmr)
    if abs(exp - round(exp)) < 1e-9:
        return f"fmr_1e{round(exp)}"
    return f"fmr_{fmr:g}"


def threshold_at_fmr(
    impostor: np.ndarray, target: float, margin_per_decade: float = MARGIN_PER_DECADE
) -> tuple[float, bool]:
    """Lowest threshold whose empirical FMR is <= target, or an extrapolation; (t, extrapolated)."""
    n = len(impostor)
    desc = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]
    if n * target >= 1.0:
        allowed = math.floor(n * target + 1e-9)  # impostors that may score at or above t
        return float(np.nextafter(desc[allowed], np.inf)), False
    decades = math.log10((1.0 / n) / target)
    z = statistics.NormalDist().inv_cdf
    tail = float(np.std(desc)) * (z(1.0 - target) - z(1.0 - 1.0 / n)) if n > 1 else 0.0
    margin = max(margin_per_decade * decades, tail)
    return min(float(desc[0]) + margin, 1.0), True


def operating_points(
    genuine: np.ndarray,
    impostor: np.ndarray,
    targets: Sequence[float] = DEFAULT_TARGETS,
    margin_per_decade: float = MARGIN_PER_DECADE,
) -> tuple[PointResult, ...]:
    """Threshold, empirical FMR and FNMR at each target FMR."""
    if len(genuine) == 0 or len(impostor) == 0:
        raise CalibrationError("calibration needs at least one genuine and one impostor pair")
    out = []
    for target in targets:
        t, extrapolated = threshold_at_fmr(impostor, target, margin_per_decade)
        fmr = float(np.mean(impostor >= t))
        fnmr = float(np.mean(genuine < t))
        if extrapolated:
            note = (
                f"{len(impostor)} impostor pairs resolve FMR down to {1 / len(impostor):.2g} only; "
                f"FMR {target:g} needs >= {math.ceil(1 / target)}: threshold = max impostor "
                f"score {impostor.max():.4f} + margin (extrapolated)"
            )
        else:
            note = f"read off {len(impostor)} impostor pairs"
        out.append(PointResult(point_name(target), target, t, extrapolated, fmr, fnmr, note))
    return tuple(out)


def calibrate(
    pairs: Sequence[Pair] | Sequence[tuple[Path, Path, bool]],
    engine: FaceEngine,
    targets: Sequence[float] = DEFAULT_TARGETS,
    role: Role = "selfie",
    margin_per_decade: float = MARGIN_PER_DECADE,
    source: str = "",
) -> Calibration:
    """Embed every image once, score every pair and derive thresholds at each target FMR."""
    norm = [p if isinstance(p, Pair) else Pair(Path(p[0]), Path(p[1]), bool(p[2])) for p in pairs]
    cache: dict[Path, Embedding | None] = {}
    skipped: dict[str, str] = {}

    def template(path: Path) -> Embedding | None:
        if path not in cache:
            cache[path] = None
            try:
                analysis = engine.analyse_bytes(path.read_bytes(), role)
            except (OSError, ImageRejected) as e:
                skipped[str(path)] = getattr(e, "code", type(e).__name__)
                return None
            if analysis.embedding is None:
                skipped[str(path)] = "no_face"
            cache[path] = analysis.embedding
        return cache[path]

    genuine: list[float] = []
    impostor: list[float] = []
    for pair in norm:
        ea, eb = template(pair.a), template(pair.b)
        if ea is None or eb is None:
            continue
        (genuine if pair.same else impostor).append(cosine(ea.vector, eb.vector))
    g, i = np.array(genuine), np.array(impostor)
    points = operating_points(g, i, targets, margin_per_decade)
    return Calibration(
        engine.embedder.model_id, g, i, points, tuple(sorted(skipped.items())), source
    )


def read_pairs_csv(path: Path) -> list[Pair]:
    """Read ``path_a,path_b,same`` rows (same: 1/0, true/false); relative paths from the file."""
    base = Path(path).parent
    pairs = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#") or row[0] == "path_a":
                continue
            if len(row) != 3:
                raise CalibrationError(f"{path}: expected 3 columns, got {row!r}")
            flag = row[2].strip().lower()
            if flag not in ("1", "0", "true", "false", "same", "different"):
                raise CalibrationError(f"{path}: bad 'same' value {row[2]!r}")
            pairs.append(
                Pair(base / row[0].strip(), base / row[1].strip(), flag in ("1", "true", "same"))
            )
    return pairs


def _identity(path: Path) -> str:
    return path.name.split("__", 1)[0]


def development_pairs(faces_dir: Path = DEV_FACES, extra_images: Iterable[Path] = ()) -> list[Pair]:
    """Genuine and impostor pairs from the shared dev photos (and unlabelled extra images).

    Genuine: two files with the same ``IDENTITY__`` prefix; impostor: different prefixes.
    ``multi__`` files are left out; byte-identical files count once; the four
    ``obama-*p.jpg`` resolution copies of one photo count as one image (the largest).
    Each extra image (e.g. found in installed packages) is assumed to be a person of its
    own and only forms impostor pairs.
    """
    seen: set[str] = set()
    images: list[Path] = []
    resolution_copies = sorted(faces_dir.glob("obama__obama-*p.jpg"))
    keep_copy = max(resolution_copies, key=lambda p: p.stat().st_size, default=None)
    for p in sorted(faces_dir.glob("*__*")):
        if p.suffix.lower() not in IMAGE_SUFFIXES or p.name.startswith("multi__"):
            continue
        if p in resolution_copies and p != keep_copy:
            continue
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        images.append(p)
    pairs = [Pair(a, b, _identity(a) == _identity(b)) for a, b in itertools.combinations(images, 2)]
    for x in extra_images:
        pairs.extend(Pair(x, p, False) for p in images)
    return pairs


def package_images(roots: Iterable[Path] | None = None) -> list[Path]:
    """Image files shipped inside installed packages (candidates for extra impostor images)."""
    if roots is None:
        roots = [Path(p) for p in site.getsitepackages() + [site.getusersitepackages()]]
        roots = [r for r in roots if r.is_dir() and str(r).startswith(sys.prefix)]
    found: list[Path] = []
    for root in roots:
        found.extend(
            p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
    return sorted(found)


def face_images(paths: Iterable[Path], engine: FaceEngine) -> list[Path]:
    """Keep the images in which the engine finds exactly one face that passes the gate."""
    out = []
    for p in paths:
        try:
            analysis = engine.analyse_bytes(p.read_bytes(), "selfie")
        except (OSError, ImageRejected):
            continue
        if analysis.usable and len(analysis.faces) == 1:
            out.append(p)
    return out


def write_thresholds(
    calibrations: Sequence[Calibration],
    path: Path,
    base: Thresholds | None = None,
    default: str | None = None,
) -> Thresholds:
    """Write a threshold file holding every model of ``base`` updated by the calibrations."""
    models = dict(base.models) if base is not None else {}
    for c in calibrations:
        models[c.model_id] = c.model_thresholds(default)
    th = Thresholds(models)
    th.save(path)
    return th


def development_calibration(engine: FaceEngine, faces_dir: Path = DEV_FACES) -> Calibration:
    """Calibrate on the shared dev photos plus any face images found in installed packages."""
    extra = face_images(package_images(), engine)
    pairs = development_pairs(faces_dir, extra)
    images = {p.a for p in pairs} | {p.b for p in pairs}
    source = (
        f"development set: {len(images)} images from {faces_dir.name}/ "
        f"({len(extra)} face images found in installed packages); far too small for "
        "production: recalibrate on the deployment's own labelled pairs"
    )
    return calibrate(pairs, engine, source=source)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ekyc.face.calibrate [PAIRS.csv] --out FILE``: calibrate and write thresholds."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m ekyc.face.calibrate")
    parser.add_argument("pairs", nargs="?", type=Path, help="CSV of path_a,path_b,same")
    parser.add_argument("--out", type=Path, required=True, help="threshold file to write")
    args = parser.parse_args(argv)
    # thresholds are not needed to compute scores: start from an empty table
    engine = FaceEngine.from_registry(thresholds=Thresholds({}))
    if args.pairs is None:
        cal = development_calibration(engine)
    else:
        cal = calibrate(read_pairs_csv(args.pairs), engine, source=str(args.pairs))
    write_thresholds([cal], args.out)
    print(json.dumps(cal.summary(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
