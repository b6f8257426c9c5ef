"""``ekyc keys create|list|revoke``: API keys in the configured database.

Registered by ekyc/cli/__init__.py (``main.add_command(keys)``). The token is printed once, at
creation; only its SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from ekyc.settings import Settings
from ekyc.store.db import Database
from ekyc.store.errors import NotFound
from ekyc.store.keys import ApiKeys, key_summary
from ekyc.store.models import Role


def _db(database_url: str | None) -> Database:
    db = Database(database_url or Settings().database_url)
    db.migrate()
    return db


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_DB_OPTION = click.option(
    "--database-url", envvar="EKYC_DATABASE_URL", help="SQLAlchemy URL (default: settings)"
)


@click.group()
def keys() -> None:
    """Create, list and revoke API keys (kiosk, portal, clerk, auditor, admin)."""


@keys.command("create")
@click.option("--name", required=True, help="who or what uses the key, e.g. kiosk-hanoi-01")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--rate", "rate", type=click.IntRange(1), default=600, help="requests per minute")
@_DB_OPTION
def create(name: str, role: str, rate: int, database_url: str | None) -> None:
    """Create a key and print its token (shown this once only)."""
    db = _db(database_url)
    try:
        with db.session() as s:
            created = ApiKeys(s).create(name, role, _now(), rate)
            out = {**key_summary(created.key), "token": created.token}
    finally:
        db.dispose()
    click.echo(json.dumps(out, indent=2))
    click.echo("store the token now: it cannot be shown again", err=True)


@keys.command("list")
@click.option("--active", is_flag=True, help="hide revoked keys")
@_DB_OPTION
def list_keys(active: bool, database_url: str | None) -> None:
    """List keys (never their secrets)."""
    db = _db(database_url)
    try:
        with db.session(readonly=True) as s:
            rows = [key_summary(k) for k in ApiKeys(s).list(include_revoked=not active)]
    finally:
        db.dispose()
    click.echo(json.dumps(rows, indent=2))


@keys.command("revoke")
@click.argument("key_id")
@_DB_OPTION
def revoke(key_id: str, database_url: str | None) -> None:
    """Revoke a key by id; it stops working at once."""
    db = _db(database_url)
    try:
        with db.session() as s:
            out = key_summary(ApiKeys(s).revoke(key_id, _now()))
    except NotFound as e:
        raise click.ClickException(str(e)) from e
    finally:
        db.dispose()
    click.echo(json.dumps(out, indent=2))


__all__ = ["keys"]
