"""The eKYC domain: ICAO 9303 data and verification, CCCD specifics, face,
documents, verification sessions and storage. Pure Python + numpy: no HTTP,
no hardware (``readers`` protocol code may be imported, never pyscard)."""

__version__ = "0.1.0"
