"""The bare FastAPI peer of the service suite: ``GET /hello`` and ``GET /readyz``, nothing else.

Served by the same ``uvicorn`` settings as the service (1 worker, no access log, loopback),
so ``GET /v1/sessions/{id}`` (the service's no-inference read) against ``GET /hello`` is the
cost of the service's own stack: auth, the database, middleware, JSON models.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    """A constant answer."""
    return {"hello": "world"}


@app.get("/readyz")
def readyz() -> dict[str, str]:
    """Ready as soon as it answers."""
    return {"status": "ready"}
