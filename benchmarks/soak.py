"""Soak test (benchmark suite, not a unit test).

1. `ambipose lift` on N frames (default 1,000,000) of synthetic 2D in one file: the lifter runs in
   batches, so memory is bounded by the input and output arrays; reports wall time, frames/s and
   the child process's peak RSS.
2. K consecutive CLI invocations (default 100) of `ambipose lift` on a small file: checks that no
   temporary file is left behind in the output folder or in the system temp folder.

Usage: python benchmarks/soak.py [--frames 1000000] [--invocations 100] [--checkpoint CKPT] [--json out/soak.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ambipose.data.synthetic import synthetic_clip
from ambipose.io import atomic_write_text


def _lift(inp: Path, out: Path, checkpoint: str | None) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "ambipose.cli", "lift", str(inp), "--out", str(out), "--quiet"]
    if checkpoint:
        cmd += ["--checkpoint", checkpoint]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--invocations", type=int, default=100)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--json", default="out/soak.json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ambipose-soak-"))
    clip = synthetic_clip(frames=200, seed=0)["poses_2d"].astype(np.float32)
    big = np.resize(clip, (args.frames, 17, 2))
    np.save(work / "big.npy", big)
    del big
    seconds, peak_kib = _lift(work / "big.npy", work / "big_out.npz", args.checkpoint)
    result = {"frames": args.frames, "seconds": seconds, "frames_per_s": args.frames / seconds,
              "peak_rss_mib": peak_kib / 1024, "input_mib": args.frames * 17 * 2 * 4 / 2**20}
    print(f"lift {args.frames} frames: {seconds:.1f} s ({result['frames_per_s']:.0f} frames/s), "
          f"peak RSS {result['peak_rss_mib']:.0f} MiB (input array {result['input_mib']:.0f} MiB)")

    np.save(work / "small.npy", clip)
    tmp_before = set(os.listdir(tempfile.gettempdir()))
    t0 = time.perf_counter()
    for _ in range(args.invocations):
        _lift(work / "small.npy", work / "small_out.npz", args.checkpoint)
    leftovers = [p.name for p in work.iterdir() if ".tmp" in p.name]
    new_tmp = sorted(set(os.listdir(tempfile.gettempdir())) - tmp_before - {work.name})
    result.update({"invocations": args.invocations, "invocation_seconds_median": (time.perf_counter() - t0) / args.invocations,
                   "leftover_temp_files_in_out_dir": leftovers, "new_entries_in_system_tmp": new_tmp})
    print(f"{args.invocations} CLI invocations: {len(leftovers)} temporary files left in the output folder, "
          f"{len(new_tmp)} new entries in {tempfile.gettempdir()}")
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0 if not leftovers and not new_tmp else 1


if __name__ == "__main__":
    sys.exit(main())
