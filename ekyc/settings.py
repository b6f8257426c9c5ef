"""All configuration, read once from ``EKYC_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
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
    #: SQLAlchemy URL: SQLite by default, ``postgresql+psycopg://…`` for several replicas
    database_url: str = "sqlite:///var/ekyc.db"
    #: keyring for evidence encryption at rest (JSON or one base64 key); created when missing
    encryption_key_file: Path | None = Path("var/ekyc-keys.json")
    #: one base64 AES-256 key instead of the key file
    encryption_key_b64: SecretStr | None = None
    #: id of the key given by ``encryption_key_b64`` (or by a key file holding one bare key)
    encryption_key_id: str = "k1"
    #: seconds raw evidence is kept after its session ends (0: purged at the next purge pass)
    retention_evidence_seconds: int = 0
    #: folder of result-signing keys (PKCS#8 PEM by kid, ``active`` names the signer);
    #: created with a fresh ES256 key when missing
    signing_key_dir: Path = Path("var/signing-keys")
    #: ``iss`` of signed results
    result_issuer: str = "ekyc"
    #: seconds a signed result stays valid
    result_token_seconds: int = 365 * 24 * 3600
    #: base of the verify link a result QR carries when the token is too long to embed
    verify_link_base: str = "http://127.0.0.1:8000/v/result"
    #: base of the citizen's status link (``{base}/{session id}?t=…``, the page ``/s/…``)
    status_link_base: str = "http://127.0.0.1:8000/s"
    # --- certified copies (signed PDF, PAdES) -------------------------------------------------
    #: the PDF signer's private key (PEM/DER); unset with the certificate: the local test CA
    pdf_signer_key: Path | None = None
    #: password of ``pdf_signer_key`` when it is encrypted
    pdf_signer_key_password: SecretStr | None = None
    #: the PDF signer's certificate (PEM/DER; a PEM bundle may carry its chain after it)
    pdf_signer_cert: Path | None = None
    #: CA certificates above the signer (files or folders, os.pathsep-separated)
    pdf_signer_chain: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: time-stamping unit key and certificate (EKU timeStamping): signatures become B-T/B-LT
    pdf_tsa_key: Path | None = None
    pdf_tsa_cert: Path | None = None
    #: CRLs (files or folders): embedded when signing, and used when checking PDFs
    pdf_crls: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: roots a checked PDF must chain to (files or folders); default: the signer's own root
    pdf_trust_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: folder of the local test CA used while no signer key/certificate is set (created)
    pdf_test_ca_dir: Path = Path("var/pdf-test-ca")
    #: seconds a certified copy is kept after it is issued (2 years, as Decree 23/2015/NĐ-CP
    #: Art. 13 asks of a certifying office's copies; the citizen's own file is theirs)
    retention_certified_copy_seconds: int = 2 * 365 * 24 * 3600
    #: most bytes of a PDF sent to POST /v1/verify/pdf
    max_pdf_bytes: int = 32 * 1024 * 1024
    #: PDF checks per minute of a caller without an API key (per client address)
    anonymous_pdf_rate_per_minute: int = 30
    #: decision policy file (default: the packaged ekyc/verification/default_policy.json)
    policy_file: Path | None = None
    #: seconds a verification session lives before it expires
    session_ttl_seconds: int = 30 * 60
    #: HMAC-SHA256 secret for webhook signatures (webhooks are not sent while unset)
    webhook_secret: SecretStr | None = None
    #: seconds one webhook delivery attempt may take
    webhook_timeout_seconds: float = 5.0
    #: deliver webhooks to private, loopback and link-local addresses (on-premises portals)
    webhook_allow_private: bool = False
    # --- HTTP API ---------------------------------------------------------------------------
    #: most bytes of a JSON request body (chip files, steps without images)
    max_request_bytes: int = 1024 * 1024
    #: most bytes of a request carrying images (liveness frames, documents, faces, OCR)
    max_upload_bytes: int = 24 * 1024 * 1024
    #: most bytes of one uploaded image
    max_image_bytes: int = 8 * 1024 * 1024
    #: most pixels of one decoded image
    max_image_pixels: int = 40_000_000
    #: requests per minute of a caller without an API key (per client address)
    anonymous_rate_per_minute: int = 600
    #: burst of a rate limit, in seconds of the rate: at most rate × this / 60 requests in any
    #: window of this many seconds
    rate_burst_seconds: float = 60.0
    #: where rate limits and in-flight caps are counted: ``memory://`` (this process only) or
    #: ``redis://host:port/db`` (shared by every replica; unreachable → 503 limits_unavailable)
    rate_limit_storage: str = "memory://"
    #: inference requests (liveness, face match, documents, helpers) one key may have in
    #: flight at once, across replicas with a shared store (0: no cap)
    max_inflight_per_key: int = 4
    #: seconds after which an in-flight slot expires even if never released (a dead replica)
    inflight_slot_ttl_seconds: float = 300.0
    #: serve Prometheus metrics at /metrics
    metrics_enabled: bool = True
    #: web origins allowed to call the API from a browser (CORS), comma-separated
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: structured JSON logs on stderr (set false for plain text)
    log_json: bool = True
    #: load the face models at startup (liveness, face match, /v1/faces/compare)
    face_models_enabled: bool = True
    #: OCR engine for card reading and document comparison (loaded on first use):
    #: default | tesseract | paddle (a deployer's PaddleOCR ONNX models in ocr_model_dir)
    ocr_engine: str = "default"
    #: folder with rec.onnx, keys.txt and optionally det.onnx for the paddle engine
    ocr_model_dir: Path | None = None
    # --- inference backend (ekyc.inference) -------------------------------------------------
    #: where the models run: ``local`` (in each API process) or ``ray`` (the Ray Serve
    #: application of ``ekyc inference serve``)
    inference: Literal["local", "ray"] = "local"
    #: the Ray cluster: ``auto`` (the one on this machine), ``host:6379`` (its head's GCS)
    #: or ``ray://host:10001`` (Ray Client)
    ray_address: str = "auto"
    #: the Serve application holding the face, OCR and comparison deployments
    ray_app_name: str = "ekyc-inference"
    #: seconds one call to the backend may take before 503 inference_timeout
    inference_timeout_seconds: float = 60.0
    #: Retry-After of the 503s inference_unavailable / _overloaded / _timeout
    inference_retry_after_seconds: int = 5
    #: options of each Serve deployment, JSON overriding ekyc.inference.config.DEFAULTS key
    #: by key (num_replicas, num_cpus, num_gpus, max_ongoing_requests, max_queued_requests,
    #: max_batch_size, batch_wait_timeout_s, onnx_providers, onnx_threads)
    ray_face: dict[str, Any] = Field(default_factory=dict)
    ray_ocr: dict[str, Any] = Field(default_factory=dict)
    ray_compare: dict[str, Any] = Field(default_factory=dict)
    #: run the background jobs below in each API process
    background_jobs: bool = True
    #: seconds between webhook delivery passes
    webhook_interval_seconds: float = 5.0
    #: seconds between sweeps that expire unattended sessions
    expiry_interval_seconds: float = 30.0
    #: seconds between purges of raw evidence past its retention
    purge_interval_seconds: float = 300.0

    @field_validator(
        "trust_store", "pdf_signer_chain", "pdf_crls", "pdf_trust_roots", mode="before"
    )
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

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors(cls, v: object) -> object:
        return [o.strip() for o in v.split(",") if o.strip()] if isinstance(v, str) else v
