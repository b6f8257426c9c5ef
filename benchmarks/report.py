"""report.html from a results document: one self-contained page (PNG plots as data URIs).

Sections: the run and what was skipped; the comparison with a baseline (every figure's
ratio, regressions in red) when there is one; the peer ratios; latency distributions per
suite (box plots on a log axis, and a table: n, p50, p95, p99, min, max, stable); the stage
breakdown of one full session; throughput against concurrency; accuracy tables and the DET
curve of the face pairs; the environment (machine, runtime, git, model hashes, packages).
matplotlib's Agg backend draws everything; no script, stylesheet or font is fetched.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

CSS = """
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.regression td{background:#fdd;color:#900;font-weight:bold}
tr.improved td{background:#dfd}
.skip{color:#a60}.err{color:#b00}.note{color:#666;font-size:.85em}
img{max-width:100%;display:block;margin:.5em 0}
code{background:#f6f6f6;padding:0 3px}
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _plain_log_x(ax: Any) -> None:
    """A log x axis labelled 0.5, 1, 2 … (not 5×10⁻¹), minor ticks at 2, 3 and 5 only."""
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(
        FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else "")
    )
    ax.tick_params(axis="x", which="minor", labelsize=7)


#: ratios are drawn no further than this many times from 1 (a figure that fell to 0)
RATIO_CLAMP = 1000.0


def _times_worse(r: dict[str, Any]) -> float:
    """How many times worse than the baseline (> 1 worse), whichever way the figure is
    better; a figure that fell to 0 is drawn at the clamp, not divided by."""
    ratio = min(max(float(r["ratio"]), 1 / RATIO_CLAMP), RATIO_CLAMP)
    return ratio if r["better"] == "lower" else 1 / ratio


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool) or x is None:
        return "–" if x is None else ("yes" if x else "no")
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return _e(x)


def _table(head: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    out = ["<table><tr>"]
    out += [f'<th class="{"l" if i == 0 else ""}">{_e(h)}</th>' for i, h in enumerate(head)]
    out.append("</tr>")
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        cells = [
            f'<td class="l">{_e(c)}</td>' if i == 0 or isinstance(c, str) else f"<td>{_num(c)}</td>"
            for i, c in enumerate(row)
        ]
        out.append(f"<tr{cls}>{''.join(cells)}</tr>")
    out.append("</table>")
    return "".join(out)


def _ratios(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc.get("comparison", {}).get("rows", [])}


# --- sections -------------------------------------------------------------------------------


def _run(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    m = env["machine"]
    git = env.get("git", {})
    opts = doc["options"]
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    quick = "; <b>--quick</b> (few runs per figure)" if opts["quick"] else ""
    parts = [
        f"<p>Started {_e(doc['started_at'])}, {doc.get('duration_s', 0):.0f} s; commit "
        f"<code>{_e(git.get('commit'))}</code>{dirty}; {_e(m.get('cpu'))}, {m.get('cores')} "
        f"cores, load average at start {_e(m.get('load_average_start'))}; threads "
        f"{opts['threads']}, providers {_e(', '.join(opts['providers']))}{quick}.</p>",
        f"<p>Schema version {doc['schema_version']}; "
        f"<code>ekyc {_e(' '.join(doc['argv']))}</code></p>",
    ]
    rows = []
    for name, s in doc["suites"].items():
        status = s["status"]
        rows.append([name, status, s.get("seconds", ""), s.get("reason", "")])
    parts.append(_table(["suite", "status", "seconds", "reason"], rows))
    if doc["skipped"]:
        items = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in doc["skipped"].items())
        parts.append(f'<p class="skip">Skipped:</p><ul class="skip">{items}</ul>')
    return "".join(parts)


def _comparison(doc: dict[str, Any]) -> str:
    cmp = doc.get("comparison")
    if not cmp:
        return ""
    base = cmp["baseline"]
    parts = [
        "<h2>Against the baseline</h2>",
        f"<p>Baseline of {_e(base.get('started_at'))}, commit "
        f"<code>{_e((base.get('git') or {}).get('commit'))}</code>; tolerance "
        f"{cmp['tolerance']:.0%}. <b>{len(cmp['regressions'])} regression(s)</b>.</p>",
    ]
    for w in cmp["warnings"]:
        parts.append(f'<p class="skip">⚠ {_e(w)}</p>')
    rows = sorted(cmp["rows"], key=lambda r: (not r["regression"], r["id"]))
    if rows:
        shown = [r for r in rows if r["ratio"] is not None][:60]
        if shown:
            fig, ax = plt.subplots(figsize=(9, 0.25 * len(shown) + 1))
            colours = [
                "#c33" if r["regression"] else "#3a3" if r["improved"] else "#888" for r in shown
            ]
            worse = [_times_worse(r) for r in shown]
            ax.barh([r["id"] for r in shown], worse, color=colours)
            ax.axvline(1, color="k", lw=0.8)
            ax.axvline(1 + cmp["tolerance"], color="#c33", lw=0.8, ls="--")
            ax.set_xscale("log")
            _plain_log_x(ax)
            ax.invert_yaxis()
            ax.set_xlabel("how many times worse than the baseline (log; > 1 worse)")
            ax.tick_params(axis="y", labelsize=7)
            parts.append(_png(fig))
        parts.append(
            _table(
                ["figure", "unit", "better", "value", "baseline", "ratio", "status"],
                [
                    [
                        r["id"],
                        r["unit"],
                        r["better"],
                        r["value"],
                        r["baseline"],
                        r["ratio"],
                        "REGRESSION"
                        if r["regression"]
                        else "improved"
                        if r["improved"]
                        else "within",
                    ]
                    for r in rows
                ],
                [
                    "regression" if r["regression"] else "improved" if r["improved"] else ""
                    for r in rows
                ],
            )
        )
    if cmp["only_in_baseline"]:
        parts.append(
            f"<p class='note'>Only in the baseline: {_e(', '.join(cmp['only_in_baseline']))}</p>"
        )
    return "".join(parts)


def _peers(doc: dict[str, Any]) -> str:
    rows, plotted = [], []
    for suite, s in doc["suites"].items():
        for p in s.get("peers", []):
            if p.get("ratio") is None:
                rows.append(
                    [f"{suite}: {p['project']}", p["peer"], None, None, None, p.get("why", "")]
                )
                continue
            rows.append(
                [
                    f"{suite}: {p['project']}",
                    p["peer"],
                    p["project_ms"].get("p50"),
                    p["peer_ms"].get("p50"),
                    p["ratio"],
                    p.get("note", ""),
                ]
            )
            plotted.append((f"{suite}: {p['project']} / {p['id'].split('.')[0]}", p["ratio"]))
    if not rows:
        return ""
    parts = [
        "<h2>Peers in the same run</h2>",
        "<p>Each ratio is the project's median time over the peer's median time on the same "
        "input (&gt; 1: the project is slower). Raw ONNX Runtime: a plain InferenceSession "
        "replaying the tensors the stage fed its model, so the ratio is the stage's "
        "pre/post-processing overhead.</p>",
    ]
    if plotted:
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(plotted) + 1))
        drawn = [min(max(p[1], 1 / RATIO_CLAMP), RATIO_CLAMP) for p in plotted]
        ax.barh([p[0] for p in plotted], drawn, color="#47a")
        ax.axvline(1, color="k", lw=0.8)
        ax.set_xscale("log")
        _plain_log_x(ax)
        ax.invert_yaxis()
        ax.set_xlabel("project time / peer time (median, log)")
        ax.tick_params(axis="y", labelsize=8)
        parts.append(_png(fig))
    parts.append(_table(["stage", "peer", "project p50 ms", "peer p50 ms", "ratio", "note"], rows))
    return "".join(parts)


def _latency(doc: dict[str, Any]) -> str:
    ratios = _ratios(doc)
    parts = ["<h2>Latency distributions per stage</h2>"]
    for suite, s in doc["suites"].items():
        stages = {k: v for k, v in s.get("stages", {}).items() if v.get("samples")}
        if not stages:
            continue
        parts.append(f"<h3>{_e(suite)}</h3>")
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(stages) + 1))
        names = list(stages)
        ax.boxplot(
            [stages[n]["samples"] for n in names],
            orientation="horizontal",
            whis=(1, 99),
            showfliers=True,
        )
        ax.set_yticks(range(1, len(names) + 1), names)
        ax.set_xscale("log")
        ax.invert_yaxis()
        units = {stages[n]["unit"] for n in names}
        ax.set_xlabel(f"{'/'.join(sorted(units))} (log; box: quartiles, whiskers: p1–p99)")
        parts.append(_png(fig))
        head = ["stage", "n", "p50", "p95", "p99", "min", "max", "unit", "stable"]
        rows, classes = [], []
        for name, st in s.get("stages", {}).items():
            row = [name] + [st.get(k) for k in ("n", "p50", "p95", "p99", "min", "max")]
            row += [st.get("unit", ""), st.get("stable")]
            r = ratios.get(f"{suite}.{name}.p50_{st.get('unit')}")
            if ratios:
                row.append(r["ratio"] if r else None)
            rows.append(row)
            classes.append("regression" if r and r["regression"] else "")
        parts.append(_table(head + (["p50 vs baseline"] if ratios else []), rows, classes))
    return "".join(parts)


