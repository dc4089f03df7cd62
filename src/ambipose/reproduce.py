"""Reproduction of the paper's ablations and analysis figures.

Tables (`ambipose reproduce table3|table4|fig6`): one YAML per row under `configs/<table>/`,
trained under a named compute budget (`configs/budgets.yaml`) into
`runs/<budget>/<table>/<row>` (resumed where a run stopped, skipped where `model.pt` exists),
evaluated on Human3.6M S9/S11 under both scale protocols (cached next to the model), and written
as a Markdown table beside the paper's figures, plus a JSON with everything.

Figures (`ambipose figures`): Fig. 3 (S_2D^ref over two test videos and its histogram), Fig. 5
(S_2D^ref against the scales predicted by several checkpoints over one video), training curves
and a qualitative panel like Fig. 4.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from .config import ExperimentConfig, config_from_dict, load_config
from .errors import InputError
from .evaluation.protocols import SCALE_PROTOCOLS
from .io import atomic_write_text

INPUTS = ("gt", "sh")
NOT_RECOVERED = "n/r"

# ---------------------------------------------------------------------------------------------
# The tables: rows in the paper's order.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """One reproducible table or figure: its key, title and rows (YAML stems) in display order."""

    key: str
    title: str
    rows: tuple[str, ...]
    # The row whose config is the paper's full method (configs/full.yaml): the only row with a
    # certain paper figure (the headline result).
    full_method_row: str
    # Short x-axis labels (Fig. 6 only).
    labels: dict[str, str] = field(default_factory=dict)


TABLES: dict[str, TableSpec] = {
    "table3": TableSpec(
        "table3", "Table 3: loss ablation",
        ("l2d_l3d_ladv", "plus_tmc", "plus_kl", "plus_bone"), "plus_bone"),
    "table4": TableSpec(
        "table4", "Table 4: normalisation x scale estimation",
        ("reference_scale",
         "norm_none_scale_off", "norm_none_scale_2d", "norm_none_scale_3d",
         "norm_universal_scale_off", "norm_universal_scale_2d", "norm_universal_scale_3d",
         "norm_stepwise_scale_off", "norm_stepwise_scale_2d", "norm_stepwise_scale_3d"),
        "norm_universal_scale_2d"),
    "fig6": TableSpec(
        "fig6", "Fig. 6: lifter : scale training step ratio",
        ("ratio_1", "ratio_2", "ratio_4", "ratio_8", "joint"), "ratio_4",
        labels={"ratio_1": "1", "ratio_2": "2", "ratio_4": "4", "ratio_8": "8", "joint": "joint"}),
}

# ---------------------------------------------------------------------------------------------
# The paper's figures (mm, mean over the 15 actions).
#
# Certain: the full method's headline results on Human3.6M (Yu et al., ICCV 2021, comparison
# with the state of the art): ground-truth 2D MPJPE 85.3 / PA-MPJPE 42.0; detected (Stacked
# Hourglass) 2D 92.4 / 52.3. The PA-MPJPE figures also match the authors' code README (below).
#
# Not recovered: the other rows of Table 3, Table 4 and Fig. 6. The paper's text is not in any
# corpus searched for this (web pages, documentation and code indexes: queries for the title,
# the project page sites.google.com/view/ambiguity-aware-hpe, "scale estimation module",
# "step-wise normalization", the loss names and the headline figures); only the abstract
# (openaccess.thecvf.com, ICCV 2021 html page; openreview.net/forum?id=sqNI_vjZO1) and the
# authors' code README were found. Those rows show "n/r" rather than a guess.
# ---------------------------------------------------------------------------------------------

PAPER_HEADLINE: dict[str, dict[str, float]] = {
    "gt": {"mpjpe": 85.3, "pa_mpjpe": 42.0},
    "sh": {"mpjpe": 92.4, "pa_mpjpe": 52.3},
}
PAPER_HEADLINE_SOURCE = ("Yu et al., ICCV 2021: the full method's headline Human3.6M result (comparison with the "
                         "state of the art); the ablation table's own figure for this row was not recovered")
# (table, row) -> input -> {"mpjpe", "pa_mpjpe"}: ablation figures found in a source. None found.
PAPER_ROWS: dict[tuple[str, str], dict[str, dict[str, float]]] = {}

# The authors' code README (repository linked from https://sites.google.com/view/ambiguity-aware-hpe,
# section "Results"): evaluations of their *released checkpoints*, which the README says differ
# slightly from the paper (the paper reports the best MPJPE seen during training). Shown as a
# note under Table 3, never as the paper's figures.
AUTHORS_RELEASE = {
    "source": "authors' code README (linked from https://sites.google.com/view/ambiguity-aware-hpe), 'Results' table",
    "caveat": "released checkpoints re-evaluated; the README notes the paper's MPJPE is the best seen during training",
    "rows": {
        "l2d_l3d_ladv": {"gt": {"mpjpe": 105.0, "pa_mpjpe": 46.0}, "sh": {"mpjpe": 113.3, "pa_mpjpe": 54.9}},
        "plus_bone": {"gt": {"mpjpe": 87.85, "pa_mpjpe": 42.0}, "sh": {"mpjpe": 93.1, "pa_mpjpe": 52.3}},
    },
}


def paper_figures(table: str, row: str, input_2d: str) -> dict[str, Any]:
    """The paper's MPJPE / PA-MPJPE for one row: {"mpjpe", "pa_mpjpe", "source"}; None where not
    recovered."""
    found = PAPER_ROWS.get((table, row), {}).get(input_2d)
    if found:
        return {**found, "source": "paper"}
    if row == TABLES[table].full_method_row:
        return {**PAPER_HEADLINE[input_2d], "source": PAPER_HEADLINE_SOURCE}
    return {"mpjpe": None, "pa_mpjpe": None, "source": None}


# ---------------------------------------------------------------------------------------------
# Budgets and row configs.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    name: str
    description: str
    overrides: dict
    eval_stride: int = 1


def default_configs_dir() -> Path:
    """`./configs` when it holds the table folders, else the repository's own `configs/`."""
    here = Path.cwd() / "configs"
    if (here / "budgets.yaml").is_file():
        return here
    return Path(__file__).resolve().parents[2] / "configs"


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_budgets(path: str | Path | None = None) -> dict[str, Budget]:
    """Read and validate `configs/budgets.yaml` -> {name: Budget}.

    Every override must be a valid config key with a valid value (checked by building a config
    from it), and may not rename the experiment."""
    path = Path(path) if path else default_configs_dir() / "budgets.yaml"
    if not path.is_file():
        raise InputError(f"{path}: budgets file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}: expected a mapping of budget names to budgets")
    budgets = {}
    for name, spec in raw.items():
        where = f"{path}: budget '{name}'"
        if not isinstance(spec, dict):
            raise InputError(f"{where}: expected a mapping with description / overrides / eval_stride")
        unknown = sorted(set(spec) - {"description", "overrides", "eval_stride"})
        if unknown:
            raise InputError(f"{where}: unknown key(s) {unknown}; allowed: ['description', 'eval_stride', 'overrides']")
        overrides = spec.get("overrides") or {}
        if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
            raise InputError(f"{where}: overrides must map config sections to mappings of keys")
        if {"name", "description"} & set(overrides):
            raise InputError(f"{where}: overrides may not set name or description")
        config_from_dict(overrides, f"{where} overrides")  # unknown keys / bad values -> InputError
        stride = spec.get("eval_stride", 1)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise InputError(f"{where}: eval_stride must be an integer >= 1")
        budgets[str(name)] = Budget(str(name), str(spec.get("description", "")), overrides, stride)
    return budgets


