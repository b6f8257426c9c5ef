"""All configuration, read once from ``EKYC_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKYC_", extra="ignore")

    #: CSCA trust store: PEM/DER folders and ICAO master lists (.mls), os.pathsep-separated
    trust_store: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: PC/SC reader name (substring); the first reader when empty
    reader: str | None = None
    #: seconds a kiosk waits for a card to be presented
    card_wait_seconds: float = 30.0
    #: web origins allowed to drive the local reader bridge, comma-separated
    bridge_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8000
    #: user model manifest written by `ekyc models add` (built-in models need none)
    models_manifest: Path | None = None
    #: ONNX Runtime execution providers in preference order, comma-separated
    #: (tensorrt, cuda, cpu or full provider names); CPU is always the last resort
    onnx_providers: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["cpu"])
    #: intra-op threads per ONNX Runtime session
    onnx_threads: int = 1
    #: face threshold file written by `ekyc face calibrate` (default: the packaged one)
    face_thresholds: Path | None = None

    @field_validator("trust_store", mode="before")
    @classmethod
    def _paths(cls, v: object) -> object:
        return [p for p in v.split(os.pathsep) if p] if isinstance(v, str) else v

    @field_validator("onnx_providers", mode="before")
    @classmethod
    def _providers(cls, v: object) -> object:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @field_validator("bridge_origins", mode="before")
    @classmethod
    def _origins(cls, v: object) -> object:
        return [o.strip() for o in v.split(",") if o.strip()] if isinstance(v, str) else v
