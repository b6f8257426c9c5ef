"""Build the largest labelled face-pair set this machine can reach, as a pairs CSV.

``python -m benchmarks.face_pairs --out DIR [--source NAME=PATH ...]``

Every face is cropped (with margin) out of its photo into ``DIR/faces/`` and
``DIR/pairs.csv`` lists ``path_a,path_b,same`` rows for ``ekyc face calibrate``;
``DIR/faces.csv`` lists each crop with its identity and origin. Nothing here is shipped
or committed: the images stay where they were found (licences differ per source).

Identity labels, and what they rest on:

- ``../shared/data/faces`` (``IDENTITY__name.jpg``): the named person (``multi__`` files are
  skipped: their faces are not labelled one by one);
- named single-face files of other sources (see ``NAMED``): the named person;
- every face of a group photo: a person of its own. Two faces of one photo are two different
  people (certain); an unnamed face and a face of another photo are *assumed* different
  people (these are public sample photos of unrelated people: the assumption can be wrong,
  so the builder prints every impostor pair scoring >= 0.5 for a person to look at).
  Sources in ``ONE_CIRCLE`` are photo series of one group of people (the face-api demo
  photos show the same women in several photos: a pair across two of them scored 0.61 and
  looks like one person), so pairs between two of *their* photos are left out: unknown.

Leave ``@vladmandic/human`` out of a set you report: its ``assets/samples.jpg`` is a
collage of demo screenshots in which one woman appears twice (raw and under the overlay),
so its "within one photo" pairs are not certain impostors (that pair scores 0.535).

Near-duplicate crops (the same photo at another size or bit depth: cosine >= 0.97 between
two crops of one identity) count once. Augmenting an identity (flips, blur, JPEG) makes no
new pairs: augmentations are not independent photos and never impostors.

Where the sources come from (all public, none shipped): the development photos; the
sdist of ``face_recognition`` 1.3.0 (MIT; ``tests/test_images``); the wheel of
``insightface`` 2.1 (``insightface/data/images``); the wheel of ``scikit-image``
(``skimage/data/astronaut.png``, public domain, NASA); the npm packages
``@vladmandic/face-api`` (``demo/sample*.jpg``) and ``@vladmandic/human``
(``assets/samples.jpg``). Fetch them into a throwaway folder, e.g.::

    pip download --no-deps -d /tmp/f scikit-image insightface
    pip download --no-deps --no-binary :all: -d /tmp/f face-recognition
    (cd /tmp/f && npm pack @vladmandic/face-api @vladmandic/human)

unpack them, and name each folder with ``--source``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEV_FACES = ROOT.parent / "shared" / "data" / "faces"
SUFFIXES = (".jpg", ".jpeg", ".png")
#: single-face files of the package sources whose person is known: file name -> identity
NAMED = {
    "obama.jpg": "obama",
    "obama2.jpg": "obama",
    "obama3.jpg": "obama",
    "obama_partial_face.jpg": "obama",
    "obama_partial_face2.jpg": "obama",
    "32bit.png": "obama",
    "biden.jpg": "biden",
    "Tom_Hanks_54745.png": "tom_hanks",
    "astronaut.png": "eileen_collins",
}
#: files that are not photos of faces (masks to paste, screenshots, icons)
SKIP = ("mask_", "screenshot", "facemesh", "icon", "logo")
DUPLICATE_COSINE = 0.85
FLAG_IMPOSTOR = 0.5
#: sources whose photos may show the same unnamed people again: cross-photo pairs unknown
ONE_CIRCLE = ("faceapi",)


@dataclass(frozen=True)
class Face:
    """One face crop: where it came from, whose it is, its template."""

    crop: Path
    identity: str
    origin: str
    certain_group: str  # faces sharing this key are certainly different people
    vector: np.ndarray


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The face box enlarged 2.2x (the detector needs context), at least 320 px on a side."""
    x, y, w, h = box
    cx, cy, side = x + w / 2, y + h / 2, 2.2 * max(w, h)
    x0, y0 = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
    x1, y1 = int(min(cx + side / 2, image.shape[1])), int(min(cy + side / 2, image.shape[0]))
    crop = image[y0:y1, x0:x1]
    scale = 320 / max(min(crop.shape[:2]), 1)
    if scale > 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return crop


