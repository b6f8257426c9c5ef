"""Full CCCD chip read through the real PC/SC stack, and its server-side verification.

One synthetic chip sits on pcscd's virtual reader (vpcd, with TCP_QUICKACK so the
40 ms delayed-ACK stall is avoided). Each iteration connects, runs PACE (CAN),
reads EF.COM, DG14, Chip Authentication, DG1, DG2, DG13, DG15, EF.SOD, runs Active
Authentication over a fresh nonce, disconnects with a card reset, then verifies
everything (parsing, Passive and Active Authentication) as the server would.

Software time = wall time minus the time spent inside the PC/SC transport, so it
measures this project's crypto and parsing, not pcscd.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from benchmarks.machine import describe, summary
from ekyc.cccd.chip import ChipVerdict, verify_chip
from ekyc.icao.trust_store import TrustStore
from ekyc.synth.chip import build_chip
from readers.chip_reader import ChipReader
from readers.pcsc import PcscContext
from readers.transport import CountingTransport
from readers.vcard.card import VirtualCard
from readers.vcard.pcscd import running_pcscd
from readers.vcard.vpcd import VpcdLink

READER = "Virtual PCD 00 00"
FLOOR_SOFTWARE_MS_PER_APDU = 1.0
FLOOR_WHOLE_READ_S = 1.0


def run(reads: int = 20, seed: int = 0, warmup: int = 2) -> dict[str, Any]:
    """Run the benchmark and return the report (raw samples included)."""
    chip = build_chip(seed=seed, aa="rsa", portrait_format="jpeg")
    store = TrustStore()
    store.add_certificate(chip.pki.csca_cert, source="benchmark test CSCA")
    samples: list[dict[str, float]] = []
    with running_pcscd(), PcscContext() as ctx:
        link = VpcdLink(VirtualCard(chip.profile))
        link.insert()
        try:
            for i in range(warmup + reads):
                sample = _one_read(ctx, chip, store)
                if i >= warmup:
                    samples.append(sample)
        finally:
            link.remove()

    def col(key: str) -> list[float]:
        return [s[key] for s in samples]

    whole = summary(col("whole_s"))
    per_apdu = summary(col("software_ms_per_apdu"))
    return {
        "suite": "chip_read",
        "machine": describe(),
        "reads": reads,
        "files_bytes": {name: len(data) for name, data in chip.files.items()},
        "apdus": samples[0]["apdus"],
        "bytes_sent": samples[0]["bytes_sent"],
        "bytes_received": samples[0]["bytes_received"],
        "whole_read_s": whole,
        "read_s": summary(col("read_s")),
        "verify_s": summary(col("verify_s")),
        "transport_ms_per_apdu": summary(col("transport_ms_per_apdu")),
        "software_ms_per_apdu": per_apdu,
        "floors": {
            "software_ms_per_apdu_median": {
                "limit": FLOOR_SOFTWARE_MS_PER_APDU,
                "ok": per_apdu["median"] <= FLOOR_SOFTWARE_MS_PER_APDU,
            },
            "whole_read_s_median": {
                "limit": FLOOR_WHOLE_READ_S,
                "ok": whole["median"] <= FLOOR_WHOLE_READ_S,
            },
        },
        "samples": samples,
    }


def _one_read(ctx: PcscContext, chip: Any, store: TrustStore) -> dict[str, float]:
    nonce = os.urandom(8)
    t0 = time.perf_counter()
    ctx.wait_for_card(READER, 5)
    card = ctx.connect(READER)
    transport = CountingTransport(card)
    try:
        result = ChipReader(chip.citizen.can).read(transport, aa_nonce=nonce)
    finally:
        card.close(reset=True)
    t1 = time.perf_counter()
    verification = verify_chip(
        result.files, store, dt.datetime.now(dt.UTC), nonce, result.aa_signature
    )
    t2 = time.perf_counter()
    if verification.verdict is not ChipVerdict.VALID:
        raise RuntimeError(f"benchmark chip did not verify: {verification.reasons}")
    stats = transport.stats
    software = (t2 - t0) - stats.transport_seconds
    return {
        "whole_s": t2 - t0,
        "read_s": t1 - t0,
        "verify_s": t2 - t1,
        "apdus": stats.apdus,
        "bytes_sent": stats.bytes_sent,
        "bytes_received": stats.bytes_received,
        "transport_ms_per_apdu": stats.transport_seconds * 1000 / stats.apdus,
        "software_ms_per_apdu": software * 1000 / stats.apdus,
    }


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"chip read benchmark — {report['reads']} reads on {m['cpu']} ({m['cores']} cores), "
        f"Python {m['python']}"
    )
    print("files: " + ", ".join(f"{k} {v} B" for k, v in report["files_bytes"].items()))
    print(
        f"per read: {report['apdus']} APDUs, {report['bytes_sent']} B sent, "
        f"{report['bytes_received']} B received"
    )
    rows = [
        ("whole read + verify (s)", report["whole_read_s"]),
        ("  card session (s)", report["read_s"]),
        ("  server verification (s)", report["verify_s"]),
        ("software per APDU (ms)", report["software_ms_per_apdu"]),
        ("transport per APDU (ms)", report["transport_ms_per_apdu"]),
    ]
    print(f"{'':28}{'median':>10}{'p95':>10}{'min':>10}{'max':>10}")
    for label, s in rows:
        print(f"{label:28}{s['median']:10.4f}{s['p95']:10.4f}{s['min']:10.4f}{s['max']:10.4f}")
    for name, floor in report["floors"].items():
        print(f"floor {name} ≤ {floor['limit']}: {'ok' if floor['ok'] else 'MISSED'}")
