"""Can the single-frame lifter learn what `--fit-skeleton` adds? A self-training probe.

The probe that led to the `self_training` stage of training (training/self_training.py, the same
pseudo-labels); unlike the stage it holds one training subject out of the labels, to score on a
person the fine-tuning never saw.

No 3D labels: a checkpoint lifts the 2D of training subjects, one skeleton is fitted per video
(`skeleton_fit.fit_skeleton`), and a copy of the model is fine-tuned to reproduce the fitted
poses from single frames (mean per-joint distance, Adam). Subject `--holdout` (default S8) gives
no pseudo-labels; its 3D is read only to score the model before and after, single frame, every
`--stride`-th frame. The test subjects are scored only with `--test`. `--input sh` does all of
it on Stacked Hourglass detections (with `--lateral` for the fit, as `--fit-skeleton --lateral`).

    python benchmarks/self_training.py --checkpoint runs/cpu_budget_kcs/model.pt --steps 3000 \\
        --json docs/results/self_training.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from ambipose.config import config_from_dict, migrate_stored_config
    from ambipose.data.h36m import TRAIN_SUBJECTS, load_h36m
    from ambipose.data.skeleton import head_root_length, root_centre
    from ambipose.evaluation.metrics import mpjpe, pa_mpjpe
    from ambipose.inference import PoseLifter
    from ambipose.io import atomic_write_text
    from ambipose.models.checkpoint import load_checkpoint, save_checkpoint
    from ambipose.models.pose_model import PoseModel, upgrade_state_dict
    from ambipose.data.sampler import PoseFrames
    from ambipose.training.self_training import pseudo_labels

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--holdout", default="S8")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--stride", type=int, default=5, help="scoring stride on the held-out / test subjects")
    ap.add_argument("--test", action="store_true", help="also score S9 + S11 (every --stride-th 50 fps frame)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--input", choices=["gt", "sh"], default="gt", help="2D for pseudo-labels and scores")
    ap.add_argument("--lateral", type=float, default=None, help="fit_skeleton's lateral_weight (detections)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--save", default=None, help="write the fine-tuned weights here (out/..., not shipped)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    lifter = PoseLifter.from_checkpoint(args.checkpoint)
    state = load_checkpoint(args.checkpoint)
    cfg = config_from_dict(migrate_stored_config(state["config"]))
    model = PoseModel(cfg.model, cfg.loss.prior_mean)
    model.load_state_dict(upgrade_state_dict(state["model"], cfg.loss.prior_mean))

    t0 = time.perf_counter()
    pseudo = tuple(s for s in TRAIN_SUBJECTS if s != args.holdout)
    xs = [lifter.normalise(seq.poses_2d).astype(np.float32) for seq in load_h36m("train", args.input, subjects=pseudo)]
    frames = PoseFrames.from_sequences(xs)  # 2D only
    x_all, y_all = frames.poses_2d, pseudo_labels(model, frames, args.lateral)  # what the training stage does
    label_s = time.perf_counter() - t0
    print(f"pseudo-labels: {len(x_all)} frames of {', '.join(pseudo)} in {label_s:.0f} s")

    probe = x_all[torch.randperm(len(x_all), generator=torch.Generator().manual_seed(1))[:8192]]

    def head_root(m: PoseModel) -> float:
        """Mean predicted head-root length on training inputs (units): the global scale's rule."""
        m.eval()
        with torch.no_grad():
            return float(head_root_length(m(probe)).mean())

    head_before = head_root(model)

    def score(m: PoseModel, split: str, subjects: tuple[str, ...] | None) -> dict:
        seqs = load_h36m(split, args.input, subjects=subjects, stride=args.stride)
        # the global protocol's mm per unit, recomputed by training's rule (training inputs only)
        mm = lifter.mm_per_unit * head_before / head_root(m)
        m.eval()
        with torch.no_grad():
            preds = [m(torch.from_numpy(lifter.normalise(s.poses_2d).astype(np.float32))).numpy() for s in seqs]
        p = np.concatenate(preds) * mm
        g = np.concatenate([root_centre(s.poses_3d) for s in seqs])
        return {"frames": len(g), "mpjpe": float(mpjpe(p, g).mean()), "pa_mpjpe": float(pa_mpjpe(p, g).mean())}

    out: dict = {"checkpoint": args.checkpoint, "input_2d": args.input, "lateral_weight": args.lateral,
                 "holdout": args.holdout, "steps": args.steps, "batch": args.batch,
                 "lr": args.lr, "pseudo_frames": len(x_all), "before": {args.holdout: score(model, "train", (args.holdout,))}}
    print(f"before: {args.holdout} {out['before'][args.holdout]}", flush=True)
    base = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    model.train()
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        idx = torch.randint(len(x_all), (args.batch,))
        loss = (model(x_all[idx]) - y_all[idx]).norm(dim=-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == args.steps:
            print(f"step {step}: loss {loss.item():.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    out["train_s"] = time.perf_counter() - t0
    out["after"] = {args.holdout: score(model, "train", (args.holdout,))}
    print(f"after: {args.holdout} {out['after'][args.holdout]}")
    if args.save:
        save_checkpoint(args.save, {"model": model.state_dict(),
                                    "mm_per_unit": lifter.mm_per_unit * head_before / head_root(model)})
    if args.test:
        out["before"]["test"] = score(base, "test", None)
        out["after"]["test"] = score(model, "test", None)
        print(f"test before {out['before']['test']}, after {out['after']['test']}")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
