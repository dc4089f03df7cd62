"""Score a fine-tuned model against its starting point on subject S9 (Human3.6M, every 50 fps
frame, GT 2D, global scale protocol) and on S11 (not adapted to), to show what unsupervised
fine-tuning on one subject's 2D did.

    python benchmarks/finetune_s9.py --init src/ambipose/assets/ambipose_h36m.pt \
        --tuned runs/finetune_s9/model.pt --json out/finetune_s9.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from ambipose.data.h36m import load_h36m
    from ambipose.evaluation.h36m_eval import evaluate_checkpoint
    from ambipose.inference import PoseLifter
    from ambipose.io import atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", required=True)
    ap.add_argument("--tuned", required=True)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out = {}
    for subject in ("S9", "S11"):
        seqs = load_h36m("test", "gt", subjects=(subject,), stride=args.stride)
        for name, path in (("init", args.init), ("tuned", args.tuned)):
            r = evaluate_checkpoint(PoseLifter.from_checkpoint(path), "gt", "global", args.stride, progress=False,
                                    sequences=seqs)
            out[f"{subject}_{name}"] = {k: r[k] for k in ("mpjpe", "pa_mpjpe", "mirror_fraction", "frames")}
            print(f"{subject} {name:5s} ({path}): MPJPE {r['mpjpe']:.1f} mm, PA-MPJPE {r['pa_mpjpe']:.1f} mm, "
                  f"mirrored {100 * r['mirror_fraction']:.1f} % ({r['frames']} frames)", flush=True)
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
