"""The ``ekyc`` command line: the composition root that wires readers, domain and API.

Hardware (pyscard) and the web stack are imported inside the commands that need them,
so ``ekyc`` works on a server without a reader and on a kiosk without the API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

from ekyc.errors import EkycError
from ekyc.settings import Settings
from readers.access_key import AccessKey, Can, MrzKey
from readers.errors import ReaderError

_SUFFIX_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jp2": "image/jp2"}


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _fail(e: Exception) -> NoReturn:
    _emit({"error": {"code": getattr(e, "code", "error"), "message": str(e)}})
    sys.exit(2)


@click.group()
@click.version_option(package_name="ekyc")
def main() -> None:
    """Biometric eKYC and document verification for Vietnamese citizen ID cards."""


@main.group()
def chip() -> None:
    """Read and verify the chip of a CCCD (ICAO 9303 eMRTD)."""


def _access_key(can: str | None, mrz: str | None, id_number: str | None) -> AccessKey:
    given = [x for x in (can, mrz, id_number) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --can, --mrz or --id")
    try:
        if can:
            return Can(can)
        if id_number:  # a CCCD's CAN is the last 6 digits of its ID number
            if len(id_number) != 12 or not id_number.isdigit():
                raise ValueError("an ID number has 12 digits")
            return Can(id_number[-6:])
        doc, birth, expiry = (mrz or "").split(",")
        return MrzKey(doc.strip(), birth.strip(), expiry.strip())
    except ValueError as e:
        raise click.BadParameter(f"{e} (MRZ key: DOCNUMBER,YYMMDD,YYMMDD)") from e


@chip.command("read")
@click.option("--can", help="Card Access Number (last 6 digits of the ID number)")
@click.option("--mrz", help="MRZ key: DOCUMENT_NUMBER,BIRTH_YYMMDD,EXPIRY_YYMMDD")
@click.option("--id", "id_number", help="12-digit ID number (its last 6 digits are the CAN)")
@click.option("--reader", help="PC/SC reader name or part of it (default: the first)")
@click.option("--wait", type=float, help="seconds to wait for the card")
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CSCA trust store: PEM folder, certificate or master list (repeatable)",
)
@click.option("--portrait", type=click.Path(path_type=Path), help="write the DG2 portrait here")
@click.option("--raw-out", type=click.Path(path_type=Path), help="save the raw chip files here")
def chip_read(
    can: str | None,
    mrz: str | None,
    id_number: str | None,
    reader: str | None,
    wait: float | None,
    trust: tuple[Path, ...],
    portrait: Path | None,
    raw_out: Path | None,
) -> None:
    """Read a card through PC/SC, verify it (PA, AA, consistency) and print JSON.

    Exit status: 0 valid, 3 read but not valid, 2 error.
    """
    from ekyc.cccd.chip import verify_chip
    from ekyc.icao.trust_store import TrustStore

    settings = Settings()
    key = _access_key(can, mrz, id_number)
    try:
        from readers.kiosk import read_chip

        store = TrustStore.load(*(trust or settings.trust_store))
        nonce = os.urandom(8)  # this process plays the server: it chooses the AA nonce
        result, stats = read_chip(
            key,
            reader=reader or settings.reader,
            aa_nonce=nonce,
            wait=wait if wait is not None else settings.card_wait_seconds,
        )
        verification = verify_chip(
            result.files, store, dt.datetime.now(dt.UTC), result.aa_nonce, result.aa_signature
        )
    except (ReaderError, EkycError) as e:
        _fail(e)
    if raw_out is not None:
        raw_out.mkdir(parents=True, exist_ok=True)
        for name, data in result.files.items():
            (raw_out / f"{name}.bin").write_bytes(data)
    out = verification.to_dict()
    if portrait is not None and verification.portrait is not None:
        face = verification.portrait.portrait
        if _SUFFIX_MIME.get(portrait.suffix.lower()) == face.mime_type:
            portrait.write_bytes(face.image)  # the chip's own bytes, untouched
        else:  # another format was asked for: decode (pixel-limited) and re-encode
            verification.portrait.to_image().save(portrait)
        out["portrait"]["written_to"] = str(portrait)
    out["read"] = {
        "access_protocol": result.access_protocol,
        "access_key": result.access_key,
        "pace_fallback": result.pace_fallback,
        "chip_authentication": bool(result.chip_auth),
        "link_sessions": result.reads,
        "apdus": stats.apdus,
        "bytes_received": stats.bytes_received,
    }
    _emit(out)
    sys.exit(0 if verification.verdict.value == "valid" else 3)


@chip.command("emulate")
@click.option("--seed", default=0, show_default=True, help="which synthetic citizen")
@click.option(
    "--portrait-format", type=click.Choice(["jpeg", "jp2"]), default="jpeg", show_default=True
)
@click.option(
    "--pace/--no-pace",
    default=True,
    show_default=True,
    help="offer PACE (EF.CardAccess) or BAC only",
)
@click.option("--aa", type=click.Choice(["rsa", "ec", "none"]), default="rsa", show_default=True)
@click.option("--tamper-dg", type=int, help="alter this data group after signing (forged chip)")
@click.option("--clone", is_flag=True, help="AA key does not match DG15 (cloned chip)")
@click.option("--remove-after", type=int, help="leave the field at this APDU (card pulled)")
@click.option("--delay", type=float, default=0.0, help="seconds per APDU (slow card)")
@click.option(
    "--trust-out",
    type=click.Path(path_type=Path),
    default=Path("var/test-csca"),
    show_default=True,
    help="where to write the test CSCA certificate",
)
@click.option("--port", default=35963, show_default=True, help="vpcd port (35964: 2nd reader)")
def chip_emulate(
    seed: int,
    portrait_format: str,
    pace: bool,
    aa: str,
    tamper_dg: int | None,
    clone: bool,
    remove_after: int | None,
    delay: float,
    trust_out: Path,
    port: int,
) -> None:
    """Serve a synthetic CCCD on pcscd's virtual reader (starts pcscd when needed)."""
    from ekyc.synth.chip import build_chip
    from ekyc.synth.pki import write_trust_folder
    from readers.vcard.card import Faults, VirtualCard
    from readers.vcard.pcscd import running_pcscd
    from readers.vcard.vpcd import VpcdLink

    synth = build_chip(
        seed=seed,
        portrait_format=portrait_format,  # type: ignore[arg-type]
        pace=pace,
        aa=None if aa == "none" else aa,  # type: ignore[arg-type]
        tamper_dg=tamper_dg,
        clone=clone,
    )
    write_trust_folder(trust_out, [synth.pki.csca_cert])
    card = VirtualCard(synth.profile, Faults(remove_after_apdus=remove_after))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with running_pcscd() as started:
            link = VpcdLink(card, port=port, apdu_delay=delay)
            link.insert()
            c = synth.citizen
            _emit(
                {
                    "card": "inserted",
                    "pcscd_started_here": started,
                    "citizen": c.full_name,
                    "id_number": c.id_number,
                    "can": c.can.number,
                    "mrz_key": ",".join(
                        [
                            c.mrz_key.document_number,
                            c.mrz_key.date_of_birth,
                            c.mrz_key.date_of_expiry,
                        ]
                    ),
                    "trust_store": str(trust_out),
                    "faults": synth.notes,
                }
            )
            click.echo(
                f"read it with: ekyc chip read --can {c.can.number} --trust {trust_out}", err=True
            )
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            link.remove()
    except (RuntimeError, ConnectionError) as e:
        _fail(e)