def row_config(configs_dir: Path, table: str, row: str, budget: Budget, input_2d: str = "gt") -> ExperimentConfig:
    """A row's YAML with the budget's overrides and the 2D input applied."""
    path = configs_dir / table / f"{row}.yaml"
    overrides = _deep_merge(budget.overrides, {"data": {"input_2d": input_2d}})
    return load_config(path, overrides)


# ---------------------------------------------------------------------------------------------
# Training (what is missing) and cached evaluation.
# ---------------------------------------------------------------------------------------------

# Config keys that do not change what is learnt.
_IRRELEVANT = {("name",), ("description",), ("train", "threads"), ("train", "log_every")}


def config_differences(stored: dict, wanted: dict) -> list[str]:
    """Dotted keys whose values differ between two config dicts, ignoring name, description,
    thread count and log interval."""
    diffs = []

    def walk(a: Any, b: Any, key: tuple[str, ...]) -> None:
        if key in _IRRELEVANT:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                walk(a.get(k), b.get(k), key + (k,))
        elif a != b:
            diffs.append(f"{'.'.join(key)} ({a!r} vs {b!r})")

    walk(stored, wanted, ())
    return diffs


def _check_run_config(path: Path, cfg: ExperimentConfig) -> None:
    from .training.checkpoint import load_checkpoint

    diffs = config_differences(load_checkpoint(path)["config"], cfg.to_dict())
    if diffs:
        raise InputError(f"{path}: trained with another config ({', '.join(diffs[:4])}); "
                         f"remove {path.parent} or pick another --runs folder")


