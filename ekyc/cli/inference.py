"""`ekyc inference serve` (the Ray Serve application) and `ekyc inference status`."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import click

from ekyc.settings import Settings


@click.group()
def inference() -> None:
    """The models on Ray Serve (EKYC_INFERENCE=ray): serve them, ask how they do."""


def _ray() -> Any:
    try:
        import ray
        from ray import serve  # noqa: F401
    except ImportError as e:
        raise click.ClickException(
            f"Ray Serve is not installed: pip install 'ekyc[ray]' ({e})"
        ) from None
    return ray


def _write_ready(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, path)  # whoever polls for it never reads half of it


@inference.command("serve")
@click.option(
    "--address",
    help="join this Ray cluster (auto, host:6379, ray://host:10001); "
    "default: start a local cluster in this process",
)
@click.option("--num-cpus", type=float, help="CPUs of the local cluster (default: all)")
@click.option("--num-gpus", type=float, help="GPUs of the local cluster (default: detected)")
@click.option("--object-store-mb", type=int, default=256, show_default=True, help="local cluster")
@click.option("--no-batching", is_flag=True, help="face embedder batches off (max_batch_size 1)")
@click.option("--detach", is_flag=True, help="with --address: deploy, then leave it running")
@click.option("--ready-file", type=click.Path(path_type=Path), help="write the address here")
def serve_cmd(
    address: str | None,
    num_cpus: float | None,
    num_gpus: float | None,
    object_store_mb: int,
    no_batching: bool,
    detach: bool,
    ready_file: Path | None,
) -> None:
    """Deploy the face, OCR and copy-comparison models on Ray Serve and block.

    Deployment options come from EKYC_RAY_FACE / EKYC_RAY_OCR / EKYC_RAY_COMPARE (JSON),
    the models from the same settings as the API (EKYC_MODELS_MANIFEST, EKYC_OCR_ENGINE …).
    Ctrl-C or SIGTERM deletes the application (and stops a cluster started here)."""
    ray = _ray()
    from ray import serve

    from ekyc.inference.config import KINDS, deployment_options
    from ekyc.inference.ray_app import deploy
    from ekyc.inference.ray_backend import connect

    settings = Settings()
    if no_batching:
        face = {**settings.ray_face, "max_batch_size": 1}
        settings = settings.model_copy(update={"ray_face": face})
    options = {k: deployment_options(settings, k) for k in KINDS}  # refuses a bad override now
    if detach and address is None:
        raise click.UsageError("--detach needs --address (a local cluster ends with this command)")
    if address is not None:
        connect(address)
    else:
        ray.init(
            num_cpus=num_cpus if num_cpus is not None else os.cpu_count(),
            num_gpus=num_gpus,
            include_dashboard=False,
            object_store_memory=object_store_mb * 1024 * 1024,
        )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        deploy(settings)
        gcs = ray.get_runtime_context().gcs_address
        info = {
            "address": gcs,
            "app": settings.ray_app_name,
            "deployments": {k: o.model_dump() for k, o in options.items()},
            "pid": os.getpid(),
        }
        click.echo(
            f"ekyc inference: Serve application {settings.ray_app_name!r} running on the Ray "
            f"cluster at {gcs}; API processes: EKYC_INFERENCE=ray EKYC_RAY_ADDRESS={gcs}",
            err=True,
        )
        click.echo(json.dumps(info))
        if ready_file is not None:
            _write_ready(ready_file, info)
        if detach:
            return
        while not stop.wait(1.0):
            pass
    finally:
        if not detach:
            if address is not None:
                try:
                    serve.delete(settings.ray_app_name)
                except Exception as e:  # noqa: BLE001 - the cluster may be gone already
                    click.echo(f"could not delete the application: {e}", err=True)
            ray.shutdown()


@inference.command("status")
@click.option("--address", help="default: EKYC_RAY_ADDRESS")
@click.option("--timeout", type=float, default=10.0, show_default=True)
def status_cmd(address: str | None, timeout: float) -> None:
    """Health of each deployment, what it runs and its counters (JSON); exit 1 when down."""
    _ray()
    from ray import serve

    from ekyc.inference.ray_backend import COMPARE, FACE, OCR, RayClient

    settings = Settings()
    client = RayClient(address or settings.ray_address, settings.ray_app_name, timeout)
    try:
        client.ensure_connected(wait_s=timeout)
    except Exception as e:  # noqa: BLE001 - InferenceUnavailable with the reason
        click.echo(json.dumps({"healthy": False, "error": str(e)}, indent=2))
        raise SystemExit(1) from None
    health = {d: client.probe(d) for d in (FACE, OCR, COMPARE)}
    out: dict[str, Any] = {
        "address": client.address,
        "app": settings.ray_app_name,
        "healthy": all(v is None for v in health.values()),
        "problems": {d: v for d, v in health.items() if v is not None},
    }
    if out["healthy"]:
        handle = serve.get_app_handle(settings.ray_app_name)
        out["deployments"] = handle.status.remote().result(timeout_s=timeout)
    click.echo(json.dumps(out, indent=2, default=str))
    if not out["healthy"]:
        raise SystemExit(1)
