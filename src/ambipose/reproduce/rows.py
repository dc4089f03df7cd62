"""Running the rows of a table: budgets and row configs, training what is missing (resumed, skipped
where `model.pt` exists), evaluation cached beside each model, and one table end to end."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import (Budget, ExperimentConfig, config_from_dict, deep_merge, default_configs_dir, load_budgets,
                      load_config, migrate_stored_config)
from ..errors import InputError
from ..evaluation.protocols import SCALE_PROTOCOLS
from ..io import atomic_write_text
from ..settings import machine_info, pick_device
from .paper import AUTHORS_RELEASE, INPUTS, PAPER_HEADLINE_SOURCE, QUOTED, QUOTED_SOURCE, TABLES, paper_figures
from .tables import render_markdown, write_fig6_png

# ---------------------------------------------------------------------------------------------
# Budgets and row configs.
# ---------------------------------------------------------------------------------------------


def row_config(configs_dir: Path, table: str, row: str, budget: Budget, input_2d: str = "gt") -> ExperimentConfig:
    """A row's YAML with the budget's overrides and the 2D input applied."""
    return load_config(configs_dir / table / f"{row}.yaml", {"data": {"input_2d": input_2d}}, budget=budget)


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


def as_today(stored: dict, where: str) -> dict:
    """A stored config (checkpoint or run folder) rebuilt through today's dataclasses, so an option
    added since, whose default is the old behaviour, does not count as a difference."""
    return config_from_dict(migrate_stored_config(stored), where, weights_given=True).to_dict()


def _check_run_config(path: Path, cfg: ExperimentConfig) -> None:
    from ..models.checkpoint import load_checkpoint

    diffs = config_differences(as_today(load_checkpoint(path)["config"], f"{path} (stored config)"), cfg.to_dict())
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
    from ..training.run import run_training

    log(f"[{cfg.name}] training into {run_dir}")
    return run_training(cfg, run_dir, resume=True, device=device, progress=progress)


def find_identical_run(budget_dir: Path, cfg: ExperimentConfig, exclude: Path) -> Path | None:
    """Another run folder under `budget_dir` (any table) trained with the same config (name,
    description, threads and log interval aside), finished first: rows that are the same
    experiment in two tables (Table 3's full method is Table 4's universal / 2D row and Fig. 6's
    ratio 4) train once. Started-but-unfinished folders count too, so a killed run resumes
    where it is rather than starting again elsewhere. None if there is none."""
    wanted = cfg.to_dict()
    finished, started = [], []
    for path in sorted(budget_dir.glob("*/*/config.yaml")):
        run = path.parent
        if run.resolve() == exclude.resolve():
            continue
        try:
            stored = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue
        if not isinstance(stored, dict):
            continue
        try:
            stored = as_today(stored, str(path))
        except InputError:
            continue
        if config_differences(stored, wanted):
            continue
        (finished if (run / "model.pt").is_file() else started if (run / "last.pt").is_file() else []).append(run)
    return (finished + started or [None])[0]


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
    from ..evaluation.h36m_eval import evaluate_checkpoint
    from ..inference import PoseLifter

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
    from ..models.checkpoint import load_checkpoint

    st = load_checkpoint(model)
    return {"epochs": st.get("epoch"), "steps": st.get("step"), "train_seconds": st.get("seconds"),
            "mm_per_unit": st.get("mm_per_unit")}


# ---------------------------------------------------------------------------------------------
# One table end to end.
# ---------------------------------------------------------------------------------------------


def run_dir_for(runs: Path, budget: str, table: str, row: str, input_2d: str, seed: int = 0) -> Path:
    """runs/<budget>/<table>/<row> for ground-truth 2D; runs/<budget>/<table>_sh/<row> for
    detections (trained on detections too); `_seed<k>` appended for seed k >= 1."""
    name = row if seed == 0 else f"{row}_seed{seed}"
    return runs / budget / (table if input_2d == "gt" else f"{table}_{input_2d}") / name


# Metrics averaged over seeds (per scale protocol) in a row's "ours".
_SEED_METRICS = ("mpjpe", "pa_mpjpe", "n_mpjpe", "action_mean_mpjpe", "action_mean_pa_mpjpe", "action_mean_n_mpjpe",
                 "mirror_pa_mpjpe", "mirror_fraction", "mm_per_unit")


def combine_seeds(per_seed: list[dict[str, dict]]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Evaluations of one row's seeds ({protocol: result} each) -> (mean, half range): per
    protocol, every metric of `_SEED_METRICS` found in all seeds."""
    mean: dict[str, dict] = {}
    spread: dict[str, dict] = {}
    for protocol in per_seed[0]:
        if not all(protocol in r for r in per_seed):
            continue
        # Descriptive fields (protocol name, stride, ...) from the first seed; per-action tables
        # stay with each seed's own result.
        mean[protocol] = {k: v for k, v in per_seed[0][protocol].items()
                          if k not in _SEED_METRICS and not isinstance(v, (dict, list))}
        spread[protocol] = {}
        for key in _SEED_METRICS:
            values = [r[protocol].get(key) for r in per_seed]
            if all(isinstance(v, (int, float)) for v in values):
                mean[protocol][key] = sum(values) / len(values)
                spread[protocol][key] = (max(values) - min(values)) / 2
    return mean, spread


