"""Start ``ekyc inference serve`` in a subprocess and wait until its application is up.

For tests, benchmarks and scale tests: the subprocess starts its own local Ray cluster (or
joins one with ``--address``), deploys the Serve application and writes a ready file with
the cluster's address; API processes then use ``EKYC_INFERENCE=ray`` and
``EKYC_RAY_ADDRESS=<address>``. Nothing here imports Ray.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

#: environment a driver (API process) sets for itself; a cluster's head must not inherit it
_DRIVER_ONLY = (
    "RAY_gcs_rpc_server_reconnect_timeout_s",
    "RAY_ENABLE_AUTO_CONNECT",
    "RAY_gcs_server_port_wait_time_s",
    "RAY_ADDRESS",
)


@dataclass
class ServeProcess:
    """A running ``ekyc inference serve``."""

    process: subprocess.Popen[bytes]
    #: the Ray cluster's address (its GCS, host:port) for EKYC_RAY_ADDRESS
    address: str
    app: str
    log_path: Path
    info: dict[str, object]

    def env(self) -> dict[str, str]:
        """The environment of an API process using this application."""
        return {"EKYC_INFERENCE": "ray", "EKYC_RAY_ADDRESS": self.address,
                "EKYC_RAY_APP_NAME": self.app}  # fmt: skip

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def replica_pids(self, deployment: str) -> list[int]:
        """Process ids of the running replicas of ``deployment`` (Face, Ocr, Compare) on this
        machine: Ray names a replica's worker process ``ray::ServeReplica:<app>:<name>``, and
        every process of a cluster started here is in this command's session. Linux only."""
        title = f"ray::ServeReplica:{self.app}:{deployment}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            session = int(stat.rsplit(")", 1)[1].split()[3])
            name = cmdline.split(b"\0")[0].strip()
            # while it runs a task the title may go on: "...:Face.handle_request"
            if session == self.process.pid and (name == title or name.startswith(title + b".")):
                found.append(int(entry.name))
        return sorted(found)

    def kill_replica(self, deployment: str) -> int:
        """SIGKILL one replica of ``deployment`` (a crash: Serve notices and starts another);
        its pid. For tests of a local cluster; on a cluster of several machines the same is
        ``ray.kill`` on the replica's actor (``serve.status()`` names them)."""
        pids = self.replica_pids(deployment)
        if not pids:
            raise RuntimeError(f"no running replica of {deployment} in {self.app!r}")
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (the command deletes its application and stops the cluster it started),
        then SIGKILL to its whole process group after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # anything of its group left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_serve(
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    log_path: Path | None = None,
) -> ServeProcess:
    """``ekyc inference serve ARGS`` with ``env`` added to this environment; returns once
    the application runs (RuntimeError with the log's tail if it exits or times out first).

    Deployment options come from the environment as for the command (``EKYC_RAY_FACE`` …;
    ``--no-batching`` turns face batching off)."""
    folder = Path(tempfile.mkdtemp(prefix="ekyc-inference-"))
    ready = folder / "ready.json"
    log = log_path or folder / "serve.log"
    child_env = {k: v for k, v in os.environ.items() if k not in _DRIVER_ONLY}
    child_env.update(env or {})
    cmd = [sys.executable, "-m", "ekyc.cli", "inference", "serve", "--ready-file", str(ready)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*cmd, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,  # its own process group: stop() reaches Ray's daemons
        )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            why = "exited" if process.poll() is not None else f"was not ready in {timeout:g} s"
            sp = ServeProcess(process, "", "", log, {})
            sp.stop(10)
            raise RuntimeError(f"ekyc inference serve {why}:\n{sp.log_tail()}")
        time.sleep(0.2)
    info = json.loads(ready.read_text())
    return ServeProcess(process, str(info["address"]), str(info["app"]), log, info)