@main.group()
def models() -> None:
    """The ONNX model registry: built-in defaults and models registered by file."""


def _registry():  # type: ignore[no-untyped-def]
    from models.registry import default_registry

    return default_registry(Settings().models_manifest)


@models.command("list")
def models_list() -> None:
    """Print every registered model with its licence, source and hash."""
    _emit(
        [
            {
                "id": e.id,
                "kind": e.kind,
                "name": e.name,
                "license": e.license,
                "source": e.source,
                "sha256": e.sha256,
                "file": e.file,
                "builtin": e.builtin,
            }
            for e in _registry().entries
        ]
    )


@models.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind", required=True, type=click.Choice(["face_detector", "face_embedder", "face_pad"])
)
@click.option("--license", "license_", required=True, help="the model's licence (SPDX id)")
@click.option("--source", required=True, help="where the file comes from")
@click.option("--name", help="human name")
@click.option("--crop-scale", type=float, help="face_pad: crop scale (MiniFASNet 2.7 or 4.0)")
def models_add(
    path: Path, kind: str, license_: str, source: str, name: str | None, crop_scale: float | None
) -> None:
    """Register a local model file by hash (EKYC_MODELS_MANIFEST must be set)."""
    from models.errors import ModelError

    if Settings().models_manifest is None:
        raise click.UsageError("set EKYC_MODELS_MANIFEST to the user manifest file to write")
    preprocessing = {"crop_scale": crop_scale} if crop_scale is not None else None
    try:
        entry = _registry().add(
            path.resolve(),
            kind,
            license_,
            source,
            name=name,
            preprocessing=preprocessing,
        )
    except ModelError as e:
        _fail(e)
    _emit({"added": entry.id, "sha256": entry.sha256, "kind": entry.kind})


