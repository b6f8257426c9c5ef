"""A run against a baseline run: each headline figure's ratio, regressions past a tolerance.

Every figure says which way is better. A "lower is better" figure (a time, an overhead
ratio, an error rate) regresses when ``value / baseline > 1 + tolerance``; a "higher is
better" one (throughput, an accuracy) when ``value / baseline < 1 - tolerance``. A baseline
of 0 regresses on any move the wrong way. Figures only one side has are listed, not judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.suite.runner import SCHEMA_VERSION


def _judge(value: float, base: float, better: str, tolerance: float) -> tuple[float | None, bool]:
    if base == 0:
        worse = value > 0 if better == "lower" else value < 0
        return None, worse
    ratio = value / base
    if better == "lower":
        return ratio, ratio > 1 + tolerance
    return ratio, ratio < 1 - tolerance


def _context_warnings(doc: dict[str, Any], base: dict[str, Any]) -> list[str]:
    out = []
    if base.get("schema_version") != SCHEMA_VERSION:
        out.append(f"baseline schema_version {base.get('schema_version')} ≠ {SCHEMA_VERSION}")
    env, benv = doc.get("environment", {}), base.get("environment", {})
    for key in ("cpu", "cores"):
        a, b = env.get("machine", {}).get(key), benv.get("machine", {}).get(key)
        if a != b:
            out.append(f"machine {key} differs: {a!r} here, {b!r} in the baseline")
    for key in ("quick", "threads", "providers"):
        a, b = doc.get("options", {}).get(key), base.get("options", {}).get(key)
        if a != b:
            out.append(f"option {key} differs: {a!r} here, {b!r} in the baseline")
    return out


def compare(doc: dict[str, Any], base: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """The comparison section of a results document."""
    figures, before = doc.get("figures", {}), base.get("figures", {})
    rows = []
    for key, fig in figures.items():
        if key not in before:
            continue
        value, old = fig.get("value"), before[key].get("value")
        if not isinstance(value, int | float) or not isinstance(old, int | float):
            continue
        ratio, regression = _judge(float(value), float(old), fig.get("better", "lower"), tolerance)
        improved = ratio is not None and (
            ratio < 1 - tolerance
            if fig.get("better", "lower") == "lower"
            else ratio > 1 + tolerance
        )
        rows.append(
            {
                "id": key,
                "label": fig.get("label", key),
                "unit": fig.get("unit", ""),
                "better": fig.get("better", "lower"),
                "value": value,
                "baseline": old,
                "ratio": None if ratio is None else round(ratio, 4),
                "regression": regression,
                "improved": improved,
            }
        )
    return {
        "baseline": {
            "started_at": base.get("started_at"),
            "git": base.get("environment", {}).get("git"),
            "options": base.get("options"),
        },
        "tolerance": tolerance,
        "rows": rows,
        "regressions": [r["id"] for r in rows if r["regression"]],
        "only_here": sorted(set(figures) - set(before)),
        "only_in_baseline": sorted(set(before) - set(figures)),
        "warnings": _context_warnings(doc, base),
    }


def print_comparison(cmp: dict[str, Any], echo: Callable[[str], None] = print) -> None:
    """The regressions and improvements, one line each, then the count."""
    for w in cmp["warnings"]:
        echo(f"warning: {w}")
    for r in cmp["rows"]:
        if r["regression"] or r["improved"]:
            mark = "REGRESSION" if r["regression"] else "improved  "
            ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.3f}×"
            echo(
                f"{mark} {r['id']}: {r['value']} {r['unit']} vs {r['baseline']} ({ratio}, "
                f"{r['better']} is better)"
            )
    echo(
        f"{len(cmp['rows'])} figures compared with the baseline, "
        f"{len(cmp['regressions'])} past the {cmp['tolerance']:.0%} tolerance"
    )
