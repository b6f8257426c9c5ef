"""The Ray backend, caller side: the model protocols implemented by calls to Ray Serve.

Each API process joins the Ray cluster as a driver (``EKYC_RAY_ADDRESS``) and calls the
deployments of ``ekyc.inference.ray_app`` through Serve handles. The remote classes below
stand in for the in-process ones (FaceDetector, FaceEmbedder, FacePad, OcrEngine, the copy
comparer): each method ships its arguments to a replica that runs the very same method on
models built by the same code, so results are those of the local backend.

Every call has a deadline (``EKYC_INFERENCE_TIMEOUT_SECONDS``) and ends in a result or in
one of three 503s, never in a hang: ``inference_overloaded`` when Serve's queue is full,
``inference_unavailable`` when the cluster, Serve, the application or its replicas are gone
(checked while a call waits, so a dead cluster is noticed in about two seconds, not at the
deadline), ``inference_timeout`` when a healthy backend is too slow (the call is cancelled).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ekyc.inference.errors import (
    InferenceOverloaded,
    InferenceTimeout,
    InferenceUnavailable,
    RemoteFailure,
)

if TYPE_CHECKING:
    from ekyc.document.compare import CopyVerdict
    from ekyc.inference import Inference
    from ekyc.settings import Settings

log = logging.getLogger(__name__)

#: deployment names inside the Serve application
FACE, OCR, COMPARE, INGRESS = "Face", "Ocr", "Compare", "Inference"
#: seconds between health checks while a call waits
WAIT_SLICE_S = 1.0
#: seconds a health check answer is reused before asking again
HEALTH_TTL_S = 1.0
#: seconds one health check question may take
PROBE_TIMEOUT_S = 1.0
#: seconds a call waits for the process's first connection to the cluster
CONNECT_WAIT_S = 5.0
#: seconds between connection attempts while the cluster is out of reach
RECONNECT_S = 2.0
#: a call whose replica died is sent again this many times (to another replica)
REPLICA_RETRIES = 2

# Environment of a process that joins a cluster as a driver. Ray kills a driver that loses
# its cluster for 60 s; an API process must outlive that and answer 503s instead. It must
# never start a Ray instance of its own either (Ray does that on first use when
# disconnected). Connecting is done in a background thread (RayClient.ensure_connected):
# a failed attempt still takes ray.init some forty seconds, whatever these say.
DRIVER_ENV = {
    "RAY_gcs_rpc_server_reconnect_timeout_s": str(10 * 365 * 24 * 3600),
    "RAY_ENABLE_AUTO_CONNECT": "0",
    "RAY_gcs_server_port_wait_time_s": "5",
}
_connect_lock = threading.Lock()


def prepare_driver_env() -> None:
    """Set the driver environment (keeping what the operator set) and, as Ray itself does
    for ``auto`` only, use token authentication when a token is at hand (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH`` or the ``~/.ray/auth_token`` a local cluster wrote)."""
    for k, v in DRIVER_ENV.items():
        os.environ.setdefault(k, v)
    try:
        from ray._private import auto_init_hook
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # another Ray version: the operator sets RAY_AUTH_MODE
        return
    auto_init_hook.enable_auto_connect = False  # read at import time: ray may be imported
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` (no-op when this process is already connected)."""
    prepare_driver_env()
    with _connect_lock:
        import ray

        if ray.is_initialized():
            return
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        return False
    return True


