"""``ekyc keys``: the token printed once works over HTTP; revoked keys stop working."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from api.cli import keys
from ekyc.store.db import Database
from ekyc.store.keys import ApiKeys


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    runner = CliRunner()
    r = runner.invoke(keys, ["create", "--name", "kiosk-1", "--role", "kiosk",
                             "--database-url", url])  # fmt: skip
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert created["token"].startswith("ekyc_") and created["role"] == "kiosk"
    db = Database(url)
    with db.session(readonly=True) as s:
        key = ApiKeys(s).authenticate(created["token"])
        assert key is not None and key.id == created["id"]
    listed = json.loads(runner.invoke(keys, ["list", "--database-url", url]).stdout)
    assert [k["id"] for k in listed] == [created["id"]] and "token" not in listed[0]
    r = runner.invoke(keys, ["revoke", created["id"], "--database-url", url])
    assert r.exit_code == 0 and json.loads(r.stdout)["revoked_at"] is not None
    with db.session(readonly=True) as s:
        assert ApiKeys(s).authenticate(created["token"]) is None
    assert json.loads(runner.invoke(keys, ["list", "--active", "--database-url", url]).stdout) == []
    missing = runner.invoke(keys, ["revoke", "nope", "--database-url", url])
    assert missing.exit_code != 0 and "nope" in missing.output
    bad = runner.invoke(keys, ["create", "--name", "x", "--role", "root", "--database-url", url])
    assert bad.exit_code == 2
    db.dispose()