@models.command("verify")
def models_verify() -> None:
    """Re-hash every registered model file; exit 1 when any is missing or altered."""
    checks = _registry().verify()
    _emit([{"id": c.id, "path": str(c.path), "ok": c.ok, "problem": c.problem} for c in checks])
    sys.exit(0 if all(c.ok for c in checks) else 1)


def _face_engine():  # type: ignore[no-untyped-def]
    from ekyc.face.pipeline import FaceEngine
    from models.registry import default_registry
    from models.session import options_from

    settings = Settings()
    return FaceEngine.from_registry(
        default_registry(settings.models_manifest),
        options_from(settings.onnx_providers, settings.onnx_threads),
        thresholds_path=settings.face_thresholds,
    )


def _analysis_json(a: Any) -> dict[str, Any]:
    subject = a.subject
    return {
        "faces": len(a.faces),
        "subject": None
        if subject is None
        else {"box": [round(float(v), 1) for v in subject.box], "score": round(subject.score, 3)},
        "quality": {
            "passed": a.quality.passed,
            "reasons": [
                {
                    "code": r.code,
                    "measured": round(r.measured, 3),
                    "limit": r.limit,
                    "message": r.message,
                }
                for r in a.quality.reasons
            ],
            "measures": {k: round(v, 3) for k, v in a.quality.measures.items()},
        },
        "model_ids": {"detector": a.detector_id, "embedder": a.embedder_id},
        "timings_ms": {k: round(v, 2) for k, v in a.timings_ms.items()},
    }


@main.group()
def face() -> None:
    """Face quality and 1:1 matching (ONNX models from the registry)."""


@face.command("quality")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--role", type=click.Choice(["selfie", "portrait"]), default="selfie", show_default=True
)
def face_quality(image: Path, role: str) -> None:
    """Run the quality gate on IMAGE; exit 0 when it passes, 3 when it does not."""
    try:
        analysis = _face_engine().analyse_bytes(image.read_bytes(), role)
    except EkycError as e:
        _fail(e)
    _emit(_analysis_json(analysis))
    sys.exit(0 if analysis.quality.passed else 3)


@face.command("compare")
@click.argument("a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operating-point", help="e.g. fmr_1e-3, fmr_1e-4 (default: the model's)")
@click.option(
    "--b-role",
    type=click.Choice(["selfie", "portrait"]),
    default="selfie",
    show_default=True,
    help="use 'portrait' when B is a chip photo",
)
def face_compare(a: Path, b: Path, operating_point: str | None, b_role: str) -> None:
    """1:1 comparison of the faces in A and B; exit 0 match, 3 no match, 2 error."""
    import dataclasses

    try:
        engine = _face_engine()
        fa = engine.analyse_bytes(a.read_bytes(), "selfie")
        fb = engine.analyse_bytes(b.read_bytes(), b_role)
        result = engine.compare(fa, fb, operating_point)
    except EkycError as e:
        _fail(e)
    _emit({**dataclasses.asdict(result), "a": _analysis_json(fa), "b": _analysis_json(fb)})
    sys.exit(0 if result.matched else 3)


@face.command("calibrate")
@click.argument("pairs", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="threshold file to write (point EKYC_FACE_THRESHOLDS at it)",
)
def face_calibrate(pairs: Path | None, out: Path) -> None:
    """Thresholds at FMR 1e-3 and 1e-4 from PAIRS.csv (path_a,path_b,same)."""
    from ekyc.face.calibrate import main as calibrate_main

    args = [str(pairs)] if pairs is not None else []
    sys.exit(calibrate_main([*args, "--out", str(out)]))


