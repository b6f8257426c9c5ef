"""A throw-away Redis for tests: Debian's ``redis-server`` on a free loopback port.

    with redis_server(tmp_path) as url:  # "redis://127.0.0.1:PORT/0"
        ...

Nothing is persisted (``--save '' --appendonly no``); the server's files and log stay in the
given folder, and it is stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REDIS_SERVER = "redis-server"


def redis_server_path() -> str | None:
    """Where ``redis-server`` is, or None when it is not installed (``make system-deps``)."""
    return shutil.which(REDIS_SERVER) or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(directory: Path, ready_timeout: float = 10.0) -> Iterator[str]:
    """Start ``redis-server`` in ``directory`` on a free loopback port; yield its URL
    (``redis://127.0.0.1:PORT/0``); stop it afterwards. RuntimeError when it cannot start."""
    exe = redis_server_path()
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    directory.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # another process may take the free port before we bind it
        port = free_port()
        log = directory / f"redis-{port}.log"
        args = [
            exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--logfile", str(log), "--daemonize", "no",
        ]  # fmt: skip
        with (directory / f"redis-{port}.out").open("wb") as out:  # early errors land here
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout
        while proc.poll() is None and time.monotonic() < deadline and not _ping(port):
            time.sleep(0.05)
        if proc.poll() is None and _ping(port):
            break
        _stop(proc)
    else:
        files = (log, directory / f"redis-{port}.out")
        text = " ".join(f.read_text(errors="replace")[-1000:] for f in files if f.exists())
        raise RuntimeError(f"redis-server did not start: {text}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