def ensure_trained(cfg: ExperimentConfig, run_dir: Path, train: bool = True, device: str = "auto",
                   progress: bool = True, log: Callable[[str], None] = print) -> Path | None:
    """`run_dir/model.pt`, training (resuming from `last.pt`) when it is missing; None when it is
    missing and `train` is False. A run folder holding another config's model is an error."""
    final = run_dir / "model.pt"
    if final.is_file():
        _check_run_config(final, cfg)
        return final
    if not train:
        return None
    if (run_dir / "last.pt").is_file():
        _check_run_config(run_dir / "last.pt", cfg)
    from .training.run import run_training

    log(f"[{cfg.name}] training into {run_dir}")
    return run_training(cfg, run_dir, resume=True, device=device, progress=progress)


class _MemoLifter:
    """A `PoseLifter` whose lifts are remembered by input content, so the second scale protocol
    reuses the first one's predictions instead of lifting every test frame again."""

    def __init__(self, lifter: Any):
        self._lifter = lifter
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lifter, name)

    def lift_normalised(self, x, sref=None, **kw):
        h = hashlib.sha1(x.tobytes())
        if sref is not None:
            h.update(sref.tobytes())
        key = h.hexdigest()
        if key not in self._cache:
            self._cache[key] = self._lifter.lift_normalised(x, sref=sref, **kw)
        return self._cache[key]


def _fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def eval_cache_path(run_dir: Path, input_2d: str, protocol: str, stride: int) -> Path:
    return run_dir / f"eval_{input_2d}_{protocol}_stride{stride}.json"


def evaluate_run(model: Path, input_2d: str, stride: int, device: str = "auto", progress: bool = True,
                 sequences_loader: Callable[[], list] | None = None,
                 log: Callable[[str], None] = print) -> dict[str, dict]:
    """Every scale protocol for one model: {protocol: evaluate_checkpoint result}, each cached as
    JSON beside the model and reused while the model file is unchanged."""
    results: dict[str, dict] = {}
    fp = _fingerprint(model)
    todo = []
    for protocol in SCALE_PROTOCOLS:
        cache = eval_cache_path(model.parent, input_2d, protocol, stride)
        if cache.is_file():
            try:
                cached = json.loads(cache.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                cached = {}
            if cached.get("model_fingerprint") == fp:
                results[protocol] = cached
                continue
        todo.append(protocol)
    if not todo:
        return results
    from .evaluation.h36m_eval import evaluate_checkpoint
    from .inference import PoseLifter
    from .training.run import pick_device

    lifter = _MemoLifter(PoseLifter.from_checkpoint(model, pick_device(device)))
    seqs = sequences_loader() if sequences_loader else None
    for protocol in todo:
        log(f"[{model.parent.name}] evaluating ({input_2d} 2D, {protocol}, stride {stride})")
        t0 = time.time()
        res = evaluate_checkpoint(lifter, input_2d, protocol, stride, progress=progress, sequences=seqs)
        res["model_fingerprint"] = fp
        res["eval_seconds"] = round(time.time() - t0, 2)
        atomic_write_text(eval_cache_path(model.parent, input_2d, protocol, stride), json.dumps(res, indent=2))
        results[protocol] = res
    return results


def _training_info(model: Path) -> dict[str, Any]:
    from .training.checkpoint import load_checkpoint

    st = load_checkpoint(model)
    return {"epochs": st.get("epoch"), "steps": st.get("step"), "train_seconds": st.get("seconds"),
            "mm_per_unit": st.get("mm_per_unit")}


# ---------------------------------------------------------------------------------------------
# One table end to end.
# ---------------------------------------------------------------------------------------------


def machine_info(device: str = "auto") -> dict[str, Any]:
    """Where this ran: processor, CPU count, torch version and device."""
    import torch

    from .training.run import pick_device

    dev = pick_device(device)
    info = {
        "processor": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": dev,
    }
    if dev.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(dev))
    return info


