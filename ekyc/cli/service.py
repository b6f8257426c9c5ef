"""`ekyc serve` (the HTTP API) and `ekyc reader-bridge` (a kiosk's local reader)."""

from __future__ import annotations

import os

import click

from ekyc.settings import Settings


@click.command("reader-bridge")
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


@click.command()
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
