"""`ekyc certs`: the local test CA that signs certified copies in development, its CRL; and
`ekyc verify-pdf`: check a certified copy PDF offline."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ekyc.cli._common import emit, fail
from ekyc.errors import EkycError
from ekyc.settings import Settings

if TYPE_CHECKING:
    from ekyc.verification.pdf_signing import PdfTrust


class NoTrustRoots(EkycError):
    """Nothing says which roots a certified copy must chain to."""

    code = "no_trust_roots"


def _when(at: str | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError as e:
        raise click.BadParameter(f"{e} (ISO 8601, e.g. 2025-06-01T12:00:00+07:00)") from e
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@click.group()
def certs() -> None:
    """The local test CA for certified copies (development only)."""


@certs.command("init-pdf")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--years", default=2, show_default=True, help="validity of the signer certificate")
@click.option("--force", is_flag=True, help="replace a test CA already in the folder")
def init_pdf(folder: Path | None, years: int, force: bool) -> None:
    """Create a local test CA, the service's PDF signing certificate, a time-stamping
    certificate and an empty CRL in FOLDER (default: EKYC_PDF_TEST_CA_DIR).

    Not for production: a deployment sets EKYC_PDF_SIGNER_KEY / _CERT / _CHAIN and
    EKYC_PDF_CRLS to what its CA issued. Private keys are written 0600.
    """
    from ekyc.synth import pdf_pki

    folder = folder or Settings().pdf_test_ca_dir
    if (folder / pdf_pki.SIGNER_KEY).exists() and not force:
        fail(EkycError(f"{folder} already holds a test CA (use --force to replace it)"))
    pki = pdf_pki.make_pdf_pki(dt.datetime.now(dt.UTC), signer_years=years)
    files = pdf_pki.write_pdf_pki(folder, pki)
    emit(
        {
            "folder": str(folder),
            "files": {role: str(path) for role, path in files.items()},
            "signer": {
                "subject": pki.signer_cert.subject.rfc4514_string(),
                "serial": format(pki.signer_cert.serial_number, "x"),
                "not_after": pki.signer_cert.not_valid_after_utc.isoformat(),
            },
            "environment": {
                "EKYC_PDF_SIGNER_KEY": str(files["signer_key"]),
                "EKYC_PDF_SIGNER_CERT": str(files["signer_cert"]),
                "EKYC_PDF_SIGNER_CHAIN": str(files["chain"]),
                "EKYC_PDF_CRLS": str(files["crl"]),
                "EKYC_PDF_TSA_KEY": str(files["tsa_key"]),
                "EKYC_PDF_TSA_CERT": str(files["tsa_cert"]),
            },
        }
    )


@certs.command("revoke-pdf")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--serial", "serials", multiple=True, required=True, help="hex serial (repeatable)")
def revoke_pdf(folder: Path, serials: tuple[str, ...]) -> None:
    """Issue a new CRL of the test CA in FOLDER listing SERIALs (and those it listed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from ekyc.synth import pdf_pki
    from ekyc.verification.pdf_signing import load_crls, load_private_key

    try:
        key = load_private_key(folder / pdf_pki.CA_KEY)
        ca = x509.load_pem_x509_certificate((folder / pdf_pki.CHAIN).read_bytes())
        old = load_crls([folder / pdf_pki.CRL]) if (folder / pdf_pki.CRL).is_file() else []
        wanted = {int(s, 16) for s in serials}
    except (EkycError, OSError, ValueError) as e:
        fail(e)
    now = dt.datetime.now(dt.UTC)
    listed = {r.serial_number: r.revocation_date_utc for c in old for r in c}
    listed.update({s: now for s in wanted if s not in listed})
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        fail(EkycError("the test CA key is not an EC key"))
    crl = pdf_pki.make_crl(key, ca, now, sorted(listed.items()))
    (folder / pdf_pki.CRL).write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    emit({"crl": str(folder / pdf_pki.CRL), "revoked": [format(s, "x") for s in sorted(listed)]})


def _trust(trust: tuple[Path, ...], crls: tuple[Path, ...]) -> PdfTrust:
    """Roots and CRLs: the options, else the settings, else the local test CA's."""
    from ekyc.synth import pdf_pki
    from ekyc.verification.pdf_signing import PdfTrust

    s = Settings()
    roots = list(trust) or s.pdf_trust_roots or s.pdf_signer_chain
    crl_paths = list(crls) or s.pdf_crls
    test_ca = s.pdf_test_ca_dir
    if not roots and (test_ca / pdf_pki.CHAIN).is_file():
        roots = [test_ca / pdf_pki.CHAIN]
        crl_paths = crl_paths or [p for p in [test_ca / pdf_pki.CRL] if p.is_file()]
    if not roots:
        raise NoTrustRoots("give --trust (or set EKYC_PDF_TRUST_ROOTS)")
    return PdfTrust.load(roots, crl_paths)


@click.command("verify-pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="root certificates (files or folders; repeatable); default EKYC_PDF_TRUST_ROOTS",
)
@click.option(
    "--crl",
    "crls",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="CRLs beyond those in the PDF (files or folders; repeatable); default EKYC_PDF_CRLS",
)
@click.option("--at", help="check as of this ISO 8601 time (default: now)")
def verify_pdf(file: Path, trust: tuple[Path, ...], crls: tuple[Path, ...], at: str | None) -> None:
    """Check a certified copy PDF offline and print JSON: valid, or the reason (altered,
    unknown_signer, signer_expired, signer_revoked, revocation_unknown,
    not_a_certified_copy, not_a_pdf), with what it certifies.

    Exit status: 0 valid, 3 not valid, 2 error.
    """
    from ekyc.verification.pdf_verify import verify_certified_copy

    when = _when(at)
    try:
        check = verify_certified_copy(file.read_bytes(), _trust(trust, crls), when)
    except (EkycError, OSError) as e:
        fail(e)
    out = check.to_json()
    out["file"] = str(file)
    emit(out)
    sys.exit(0 if check.valid else 3)
