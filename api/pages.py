"""The counter's web pages: kiosk and clerk screens, and the files they load.

Every asset is served by the API itself (no CDN): a kiosk may sit on a closed network, and a
page whose scripts come from elsewhere could be changed by someone else. The pages hold no
secrets: staff type their key, kept in the tab's sessionStorage, and every action is an API
call the server checks for that key's role.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")

#: the pages run their own scripts only; they talk to this server and to the local reader
#: bridge on the loopback interface (``ekyc reader-bridge``), and show camera frames
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:* http://localhost:* ws://localhost:*; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=()",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/kiosk")
def kiosk() -> FileResponse:
    """The kiosk screen: card, liveness, documents, the result QR."""
    return _page("kiosk")


@router.get("/clerk")
def clerk() -> FileResponse:
    """The clerk screen: the review queue, one session's evidence, approve or decline."""
    return _page("clerk")


def install_pages(app: FastAPI) -> None:
    """Add the pages and mount their assets under ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
