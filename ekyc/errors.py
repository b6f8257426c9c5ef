"""Domain error vocabulary. Every error has a stable ``code`` and a human message;
the API maps them to RFC 9457 problem+json."""

from __future__ import annotations


class EkycError(Exception):
    code = "ekyc_error"


class MalformedData(EkycError):
    """A chip file (or other structured input) cannot be parsed.

    ``file`` names the file (``DG1``, ``EF.SOD`` …), ``offset`` the byte where parsing failed.
    """

    code = "malformed_data"

    def __init__(self, file: str, offset: int, reason: str) -> None:
        self.file = file
        self.offset = offset
        self.reason = reason
        super().__init__(f"{file}: {reason} (offset {offset})")


class UnsupportedData(EkycError):
    """Well-formed input that uses something this service does not implement."""

    code = "unsupported_data"


class TrustStoreError(EkycError):
    """The CSCA trust store (PEM folder or master list) cannot be loaded."""

    code = "trust_store_error"