@main.group()
def liveness() -> None:
    """Active + passive liveness, decided as the server decides it."""


@liveness.command("challenge")
def liveness_challenge() -> None:
    """Issue a challenge (nonce, 2-4 actions, deadline) as JSON."""
    import time

    from ekyc.face.challenge import issue_challenge

    _emit(issue_challenge(time.time).to_json())


@liveness.command("check")
@click.option(
    "--challenge",
    "challenge_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--interval-ms",
    default=100,
    show_default=True,
    help="frame spacing when --timestamps is not given",
)
@click.option("--timestamps", help="comma-separated ms since the challenge, one per frame")
@click.option(
    "--offline",
    is_flag=True,
    help="re-check recorded frames as if uploaded at their last timestamp",
)
@click.argument(
    "frames", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def liveness_check(
    challenge_file: Path,
    interval_ms: int,
    timestamps: str | None,
    offline: bool,
    frames: tuple[Path, ...],
) -> None:
    """Check FRAMES against a challenge; exit 0 live, 3 not live or review, 2 error."""
    import time

    from ekyc.face.challenge import Challenge, InMemoryChallengeStore
    from ekyc.face.image import decode_image
    from ekyc.face.liveness import Frame, check_liveness

    challenge = Challenge.from_json(challenge_file.read_text())
    stamps = (
        [int(t) for t in timestamps.split(",")]
        if timestamps
        else [i * interval_ms for i in range(len(frames))]
    )
    if len(stamps) != len(frames):
        raise click.BadParameter("one timestamp per frame")
    try:
        images = [decode_image(f.read_bytes()) for f in frames]
        engine = _face_engine()
    except EkycError as e:
        _fail(e)
    store = InMemoryChallengeStore()
    store.put(challenge)
    now = (challenge.issued_at_ms + stamps[-1]) / 1000 if offline else time.time()
    verdict = check_liveness(
        challenge,
        [Frame(t, im) for t, im in zip(stamps, images, strict=True)],
        engine,
        engine.pad,
        now,
        store=store,
    )
    _emit({**verdict.to_json(), "offline": offline})
    sys.exit(0 if verdict.decision == "live" else 3)


@main.command("reader-bridge")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True)
@click.option("--allow-origin", multiple=True, help="web origin allowed to use the reader")
def reader_bridge(host: str, port: int, allow_origin: tuple[str, ...]) -> None:
    """Serve the local PC/SC reader to a kiosk web page (HTTP + WebSocket)."""
    import uvicorn

    from readers.bridge import create_app, pcsc_bridge

    if host not in ("127.0.0.1", "::1", "localhost"):
        raise click.BadParameter("the reader bridge only listens on the loopback interface")
    origins = frozenset(allow_origin) | frozenset(Settings().bridge_origins)
    uvicorn.run(create_app(pcsc_bridge(origins)), host=host, port=port, log_level="info")


@main.command()
@click.option("--host", help="default: EKYC_HOST or 127.0.0.1")
@click.option("--port", type=int, help="default: EKYC_PORT or 8000")
@click.option("--workers", default=1, show_default=True, help="processes sharing the database")
@click.option("--database-url", help="default: EKYC_DATABASE_URL or sqlite:///var/ekyc.db")
def serve(host: str | None, port: int | None, workers: int, database_url: str | None) -> None:
    """Run the HTTP API (each worker migrates the database on start-up)."""
    import uvicorn

    if database_url:  # the worker processes read their settings from the environment
        os.environ["EKYC_DATABASE_URL"] = database_url
    settings = Settings()
    host, port = host or settings.host, port or settings.port
    click.echo(
        f"ekyc API on http://{host}:{port} — OpenAPI docs at http://{host}:{port}/docs", err=True
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=10,
    )


@main.group()
def bench() -> None:
    """Benchmark suites (results as JSON and a table)."""


@bench.command("face")
@click.option("--runs", default=30, show_default=True)
@click.option("--threads", default="1,2", show_default=True, help="intra-op thread counts")
@click.option("--providers", default="cpu", show_default=True, help="e.g. cuda,cpu")
@click.option(
    "--faces-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="face photos (default: ../shared/data/faces)",
)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_face(
    runs: int, threads: str, providers: str, faces_dir: Path | None, json_out: Path | None
) -> None:
    """Face stages, 1:1 verify of two 640×480 images, 10-frame liveness."""
    from benchmarks.face import SHARED, print_report, run
    from models.session import parse_providers

    report = run(
        runs=runs,
        threads=tuple(int(t) for t in threads.split(",")),
        faces_dir=faces_dir or SHARED / "data" / "faces",
        providers=parse_providers(providers),
    )
    print_report(report)
    _write_report(report, json_out)


