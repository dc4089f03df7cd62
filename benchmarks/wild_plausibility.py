"""Bone-length variation, left/right asymmetry and the not-a-person share of `ambipose lift` on the
real 2D tracks of `<data>/wild2d` (no 3D exists: these are the checks a user can make), for one or
more checkpoints side by side.

    python benchmarks/wild_plausibility.py --checkpoint shipped --checkpoint runs/robust/model.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from ambipose.data.formats import read_keypoints
from ambipose.errors import InputError
from ambipose.evaluation.plausibility import bone_length_variation, left_right_asymmetry
from ambipose.inference import DEFAULT_CHECKPOINT, PoseLifter
from ambipose.io import atomic_write_text
from ambipose.lift_io import lift_keypoints
from ambipose.settings import data_root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", action="append", default=None, help="model file or 'shipped' (repeatable)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    files = sorted((data_root() / "wild2d").glob("*.npz"))
    out: dict = {}
    print("| clip | model | frames | bone-length variation % | left/right asymmetry % | not a person % |\n|---|---|---:|---:|---:|---:|")
    for f in files:
        for name in args.checkpoint or ["shipped"]:
            lifter = PoseLifter.from_checkpoint(DEFAULT_CHECKPOINT if name == "shipped" else name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    kp = read_keypoints(f)
                    clip = lift_keypoints(lifter, kp, progress=False)
                except InputError as e:
                    print(f"| {f.name} | {name} | refused: {e} | | | |")
                    continue
            r = {"frames": len(clip.poses_3d), "bone_cv_pct": bone_length_variation(clip.poses_3d),
                 "asymmetry_pct": left_right_asymmetry(clip.poses_3d),
                 "not_a_person_pct": clip.meta["implausible_frames_pct"]}
            out.setdefault(f.name, {})[name] = r
            print(f"| {f.name} | {name} | {r['frames']} | {r['bone_cv_pct']:.1f} | {r['asymmetry_pct']:.1f} | "
                  f"{r['not_a_person_pct']:.1f} |")
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
