"""Failures of the inference backend, each a 503 with a stable code and a Retry-After.

They say the service cannot run a model right now, never that the input is wrong: a domain
error raised by a model inside a Ray deployment (an unreadable card, a refused image …)
crosses back intact (:class:`RemoteFailure`) and maps as it would in-process.
"""

from __future__ import annotations

import pickle
from typing import Any

from ekyc.errors import EkycError


class InferenceError(EkycError):
    """The inference backend could not answer; ``retry_after`` seconds is a fair wait."""

    code = "inference_error"

    def __init__(self, message: str, retry_after: int = 5) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class InferenceUnavailable(InferenceError):
    """The backend is down or unreachable: no Ray cluster, no Serve, no running replica."""

    code = "inference_unavailable"


class InferenceOverloaded(InferenceError):
    """The deployment's queue is full (Serve's ``max_queued_requests`` backpressure)."""

    code = "inference_overloaded"


class InferenceTimeout(InferenceError):
    """The call ran past ``EKYC_INFERENCE_TIMEOUT_SECONDS`` (it was cancelled)."""

    code = "inference_timeout"


class RemoteFailure(Exception):
    """An exception raised inside a deployment, pickled so it arrives as the same object.

    Many domain errors take several constructor arguments and keep only a message in
    ``args``, so plain exception pickling cannot rebuild them; this carries the class,
    ``args`` and ``__dict__`` and rebuilds the instance without calling ``__init__``.
    """

    def __init__(self, payload: bytes, summary: str) -> None:
        super().__init__(payload, summary)
        self.payload = payload
        self.summary = summary

    def __str__(self) -> str:
        return self.summary

    @classmethod
    def of(cls, error: BaseException) -> RemoteFailure:
        """Wrap ``error`` (an unpicklable one becomes a RuntimeError with its text)."""
        summary = f"{type(error).__name__}: {error}"
        try:
            payload = pickle.dumps((type(error), error.args, dict(vars(error))))
        except Exception:  # noqa: BLE001 - whatever it holds, the caller still learns what failed
            payload = pickle.dumps((RuntimeError, (summary,), {}))
        return cls(payload, summary)

    def unwrap(self) -> BaseException:
        """The original exception, as raised in the deployment."""
        kind, args, state = pickle.loads(self.payload)  # noqa: S301 - our own deployment's bytes
        error: Any = kind.__new__(kind)
        error.args = args
        error.__dict__.update(state)
        return error