def collect(sources: dict[str, Path], out: Path, engine: object) -> list[Face]:
    """Detect, crop, label and embed every face of every source image."""
    from ekyc.face.align import align

    det, emb = engine.detector, engine.embedder  # type: ignore[attr-defined]
    (out / "faces").mkdir(parents=True, exist_ok=True)
    faces: list[Face] = []
    seen: set[str] = set()
    for name, root in sources.items():
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
        for path in files:
            if any(s in path.name.lower() for s in SKIP):
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                continue
            if name == "dev":
                identity = path.name.split("__", 1)[0]
                if identity == "multi":
                    continue
            else:
                identity = NAMED.get(path.name, "")
            boxes = list(det.detect(image))
            if not boxes or (identity and len(boxes) != 1):
                continue  # a named file must hold its one person only
            for k, f in enumerate(boxes):
                who = identity or f"{name}:{path.stem}#{k}"
                vec = emb.embed(align(image, f.landmarks)[None])[0]
                vec = np.asarray(vec, np.float64) / np.linalg.norm(vec)
                crop = out / "faces" / f"{name}__{path.stem}__{k}.png"
                cv2.imwrite(str(crop), _crop(image, f.box))
                faces.append(Face(crop, who, f"{name}/{path.name}", f"{name}/{path.name}", vec))
    return _dedupe(faces)


def _dedupe(faces: list[Face]) -> list[Face]:
    """Drop a crop that repeats an earlier crop of the same identity (cosine >= 0.85)."""
    kept: list[Face] = []
    for f in faces:
        if any(
            k.identity == f.identity and float(k.vector @ f.vector) >= DUPLICATE_COSINE
            for k in kept
        ):
            continue
        kept.append(f)
    return kept


def write(faces: list[Face], out: Path) -> dict[str, int]:
    """Write faces.csv and pairs.csv (every pair of kept faces); return the counts."""
    with (out / "faces.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["crop", "identity", "origin"])
        for f in faces:
            w.writerow([f.crop.relative_to(out), f.identity, f.origin])
    counts = {"genuine": 0, "impostor": 0, "impostor_certain": 0, "flagged": 0, "unknown": 0}
    with (out / "pairs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path_a", "path_b", "same"])
        for a, b in itertools.combinations(faces, 2):
            same = a.identity == b.identity
            source_a, source_b = a.origin.split("/")[0], b.origin.split("/")[0]
            if (
                not same
                and source_a == source_b in ONE_CIRCLE
                and a.certain_group != b.certain_group
            ):
                counts["unknown"] += 1
                continue
            w.writerow([a.crop.relative_to(out), b.crop.relative_to(out), int(same)])
            if same:
                counts["genuine"] += 1
                continue
            counts["impostor"] += 1
            counts["impostor_certain"] += a.certain_group == b.certain_group
            score = float(a.vector @ b.vector)
            if score >= FLAG_IMPOSTOR:
                counts["flagged"] += 1
                print(f"check by eye: impostor {a.origin} / {b.origin} scores {score:.3f}")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Build DIR/pairs.csv from the development photos and every --source folder."""
    from ekyc.face.compare import Thresholds
    from ekyc.face.pipeline import FaceEngine

    parser = argparse.ArgumentParser(prog="python -m benchmarks.face_pairs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", action="append", default=[], help="NAME=FOLDER")
    args = parser.parse_args(argv)
    sources = {"dev": DEV_FACES} if DEV_FACES.is_dir() else {}
    for s in args.source:
        name, _, folder = s.partition("=")
        sources[name] = Path(folder)
    engine = FaceEngine.from_registry(thresholds=Thresholds({}))
    faces = collect(sources, args.out, engine)
    counts = write(faces, args.out)
    ids = {f.identity for f in faces}
    print(
        f"{len(faces)} faces, {len(ids)} identities, {counts['genuine']} genuine pairs, "
        f"{counts['impostor']} impostor pairs ({counts['impostor_certain']} within one photo), "
        f"{counts['flagged']} impostor pairs >= {FLAG_IMPOSTOR} to check, "
        f"{counts['unknown']} pairs of unknown label left out",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
