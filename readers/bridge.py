"""The local reader bridge: lets a kiosk web page drive the PC/SC reader.

Serves on 127.0.0.1 only. ``POST /v1/read`` reads the chip and answers the raw
files (base64) and the Active Authentication signature over the nonce the page
got from the server; ``/v1/ws`` does the same over a WebSocket with progress
events. The bridge verifies nothing: the page forwards the raw files to the
server, which runs Passive/Active Authentication itself.

Browsers send an ``Origin`` header; only the configured portal origins (and
pages without one, e.g. curl) may use the reader, so an unrelated web site
cannot read the citizen's card.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from readers.access_key import AccessKey, Can, MrzKey
from readers.chip_reader import ChipReadResult
from readers.errors import ReaderError
from readers.transport import TransportStats


class ReaderBusy(ReaderError):
    """Another read holds the reader (one card, one read at a time)."""

    code = "reader_busy"


_STATUS = {
    "reader_busy": 409,
    "no_reader": 404,
    "no_card": 408,
    "access_denied": 403,
    "access_key_not_applicable": 422,
    "card_removed": 409,
    "pcsc_unavailable": 503,
}

ReadFn = Callable[..., tuple[ChipReadResult, TransportStats]]
ListFn = Callable[[], list[str]]


class BadRequest(ValueError):
    code = "bad_request"


def parse_read_request(body: Any) -> tuple[AccessKey, bytes | None, str | None]:
    """Validate a read request: ``{"can"|"mrz", "nonce" (base64, 8 bytes), "reader"}``."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        if "can" in body:
            key: AccessKey = Can(str(body["can"]))
        elif isinstance(body.get("mrz"), dict):
            m = body["mrz"]
            key = MrzKey(
                str(m["document_number"]), str(m["date_of_birth"]), str(m["date_of_expiry"])
            )
        else:
            raise BadRequest("give an access key: 'can' or 'mrz'")
    except (KeyError, ValueError) as e:
        raise BadRequest(f"invalid access key: {e}") from e
    nonce = None
    if body.get("nonce") is not None:
        try:
            nonce = base64.b64decode(str(body["nonce"]), validate=True)
        except binascii.Error as e:
            raise BadRequest("nonce must be base64") from e
        if len(nonce) != 8:
            raise BadRequest("nonce must be 8 bytes (Active Authentication challenge)")
    reader = body.get("reader")
    return key, nonce, str(reader) if reader is not None else None


def result_json(result: ChipReadResult, stats: TransportStats) -> dict[str, Any]:
    def b64(b: bytes | None) -> str | None:
        return base64.b64encode(b).decode() if b is not None else None

    return {
        "files": {name: b64(data) for name, data in result.files.items()},
        "access_protocol": result.access_protocol,
        "access_key": result.access_key,
        "pace_fallback": result.pace_fallback,
        "chip_authentication": bool(result.chip_auth),
        "aa_nonce": b64(result.aa_nonce),
        "aa_signature": b64(result.aa_signature),
        "link_sessions": result.reads,
        "apdus": stats.apdus,
        "bytes_received": stats.bytes_received,
    }


def error_json(e: Exception) -> tuple[int, dict[str, str]]:
    code = getattr(e, "code", "reader_error")
    status = 400 if isinstance(e, BadRequest) else _STATUS.get(code, 502)
    return status, {"code": code, "message": str(e)}


@dataclass
class Bridge:
    read: ReadFn
    list_readers: ListFn
    allowed_origins: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._busy = threading.Lock()

    def origin_ok(self, origin: str | None) -> bool:
        return origin is None or origin in self.allowed_origins

    def run_read(
        self, body: Any, progress: Callable[[str, int, int], None] | None = None
    ) -> dict[str, Any]:
        key, nonce, reader = parse_read_request(body)
        if not self._busy.acquire(blocking=False):
            raise ReaderBusy("another read is in progress on this reader")
        try:
            result, stats = self.read(key, reader=reader, aa_nonce=nonce, on_progress=progress)
        finally:
            self._busy.release()
        return result_json(result, stats)


def create_app(bridge: Bridge) -> Starlette:
    def forbidden() -> JSONResponse:
        return JSONResponse(
            {
                "code": "origin_not_allowed",
                "message": "this web origin may not use the card reader",
            },
            403,
        )

    async def readers(request: Request) -> JSONResponse:
        if not bridge.origin_ok(request.headers.get("origin")):
            return forbidden()
        try:
            names = await asyncio.to_thread(bridge.list_readers)
        except ReaderError as e:
            status, body = error_json(e)
            return JSONResponse(body, status)
        return JSONResponse({"readers": names})

    async def read(request: Request) -> JSONResponse:
        if not bridge.origin_ok(request.headers.get("origin")):
            return forbidden()
        try:
            body = json.loads(await request.body())
            return JSONResponse(await asyncio.to_thread(bridge.run_read, body))
        except json.JSONDecodeError:
            return JSONResponse({"code": "bad_request", "message": "body is not JSON"}, 400)
        except (ReaderError, BadRequest) as e:
            status, err = error_json(e)
            return JSONResponse(err, status)

    async def ws(socket: WebSocket) -> None:
        if not bridge.origin_ok(socket.headers.get("origin")):
            await socket.close(code=1008)
            return
        await socket.accept()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def progress(name: str, done: int, total: int) -> None:
            event = {"event": "progress", "file": name, "read": done, "total": total}
            loop.call_soon_threadsafe(queue.put_nowait, event)

        try:
            while True:
                body = await socket.receive_json()
                task = asyncio.create_task(asyncio.to_thread(bridge.run_read, body, progress))
                while not task.done() or not queue.empty():
                    getter = asyncio.create_task(queue.get())
                    done, _ = await asyncio.wait(
                        {task, getter}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter in done:
                        await socket.send_json(getter.result())
                    else:
                        getter.cancel()
                try:
                    await socket.send_json({"event": "result", **task.result()})
                except (ReaderError, BadRequest) as e:
                    await socket.send_json({"event": "error", **error_json(e)[1]})
        except (WebSocketDisconnect, json.JSONDecodeError):
            return

    return Starlette(
        routes=[
            Route("/v1/readers", readers, methods=["GET"]),
            Route("/v1/read", read, methods=["POST"]),
            WebSocketRoute("/v1/ws", ws),
        ]
    )


def pcsc_bridge(allowed_origins: frozenset[str] = frozenset()) -> Bridge:
    """A bridge over the machine's PC/SC readers."""
    from readers.kiosk import read_chip
    from readers.pcsc import PcscContext

    def list_readers() -> list[str]:
        with PcscContext() as ctx:
            return ctx.readers()

    return Bridge(read=read_chip, list_readers=list_readers, allowed_origins=allowed_origins)
