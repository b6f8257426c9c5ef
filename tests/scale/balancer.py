"""A tiny round-robin TCP balancer for the scale test: what nginx or a cloud load balancer
does in front of several API replicas, small enough to read in one go.

Each accepted connection goes to the next backend in turn; a backend that refuses the
connection (a killed replica) is skipped for that connection, as ``proxy_next_upstream
error`` would. Bytes are piped both ways until either side closes. ``choices`` records the
backend index of every connection, so a test can tell which replica served what.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import threading

CONNECT_TIMEOUT_S = 2.0
CHUNK = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if dst.can_write_eof():
                dst.write_eof()
            else:
                dst.close()


class RoundRobin:
    """Listen on 127.0.0.1:``port`` and spread connections over ``backends`` (host, port)."""

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.port = free_port()
        self.choices: list[int] = []
        self._next = itertools.cycle(range(len(backends)))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RoundRobin:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        )
        self._server = started.result(timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            # connections still piped: end them here, not as tasks destroyed with the loop
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            i = next(self._next)
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(*self.backends[i]), CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                continue  # that replica is down: the next one takes this connection
            return i, r, w
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend = await self._connect()
        if backend is None:
            writer.close()  # every replica is down: the client sees the connection drop
            return
        i, br, bw = backend
        self.choices.append(i)
        await asyncio.gather(_pipe(reader, bw), _pipe(br, writer))
        for w in (bw, writer):
            with contextlib.suppress(OSError, RuntimeError):
                w.close()
