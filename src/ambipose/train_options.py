"""The options of one training run, shared by `ambipose train` (commands/train.py) and the
torchrun entry point (training/distributed.py): the argparse flags and the config they give.
Outside `training/` so that the CLI can offer the flags without loading any training code."""

from __future__ import annotations

import argparse


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by `ambipose train` and the torchrun entry point (training/distributed.py)."""
    p.add_argument("--config", required=True, help="experiment YAML, e.g. configs/full.yaml")
    p.add_argument("--out", default=None,
                   help="run folder (default: runs/<config name>, plus _<budget> with --budget and _sh with --input sh)")
    p.add_argument("--budget", default=None,
                   help="compute budget from configs/budgets.yaml applied over the config (model size and schedule): "
                        "paper, cpu, ablation or smoke; default: the config's own `budget:` key, else none")
    p.add_argument("--input", choices=["gt", "sh"], default=None,
                   help="Human3.6M 2D input: ground truth or Stacked Hourglass detections (default: the config's)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt if it exists")
    p.add_argument("--overwrite", action="store_true", help="start from scratch in an --out folder that already holds a run")
    p.add_argument("--data-2d", default=None,
                   help="train on your own 2D keypoints (no 3D anywhere): any file `lift` reads (one track), or a "
                        "VideoPose3D custom npz (every video a track)")
    p.add_argument("--init", default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    p.add_argument("--seed", type=int, default=None, help="override train.seed (e.g. a second seed of a recipe)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace):
    """The experiment config with the command-line overrides applied."""
    from .config import load_config

    overrides: dict = {}
    if args.data_2d:
        overrides["data"] = {"source": "2d-file", "path_2d": args.data_2d}
    if args.input:
        overrides.setdefault("data", {})["input_2d"] = args.input
    if args.epochs is not None:
        overrides.setdefault("train", {})["epochs"] = args.epochs
    if args.seed is not None:
        overrides.setdefault("train", {})["seed"] = args.seed
    if getattr(args, "init", None):
        overrides["model"] = _init_model_section(args.config, args.init)
    return load_config(args.config, overrides, budget=args.budget, weights_given=bool(getattr(args, "init", None)))


def default_run_dir(args: argparse.Namespace, name: str) -> str:
    """runs/<name>, with _<budget> for --budget and _<input> for --input sh, so a budget or input
    variant of a config never lands in (and is refused by) the folder of the config's own run."""
    suffix = (f"_{args.budget}" if args.budget else "") + (f"_{args.input}" if args.input not in (None, "gt") else "")
    return f"runs/{name}{suffix}"


def _init_model_section(config_path: str, init: str) -> dict:
    """Fine-tuning starts from a checkpoint's weights, so its architecture and scale placement are
    the checkpoint's, whatever the config's model section says (one line names what changed); the
    one exception is `correct_2d: true`, a head added at zero."""
    import yaml

    from .config import migrate_stored_config
    from .models.checkpoint import load_checkpoint

    stored = dict(migrate_stored_config(load_checkpoint(init)["config"]).get("model") or {})
    try:
        mine = (yaml.safe_load(open(config_path)) or {}).get("model") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        mine = {}  # load_config reports a bad file properly
    if mine.get("correct_2d") and not stored.get("correct_2d"):
        # A head added at zero (`pose_model.with_new_heads`): the output is unchanged until trained.
        stored["correct_2d"] = True
        print(f"model.correct_2d: a 2D-correction head is added at zero to the weights of {init}")
    changed = [f"{k} {stored[k]} (config: {v})" for k, v in sorted(mine.items()) if k in stored and stored[k] != v]
    if changed:
        print(f"model settings from {init}: {', '.join(changed)}")
    return stored
