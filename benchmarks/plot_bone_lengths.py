"""Plot the limb bone lengths over time of one or more `ambipose lift` results (e.g. without and
with `--fit-skeleton`), to see how much a track's skeleton stretches and how symmetric it is.

    ambipose lift ../shared/data/wild2d/data_2d_custom_lol.npz --out out/lol.npz
    ambipose lift ../shared/data/wild2d/data_2d_custom_lol.npz --out out/lol_fit.npz --fit-skeleton
    python benchmarks/plot_bone_lengths.py lifted=out/lol.npz "one skeleton=out/lol_fit.npz" \\
        --out docs/figures/skeleton_fit_lol.png
"""

from __future__ import annotations

import argparse


def main() -> None:
    from ambipose.evaluation.plausibility import bone_length_variation, left_right_asymmetry
    from ambipose.lift_io import read_result
    from ambipose.viz.plots import plot_bone_lengths

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", metavar="LABEL=PATH", help="lift results (.npz or .json)")
    ap.add_argument("--out", required=True, help="PNG to write")
    args = ap.parse_args()
    tracks, fps = {}, None
    for item in args.results:
        label, sep, path = item.partition("=")
        if not sep:
            ap.error(f"{item!r}: use LABEL=PATH")
        clip = read_result(path)
        tracks[label] = clip.poses_3d
        fps = fps or clip.meta.get("fps")
        print(f"{label}: {len(clip.poses_3d)} frames, bone-length variation {bone_length_variation(clip.poses_3d):.1f} %, "
              f"left/right asymmetry {left_right_asymmetry(clip.poses_3d):.1f} %")
    print(f"wrote {plot_bone_lengths(tracks, args.out, fps=fps)}")


if __name__ == "__main__":
    main()
