"""Chip suite: a full CCCD chip read through pcscd + the virtual card, then its verification.

Reuses benchmarks.chip_read (PACE, Chip and Active Authentication, every file, Passive and
Active Authentication server-side); the stages are the whole read, the card session, the
server's verification and the software time per APDU (wall time minus PC/SC transport).
"""

from __future__ import annotations

from typing import Any

from benchmarks import chip_read
from benchmarks.measure import stage
from benchmarks.suite.context import Context


def run(ctx: Context) -> dict[str, Any]:
    reads = ctx.pick(20, 100)
    with ctx.track("chip: reads through pcscd + vpcd", None):
        report = chip_read.run(reads=reads, warmup=2)
    samples = report["samples"]

    def col(key: str, factor: float = 1000.0) -> list[float]:
        return [s[key] * factor for s in samples]

    return {
        "input": "a synthetic CCCD chip (RSA AA, JPEG portrait) on pcscd's virtual reader",
        "stages": {
            "whole_read_and_verify": stage(col("whole_s")),
            "card_session": stage(col("read_s")),
            "server_verification": stage(col("verify_s")),
            "software_per_apdu": stage(col("software_ms_per_apdu", 1.0)),
            "transport_per_apdu": stage(col("transport_ms_per_apdu", 1.0)),
        },
        "detail": {
            "apdus": report["apdus"],
            "bytes_sent": report["bytes_sent"],
            "bytes_received": report["bytes_received"],
            "files_bytes": report["files_bytes"],
        },
        "figures": {
            "apdus_per_read": {
                "value": report["apdus"],
                "unit": "APDUs",
                "better": "lower",
                "label": "APDUs per chip read",
            }
        },
    }
