"""Issue #29's targets for one or more checkpoints, in one run: off-Human3.6M motion capture
(mocap_ood `test`, S9 and varied cameras), Human3.6M (GT 2D, `global`; raw Stacked Hourglass
detections, no adapter), joint definitions and missing legs (`benchmarks/definitions.py`).
Prints a table with each target and writes JSON.

    python benchmarks/robustness.py --checkpoint shipped --checkpoint runs/robust/model.pt \
        --json docs/results/robustness.json

`--h36m-stride 1` scores every Human3.6M test frame (the headline; a few minutes per model on
2 cores); the mocap protocol is every 2nd frame of the test clips, as `evaluate --dataset mocap`.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from definitions import evaluate as evaluate_definitions  # noqa: E402

from ambipose.data.camera import load_h36m_cameras  # noqa: E402
from ambipose.data.h36m import load_h36m  # noqa: E402
from ambipose.data.mocap import load_mocap  # noqa: E402
from ambipose.evaluation.h36m_eval import evaluate_checkpoint  # noqa: E402
from ambipose.evaluation.mocap_eval import evaluate_mocap  # noqa: E402
from ambipose.inference import DEFAULT_CHECKPOINT, PoseLifter  # noqa: E402
from ambipose.io import atomic_write_text  # noqa: E402
from ambipose.settings import h36m_root  # noqa: E402

# (label, key path into the result, comparison, target): issue #29's targets.
TARGETS = (
    ("mocap test S9: PA-MPJPE", ("mocap_s9", "pa_mpjpe"), "<=", 45.0),
    ("mocap test S9: PA limbs", ("mocap_s9", "pa_mpjpe_limbs"), "<=", 48.0),
    ("mocap test S9: PCK@150 (%)", ("mocap_s9", "pck"), ">=", 90.0),
    ("Human3.6M GT: MPJPE", ("h36m_gt", "mpjpe"), "<=", 66.8),
    ("Human3.6M GT: PA-MPJPE", ("h36m_gt", "pa_mpjpe"), "<=", 41.7),
    ("definitions: worst single change, limbs vs none (%)", ("definitions_worst_pct",), "<=", 8.0),
    ("raw SH: PA-MPJPE", ("h36m_sh", "pa_mpjpe"), "<=", 60.0),
    ("legs missing: upper body vs full input (x)", ("legs_upper_ratio",), "<=", 1.2),
)
SINGLE = ("hips x0.5", "hips x1.3", "thorax at shoulders' midpoint", "head at skull centre", "head at nose level",
          "Neck/Nose missing", "coco17 / mediapipe33 / body25 mapping")


def _get(d: dict, path: tuple[str, ...]):
    for k in path:
        d = d.get(k) if isinstance(d, dict) else None
        if d is None:
            return None
    return d


def run_one(lifter: PoseLifter, h36m_stride: int, def_stride: int) -> dict:
    mocap = load_mocap("test")

    def predict(px):
        return lifter.lift(px, constant=lifter.adapt_constant(px)).poses_3d_units

    out = {"mocap_s9": evaluate_mocap(predict, mocap, lifter.mm_per_unit, "s9", progress=False),
           "mocap_varied": evaluate_mocap(predict, mocap, lifter.mm_per_unit, "varied", progress=False)}
    for key, inp in (("h36m_gt", "gt"), ("h36m_sh", "sh")):
        r = evaluate_checkpoint(lifter, inp, "global", h36m_stride, progress=False)
        out[key] = {k: r[k] for k in ("mpjpe", "pa_mpjpe", "n_mpjpe", "action_mean_mpjpe", "action_mean_pa_mpjpe",
                                      "mirror_fraction", "frames")}
    cams = load_h36m_cameras(h36m_root() / "h36m_cameras.json")
    defs = evaluate_definitions(lifter, load_h36m("test", "gt", stride=def_stride), cams)
    out["definitions"] = defs
    pcts = [defs[k]["limbs_vs_none_pct"] for k in SINGLE if "limbs_vs_none_pct" in defs.get(k, {})]
    out["definitions_worst_pct"] = max(pcts) if pcts else None
    legs = defs.get("legs missing", {})
    if "pa_mpjpe_upper" in legs:
        out["legs_upper_ratio"] = legs["pa_mpjpe_upper"] / defs["none"]["pa_mpjpe_upper"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", action="append", default=None, help="model file or 'shipped' (repeatable)")
    ap.add_argument("--h36m-stride", type=int, default=1, help="every n-th Human3.6M test frame (1 = all)")
    ap.add_argument("--definitions-stride", type=int, default=10)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    names = args.checkpoint or ["shipped"]
    results = {}
    for name in names:
        lifter = PoseLifter.from_checkpoint(DEFAULT_CHECKPOINT if name == "shipped" else name)
        results[name] = run_one(lifter, args.h36m_stride, args.definitions_stride)
        print(f"done: {name}", flush=True)
    print(f"\n| target | goal | " + " | ".join(names) + " |\n|---|---|" + "---:|" * len(names))
    for label, path, op, goal in TARGETS:
        cells = []
        for name in names:
            v = _get(results[name], path)
            ok = v is not None and (v <= goal if op == "<=" else v >= goal)
            cells.append("n/a" if v is None else f"{v:.2f}{'' if ok else ' (missed)'}")
        print(f"| {label} | {op} {goal:g} | " + " | ".join(cells) + " |")
    for name in names:
        r = results[name]
        print(f"{name}: mocap varied PA {r['mocap_varied']['pa_mpjpe']:.1f}, limbs {r['mocap_varied']['pa_mpjpe_limbs']:.1f}, "
              f"PCK {r['mocap_varied']['pck']:.1f}; SH MPJPE {r['h36m_sh']['mpjpe']:.1f}; inferred legs' error "
              f"{_get(r, ('definitions', 'legs missing', 'inferred_legs_error')) or float('nan'):.1f} mm")
    if args.json:
        atomic_write_text(args.json, json.dumps({"h36m_stride": args.h36m_stride,
                                                 "definitions_stride": args.definitions_stride,
                                                 "results": results}, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
