"""Rendering a table's report: the Markdown table beside the paper's figures, and the Fig. 6 PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from .paper import AUTHORS_RELEASE, PAPER_HEADLINE_SOURCE

NOT_RECOVERED = "n/r"
NOT_IN_PAPER_CELL = "not in the paper"  # the cell of a row in paper.NOT_IN_PAPER


# ---------------------------------------------------------------------------------------------
# Markdown.
# ---------------------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return NOT_RECOVERED
    return f"{v:.1f}"


def _metric(entry: dict, protocol: str, key: str, field: str = "ours") -> float | None:
    """A row's metric (mean over its seeds); `field="spread"` for the half range over seeds."""
    res = (entry.get(field) or {}).get(protocol)
    return None if res is None else res.get(f"action_mean_{key}", res.get(key))


def _cell(entry: dict, protocol: str, key: str) -> str:
    """"78.1", or "78.9 ± 0.8" (mean ± half the range) when more than one seed was evaluated."""
    value = _fmt(_metric(entry, protocol, key))
    spread = _metric(entry, protocol, key, "spread")
    if entry.get("seeds_evaluated", 1) > 1 and spread is not None and value != NOT_RECOVERED:
        return f"{value} ± {spread:.1f}"
    return value


def _minutes(entry: dict) -> str:
    t = entry.get("training") or {}
    if t.get("train_seconds") is None:
        return ""
    sec = float(t["train_seconds"])
    took = f"{sec:.0f} s" if sec < 120 else f"{sec / 60:.0f} min" if sec < 7200 else f"{sec / 3600:.1f} h"
    epochs = t.get("epochs")
    return f"{epochs} epoch{'' if epochs == 1 else 's'}, {t.get('steps')} steps, {took}"


