"""Start a local pcscd for the virtual reader when none runs, and stop only what we started.

For tests, benchmarks and demos: production kiosks run their distribution's pcscd
(and must not have vsmartcard-vpcd installed: vpcd listens on all interfaces).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

RUN_DIR = Path("/run/pcscd")


def virtual_readers() -> list[str]:
    """The vpcd readers pcscd offers (connecting to vpcd's port would itself insert a card)."""
    from readers.errors import ReaderError
    from readers.pcsc import PcscContext

    try:
        with PcscContext() as ctx:
            return [r for r in ctx.readers() if r.startswith("Virtual PCD")]
    except ReaderError:
        return []


def pcscd_running() -> bool:
    """True when pcscd answers on its socket (connecting to it is harmless, unlike vpcd's)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(0.5)
        sock.connect(str(RUN_DIR / "pcscd.comm"))
        return True
    return False


def _clear_stale_files() -> None:
    """pcscd killed with SIGKILL leaves its socket and pid file, and a new one refuses to start."""
    for name in ("pcscd.pid", "pcscd.comm"):
        with contextlib.suppress(FileNotFoundError):
            (RUN_DIR / name).unlink()


@contextlib.contextmanager
def running_pcscd(timeout: float = 10.0) -> Iterator[bool]:
    """Yield with pcscd (and vpcd's port) available; True when this call started it."""
    if pcscd_running():
        yield False
        return
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not Path(binary).exists():
        raise RuntimeError("pcscd is not installed: apt-get install pcscd vsmartcard-vpcd")
    _clear_stale_files()  # nobody answers on the socket (checked above): they are stale
    proc = subprocess.Popen(
        [binary, "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout
        while not virtual_readers():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"pcscd exited with {proc.returncode}; is vsmartcard-vpcd installed?"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("pcscd did not open the vpcd port in time")
            time.sleep(0.05)
        yield True
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
