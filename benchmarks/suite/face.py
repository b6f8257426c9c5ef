"""Face suite: decode, detect, align, embed, PAD; 1:1 verify; 10-frame liveness; peers.

Input: the development photos (../shared/data/faces) as a camera would send them, 640×480
JPEG. Peers on the same images: each model's raw ONNX Runtime time on the tensors the stage
feeds it, and OpenCV's own pipeline (``cv2.FaceDetectorYN`` + ``cv2.FaceRecognizerSF``) on
the same YuNet and SFace files when the installed OpenCV loads them (else the reason).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.face import _jpeg_640x480, _liveness_times
from benchmarks.measure import stage
from benchmarks.suite import peers
from benchmarks.suite.context import Context
from benchmarks.suite.runner import FACES
from ekyc.face.align import align
from ekyc.face.image import decode_image
from ekyc.face.pipeline import FaceEngine
from models.face_pad import register_minifasnet
from models.graph_fixes import apply_fixes
from models.registry import ModelRegistry, default_registry

PAD_DIR = FACES.parents[1] / "models" / "minifasnet"


def _registry(ctx: Context) -> tuple[ModelRegistry, bool]:
    manifest = Path(tempfile.mkdtemp(dir=ctx.workdir)) / "models.json"
    registry = default_registry(manifest)
    pad = register_minifasnet(registry, PAD_DIR, "minivision (dev copy)")
    return registry, pad


def run(ctx: Context) -> dict[str, Any]:
    registry, pad_present = _registry(ctx)
    engine = FaceEngine.from_registry(registry, ctx.runtime())
    cv2.setNumThreads(ctx.threads)
    a_bytes = _jpeg_640x480(FACES / "obama__obama.jpg")
    b_bytes = _jpeg_640x480(FACES / "obama__obama2.jpg")
    image = decode_image(a_bytes)
    face = engine.detector.detect(image)[0]
    aligned = align(image, face.landmarks)
    samples: dict[str, list[float]] = {
        "decode": ctx.time("face: decode", lambda: decode_image(a_bytes)),
        "detect": ctx.time("face: detect", lambda: engine.detector.detect(image)),
        "align": ctx.time("face: align", lambda: align(image, face.landmarks)),
        "embed": ctx.time("face: embed", lambda: engine.embedder.embed(aligned[None])),
    }
    pad = engine.pad
    if pad is not None:
        samples["pad"] = ctx.time("face: PAD", lambda: pad.score(image, face.box))

    def verify() -> None:
        engine.compare(engine.analyse_bytes(a_bytes), engine.analyse_bytes(b_bytes))

    samples["verify_1to1"] = ctx.time("face: 1:1 verify", verify, scale=0.5)
    with ctx.track("face: 10-frame liveness", None):
        samples["liveness_10_frames"] = _liveness_times(engine, FACES, ctx.pick(3, 10))
    stages = {k: stage(v) for k, v in samples.items()}
    section: dict[str, Any] = {
        "input": "obama__obama.jpg and obama__obama2.jpg, centre-cropped to 4:3, 640×480 JPEG q90",
        "stages": stages,
        "pad_available": pad is not None,
        "providers_effective": peers.effective_providers(
            [engine.detector, engine.embedder] + ([pad] if pad is not None else [])
        ),
        "peers": [],
        "skipped_parts": {} if pad_present else {"pad": f"MiniFASNet files not in {PAD_DIR}"},
    }
    section["peers"] += _raw_ort(ctx, registry, engine, image, face, aligned, stages)
    section["peers"] += _opencv(ctx, registry, engine, a_bytes, b_bytes, stages)
    return section


def _raw_ort(
    ctx: Context,
    registry: ModelRegistry,
    engine: FaceEngine,
    image: np.ndarray,
    face: Any,
    aligned: np.ndarray,
    stages: dict[str, Any],
) -> list[dict[str, Any]]:
    det, emb = engine.detector, engine.embedder
    jobs: list[tuple[str, str, list[bytes], Any, str, Any]] = [
        ("ort.detect", "detect", [registry.load_bytes(registry.get("face_detector"))],
         det, "_session", lambda: det.detect(image)),
        ("ort.embed", "embed", [registry.load_bytes(registry.get("face_embedder"))],
         emb, "_session", lambda: emb.embed(aligned[None])),
    ]  # fmt: skip
    pad = engine.pad
    if pad is not None:
        pads = [registry.load_bytes(e) for e in registry.all("face_pad")]
        jobs.append(("ort.pad", "pad", pads, pad, "_nets", lambda: pad.score(image, face.box)))
    out = []
    for peer_id, name, models, owner, attr, call in jobs:
        feeds = peers.capture(owner, attr, call)
        raw = peers.RawModel(models, ctx.providers, ctx.threads)
        got = stage(ctx.time(f"face peer: raw ONNX Runtime {name}", raw.replay(feeds)))
        note = f"{len(feeds)} session.run call(s) per stage call, same input tensors"
        out.append(peers.entry(peer_id, name, stages[name], "raw ONNX Runtime", got, note))
    return out


def _cv_error(e: Exception) -> str:
    """The gist of an OpenCV error (its assertion or message, without the source path)."""
    text = str(e).strip().splitlines()[-1]
    return re.sub(r"^OpenCV\([^)]*\) \S+: error: \(-?\d+:[^)]*\) ", "", text)[:160]


def _opencv_file(registry: ModelRegistry, kind: str, workdir: Path) -> tuple[Path, str]:
    """The shipped model file, or (when OpenCV cannot load it) its pruned copy; and a note."""
    entry = registry.get(kind)  # type: ignore[arg-type]
    path = registry.path(entry)
    try:
        if kind == "face_detector":
            cv2.FaceDetectorYN.create(str(path), "", (640, 480))
        else:  # the recogniser loads lazily: only a first feature() shows a refusal
            rec = cv2.FaceRecognizerSF.create(str(path), "")
            rec.feature(np.zeros((112, 112, 3), np.uint8))
        return path, f"the shipped file {path.name}"
    except cv2.error as e:
        first = _cv_error(e)
        pruned = workdir / f"{entry.id}-pruned.onnx"
        pruned.write_bytes(apply_fixes(registry.read_verified(entry), ("prune_unused",)))
        return pruned, f"{path.name} refused ({first}); its copy with unused inputs pruned"


def _opencv(
    ctx: Context,
    registry: ModelRegistry,
    engine: FaceEngine,
    a_bytes: bytes,
    b_bytes: bytes,
    stages: dict[str, Any],
) -> list[dict[str, Any]]:
    name = f"OpenCV {cv2.__version__} FaceDetectorYN + FaceRecognizerSF"
    try:
        det_path, det_note = _opencv_file(registry, "face_detector", ctx.workdir)
        rec_path, rec_note = _opencv_file(registry, "face_embedder", ctx.workdir)
        detector = cv2.FaceDetectorYN.create(str(det_path), "", (640, 480), 0.6, 0.3, 5000)
        recognizer = cv2.FaceRecognizerSF.create(str(rec_path), "")
    except cv2.error as e:
        why = f"OpenCV cannot load the models: {_cv_error(e)}"
        return [peers.unavailable(f"opencv.{s}", s, name, why) for s in ("detect", "embed")]
    image = decode_image(a_bytes)
    _, found = detector.detect(image)
    if found is None or len(found) == 0:
        why = "FaceDetectorYN found no face in the benchmark photo"
        return [peers.unavailable(f"opencv.{s}", s, name, why) for s in ("detect", "embed")]
    row = found[0]

    def cv_verify() -> float:
        feats = []
        for data in (a_bytes, b_bytes):
            img: Any = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            detector.setInputSize((img.shape[1], img.shape[0]))
            _, faces = detector.detect(img)
            feats.append(recognizer.feature(recognizer.alignCrop(img, faces[0])))
        return float(recognizer.match(feats[0], feats[1], cv2.FaceRecognizerSF_FR_COSINE))

    # the project's align + embed against OpenCV's alignCrop + feature on the same face
    face = engine.detector.detect(image)[0]
    emb = engine.embedder
    project_embed = stage(
        ctx.time("face: align + embed", lambda: emb.embed(align(image, face.landmarks)[None]))
    )
    stages["align_embed"] = project_embed
    cv_det = stage(ctx.time("face peer: OpenCV detect", lambda: detector.detect(image)))
    cv_emb = stage(
        ctx.time(
            "face peer: OpenCV align + feature",
            lambda: recognizer.feature(recognizer.alignCrop(image, row)),
        )
    )
    cv_ver = stage(ctx.time("face peer: OpenCV 1:1 verify", cv_verify, scale=0.5))
    note = f"detector: {det_note}; recogniser: {rec_note}; cv2 threads {cv2.getNumThreads()}"
    return [
        peers.entry("opencv.detect", "detect", stages["detect"], name, cv_det, note),
        peers.entry("opencv.embed", "align_embed", project_embed, name, cv_emb, note),
        peers.entry(
            "opencv.verify",
            "verify_1to1",
            stages["verify_1to1"],
            name,
            cv_ver,
            note + "; both sides decode, detect, align and embed two JPEGs and compare",
        ),
    ]
