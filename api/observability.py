"""Prometheus metrics, structured JSON logs and one access-log line per request.

Metrics live in a registry per app (tests build many apps). With several worker processes
each exposes its own counters; scrape every worker or run one process per container.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import request_id_var

access_log = logging.getLogger("api.access")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The API's Prometheus instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "ekyc_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.steps = Histogram(
            "ekyc_step_duration_seconds",
            "Server time of one verification step (or stateless helper)",
            ["step"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outcomes = Counter(
            "ekyc_step_outcomes_total",
            "Step outcomes (pass, fail, review, or an error code)",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.sessions = Counter(
            "ekyc_session_states_total",
            "Sessions reaching a state, as seen in step responses",
            ["state"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "ekyc_rate_limited_total", "Requests refused by the rate limit", registry=self.registry
        )
        self.background = Counter(
            "ekyc_background_runs_total",
            "Background job passes by job and result",
            ["job", "result"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "ekyc_models_loaded", "1 when the face models are loaded", registry=self.registry
        )

    @contextmanager
    def step(self, step: str) -> Iterator[Callable[[str], None]]:
        """Time a step; call the yielded function with its outcome (errors count by code)."""
        start = time.perf_counter()
        seen: list[str] = []
        try:
            yield seen.append
        except Exception as e:
            seen.append(getattr(e, "code", "error"))
            raise
        finally:
            self.steps.labels(step).observe(time.perf_counter() - start)
            if seen:
                self.outcomes.labels(step, seen[-1]).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def _ignore(_outcome: str) -> None:
    return None


def step_timer(metrics: Metrics | None, step: str) -> AbstractContextManager[Callable[[str], None]]:
    """``metrics.step(step)``, or a no-op when metrics are off."""
    return nullcontext(_ignore) if metrics is None else metrics.step(step)


class ObservabilityMiddleware:
    """Per-route latency histogram and a JSON access-log line for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.requests.labels(scope["method"], template, str(status)).observe(
                    elapsed
                )
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "api_key_id": scope.get("state", {}).get("api_key_id"),
                },
            )


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(json_logs: bool, level: int = logging.INFO) -> None:
    """JSON (or plain) logs on stderr for the api and ekyc loggers, once per process."""
    for name in ("api", "ekyc"):
        logger = logging.getLogger(name)
        if any(getattr(h, "_ekyc_api", False) for h in logger.handlers):
            continue
        handler = logging.StreamHandler()
        handler._ekyc_api = True  # type: ignore[attr-defined]  # marks ours, not a caller's
        if json_logs:
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
            )
        logger.addHandler(handler)
        logger.setLevel(level)
