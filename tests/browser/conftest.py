"""The counter pages in a real browser: Debian's chromium driven by Playwright, against a
running API (uvicorn in a thread, a real database, the face models) and, for the kiosk, the
reader bridge over pcscd with the virtual card. The camera is Chromium's fake capture device
fed by a .y4m video written at test time from real face frames."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization

from ekyc.settings import Settings

ROLES = ("kiosk", "portal", "clerk", "auditor", "admin")
#: screenshots and other artefacts a CI run keeps (see .ci/run)
ARTIFACTS = Path(os.environ.get("EKYC_TEST_ARTIFACTS", "test-artifacts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def chromium_path() -> str:
    found = os.environ.get("EKYC_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed (`make test` installs it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    """An ASGI app served by uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 60  # the lifespan loads the face models
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@dataclass
class LiveApi:
    url: str
    app: Any
    keys: dict[str, str] = field(default_factory=dict)  # role -> token

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def new_key(self, role: str, rate: int = 100_000) -> str:
        import datetime as dt

        from ekyc.store.keys import ApiKeys

        with self.runtime.db.session() as s:
            created = ApiKeys(s).create(
                f"{role}-{os.urandom(3).hex()}", role, dt.datetime.now(dt.UTC), rate
            )
            return str(created.token)


@pytest.fixture(scope="session")
def browser_face() -> Any:
    from tests.support import FACES, face_engine

    if not FACES.is_dir():
        pytest.skip("../shared/data/faces missing")
    return face_engine()


@pytest.fixture(scope="session")
def live_api(
    tmp_path_factory: pytest.TempPathFactory, test_pki: Any, browser_face: Any
) -> Iterator[LiveApi]:
    """The API with the face engine, served over HTTP; one key per role."""
    from api.app import create_app

    var = tmp_path_factory.mktemp("browser-var")
    csca = var / "csca"
    csca.mkdir()
    pem = test_pki.csca_cert.public_bytes(serialization.Encoding.PEM)
    (csca / "csca-vn.pem").write_bytes(pem)
    port = free_port()
    url = os.environ.get("EKYC_TEST_POSTGRES_URL") or f"sqlite:///{var / 'ekyc.db'}"
    settings = Settings(
        trust_store=[csca],
        database_url=url,
        encryption_key_file=var / "keys.json",
        signing_key_dir=var / "signing",
        pdf_test_ca_dir=var / "pdf-test-ca",
        verify_link_base=f"http://127.0.0.1:{port}/v/result",
        status_link_base=f"http://127.0.0.1:{port}/s",
        log_json=False,
    )
    app = create_app(settings, face=browser_face)
    with ThreadedServer(app, port) as server:
        live = LiveApi(server.url, app)
        for role in ROLES:
            live.keys[role] = live.new_key(role)
        yield live


@pytest.fixture
def reader_bridge(live_api: LiveApi, pcscd: None) -> Iterator[str]:
    """``ekyc reader-bridge`` over pcscd (the page's origin allowed); yields its URL."""
    from readers.bridge import create_app, pcsc_bridge

    with ThreadedServer(create_app(pcsc_bridge(frozenset({live_api.url})))) as server:
        yield server.url


def write_y4m(path: Path, frames: Sequence[np.ndarray], fps: int = 15) -> Path:
    """A YUV4MPEG2 video (what Chromium's fake camera reads) of BGR frames of one size."""
    h, w = frames[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


BrowserFactory = Callable[..., Any]


@pytest.fixture
def launch_browser() -> Iterator[BrowserFactory]:
    """Factory: a headless chromium whose camera plays ``video`` (a .y4m) when given.

    ``fake_ui=False`` leaves out the flag that accepts every camera prompt: the page is then
    refused the camera (NotAllowedError) until the test grants it through the context's
    permissions. Chromium reads ``video`` each time a page opens the camera, so a test may
    replace the file between captures (write a new file and move it over the old one).
    """
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browsers: list[Any] = []

    def launch(video: Path | None = None, fake_ui: bool = True) -> Any:
        args = ["--no-sandbox"] + (["--use-fake-ui-for-media-stream"] if fake_ui else [])
        if video is not None:
            args += [
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ]
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args)
        browsers.append(browser)
        return browser

    yield launch
    for b in browsers:
        b.close()
    pw.stop()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Save a page's screenshot under test-artifacts/screenshots/<test>-<name>.png."""
    out = ARTIFACTS / "screenshots"

    def shoot(page: Any, name: str) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
