"""Options of each Ray Serve deployment (``EKYC_RAY_FACE``, ``EKYC_RAY_OCR``,
``EKYC_RAY_COMPARE``: JSON objects overriding the defaults below key by key).

Nothing here imports Ray: the settings and the API read these without the ``ray`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ekyc.settings import Settings
    from models.session import RuntimeOptions

Kind = Literal["face", "ocr", "compare"]
KINDS: tuple[Kind, ...] = ("face", "ocr", "compare")

#: the settings a deployment builds its models from (shipped to the replicas explicitly:
#: a replica on another machine does not see the caller's environment, nor its secrets)
MODEL_SETTINGS = (
    "models_manifest",
    "onnx_providers",
    "onnx_threads",
    "face_thresholds",
    "face_models_enabled",
    "ocr_engine",
    "ocr_model_dir",
)


class DeploymentOptions(BaseModel):
    """How one deployment runs: replicas, resources, queue limits, batching, ONNX Runtime."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: replicas (Ray actors, each with its own copy of the models)
    num_replicas: int = Field(default=1, ge=1)
    #: CPUs reserved per replica (Ray's scheduling; the ONNX threads are what it really uses)
    num_cpus: float = Field(default=0.5, ge=0)
    #: GPUs per replica; set it with ``onnx_providers`` ["cuda", "cpu"] where a GPU exists
    num_gpus: float = Field(default=0.0, ge=0)
    #: requests one replica works on at once (a batch is made of these: keep it >= the batch)
    max_ongoing_requests: int = Field(default=8, ge=1)
    #: requests a caller queues beyond those before Serve refuses (inference_overloaded);
    #: -1 queues without limit
    max_queued_requests: int = Field(default=64, ge=-1)
    #: face embedder: crops embedded in one model call across concurrent requests (1: off)
    max_batch_size: int = Field(default=1, ge=1)
    #: seconds a batch waits for more crops once the first arrived
    batch_wait_timeout_s: float = Field(default=0.005, ge=0)
    #: face embedder: batches run at once, each in its own thread (about the replica's cores)
    max_concurrent_batches: int = Field(default=2, ge=1)
    #: ONNX Runtime providers of this deployment's sessions (None: as the local backend)
    onnx_providers: list[str] | None = None
    #: intra-op threads per ONNX Runtime session (None: as the local backend)
    onnx_threads: int | None = Field(default=None, ge=1)

    def serve_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Deployment.options``."""
        return {
            "num_replicas": self.num_replicas,
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus},
        }


#: defaults per deployment: they fit a 2-core machine (1.5 CPUs reserved in all)
DEFAULTS: dict[Kind, dict[str, Any]] = {
    "face": {"max_ongoing_requests": 32, "max_queued_requests": 128, "max_batch_size": 16},
    "ocr": {"max_ongoing_requests": 8, "max_queued_requests": 64},
    "compare": {"max_ongoing_requests": 2, "max_queued_requests": 16},
}


def deployment_options(settings: Settings, kind: Kind) -> DeploymentOptions:
    """The deployment's defaults with the settings' overrides (pydantic ValidationError when
    an override names an unknown key or a bad value)."""
    overrides: dict[str, Any] = getattr(settings, f"ray_{kind}")
    return DeploymentOptions(**{**DEFAULTS[kind], **overrides})


def model_settings(settings: Settings) -> dict[str, Any]:
    """The settings the replicas build their models from."""
    return settings.model_dump(include=set(MODEL_SETTINGS))


def runtime_options(
    settings: Settings, family: Literal["face", "ocr"], options: DeploymentOptions | None = None
) -> RuntimeOptions:
    """ONNX Runtime options of a deployment's sessions of one model family: the deployment's
    own providers/threads where set, else those the local backend gives that family (face:
    EKYC_ONNX_PROVIDERS/EKYC_ONNX_THREADS; OCR: the CPU, 1 thread, as ``LazyOcr`` loads it)."""
    from models.session import RuntimeOptions, options_from

    o = options or DeploymentOptions()
    if family == "face":
        base = options_from(settings.onnx_providers, settings.onnx_threads)
    else:
        base = RuntimeOptions()
    providers = options_from(o.onnx_providers, 1).providers if o.onnx_providers else base.providers
    threads = o.onnx_threads if o.onnx_threads is not None else base.intra_threads
    return RuntimeOptions(providers, intra_threads=threads)