class RayClient:
    """Serve handles of one application, called with deadlines and failures mapped."""

    def __init__(self, address: str, app_name: str, timeout_s: float, retry_after: int = 5) -> None:
        self.address = address
        self.app_name = app_name
        self.timeout_s = timeout_s
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}
        self._describe: dict[str, dict[str, Any]] = {}
        self._connector: threading.Thread | None = None
        self._connected = threading.Event()
        self._connect_started = 0.0  # monotonic time of the first attempt
        #: why the last connection attempt failed (None: none failed yet, or connected)
        self._connect_error: str | None = None
        self._health: dict[str, tuple[float, str | None]] = {}
        self._health_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RayClient:
        return cls(
            settings.ray_address,
            settings.ray_app_name,
            settings.inference_timeout_seconds,
            settings.inference_retry_after_seconds,
        )

    # --- failures -------------------------------------------------------------------------

    def unavailable(self, reason: str) -> InferenceUnavailable:
        return InferenceUnavailable(
            f"the inference backend is unavailable: {reason}", self.retry_after
        )

    def _forget(self) -> None:
        with self._lock:
            self._handles.clear()

    # --- connection -----------------------------------------------------------------------

    def ensure_connected(self, wait_s: float = CONNECT_WAIT_S) -> None:
        """Connect (once per process, in a background thread); InferenceUnavailable while the
        cluster is out of reach. Only the first connection is waited for, up to ``wait_s``
        after its attempt began: later, and once an attempt has failed, calls fail at once
        with the reason while the thread tries again (a failed ``ray.init`` takes some forty
        seconds: no request waits for one)."""
        import ray

        if ray.is_initialized():
            return
        self.connect_in_background()
        left = self._connect_started + wait_s - time.monotonic()
        if self._connect_error is None and self._connected.wait(max(0.0, left)):
            return
        if ray.is_initialized():
            return
        raise self.unavailable(
            self._connect_error or f"still connecting to the Ray cluster at {self.address!r}"
        )

    def connect_in_background(self) -> None:
        """Start connecting now (no-op while a connection attempt runs or once connected);
        the thread tries again every RECONNECT_S until it joins the cluster."""
        with self._lock:
            if self._connector is not None and self._connector.is_alive():
                return
            if self._connect_started == 0.0:
                self._connect_started = time.monotonic()
            self._connector = threading.Thread(
                target=self._connect_loop, name="ekyc-ray-connect", daemon=True
            )
            self._connector.start()

    def _connect_loop(self) -> None:
        import ray

        while not ray.is_initialized():
            try:
                connect(self.address)
            except Exception as e:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError …
                reason = f"cannot join the Ray cluster at {self.address!r}: {e}"
                if self._connect_error is None:
                    log.warning("%s (trying again every %g s)", reason, RECONNECT_S)
                self._connect_error = reason
                time.sleep(RECONNECT_S)
        self._connect_error = None
        self._connected.set()

    def connection(self) -> dict[str, Any]:
        """Whether this process has joined the cluster, and why not (for /readyz)."""
        import ray

        connected = ray.is_initialized()
        return {
            "address": self.address,
            "connected": connected,
            "error": None if connected else self._connect_error,
        }

    def handle(self, deployment: str) -> Any:
        """The Serve handle of a deployment of the application."""
        self.ensure_connected()
        with self._lock:
            found = self._handles.get(deployment)
        if found is not None:
            return found
        from ray import serve

        try:
            found = serve.get_deployment_handle(deployment, self.app_name)
        except Exception as e:  # noqa: BLE001 - no controller, no application …
            raise self.unavailable(f"no handle to {deployment} in {self.app_name!r}: {e}") from e
        with self._lock:
            self._handles[deployment] = found
        return found

    # --- health ---------------------------------------------------------------------------

    def probe(self, deployment: str) -> str | None:
        """None when the cluster answers, Serve runs the application and the deployment has
        a running replica (or the Serve controller is too busy to say); else what is missing.
        Each question waits PROBE_TIMEOUT_S at most."""
        import ray

        if not ray.is_initialized():
            return "not connected to the Ray cluster"
        worker = ray._private.worker.global_worker
        gcs = getattr(worker, "gcs_client", None)
        if gcs is not None:  # a Ray Client (ray://) connection has none; the calls below tell
            try:
                gcs.internal_kv_exists(b"ekyc-probe", b"ekyc", timeout=PROBE_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - RpcError, timeouts: the cluster is not there
                return f"the Ray cluster at {self.address!r} does not answer"
        from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE
        from ray.serve.schema import ServeInstanceDetails

        try:
            controller = ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
        except ValueError:
            return "Ray Serve is not running on the cluster"
        from ray.exceptions import GetTimeoutError

        try:
            ref: Any = controller.get_serve_instance_details.remote()
            details: dict[str, Any] = ray.get(ref, timeout=PROBE_TIMEOUT_S)
            status = ServeInstanceDetails(**details)._get_status()
        except GetTimeoutError:
            # a busy controller (starting replicas, a loaded machine) is slow, not gone: no
            # verdict, the call goes on waiting until its own deadline
            log.info("the Serve controller did not answer within %g s", PROBE_TIMEOUT_S)
            return None
        except Exception as e:  # noqa: BLE001 - a dead controller
            return f"the Serve controller does not answer ({type(e).__name__})"
        app = status.applications.get(self.app_name)
        if app is None:
            return f"the Serve application {self.app_name!r} is not deployed"
        dep = app.deployments.get(deployment)
        if dep is None:
            return f"{self.app_name!r} has no deployment {deployment}"
        if not dep.replica_states.get("RUNNING"):
            return f"{deployment} has no running replica ({dep.status})"
        return None

    def health(self, deployment: str) -> str | None:
        """``probe`` reused for HEALTH_TTL_S across threads."""
        with self._health_lock:
            seen = self._health.get(deployment)
            if seen is not None and time.monotonic() - seen[0] < HEALTH_TTL_S:
                return seen[1]
            reason = self.probe(deployment)
            self._health[deployment] = (time.monotonic(), reason)
            return reason

    def _down(self, deployment: str) -> str | None:
        """The reason of an 'unavailable' found within HEALTH_TTL_S (then calls fail fast)."""
        with self._health_lock:
            seen = self._health.get(deployment)
        if seen is not None and seen[1] is not None and time.monotonic() - seen[0] < HEALTH_TTL_S:
            return seen[1]
        return None

    def _mark_down(self, deployment: str, reason: str) -> InferenceUnavailable:
        with self._health_lock:
            self._health[deployment] = (time.monotonic(), reason)
        self._forget()
        return self.unavailable(reason)

    # --- calls ----------------------------------------------------------------------------

    def call(self, deployment: str, method: str, *args: Any) -> Any:
        """``deployment.method(*args)`` on a replica, within the deadline.

        A replica that dies under the call (killed, its machine lost) costs a retry on
        another one, up to REPLICA_RETRIES times within the same deadline: model calls have
        no side effects. When none is left, the call fails as the deployment being down."""
        from ray.exceptions import RayActorError

        down = self._down(deployment)
        if down is not None:
            raise self.unavailable(down)
        deadline = time.monotonic() + self.timeout_s
        for attempt in range(REPLICA_RETRIES + 1):
            try:
                return self._call_once(deployment, method, deadline, args)
            except RayActorError as e:
                if attempt == REPLICA_RETRIES or deadline - time.monotonic() <= 0:
                    raise self._mark_down(deployment, f"{type(e).__name__}: {e}") from None
                log.warning(
                    "a %s replica died under %s (%s): trying another one",
                    deployment,
                    method,
                    type(e).__name__,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(
        self, deployment: str, method: str, deadline: float, args: tuple[Any, ...]
    ) -> Any:
        from ray.exceptions import RayActorError, RayError, RayTaskError
        from ray.serve.exceptions import (
            BackPressureError,
            DeploymentUnavailableError,
            RayServeException,
            RequestCancelledError,
        )

        response = None
        try:
            response = getattr(self.handle(deployment), method).remote(*args)
            while True:
                left = deadline - time.monotonic()
                try:
                    return response.result(timeout_s=max(0.0, min(WAIT_SLICE_S, left)))
                except TimeoutError:
                    reason = self.health(deployment)
                    if reason is not None:
                        response.cancel()
                        raise self._mark_down(deployment, reason) from None
                    if deadline - time.monotonic() <= 0:
                        response.cancel()
                        raise InferenceTimeout(
                            f"{deployment}.{method} took longer than {self.timeout_s:g} s",
                            self.retry_after,
                        ) from None
        except BackPressureError as e:
            raise InferenceOverloaded(
                f"{deployment} is overloaded (its queue is full): {e}", self.retry_after
            ) from None
        except RayTaskError as e:
            cause = e.cause
            if isinstance(cause, RemoteFailure):
                raise cause.unwrap() from None  # the model's own error, mapped as in-process
            if isinstance(cause, RayActorError):
                raise cause from None
            raise self.unavailable(f"{deployment}.{method} failed: {e}") from None
        except RequestCancelledError:
            raise InferenceTimeout(
                f"{deployment}.{method} was cancelled", self.retry_after
            ) from None
        except DeploymentUnavailableError as e:
            raise self._mark_down(deployment, f"{deployment} is not deployed ({e})") from None
        except RayActorError:
            raise  # the replica died: call() tries another
        except (RayError, RayServeException, ConnectionError) as e:
            raise self._mark_down(deployment, f"{type(e).__name__}: {e}") from None

    def describe(self, deployment: str) -> dict[str, Any]:
        """What a deployment runs (model ids, engine name …), asked once."""
        found = self._describe.get(deployment)
        if found is None:
            found = self.call(deployment, "describe")
            self._describe[deployment] = found
        return found

    def stats(self, deployment: str = FACE) -> dict[str, Any]:
        """Counters of the replica that answers (batches, items): for tests and benchmarks."""
        return self.call(deployment, "stats")


# --- the model protocols, remote ---------------------------------------------------------


class RemoteDetector:
    """ekyc.face.pipeline.Detector on the Face deployment."""

    def __init__(self, client: RayClient) -> None:
        self.client = client

    @property
    def model_id(self) -> str:
        return str(self.client.describe(FACE)["detector_id"])

    def detect(self, image_bgr: np.ndarray) -> list[Any]:
        return self.client.call(FACE, "detect", image_bgr)


class RemoteEmbedder:
    """ekyc.face.pipeline.Embedder on the Face deployment (crops batched there)."""

    def __init__(self, client: RayClient) -> None:
        self.client = client

    @property
    def model_id(self) -> str:
        return str(self.client.describe(FACE)["embedder_id"])

    @property
    def dim(self) -> int:
        return int(self.client.describe(FACE)["dim"])

    def embed(self, aligned_rgb: np.ndarray) -> np.ndarray:
        return self.client.call(FACE, "embed", aligned_rgb)


class RemotePad:
    """ekyc.face.pipeline.Pad on the Face deployment."""

    def __init__(self, client: RayClient) -> None:
        self.client = client

    @property
    def model_id(self) -> str:
        found = self.client.describe(FACE)["pad_id"]
        if found is None:
            raise self.client.unavailable(
                "this API's model manifest registers PAD models, the Serve application's not"
            )
        return str(found)

    def score(self, image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> Any:
        return self.client.call(FACE, "score", image_bgr, tuple(float(v) for v in box))


class RemoteTextDetector:
    """The OCR engine's text detector on the Ocr deployment (card reading calls it)."""

    def __init__(self, client: RayClient) -> None:
        self.client = client

    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        return self.client.call(OCR, "detect", image_bgr)


class RemoteOcr:
    """models.ocr.base.OcrEngine on the Ocr deployment: the replica's engine reads."""

    def __init__(self, client: RayClient, name: str, has_detector: bool) -> None:
        self.client = client
        self.name = name
        self.detector = RemoteTextDetector(client) if has_detector else None

    def read(self, image_bgr: np.ndarray) -> list[Any]:
        return self.client.call(OCR, "read", image_bgr)

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[Any]:
        return self.client.call(OCR, "read_lines", image_bgr, list(quads))

    def second_look(self, image_bgr: np.ndarray, boxes: list[Any]) -> list[Any]:
        return self.client.call(OCR, "second_look", image_bgr, list(boxes))

    def score_line(
        self, image_bgr: np.ndarray, quad: np.ndarray, texts: list[str]
    ) -> list[float] | None:
        return self.client.call(OCR, "score_line", image_bgr, quad, list(texts))


class RemoteOcrLoader:
    """``Runtime.ocr``: the remote engine, described by the deployment on first call."""

    def __init__(self, client: RayClient) -> None:
        self.client = client
        self._engine: RemoteOcr | None = None

    def __call__(self) -> RemoteOcr:
        if self._engine is None:
            d = self.client.describe(OCR)
            self._engine = RemoteOcr(self.client, str(d["name"]), bool(d["has_detector"]))
        return self._engine


class RemoteComparer:
    """ekyc.verification.service.DocumentComparer on the Compare deployment."""

    def __init__(self, client: RayClient) -> None:
        self.client = client

    def __call__(
        self, originals: Sequence[np.ndarray], copies: Sequence[np.ndarray]
    ) -> CopyVerdict:
        verdict = self.client.call(COMPARE, "compare", list(originals), list(copies))
        return verdict


def remote_face(client: RayClient, settings: Settings) -> Any:
    """A FaceEngine whose detector, embedder and PAD run on the Face deployment; thresholds
    and comparison stay here. PAD is there when this API's manifest registers PAD models
    (as locally), checked against the deployment on first use."""
    from ekyc.face.compare import Thresholds
    from ekyc.face.pipeline import Detector, Embedder, FaceEngine, Pad
    from models.registry import default_registry

    has_pad = bool(default_registry(settings.models_manifest).all("face_pad"))
    # the protocols declare model_id (and dim) as attributes; here they are read-only
    # properties answered by the deployment
    return FaceEngine(
        cast(Detector, RemoteDetector(client)),
        cast(Embedder, RemoteEmbedder(client)),
        cast(Pad, RemotePad(client)) if has_pad else None,
        Thresholds.load(settings.face_thresholds),
    )


def open_ray(settings: Settings) -> Inference:
    """The Ray backend; the connection is made in the background (requests answer
    inference_unavailable until it is up)."""
    from ekyc.inference import Inference
    from ekyc.verification.service import CapabilityNotInstalled

    if not _ray_available():
        raise CapabilityNotInstalled("EKYC_INFERENCE=ray needs Ray Serve: pip install 'ekyc[ray]'")
    client = RayClient.from_settings(settings)
    client.connect_in_background()
    face: Any = None
    reason: str | None = "face models are disabled (EKYC_FACE_MODELS_ENABLED=false)"
    if settings.face_models_enabled:
        face, reason = remote_face(client, settings), None
    return Inference(
        "ray", face, reason, RemoteOcrLoader(client), RemoteComparer(client), remote=client
    )
