"""Peers measured in the same run: raw ONNX Runtime on the very tensors a stage feeds its model.

``capture`` records the feeds a project stage passes to its ONNX Runtime session(s) during
one call; ``RawModel`` is a plain ``onnxruntime.InferenceSession`` over the same model bytes
with the same providers and intra-op threads (ONNX Runtime's defaults otherwise) that replays
exactly those feeds. The ratio project-stage time / raw time is the stage's overhead: its
pre- and post-processing (resize, normalise, decode, NMS, CTC …) and the glue around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Feeds = list[tuple[Any, dict[str, np.ndarray]]]


class _Recorder:
    """Stands in for a session during one call and keeps a copy of every feed."""

    def __init__(self, session: Any, calls: Feeds) -> None:
        self._session = session
        self._calls = calls

    def run(self, output_names: Any, feeds: dict[str, Any], *args: Any, **kw: Any) -> Any:
        self._calls.append((output_names, {k: np.array(v, copy=True) for k, v in feeds.items()}))
        return self._session.run(output_names, feeds, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def capture(owner: Any, attr: str, call: Callable[[], object]) -> Feeds:
    """The feeds ``owner.<attr>`` (a session, or ``_nets``: tuples led by a session) gets
    while ``call()`` runs once."""
    calls: Feeds = []
    original = getattr(owner, attr)
    if attr == "_nets":
        setattr(owner, attr, [(_Recorder(n[0], calls), *n[1:]) for n in original])
    else:
        setattr(owner, attr, _Recorder(original, calls))
    try:
        call()
    finally:
        setattr(owner, attr, original)
    return calls


class RawModel:
    """Plain ONNX Runtime sessions (one per model file) replaying captured feeds."""

    def __init__(self, models: list[bytes], providers: tuple[str, ...], threads: int) -> None:
        import onnxruntime as ort

        from models.session import resolve_providers

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        chosen = resolve_providers(providers)
        self.sessions = [ort.InferenceSession(m, sess_options=so, providers=chosen) for m in models]

    def replay(self, feeds: Feeds) -> Callable[[], None]:
        """A call running every captured feed once, in order (feed i on session i mod n)."""
        sessions = self.sessions
        n = len(sessions)

        def go() -> None:
            for i, (outputs, inputs) in enumerate(feeds):
                sessions[i % n].run(outputs, inputs)

        return go


def effective_providers(parts: list[Any]) -> list[str]:
    """The provider each ONNX Runtime session of these objects really runs on (first listed:
    a GPU provider that failed to start leaves only the CPU)."""
    found = []
    for part in parts:
        for key, value in vars(part).items():
            if key == "_nets":
                found += [n[0].get_providers()[0] for n in value]
            elif "session" in key and hasattr(value, "get_providers"):
                found.append(value.get_providers()[0])
    return found


def ratio(project: dict[str, Any], peer: dict[str, Any]) -> float | None:
    """project p50 / peer p50, rounded (None when either is missing)."""
    a, b = project.get("p50"), peer.get("p50")
    if not a or not b:
        return None
    return round(float(a) / float(b), 3)


def entry(
    peer_id: str,
    project_stage: str,
    project: dict[str, Any],
    peer_name: str,
    peer: dict[str, Any],
    note: str = "",
) -> dict[str, Any]:
    """A peer row of a section: both summaries (no samples) and the headline ratio."""

    def strip(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k != "samples"}

    return {
        "id": peer_id,
        "project": project_stage,
        "peer": peer_name,
        "project_ms": strip(project),
        "peer_ms": strip(peer),
        "ratio": ratio(project, peer),
        "ratio_means": f"{project_stage} / {peer_name} (medians); > 1: the project is slower",
        "note": note,
    }


def unavailable(peer_id: str, project_stage: str, peer_name: str, why: str) -> dict[str, Any]:
    """A peer that could not run here, and why."""
    return {
        "id": peer_id,
        "project": project_stage,
        "peer": peer_name,
        "ratio": None,
        "available": False,
        "why": why,
    }