def output_stem(table: str, budget: str, input_2d: str) -> str:
    return f"{table}_{budget}" if input_2d == "gt" else f"{table}_{budget}_{input_2d}"


def _fig5_pngs(report: dict, folder: Path, device: str, log: Callable[[str], None]) -> list[str]:
    """Fig. 3 (S_2D^ref over two test videos) and Fig. 5 (each evaluated row's predicted scale,
    seed 0, against S_2D^ref over the first video) into `folder`."""
    models = {report["labels"].get(r["row"], r["row"]): Path(r["seeds"][0]["run"]) / "model.pt"
              for r in report["rows"] if r.get("ours") and r["seeds"][0].get("ours")}
    if not models:
        log("fig5: no row evaluated yet; the Fig. 3 / Fig. 5 PNGs are skipped")
        return []
    from .figures import build_figures

    res = build_figures(folder, scale_models=models, input_2d=report["input_2d"], device=device, log=log)
    return res["written"]


def _recorded_seeds(json_path: Path, stride: int) -> dict[tuple[str, int], dict[str, Any]]:
    """(row, seed) -> {"config": the seed's effective config, "run": its stored entry} for every
    evaluated seed in an earlier report at `json_path` at the same test stride; {} without one."""
    try:
        old = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return {}
    if old.get("stride") != stride:
        return {}
    out = {}
    for entry in old.get("rows", []):
        for run in entry.get("seeds", []):
            if run.get("ours") and "seed" in run:
                config = deep_merge(entry["effective_config"], {"train": {"seed": run["seed"]}})
                out[(entry["row"], run["seed"])] = {"config": config, "run": run}
    return out


def _same_config(stored: dict, cfg: ExperimentConfig) -> bool:
    """A config stored by an earlier ambipose (in today's keys, today's defaults filled) is `cfg`."""
    try:
        return as_today(stored, "stored report") == cfg.to_dict()
    except (InputError, TypeError, ValueError):
        return False


