"""`ekyc chip`: read a card through PC/SC, re-verify stored raw files, and serve a synthetic
card on the virtual reader."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import click

from ekyc.cli._common import emit, fail
from ekyc.errors import EkycError, UnsupportedData
from ekyc.settings import Settings
from readers.access_key import AccessKey, Can, MrzKey
from readers.errors import ReaderError

_SUFFIX_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jp2": "image/jp2"}
#: `chip read --raw-out DIR` writes each file as DIR/<name><RAW_SUFFIX> (EF.SOD.bin, DG1.bin …)
RAW_SUFFIX = ".bin"
_TRUST_OPTION = click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CSCA trust store: PEM folder, certificate or master list (repeatable)",
)


class ChipFilesError(EkycError):
    """Stored chip files that cannot be taken: unknown name, duplicate, too large, unreadable."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def write_raw_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Save raw chip files the way `chip verify` reads them back: one <name>.bin each."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name}{RAW_SUFFIX}").write_bytes(data)


def _file_name(path: Path) -> str:
    """The chip file a stored file holds, from its name: EF.SOD, EF.SOD.bin, sod.der, DG11 …"""
    from ekyc.icao import lds

    for candidate in (path.name, path.stem):
        try:
            return lds.by_name(candidate).name
        except UnsupportedData:
            continue
    raise ChipFilesError(
        "unknown_chip_file",
        f"{path}: not a chip file name (EF.COM, EF.SOD, EF.CardAccess, DG1 … DG16,"
        f" optionally with a suffix such as {RAW_SUFFIX})",
    )


def load_raw_files(paths: tuple[Path, ...]) -> dict[str, tuple[Path, bytes]]:
    """Chip files by name from folders (every <name>.bin in them) and single files."""
    from ekyc.icao.lds import MAX_FILE_BYTES

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() == RAW_SUFFIX
            )
            if not inside:
                raise ChipFilesError("no_chip_files", f"{path}: no *{RAW_SUFFIX} chip files in it")
            found += inside
        else:
            found.append(path)
    out: dict[str, tuple[Path, bytes]] = {}
    for path in found:
        name = _file_name(path)
        if name in out:
            raise ChipFilesError(
                "duplicate_chip_file", f"{name} given twice: {out[name][0]} and {path}"
            )
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES[name]:
                raise ChipFilesError(
                    "chip_file_too_large",
                    f"{path}: {size} bytes, more than {MAX_FILE_BYTES[name]} for {name}",
                )
            out[name] = (path, path.read_bytes())
        except OSError as e:
            raise ChipFilesError("chip_file_unreadable", f"{path}: {e.strerror}") from e
    return out


@click.group()
def chip() -> None:
    """Read and verify the chip of a CCCD (ICAO 9303 eMRTD)."""


