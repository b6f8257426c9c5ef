"""Shared fixtures: a real pcscd with the vpcd virtual reader, and virtual CCCDs on it; a
throw-away Redis."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed seed, so a landing is never refused over a newly drawn
# example; a developer's `make test` draws fresh examples each run and so keeps exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SHARED = Path(__file__).resolve().parents[2] / "shared"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
READER = "Virtual PCD 00 00"


@pytest.fixture(scope="session", autouse=True)
def _service_state_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings() built by a test keep the database and keys out of the checkout's var/."""

    var = tmp_path_factory.mktemp("var")
    defaults = {
        "EKYC_DATABASE_URL": f"sqlite:///{var / 'ekyc.db'}",
        "EKYC_ENCRYPTION_KEY_FILE": str(var / "ekyc-keys.json"),
        "EKYC_SIGNING_KEY_DIR": str(var / "signing-keys"),
        "EKYC_PDF_TEST_CA_DIR": str(var / "pdf-test-ca"),
    }
    saved = {k: os.environ.get(k) for k in defaults}
    os.environ.update({k: v for k, v in defaults.items() if saved[k] is None})
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)


@pytest.fixture(scope="session")
def pcscd() -> Iterator[None]:
    """pcscd with vsmartcard-vpcd, started for the session when not already running."""
    from readers.vcard.pcscd import running_pcscd

    try:
        with running_pcscd():
            yield
    except RuntimeError as e:
        pytest.fail(f"cannot start pcscd for the PC/SC tests ({e}); `make test` installs it")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server for the session (``tests.redis_server``); its URL."""
    from tests.redis_server import redis_server, redis_server_path

    if redis_server_path() is None:
        pytest.skip("redis-server is not installed (`make system-deps` installs it)")
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def test_pki():  # type: ignore[no-untyped-def]
    from ekyc.synth.chip import TestPki

    return TestPki.generate()


@pytest.fixture
def insert_card(pcscd: None, test_pki) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Factory: build a synthetic chip, put it on the virtual reader; removed at teardown."""
    from ekyc.synth.chip import build_chip
    from readers.vcard.card import Faults, VirtualCard
    from readers.vcard.vpcd import VpcdLink

    links: list[VpcdLink] = []

    def insert(faults: Faults | None = None, delay: float = 0.0, **chip_options: object):  # type: ignore[no-untyped-def]
        chip = build_chip(pki=test_pki, **chip_options)  # type: ignore[arg-type]
        card = VirtualCard(chip.profile, faults)
        link = VpcdLink(card, apdu_delay=delay)
        link.insert()
        links.append(link)
        return chip, card, link

    yield insert
    for link in links:
        link.remove()
    # let pcscd see the card leave before the next test inserts another one
    from readers.pcsc import PcscContext

    with PcscContext() as ctx:
        assert ctx.wait_for_removal(READER, 5), "pcscd still sees the virtual card"