def render_markdown(report: dict) -> str:
    """The paper's figures beside ours, one line per row; the scale protocols, budget, command
    and machine named."""
    inp = report["input_2d"]
    input_name = "ground-truth 2D" if inp == "gt" else "detected 2D (Stacked Hourglass)"
    rows = report["rows"]
    first = next((r for r in rows if r.get("ours")), None)
    frames = first["ours"]["global"].get("frames") if first else None
    lines = [
        f"# {report['title']} - budget `{report['budget']}`, {input_name}",
        "",
        "Ours: Human3.6M S9 and S11, all cameras, "
        + ("every test frame" if report["stride"] == 1 else f"one test frame in {report['stride']}")
        + (f" ({frames} frames)" if frames else "")
        + "; errors in mm, mean over actions of the per-action means (the paper's convention)."
        + (f" {report['seeds']} seeds per row (train.seed 0..{report['seeds'] - 1}): each cell is the mean over the "
           "seeds ± half their range; the `seeds` column says how many finished." if report.get("seeds", 1) > 1 else ""),
        "Scale protocols for our MPJPE:",
        "- **global**: one mm-per-unit constant fixed at training time from the training subjects; no test "
        "ground truth touches the prediction (our headline);",
        "- **per-frame-gt**: each predicted pose rescaled so its head-root length is the ground truth's;",
        "- **authors**: the prediction in model units times the frame's ground-truth head-root length (exactly the "
        "authors' released evaluation: the paper's MPJPE protocol).",
        "",
        "PA-MPJPE (rigid alignment with scale) and N-MPJPE do not depend on the scale protocol; shown under `global`.",
        "",
        "| row | what it is | paper MPJPE | paper PA-MPJPE | MPJPE (global) | MPJPE (per-frame-gt) "
        "| MPJPE (authors) | PA-MPJPE | N-MPJPE | mirrored frames | seeds | training (per run) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    # Source of a paper figure -> its footnote mark; the headline result's source is always †.
    sources = sorted({r["paper"]["source"] for r in rows if r["paper"].get("source")},
                     key=lambda src: (src != PAPER_HEADLINE_SOURCE, src))
    marks = {src: "†‡§¶"[i % 4] for i, src in enumerate(sources)}
    for r in rows:
        paper = r["paper"]
        mark = f" {marks[paper['source']]}" if paper.get("source") else ""
        if r.get("ours"):
            mirrored = _metric(r, "global", "mirror_fraction")
            ours = [_cell(r, "global", "mpjpe"), _cell(r, "per-frame-gt", "mpjpe"), _cell(r, "authors", "mpjpe"),
                    _cell(r, "global", "pa_mpjpe"), _cell(r, "global", "n_mpjpe"),
                    NOT_RECOVERED if mirrored is None else f"{100 * mirrored:.1f} %",
                    f"{r.get('seeds_evaluated', 1)} of {len(r.get('seeds') or [None])}"]
        else:
            ours = [r.get("status", "not run")] * 6 + [f"0 of {len(r.get('seeds') or [None])}"]
        desc = r["description"]
        if r.get("uses_3d_at_test") and "3d" not in desc.lower():
            desc += " *(uses 3D at test time)*"
        figures = [NOT_IN_PAPER_CELL] * 2 if paper.get("not_in_paper") else \
            [f"{_fmt(paper.get('mpjpe'))}{mark}", f"{_fmt(paper.get('pa_mpjpe'))}{mark}"]
        lines.append(f"| `{r['row']}` | {desc} | {figures[0]} | {figures[1]} | " + " | ".join(ours) + f" | {_minutes(r)} |")
    lines.append("")
    if any(r["paper"].get("mpjpe") is None and not r["paper"].get("not_in_paper") for r in rows):
        lines.append(f"`{NOT_RECOVERED}`: not recovered: the paper's figure for this row was not found in any source "
                     "available to us, so none is shown rather than a guess.")
    if any(r["paper"].get("not_in_paper") for r in rows):
        lines.append(f"`{NOT_IN_PAPER_CELL}`: a row the paper did not run (we train it to complete the grid).")
    if any(s.get("status") == "recorded" for r in rows for s in r.get("seeds", [])):
        lines.append("Rows whose run folders were absent when this table was written show the results recorded "
                     "for the same config in the report beside it (`status: recorded` in the JSON).")
    for source, mark in marks.items():
        lines.append(f"{mark}: {source}.")
    release = [(r["row"], r["authors_release"]) for r in rows if r.get("authors_release")]
    if release:
        parts = "; ".join(f"`{row}` {float(v['mpjpe'])} / {float(v['pa_mpjpe'])}" for row, v in release)
        lines.append(f"For reference, the {AUTHORS_RELEASE['source']} lists MPJPE / PA-MPJPE for the authors' released "
                     f"models ({input_name}): {parts} ({AUTHORS_RELEASE['caveat']}). These are not the paper's figures.")
    if report.get("figure"):
        lines += ["", f"![{report['title']}]({Path(report['figure']).name})"]
    for png in report.get("figures") or []:
        lines += ["", f"![{Path(png).stem}]({Path(png).parent.name}/{Path(png).name})"]
    m = report["machine"]
    lines += [
        "",
        f"Budget `{report['budget']}`: {report['budget_description']}.",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {m.get('processor')}, {m.get('cpu_count')} CPUs, torch {m.get('torch')}, device {m.get('device')}"
        + (f" ({m['gpu']})" if m.get("gpu") else "") + f", Python {m.get('python')}; {report['generated']}. "
        "Training times are those recorded in each checkpoint (the machine that trained it).",
        "",
        "Everything (per-action results, every protocol, effective configs) is in the JSON beside this file.",
    ]
    return "\n".join(lines) + "\n"


def write_fig6_png(report: dict, out_png: Path, log: Callable[[str], None] = print) -> Path | None:
    """Fig. 6 from a fig6 report: errors vs the step ratio (rows not run leave gaps)."""
    from ..viz.plots import plot_step_ratio

    labels = report.get("labels") or {}
    results, errors = {}, {}
    series = {"MPJPE (global)": ("global", "mpjpe"), "MPJPE (per-frame-gt)": ("per-frame-gt", "mpjpe"),
              "MPJPE (authors)": ("authors", "mpjpe"), "PA-MPJPE": ("global", "pa_mpjpe")}
    for r in report["rows"]:
        label = labels.get(r["row"], r["row"])
        values = {name: _metric(r, *where) for name, where in series.items()}
        results[label] = {k: math.nan if v is None else v for k, v in values.items()}
        spreads = {name: _metric(r, *where, field="spread") for name, where in series.items()}
        errors[label] = {k: 0.0 if v is None else v for k, v in spreads.items()}
    if not any(r.get("ours") for r in report["rows"]):
        log("fig6: no row evaluated yet; the Fig. 6 PNG is skipped")
        return None
    return plot_step_ratio(results, out_png, errors=errors if report.get("seeds", 1) > 1 else None)