def reproduce_table(table: str, budget: str = "cpu", runs: str | Path = "runs", input_2d: str = "gt",
                    stride: int | None = None, out: str | Path = "docs/results", rows: list[str] | None = None,
                    seeds: int | None = None, train: bool = True, device: str = "auto", progress: bool = True,
                    configs_dir: str | Path | None = None, command: str | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train what is missing, evaluate, and write `<out>/<stem>.md` and `.json` (and, for fig6,
    the Fig. 6 PNG). `rows` limits which rows may be *trained*; every row with a model is
    evaluated and reported. `seeds` (default: the budget's count for this table) trains each row
    with seeds 0..seeds-1 and reports their mean and half range. Returns the report dict."""
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
    n_seeds = b.seeds_for(table) if seeds is None else seeds
    if n_seeds < 1:
        raise InputError("--seeds must be >= 1")
    selected = list(spec.rows) if not rows else rows
    unknown = [r for r in selected if r not in spec.rows]
    if unknown:
        raise InputError(f"{table} has no row(s) {unknown}; rows: {list(spec.rows)}")
    runs, out = Path(runs), Path(out)
    cfgs = {row: row_config(configs_dir, table, row, b, input_2d) for row in spec.rows}  # validate all first

    from ..training.loop import TrainingDiverged

    test_seqs: list | None = None

    def sequences() -> list:
        nonlocal test_seqs
        if test_seqs is None:
            from ..data.h36m import load_h36m

            test_seqs = load_h36m("test", input_2d, stride=stride)
        return test_seqs

    stem = output_stem(table, budget, input_2d)
    md_path, json_path = out / f"{stem}.md", out / f"{stem}.json"
    recorded = _recorded_seeds(json_path, stride)

    report_rows = []
    for row in spec.rows:
        cfg = cfgs[row]
        entry: dict[str, Any] = {
            "row": row, "description": cfg.description, "config": str(configs_dir / table / f"{row}.yaml"),
            "run": str(run_dir_for(runs, budget, table, row, input_2d)), "paper": paper_figures(table, row, input_2d),
            "authors_release": AUTHORS_RELEASE["rows"].get(row, {}).get(input_2d) if table == "table3" else None,
            "uses_3d_at_test": cfg.model.scale == "reference", "effective_config": cfg.to_dict(), "seeds": [],
        }
        for seed in range(n_seeds):
            seed_cfg = config_from_dict(deep_merge(cfg.to_dict(), {"train": {"seed": seed}}), f"{row} seed {seed}")
            run_dir = run_dir_for(runs, budget, table, row, input_2d, seed)
            run: dict[str, Any] = {"seed": seed, "run": str(run_dir)}
            if not (run_dir / "model.pt").is_file() and not (run_dir / "last.pt").is_file():
                same = find_identical_run(runs / budget, seed_cfg, run_dir)
                if same is not None:
                    log(f"[{row} seed {seed}] same experiment as {same}: using that run")
                    run_dir = same
                    run["run"], run["shared_with"] = str(run_dir), str(run_dir)
            try:
                model = ensure_trained(seed_cfg, run_dir, train=train and row in selected, device=device,
                                       progress=progress, log=log)
            except TrainingDiverged as e:  # one diverged row must not stop the rest of the table
                run["status"], run["error"] = "failed", str(e)
                log(f"[{row} seed {seed}] training failed: {e}")
            else:
                stored = recorded.get((row, seed))
                if model is None and stored is not None and _same_config(stored["config"], seed_cfg):
                    # The run folder is gone (a fresh clone) but the report beside the table has
                    # its results for this very config: report them, said so, rather than "not run".
                    run.update({k: v for k, v in stored["run"].items() if k in ("training", "ours")})
                    run["status"] = "recorded"
                    log(f"[{row} seed {seed}] no model in {run_dir}: its results recorded in {json_path}")
                elif model is None:
                    run["status"] = "not run"
                    log(f"[{row} seed {seed}] no model in {run_dir}: not trained yet")
                else:
                    run["status"] = "evaluated"
                    run["training"] = _training_info(model)
                    run["ours"] = evaluate_run(model, input_2d, stride, device, progress, sequences, log)
            entry["seeds"].append(run)
        done = [r for r in entry["seeds"] if r.get("ours")]
        failed = [r for r in entry["seeds"] if r["status"] == "failed"]
        if done:
            # Only seeds that finished count; the table says how many.
            entry["status"] = "evaluated"
            entry["ours"], entry["spread"] = (done[0]["ours"], None) if len(done) == 1 else \
                combine_seeds([r["ours"] for r in done])
            entry["seeds_evaluated"] = len(done)
            entry["training"] = done[0].get("training")
        elif failed:
            entry["status"], entry["error"] = "failed", failed[0]["error"]
        else:
            entry["status"] = "not run"
        report_rows.append(entry)

    report = {
        "table": table, "title": spec.title, "budget": budget, "budget_description": b.description,
        "input_2d": input_2d, "stride": stride, "seeds": n_seeds, "scale_protocols": list(SCALE_PROTOCOLS),
        "command": command or f"ambipose reproduce {table} --budget {budget} --input {input_2d} --stride {stride} --seeds {n_seeds}",
        "machine": machine_info(device), "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": report_rows, "labels": spec.labels,
        "paper_sources": {"headline": PAPER_HEADLINE_SOURCE,
                          "ablation_rows": QUOTED_SOURCE if table in QUOTED else "not recovered (n/r)",
                          "authors_release": AUTHORS_RELEASE if table == "table3" else None},
    }
    if table == "fig6":
        png = write_fig6_png(report, out / f"{stem}.png", log)
        report["figure"] = str(png) if png else None
    if table == "fig5":
        report["figures"] = _fig5_pngs(report, out / stem, device, log)
    atomic_write_text(md_path, render_markdown(report))
    atomic_write_text(json_path, json.dumps(report, indent=2, default=str))
    log(f"wrote {md_path} and {json_path}")
    return report
