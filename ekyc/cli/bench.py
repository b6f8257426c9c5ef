"""`ekyc bench`: the benchmark suites (results as JSON and a table)."""

from __future__ import annotations

from pathlib import Path

import click

from ekyc.cli._common import write_report


@click.group()
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
    write_report(report, json_out)


@bench.command("chip")
@click.option("--reads", default=20, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_chip(reads: int, json_out: Path | None) -> None:
    """Full chip read through pcscd + the virtual card: PACE, CA, AA, PA."""
    from benchmarks.chip_read import print_report, run

    report = run(reads=reads)
    print_report(report)
    write_report(report, json_out)


@bench.command("card-ocr")
@click.option("--cards", default=200, show_default=True, help="cards per condition")
@click.option("--seed", default=1000, show_default=True)
@click.option(
    "--engines", default="default,tesseract", show_default=True, help="side by side, same images"
)
@click.option(
    "--generators",
    default="own,other",
    show_default=True,
    help="own: the layouts the reader knows; other: an independent generator (reported apart)",
)
@click.option("--conditions", default="clean,phone_photo,photocopy", show_default=True)
@click.option("--detector-modes", default="off,on", show_default=True, help="off,on or one")
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_card_ocr(
    cards: int,
    seed: int,
    engines: str,
    generators: str,
    conditions: str,
    detector_modes: str,
    json_out: Path | None,
) -> None:
    """Card OCR: field, MRZ and QR accuracy and stage timings, clean and degraded, 1 thread."""
    from benchmarks.card_ocr import print_report, run

    report = run(
        n=cards,
        seed=seed,
        engines=tuple(engines.split(",")),
        generators=tuple(generators.split(",")),
        conditions=tuple(conditions.split(",")),
        detector_modes=tuple(m == "on" for m in detector_modes.split(",")),
    )
    print_report(report)
    write_report(report, json_out)


@bench.command("page-ocr")
@click.option("--pages", default=40, show_default=True, help="pages per condition")
@click.option("--seed", default=0, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="write the report here")
def bench_page_ocr(pages: int, seed: int, json_out: Path | None) -> None:
    """A4 page OCR: detect and recognise timings and words read, per copy condition."""
    from benchmarks.page_ocr import print_report, run

    report = run(n=pages, seed=seed)
    print_report(report)
    write_report(report, json_out)


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
    write_report(report, json_out)


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