def run_dir_for(runs: Path, budget: str, table: str, row: str, input_2d: str) -> Path:
    """runs/<budget>/<table>/<row> for ground-truth 2D; runs/<budget>/<table>_sh/<row> for
    detections (trained on detections too)."""
    return runs / budget / (table if input_2d == "gt" else f"{table}_{input_2d}") / row


def output_stem(table: str, budget: str, input_2d: str) -> str:
    return f"{table}_{budget}" if input_2d == "gt" else f"{table}_{budget}_{input_2d}"


def reproduce_table(table: str, budget: str = "cpu", runs: str | Path = "runs", input_2d: str = "gt",
                    stride: int | None = None, out: str | Path = "docs/results", rows: list[str] | None = None,
                    train: bool = True, device: str = "auto", progress: bool = True,
                    configs_dir: str | Path | None = None, command: str | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train what is missing, evaluate, and write `<out>/<stem>.md` and `.json` (and, for fig6,
    the Fig. 6 PNG). `rows` limits which rows may be *trained*; every row with a model is
    evaluated and reported. Returns the report dict."""
    if table not in TABLES:
        raise InputError(f"unknown table {table!r}; choose from {sorted(TABLES)}")
    if input_2d not in INPUTS:
        raise InputError(f"--input must be one of {list(INPUTS)}, not {input_2d!r}")
    spec = TABLES[table]
    configs_dir = Path(configs_dir) if configs_dir else default_configs_dir()
    budgets = load_budgets(configs_dir / "budgets.yaml")
    if budget not in budgets:
        raise InputError(f"unknown budget {budget!r}; {configs_dir / 'budgets.yaml'} defines {sorted(budgets)}")
    b = budgets[budget]
    stride = b.eval_stride if stride is None else stride
    if stride < 1:
        raise InputError("--stride must be >= 1")
    selected = list(spec.rows) if not rows else rows
    unknown = [r for r in selected if r not in spec.rows]
    if unknown:
        raise InputError(f"{table} has no row(s) {unknown}; rows: {list(spec.rows)}")
    runs, out = Path(runs), Path(out)
    cfgs = {row: row_config(configs_dir, table, row, b, input_2d) for row in spec.rows}  # validate all first

    from .training.loop import TrainingDiverged

    test_seqs: list | None = None

    def sequences() -> list:
        nonlocal test_seqs
        if test_seqs is None:
            from .data.h36m import load_h36m

            test_seqs = load_h36m("test", input_2d, stride=stride)
        return test_seqs

    report_rows = []
    for row in spec.rows:
        cfg = cfgs[row]
        run_dir = run_dir_for(runs, budget, table, row, input_2d)
        failure = None
        try:
            model = ensure_trained(cfg, run_dir, train=train and row in selected, device=device, progress=progress, log=log)
        except TrainingDiverged as e:  # one diverged row must not stop the rest of the table
            model, failure = None, str(e)
            log(f"[{row}] training failed: {e}")
        entry: dict[str, Any] = {
            "row": row, "description": cfg.description, "config": str(configs_dir / table / f"{row}.yaml"),
            "run": str(run_dir), "paper": paper_figures(table, row, input_2d),
            "authors_release": AUTHORS_RELEASE["rows"].get(row, {}).get(input_2d) if table == "table3" else None,
            "uses_3d_at_test": cfg.model.scale == "reference", "effective_config": cfg.to_dict(),
        }
        if failure:
            entry["status"], entry["error"] = "failed", failure
        elif model is None:
            entry["status"] = "not run"
            log(f"[{row}] no model in {run_dir}: not trained yet")
        else:
            entry["status"] = "evaluated"
            entry["training"] = _training_info(model)
            entry["ours"] = evaluate_run(model, input_2d, stride, device, progress, sequences, log)
        report_rows.append(entry)

    report = {
        "table": table, "title": spec.title, "budget": budget, "budget_description": b.description,
        "input_2d": input_2d, "stride": stride, "scale_protocols": list(SCALE_PROTOCOLS),
        "command": command or f"ambipose reproduce {table} --budget {budget} --input {input_2d} --stride {stride}",
        "machine": machine_info(device), "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": report_rows, "labels": spec.labels,
        "paper_sources": {"headline": PAPER_HEADLINE_SOURCE, "ablation_rows": "not recovered (n/r)",
                          "authors_release": AUTHORS_RELEASE if table == "table3" else None},
    }
    stem = output_stem(table, budget, input_2d)
    md_path, json_path = out / f"{stem}.md", out / f"{stem}.json"
    if table == "fig6":
        png = write_fig6_png(report, out / f"{stem}.png", log)
        report["figure"] = str(png) if png else None
    atomic_write_text(md_path, render_markdown(report))
    atomic_write_text(json_path, json.dumps(report, indent=2, default=str))
    log(f"wrote {md_path} and {json_path}")
    return report


# ---------------------------------------------------------------------------------------------
# Markdown.
# ---------------------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return NOT_RECOVERED
    return f"{v:.1f}"


def _metric(entry: dict, protocol: str, key: str) -> float | None:
    res = (entry.get("ours") or {}).get(protocol)
    return None if res is None else res.get(f"action_mean_{key}", res.get(key))


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
        + "; errors in mm, mean over actions of the per-action means (the paper's convention).",
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
        "| MPJPE (authors) | PA-MPJPE | N-MPJPE | training |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    dagger = False
    for r in rows:
        paper = r["paper"]
        mark = ""
        if paper.get("source") and paper["source"] != "paper":
            mark, dagger = " †", True
        if r.get("ours"):
            ours = [_fmt(_metric(r, "global", "mpjpe")), _fmt(_metric(r, "per-frame-gt", "mpjpe")),
                    _fmt(_metric(r, "authors", "mpjpe")),
                    _fmt(_metric(r, "global", "pa_mpjpe")), _fmt(_metric(r, "global", "n_mpjpe"))]
        else:
            ours = [r.get("status", "not run")] * 5
        desc = r["description"]
        if r.get("uses_3d_at_test") and "3d" not in desc.lower():
            desc += " *(uses 3D at test time)*"
        lines.append(f"| `{r['row']}` | {desc} | {_fmt(paper.get('mpjpe'))}{mark} | {_fmt(paper.get('pa_mpjpe'))}{mark} | "
                     + " | ".join(ours) + f" | {_minutes(r)} |")
    lines.append("")
    lines.append(f"`{NOT_RECOVERED}`: not recovered: the paper's figure for this row was not found in any source "
                 "available to us, so none is shown rather than a guess.")
    if dagger:
        lines.append(f"†: {PAPER_HEADLINE_SOURCE}.")
    release = [(r["row"], r["authors_release"]) for r in rows if r.get("authors_release")]
    if release:
        parts = "; ".join(f"`{row}` {float(v['mpjpe'])} / {float(v['pa_mpjpe'])}" for row, v in release)
        lines.append(f"For reference, the {AUTHORS_RELEASE['source']} lists MPJPE / PA-MPJPE for the authors' released "
                     f"models ({input_name}): {parts} ({AUTHORS_RELEASE['caveat']}). These are not the paper's figures.")
    if report.get("figure"):
        lines += ["", f"![{report['title']}]({Path(report['figure']).name})"]
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
    from .viz.plots import plot_step_ratio

    labels = report.get("labels") or {}
    results = {}
    for r in report["rows"]:
        values = {"MPJPE (global)": _metric(r, "global", "mpjpe"),
                  "MPJPE (per-frame-gt)": _metric(r, "per-frame-gt", "mpjpe"),
                  "MPJPE (authors)": _metric(r, "authors", "mpjpe"),
                  "PA-MPJPE": _metric(r, "global", "pa_mpjpe")}
        results[labels.get(r["row"], r["row"])] = {k: math.nan if v is None else v for k, v in values.items()}
    if not any(r.get("ours") for r in report["rows"]):
        log("fig6: no row evaluated yet; the Fig. 6 PNG is skipped")
        return None
    return plot_step_ratio(results, out_png)


# ---------------------------------------------------------------------------------------------
# Figures 3, 4, 5 and training curves.
# ---------------------------------------------------------------------------------------------

DEFAULT_SEQUENCES = ("S9/Walking 1/54138969", "S11/Sitting 1/54138969")


def parse_sequence(spec: str) -> tuple[str, str, str]:
    """"S9/Walking 1/54138969" -> ("S9", "Walking 1", "54138969")."""
    parts = spec.split("/")
    if len(parts) != 3 or not all(parts):
        raise InputError(f"--sequences: {spec!r} is not SUBJECT/ACTION/CAMERA, e.g. 'S9/Walking 1/54138969'")
    return parts[0], parts[1], parts[2]


def load_test_sequence(spec: str, input_2d: str = "gt"):
    """One Human3.6M test video (50 fps) named SUBJECT/ACTION/CAMERA."""
    from .data.h36m import CAMERA_IDS, TEST_SUBJECTS, load_h36m

    subject, action, camera = parse_sequence(spec)
    if subject not in TEST_SUBJECTS:
        raise InputError(f"--sequences: {subject} is not a test subject ({', '.join(TEST_SUBJECTS)})")
    if camera not in CAMERA_IDS:
        raise InputError(f"--sequences: camera {camera} is not one of {', '.join(CAMERA_IDS)}")
    seqs = load_h36m("test", input_2d, subjects=(subject,), cameras=(camera,))
    for s in seqs:
        if s.action == action:
            return s
    raise InputError(f"--sequences: no {subject} action {action!r}; actions: {', '.join(sorted({s.action for s in seqs}))}")


def parse_named_paths(items: list[str] | None, flag: str = "--scale-models") -> dict[str, Path]:
    """["bone only=runs/a/model.pt", ...] -> {"bone only": Path(...)}."""
    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise InputError(f"{flag}: {item!r} is not NAME=PATH")
        out[name.strip()] = Path(path.strip())
    return out


def data_available() -> bool:
    from .settings import h36m_root

    return (h36m_root() / "h36m_cameras.json").is_file()


def _sref_for(lifter: Any, seq: Any, constant: float):
    from .data.normalization import reference_scale

    c = lifter.normalisation.get("constant") or constant
    return reference_scale(seq.poses_3d, c, seq.focal, lifter.depth)


def build_figures(out: str | Path, checkpoint: str | Path | None = None, scale_models: dict[str, Path] | None = None,
                  runs: list[str | Path] | None = None, input_2d: str = "gt",
                  sequences: tuple[str, ...] | list[str] = DEFAULT_SEQUENCES, n_frames: int = 8, device: str = "auto",
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write every figure whose inputs are given; returns {"written": [...], "skipped": [...]}."""
    import numpy as np

    from .data.normalization import DEFAULT_DEPTH, reference_scale, universal_constant
    from .viz import plots

    out = Path(out)
    written: list[str] = []
    skipped: list[str] = []
    stats: dict[str, Any] = {}

    def skip(msg: str) -> None:
        skipped.append(msg)
        log(f"skipped: {msg}")

    if input_2d not in INPUTS:
        raise InputError(f"--input must be one of {list(INPUTS)}")
    if n_frames < 1:
        raise InputError("--frames must be >= 1")
    scale_models = scale_models or {}
    for name, p in scale_models.items():
        if not Path(p).is_file():
            raise InputError(f"--scale-models {name}: {p}: checkpoint not found")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise InputError(f"--checkpoint: {checkpoint}: checkpoint not found")

    from .inference import PoseLifter
    from .training.run import pick_device

    dev = pick_device(device)
    lifter = PoseLifter.from_checkpoint(checkpoint, dev) if checkpoint else None

    # Training curves: every given run folder (or log.csv), else the checkpoint's own folder.
    logs = [Path(r) for r in (runs or [])]
    if not logs and checkpoint is not None and (Path(checkpoint).parent / "log.csv").is_file():
        logs = [Path(checkpoint).parent]
    if not logs:
        skip("training curves: no --runs folder with a log.csv given (nor one beside --checkpoint)")
    for r in logs:
        csv_path = r / "log.csv" if r.is_dir() else r
        if not csv_path.is_file():
            skip(f"training curves: {csv_path} not found")
            continue
        name = (csv_path.parent.name or "run").replace(" ", "_")
        written.append(str(plots.plot_training_curves(csv_path, out / f"training_curves_{name}.png")))

    if not data_available():
        for what in ("Fig. 3 (reference scale)", "Fig. 5 (scale over time)", "Fig. 4 (qualitative skeletons)"):
            skip(f"{what}: Human3.6M data not found (set AMBIPOSE_DATA)")
        return {"written": written, "skipped": skipped, "stats": stats}

    from .data.h36m import load_h36m

    depth = lifter.depth if lifter else DEFAULT_DEPTH
    # S_2D^ref uses the universal constant of the *training* 2D (same detector).
    constant = universal_constant([s.poses_2d for s in load_h36m("train", input_2d)], depth)
    stats["universal_constant_px"] = constant
    videos = {spec: load_test_sequence(spec, input_2d) for spec in sequences}
    if not videos:
        skip("Fig. 3 / Fig. 5: no --sequences given")
    else:
        # Fig. 3: S_2D^ref over each video and its histogram.
        series = {spec: reference_scale(s.poses_3d, constant, s.focal, depth) for spec, s in videos.items()}
        fps = next(iter(videos.values())).fps
        written.append(str(plots.plot_reference_scale(series, out / "fig3_reference_scale.png", fps=fps)))
        stats["fig3"] = {k: {"mean": float(v.mean()), "std": float(v.std()), "frames": len(v)} for k, v in series.items()}

        # Fig. 5: S_2D^ref against each model's predicted scales over the first video (raw).
        if not scale_models:
            skip("Fig. 5 (scale over time): no --scale-models NAME=PATH given")
        else:
            spec, seq = next(iter(videos.items()))
            ref = series[spec]
            curves = {f"S_2D^ref (mean {ref.mean():.2f})": ref}
            stats["fig5"] = {"video": spec, "S_2D^ref": float(ref.mean())}
            for name, path in scale_models.items():
                m = PoseLifter.from_checkpoint(path, dev)
                sref = _sref_for(m, seq, constant) if m.cfg.model.scale == "reference" else None
                scales = m.lift_normalised(m.normalise(seq.poses_2d), sref=sref).scales
                if m.cfg.model.scale == "off":
                    log(f"Fig. 5: {name} has no scale module (scale off): its curve is constant 1")
                curves[f"{name} (mean {scales.mean():.2f})"] = scales
                stats["fig5"][name] = float(scales.mean())
            written.append(str(plots.plot_scale_over_time(
                curves, out / "fig5_scale_over_time.png", fps=seq.fps,
                title=f"{spec}: S_2D^ref vs predicted scales (raw values)")))
            log("Fig. 5: curves are raw; a model's scales may differ from S_2D^ref by a constant factor "
                "(compare the means in the legend)")

    # Fig. 4: predicted (mm, global scale) and ground-truth skeletons, no alignment.
    if lifter is None:
        skip("Fig. 4 (qualitative skeletons): no --checkpoint given")
    else:
        from .data.h36m import CAMERA_IDS
        from .data.skeleton import ROOT

        pool = load_h36m("test", input_2d, cameras=(CAMERA_IDS[0],))
        picks = [pool[int(i)] for i in np.linspace(0, len(pool) - 1, min(n_frames, len(pool))).round()]
        items = []
        for s in picks:
            i = len(s) // 2
            sref = _sref_for(lifter, s, constant)[i : i + 1] if lifter.cfg.model.scale == "reference" else None
            pred = lifter.lift_normalised(lifter.normalise(s.poses_2d[i : i + 1]), sref=sref).poses_3d_mm[0]
            pred = pred - pred[ROOT]
            gt = s.poses_3d[i] - s.poses_3d[i, ROOT]
            err = float(np.linalg.norm(pred - gt, axis=-1).mean())
            items.append((pred, gt, f"{s.subject} {s.action} #{i}\nMPJPE {err:.0f} mm"))
        written.append(str(plots.plot_skeleton_grid(items, out / "fig4_qualitative.png", ncols=4)))
    return {"written": written, "skipped": skipped, "stats": stats}