def _access_key(can: str | None, mrz: str | None, id_number: str | None) -> AccessKey:
    given = [x for x in (can, mrz, id_number) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --can, --mrz or --id")
    try:
        if can:
            return Can(can)
        if id_number:  # a CCCD's CAN is the last 6 digits of its ID number
            if len(id_number) != 12 or not id_number.isdigit():
                raise ValueError("an ID number has 12 digits")
            return Can(id_number[-6:])
        doc, birth, expiry = (mrz or "").split(",")
        return MrzKey(doc.strip(), birth.strip(), expiry.strip())
    except ValueError as e:
        raise click.BadParameter(f"{e} (MRZ key: DOCNUMBER,YYMMDD,YYMMDD)") from e


@chip.command("read")
@click.option("--can", help="Card Access Number (last 6 digits of the ID number)")
@click.option("--mrz", help="MRZ key: DOCUMENT_NUMBER,BIRTH_YYMMDD,EXPIRY_YYMMDD")
@click.option("--id", "id_number", help="12-digit ID number (its last 6 digits are the CAN)")
@click.option("--reader", help="PC/SC reader name or part of it (default: the first)")
@click.option("--wait", type=float, help="seconds to wait for the card")
@_TRUST_OPTION
@click.option("--portrait", type=click.Path(path_type=Path), help="write the DG2 portrait here")
@click.option(
    "--raw-out",
    type=click.Path(path_type=Path),
    help="save the raw chip files here as <name>.bin (`ekyc chip verify` reads them back)",
)
def chip_read(
    can: str | None,
    mrz: str | None,
    id_number: str | None,
    reader: str | None,
    wait: float | None,
    trust: tuple[Path, ...],
    portrait: Path | None,
    raw_out: Path | None,
) -> None:
    """Read a card through PC/SC, verify it (PA, AA, consistency) and print JSON.

    Exit status: 0 valid, 3 read but not valid, 2 error.
    """
    from ekyc.cccd.chip import verify_chip
    from ekyc.icao.trust_store import TrustStore

    settings = Settings()
    key = _access_key(can, mrz, id_number)
    try:
        from readers.kiosk import read_chip

        store = TrustStore.load(*(trust or settings.trust_store))
        nonce = os.urandom(8)  # this process plays the server: it chooses the AA nonce
        result, stats = read_chip(
            key,
            reader=reader or settings.reader,
            aa_nonce=nonce,
            wait=wait if wait is not None else settings.card_wait_seconds,
        )
        verification = verify_chip(
            result.files, store, dt.datetime.now(dt.UTC), result.aa_nonce, result.aa_signature
        )
    except (ReaderError, EkycError) as e:
        fail(e)
    if raw_out is not None:
        write_raw_files(raw_out, result.files)
    out = verification.to_dict()
    if portrait is not None and verification.portrait is not None:
        face = verification.portrait.portrait
        if _SUFFIX_MIME.get(portrait.suffix.lower()) == face.mime_type:
            portrait.write_bytes(face.image)  # the chip's own bytes, untouched
        else:  # another format was asked for: decode (pixel-limited) and re-encode
            verification.portrait.to_image().save(portrait)
        out["portrait"]["written_to"] = str(portrait)
    out["read"] = {
        "access_protocol": result.access_protocol,
        "access_key": result.access_key,
        "pace_fallback": result.pace_fallback,
        "chip_authentication": bool(result.chip_auth),
        "link_sessions": result.reads,
        "apdus": stats.apdus,
        "bytes_received": stats.bytes_received,
    }
    emit(out)
    sys.exit(0 if verification.verdict.value == "valid" else 3)


def _when(at: str | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError as e:
        raise click.BadParameter(f"{e} (ISO 8601, e.g. 2025-06-01T12:00:00+07:00)") from e
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@chip.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_TRUST_OPTION
@click.option(
    "--require-aa",
    is_flag=True,
    help="fail a chip offering Active Authentication: stored files carry no AA answer",
)
@click.option("--at", help="check certificate validity at this ISO 8601 time (default: now)")
def chip_verify(
    paths: tuple[Path, ...], trust: tuple[Path, ...], require_aa: bool, at: str | None
) -> None:
    """Re-verify stored raw chip files offline and print the same JSON as `chip read`.

    PATHS: a folder written by `chip read --raw-out` (every <name>.bin in it) and/or
    single files named after the chip file they hold (EF.SOD.bin, SOD, DG11.bin …).
    Every DG 1–16 is hash-checked against EF.SOD. Active Authentication cannot be
    re-run on stored files: it is reported `not_performed` and fails only with
    --require-aa.

    Exit status: 0 valid, 3 not valid, 2 error.
    """
    from ekyc.cccd.chip import verify_chip
    from ekyc.icao.trust_store import TrustStore

    when = _when(at)
    try:
        loaded = load_raw_files(paths)
        store = TrustStore.load(*(trust or Settings().trust_store))
        files = {name: data for name, (_, data) in loaded.items()}
        verification = verify_chip(files, store, when, require_aa=require_aa)
    except EkycError as e:
        fail(e)
    out = verification.to_dict()
    out["files"] = {name: str(path) for name, (path, _) in sorted(loaded.items())}
    out["verified_at"] = when.isoformat()
    emit(out)
    sys.exit(0 if verification.verdict.value == "valid" else 3)


def _dg2_photo(path: Path, longest: int = 480) -> bytes:
    """A photo as a chip would hold it: JPEG, at most ``longest`` px (DG2 stays well under the
    server's 200 KiB limit for a data group)."""
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise click.BadParameter(f"{path} is not an image", param_hint="--portrait")
    scale = min(1.0, longest / max(image.shape[:2]))
    if scale < 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise click.BadParameter(f"{path} cannot be encoded as JPEG", param_hint="--portrait")
    return buf.tobytes()


@chip.command("emulate")
@click.option("--seed", default=0, show_default=True, help="which synthetic citizen")
@click.option(
    "--portrait-format", type=click.Choice(["jpeg", "jp2"]), default="jpeg", show_default=True
)
@click.option(
    "--pace/--no-pace",
    default=True,
    show_default=True,
    help="offer PACE (EF.CardAccess) or BAC only",
)
@click.option("--aa", type=click.Choice(["rsa", "ec", "none"]), default="rsa", show_default=True)
@click.option("--tamper-dg", type=int, help="alter this data group after signing (forged chip)")
@click.option("--clone", is_flag=True, help="AA key does not match DG15 (cloned chip)")
@click.option("--remove-after", type=int, help="leave the field at this APDU (card pulled)")
@click.option("--delay", type=float, default=0.0, help="seconds per APDU (slow card)")
@click.option(
    "--trust-out",
    type=click.Path(path_type=Path),
    default=Path("var/test-csca"),
    show_default=True,
    help="where to write the test CSCA certificate",
)
@click.option("--port", default=35963, show_default=True, help="vpcd port (35964: 2nd reader)")
@click.option(
    "--portrait",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="development only: this photo in DG2 (e.g. your face, to try the kiosk's face match)",
)
def chip_emulate(
    seed: int,
    portrait_format: str,
    pace: bool,
    aa: str,
    tamper_dg: int | None,
    clone: bool,
    remove_after: int | None,
    delay: float,
    trust_out: Path,
    port: int,
    portrait: Path | None,
) -> None:
    """Serve a synthetic CCCD on pcscd's virtual reader (starts pcscd when needed)."""
    from ekyc.synth.chip import build_chip
    from ekyc.synth.pki import write_trust_folder
    from readers.vcard.card import Faults, VirtualCard
    from readers.vcard.pcscd import running_pcscd
    from readers.vcard.vpcd import VpcdLink

    synth = build_chip(
        seed=seed,
        portrait_format=portrait_format,  # type: ignore[arg-type]
        pace=pace,
        aa=None if aa == "none" else aa,  # type: ignore[arg-type]
        tamper_dg=tamper_dg,
        clone=clone,
        portrait=None if portrait is None else _dg2_photo(portrait),
    )
    write_trust_folder(trust_out, [synth.pki.csca_cert])
    card = VirtualCard(synth.profile, Faults(remove_after_apdus=remove_after))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with running_pcscd() as started:
            link = VpcdLink(card, port=port, apdu_delay=delay)
            link.insert()
            c = synth.citizen
            emit(
                {
                    "card": "inserted",
                    "pcscd_started_here": started,
                    "citizen": c.full_name,
                    "id_number": c.id_number,
                    "can": c.can.number,
                    "mrz_key": ",".join(
                        [
                            c.mrz_key.document_number,
                            c.mrz_key.date_of_birth,
                            c.mrz_key.date_of_expiry,
                        ]
                    ),
                    "trust_store": str(trust_out),
                    "faults": synth.notes,
                }
            )
            click.echo(
                f"read it with: ekyc chip read --can {c.can.number} --trust {trust_out}", err=True
            )
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            link.remove()
    except (RuntimeError, ConnectionError) as e:
        fail(e)
