"""`ekyc bench`: the benchmark suite (one run, one JSON document, one HTML report).

``ekyc bench run [SUITE...]`` (or plain ``ekyc bench [OPTIONS]`` for every suite) is the
product: suites chip, face, ocr, compare, service, accuracy, peers in the same run, the
environment recorded, ``--out DIR/results.json`` and ``DIR/report.html``, ``--compare`` against
a baseline. The older per-suite commands (chip, face, card-ocr, page-ocr, compare, service)
stay as they were: their own options, their own table and ``--json-out``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ekyc.cli._common import write_report

#: exit codes of ``ekyc bench run``
EXIT_OK, EXIT_REGRESSION, EXIT_SUITE_ERROR = 0, 1, 3


def _tolerance(_ctx: Any, _param: Any, value: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", value)
    if m is None:
        raise click.BadParameter("a percentage such as 10% (or a fraction such as 0.1)")
    number = float(m.group(1))
    return number / 100 if m.group(2) or number >= 1 else number


def suite_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a suite run (on ``ekyc bench`` itself and on ``ekyc bench run``)."""
    options = [
        click.option("--quick", is_flag=True, help="a few runs per figure (a few minutes)"),
        click.option(
            "--providers", default="cpu", show_default=True, help="ONNX Runtime: cpu or cuda"
        ),
        click.option("--threads", default=1, show_default=True, help="intra-op threads"),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("bench-out"),
            show_default=True,
            help="writes DIR/results.json and DIR/report.html",
        ),
        click.option(
            "--compare",
            "baseline",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="a baseline results.json: ratios in the report, exit 1 past --tolerance",
        ),
        click.option(
            "--tolerance",
            default="10%",
            show_default=True,
            callback=_tolerance,
            help="how much worse a figure may be than the baseline",
        ),
        click.option(
            "--pairs",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            multiple=True,
            help="labelled face pairs (CSV path_a,path_b,same) for the accuracy suite",
        ),
    ]
    return functools.reduce(lambda f, opt: opt(f), reversed(options), fn)


@click.group(invoke_without_command=True)
@suite_options
@click.pass_context
def bench(ctx: click.Context, **opts: Any) -> None:
    """Benchmark suite: `ekyc bench run [SUITE...]`; alone, every suite installed here.

    The per-suite commands below are the older interface (own options and tables).
    """
    if ctx.invoked_subcommand is None:
        ctx.exit(_run_suites([], **opts))
    given = [
        k
        for k, v in opts.items()
        if v and ctx.get_parameter_source(k) not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if given:
        raise click.UsageError(
            f"suite options ({', '.join('--' + g for g in given)}) go with `ekyc bench run`"
            f" or `ekyc bench` alone, not before `{ctx.invoked_subcommand}`"
        )


@bench.command("run")
@click.argument("suites", nargs=-1)
@suite_options
@click.pass_context
def bench_run(ctx: click.Context, suites: tuple[str, ...], **opts: Any) -> None:
    """Run SUITES (chip, face, ocr, compare, service, accuracy; none: all installed) into
    one results.json and one report.html; exit 1 on a regression past the tolerance, 3 if a
    suite failed."""
    ctx.exit(_run_suites(list(suites), **opts))


def _run_suites(
    suites: list[str],
    quick: bool,
    providers: str,
    threads: int,
    out: Path,
    baseline: Path | None,
    tolerance: float,
    pairs: tuple[Path, ...],
) -> int:
    import json
    import tempfile

    from benchmarks.baseline import compare, print_comparison
    from benchmarks.report import write_html
    from benchmarks.suite import SUITES, run_suites
    from benchmarks.suite.context import Context
    from models.session import parse_providers

    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise click.BadParameter(
            f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}",
            param_hint="SUITES",
        )
    if threads < 1:
        raise click.BadParameter("at least 1", param_hint="--threads")
    base_doc = json.loads(baseline.read_text()) if baseline is not None else None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with tempfile.TemporaryDirectory(prefix="ekyc-bench-") as work, progress:
        context = Context(
            quick=quick,
            providers=parse_providers(providers),
            threads=threads,
            pairs=tuple(pairs),
            workdir=Path(work),
            progress=progress if console.is_terminal else None,
        )
        doc = run_suites(suites, context, argv=sys.argv[1:], log=console.print)
    status = EXIT_OK
    if base_doc is not None:
        doc["comparison"] = compare(doc, base_doc, tolerance)
        print_comparison(doc["comparison"], click.echo)
        if doc["comparison"]["regressions"]:
            status = EXIT_REGRESSION
    out.mkdir(parents=True, exist_ok=True)
    write_report(doc, out / "results.json")
    write_html(doc, out / "report.html")
    for name, why in doc["skipped"].items():
        click.echo(f"skipped {name}: {why}")
    errors = [n for n, s in doc["suites"].items() if s["status"] == "error"]
    for name in errors:
        click.echo(f"error in {name}: {doc['suites'][name]['reason']}", err=True)
    click.echo(f"results: {out / 'results.json'}; report: {out / 'report.html'}")
    if errors and status == EXIT_OK:
        status = EXIT_SUITE_ERROR
    return status


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