def _breakdown(doc: dict[str, Any]) -> str:
    found = [(n, s["breakdown"]) for n, s in doc["suites"].items() if s.get("breakdown")]
    if not found:
        return ""
    parts = ["<h2>Stage breakdown of one full session</h2>"]
    for suite, b in found:
        steps = b["steps"]
        fig, ax = plt.subplots(figsize=(9, 1.8))
        left = 0.0
        cmap = plt.get_cmap("tab10")
        for i, st in enumerate(steps):
            ax.barh(
                [0],
                [st["ms"]],
                left=left,
                color=cmap(i % 10),
                label=f"{st['name']} {st['ms']:.0f} ms",
            )
            left += st["ms"]
        ax.set_yticks([])
        ax.set_xlabel("ms (mean per step)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8)
        parts.append(f"<p>{_e(suite)}: {_e(b.get('about', ''))}</p>")
        parts.append(_png(fig))
        parts.append(
            _table(
                ["step", "ms", "share"],
                [[st["name"], st["ms"], f"{st['ms'] / max(left, 1e-9):.0%}"] for st in steps],
            )
        )
    return "".join(parts)


def _throughput(doc: dict[str, Any]) -> str:
    found = [(n, s["throughput"]) for n, s in doc["suites"].items() if s.get("throughput")]
    if not found:
        return ""
    parts = ["<h2>Throughput against concurrency</h2>"]
    for suite, t in found:
        series: dict[str, list[tuple[int, float]]] = {}
        for row in t["levels"]:
            for key, value in row.items():
                if key != "clients" and isinstance(value, int | float):
                    series.setdefault(key, []).append((row["clients"], value))
        fig, ax = plt.subplots(figsize=(8, 4))
        for key, pts in series.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("per second (log)")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        parts.append(f"<p>{_e(suite)}: {_e(t.get('about', ''))}</p>")
        parts.append(_png(fig))
        keys = list(series)
        parts.append(
            _table(
                ["clients", *keys],
                [[str(r["clients"])] + [r.get(k) for k in keys] for r in t["levels"]],
            )
        )
    return "".join(parts)


def _rate(r: dict[str, Any]) -> str:
    return f"{r['errors']}/{r['trials']} [{r['ci95'][0]:.3g}, {r['ci95'][1]:.3g}]"


def _accuracy(doc: dict[str, Any]) -> str:
    s = doc["suites"].get("accuracy")
    if not s or s.get("status") != "ok":
        return ""
    acc = s.get("accuracy", {})
    parts = ["<h2>Accuracy</h2>"]
    faces = acc.get("faces")
    if faces:
        parts.append(
            f"<h3>Faces: {faces['genuine_pairs']} genuine, {faces['impostor_pairs']} impostor "
            f"pairs</h3><p class='note'>{_e(faces['source'])}; FMR resolvable to about "
            f"{faces['smallest_fmr_bounded']:.2g}; EER {faces['eer']['rate']:.3g} at "
            f"{faces['eer']['threshold']:.3f}. Intervals: 95 % Clopper–Pearson.</p>"
        )
        rows = []
        for name, p in faces["points"].items():
            rows.append(
                [
                    name + (" (default)" if p["default"] else ""),
                    p["kind"],
                    p["threshold"],
                    _rate(p["fmr"]),
                    _rate(p["fnmr"]),
                ]
            )
        parts.append(_table(["shipped operating point", "kind", "threshold", "FMR", "FNMR"], rows))
        rows = [
            [f"{t['target_fmr']:g}", t["threshold"], t["resolved"], t["fmr"], t["fnmr"]]
            for t in faces.get("fnmr_at_fmr", [])
        ]
        if rows:
            parts.append(
                _table(["target FMR", "threshold", "resolved by the data", "FMR", "FNMR"], rows)
            )
        det = faces.get("det")
        if det and det.get("fmr"):
            fig, ax = plt.subplots(figsize=(6, 5))
            floor = 0.5 / max(faces["impostor_pairs"], 1)
            ax.plot(
                [max(x, floor) for x in det["fmr"]],
                [max(y, 0.5 / max(faces["genuine_pairs"], 1)) for y in det["fnmr"]],
                drawstyle="steps-post",
            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("FMR (log; zeros drawn at half a pair)")
            ax.set_ylabel("FNMR (log)")
            ax.grid(True, which="both", alpha=0.3)
            parts.append("<p>DET curve: FNMR against FMR at every threshold.</p>" + _png(fig))
    ocr = acc.get("ocr_fields")
    if ocr:
        parts.append(
            f"<h3>Card OCR on generated cards ({ocr['cards_per_condition']} per condition, "
            f"seeds from {ocr['seed']})</h3>"
        )
        conds = list(next(iter(ocr["engines"].values())))
        rows = []
        for engine, by in ocr["engines"].items():
            for c in conds:
                r = by[c]
                rows.append(
                    [
                        engine,
                        c,
                        r["field_exact"],
                        r["mrz_valid_or_rejected"],
                        r["qr_decode_rate"],
                        r["errors"] or "",
                    ]
                )
        parts.append(
            _table(
                [
                    "engine",
                    "condition",
                    "fields exact",
                    "MRZ valid-or-rejected",
                    "QR decoded",
                    "errors",
                ],
                rows,
            )
        )
    tamper = acc.get("tamper")
    if tamper:
        parts.append(f"<h3>Tamper detection ({_e(tamper['about'])})</h3>")
        rows = [
            [kind, row["verdict"], row["hits"], row["n"], row["rate"],
             ", ".join(f"{v} {n}" for v, n in row.get("verdicts", {}).items())]
            for kind, row in tamper["kinds"].items()
        ]  # fmt: skip
        parts.append(
            _table(["kind", "counted verdict", "hits", "pairs", "rate", "all verdicts"], rows)
        )
        fa = tamper.get("false_alarms")
        if fa and fa.get("n"):
            parts.append(f"<p>False alarms (honest → MISMATCH): {fa['hits']}/{fa['n']}.</p>")
    for part, why in s.get("skipped_parts", {}).items():
        parts.append(f'<p class="skip">{_e(part)} skipped: {_e(why)}</p>')
    return "".join(parts)


def _environment(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    rows = [
        [f"machine.{k}", json.dumps(v) if not isinstance(v, str) else v]
        for k, v in env["machine"].items()
    ]
    rows += [[f"python.{k}", v] for k, v in env["python"].items()]
    rows += [
        [f"runtime.{k}", json.dumps(v) if not isinstance(v, str) else v]
        for k, v in env["runtime"].items()
    ]
    rows += [[f"git.{k}", str(v)] for k, v in env["git"].items()]
    models = [
        [
            m.get("id", ""),
            m.get("kind", ""),
            m.get("sha256") or m.get("error", ""),
            m.get("ok", ""),
            m.get("path", ""),
        ]
        for m in env["models"]
    ]
    packages = [[k, v] for k, v in env["packages"].items()]
    return (
        "<h2>Environment</h2>"
        + _table(["what", "value"], rows)
        + "<h3>Model files (SHA-256)</h3>"
        + _table(["model", "kind", "sha256", "matches manifest", "path"], models)
        + f"<details><summary>{len(packages)} installed packages</summary>"
        + _table(["package", "version"], packages)
        + "</details>"
    )


def render(doc: dict[str, Any]) -> str:
    """The whole page."""
    body = "".join(
        [
            "<h1>ekyc benchmark report</h1>",
            _run(doc),
            _comparison(doc),
            _peers(doc),
            _latency(doc),
            _breakdown(doc),
            _throughput(doc),
            _accuracy(doc),
            _environment(doc),
        ]
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ekyc benchmark report</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def write_html(doc: dict[str, Any], path: Path) -> None:
    """Write report.html for ``doc``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(doc), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report results.json [report.html]``: re-render a report."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m benchmarks.report RESULTS.json [REPORT.html]")
        return 2
    src = Path(args[0])
    doc = json.loads(src.read_text())
    write_html(doc, Path(args[1]) if len(args) > 1 else src.with_name("report.html"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