@bench.command("chip")
@click.option("--reads", default=20, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_chip(reads: int, json_out: Path | None) -> None:
    """Full chip read through pcscd + the virtual card: PACE, CA, AA, PA."""
    from benchmarks.chip_read import print_report, run

    report = run(reads=reads)
    print_report(report)
    _write_report(report, json_out)


@bench.command("card-ocr")
@click.option("--cards", default=200, show_default=True, help="cards per condition")
@click.option("--seed", default=1000, show_default=True)
@click.option(
    "--engines", default="default,tesseract", show_default=True, help="side by side, same images"
)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_card_ocr(cards: int, seed: int, engines: str, json_out: Path | None) -> None:
    """Card OCR: field, MRZ and QR accuracy and stage timings, clean and degraded, 1 thread."""
    from benchmarks.card_ocr import print_report, run

    report = run(n=cards, seed=seed, engines=tuple(engines.split(",")))
    print_report(report)
    _write_report(report, json_out)


@bench.command("page-ocr")
@click.option("--pages", default=40, show_default=True, help="pages per condition")
@click.option("--seed", default=0, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_page_ocr(pages: int, seed: int, json_out: Path | None) -> None:
    """A4 page OCR: detect and recognise timings and words read, per copy condition."""
    from benchmarks.page_ocr import print_report, run

    report = run(n=pages, seed=seed)
    print_report(report)
    _write_report(report, json_out)


@bench.command("compare")
@click.option("--pairs", default=200, show_default=True, help="pairs per tamper type and honest")
@click.option("--seed", default=0, show_default=True)
@click.option("--workers", default=1, show_default=True, help="processes (1 thread each)")
@click.option(
    "--real-portraits", is_flag=True, help="real photos as portraits, judged by the face models"
)
@click.option(
    "--conditions",
    default="photocopy,scan,phone_photo",
    show_default=True,
    help="copy conditions, cycled; also shaken_photo (a phone photo with camera shake)",
)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_compare(
    pairs: int,
    seed: int,
    workers: int,
    real_portraits: bool,
    conditions: str,
    json_out: Path | None,
) -> None:
    """Copy vs original: detection rate per tamper type, false alarms, time per compare."""
    from benchmarks.copy_compare import print_report, run

    try:
        report = run(pairs, seed, workers, real_portraits, tuple(conditions.split(",")))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--conditions") from e
    print_report(report)
    _write_report(report, json_out)


@bench.command(
    "service",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_service(args: tuple[str, ...]) -> None:
    """The HTTP service under load, SQLite and PostgreSQL (options: --help)."""
    from benchmarks.service_load import main as service_main

    service_main(list(args))


def _write_report(report: dict[str, Any], path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))


# --- documents: card OCR and copy-vs-original -------------------------------------------------


def _read_image(path: Path) -> Any:
    from ekyc.face.image import decode_image

    return decode_image(path.read_bytes())


@main.group()
def ocr() -> None:
    """Read ID cards: printed fields, MRZ, QR, cross-checked."""


@ocr.command("card")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(["default", "tesseract", "paddle"]),
    default="default",
    show_default=True,
    help="paddle: the PaddleOCR models in EKYC_OCR_MODEL_DIR",
)
@click.option("--detector", is_flag=True, help="locate value lines with the text detector")
@click.option(
    "--dg13-from",
    "dg13_from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="raw DG13 file read from the chip, to cross-check against",
)
def ocr_card(image: Path, engine: str, detector: bool, dg13_from: Path | None) -> None:
    """Read one card side; exit 0 when readable and consistent, 3 when not, 2 on error."""
    import dataclasses

    from ekyc.cccd.dg13 import parse_dg13
    from ekyc.document.crosscheck import cross_check
    from ekyc.document.fields import read_card
    from models.ocr.errors import OcrError
    from models.ocr.factory import load_ocr

    try:
        dg13 = parse_dg13(dg13_from.read_bytes()) if dg13_from is not None else None
        ocr = load_ocr(engine, model_dir=Settings().ocr_model_dir)
        r = read_card(_read_image(image), ocr, use_detector=detector)
    except (EkycError, OcrError) as e:
        _fail(e)
    report = cross_check(dg13=dg13, qr=r.qr, mrz=r.mrz, printed=r.fields)
    mrz = None
    if r.mrz_text is not None:
        mrz = {
            "text": r.mrz_text,
            "valid": r.mrz.valid if r.mrz is not None else False,
            "checks": r.mrz.checks if r.mrz is not None else {},
            "error": r.mrz_error,
        }
    _emit(
        {
            "model": r.model,
            "side": r.side,
            "upside_down": r.upside_down,
            "fields": r.fields,
            "confidence": {k: round(v, 3) for k, v in r.confidence.items()},
            "mrz": mrz,
            "qr": None
            if r.qr_text is None and r.qr_error is None
            else {
                "text": r.qr_text,
                "parsed": dataclasses.asdict(r.qr) if r.qr is not None else None,
                "error": r.qr_error,
            },
            "cross_source": {
                "consistent": report.consistent,
                "fields": {
                    k: {
                        "status": f.status,
                        "values": f.values,
                        "disagreements": [dataclasses.asdict(d) for d in f.disagreements],
                    }
                    for k, f in report.fields.items()
                    if f.status != "absent"
                },
            },
            "timings_ms": r.timings_ms,
            "engine": engine,
        }
    )
    readable = bool(r.fields) and (r.mrz_text is None or (r.mrz is not None and r.mrz.valid))
    sys.exit(0 if readable and report.consistent else 3)


def _face_comparer() -> Any:
    """A (portrait, portrait) → same-person callable, or None when face models do not load."""
    from ekyc.document.portrait import face_comparer

    try:
        return face_comparer(_face_engine())
    except (EkycError, OSError):
        return None


@main.command("compare")
@click.argument("original", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("copy", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--heatmap", type=click.Path(path_type=Path), help="write the heatmap PNG here")
@click.option(
    "--pages",
    help="further page pairs: ORIG2,COPY2;ORIG3,COPY3 (paths; the first pair is the arguments)",
)
@click.option(
    "--engine",
    type=click.Choice(["default", "tesseract", "paddle", "none"]),
    default="default",
    help="paddle: the PaddleOCR models in EKYC_OCR_MODEL_DIR; none: ink only",
)
def compare_cmd(
    original: Path, copy: Path, heatmap: Path | None, pages: str | None, engine: str
) -> None:
    """Is COPY a faithful copy of ORIGINAL? Exit 0 match, 3 mismatch/unreadable, 2 error."""
    import dataclasses

    import cv2

    from ekyc.document.compare import compare_documents
    from models.ocr.errors import OcrError
    from models.ocr.factory import load_ocr

    pairs = [(original, copy)]
    for item in filter(None, (pages or "").split(";")):
        o, _, c = item.partition(",")
        if not c:
            raise click.BadParameter("--pages wants ORIG,COPY pairs separated by ';'")
        pairs.append((Path(o.strip()), Path(c.strip())))
    try:
        originals = [_read_image(o) for o, _ in pairs]
        copies = [_read_image(c) for _, c in pairs]
        model_dir = Settings().ocr_model_dir
        engine_obj = None if engine == "none" else load_ocr(engine, model_dir=model_dir)
        verdict = compare_documents(originals, copies, engine_obj, _face_comparer())
    except (EkycError, OcrError, OSError) as e:
        _fail(e)
    if heatmap is not None:
        cv2.imwrite(str(heatmap), verdict.heatmap)
    _emit(
        {
            "verdict": str(getattr(verdict.verdict, "value", verdict.verdict)),
            "differences": [dataclasses.asdict(d) for d in verdict.differences],
            "why": verdict.why,
            "heatmap": str(heatmap) if heatmap is not None else None,
        }
    )
    sys.exit(0 if str(getattr(verdict.verdict, "value", verdict.verdict)).upper() == "MATCH" else 3)


def _register_service_commands() -> None:
    """`ekyc keys …` lives with the API (it manages API keys) and needs no web stack."""
    from api.cli import keys

    main.add_command(keys)


_register_service_commands()

if __name__ == "__main__":
    main()
