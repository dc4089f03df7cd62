"""`ambipose export`: a checkpoint as ONNX or TorchScript (normalised 2D -> 3D in model units)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a checkpoint as ONNX or TorchScript for deployment")
    p.add_argument("--checkpoint", required=True, help="model file (runs/<name>/model.pt or last.pt)")
    p.add_argument("--format", required=True, choices=["onnx", "torchscript"], help="file format")
    p.add_argument("--out", required=True, help="output file, e.g. model.onnx or model.ts.pt")
    p.add_argument("--no-fuse", action="store_true", help="keep BatchNorm layers (default: fold them into the Linear layers)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.add_argument("--no-check", action="store_true", help="skip running the exported file against PyTorch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..data.synthetic import random_poses
    from ..errors import InputError
    from ..export import ONNX_OPSET, export_model, model_from_state, read_metadata, run_exported
    from ..models.checkpoint import load_checkpoint

    if args.opset is not None and args.format != "onnx":
        raise InputError("--opset applies to --format onnx only")
    state = load_checkpoint(args.checkpoint)
    out = export_model(state, args.format, args.out, fuse=not args.no_fuse,
                       opset=args.opset or ONNX_OPSET, source=args.checkpoint)
    meta = read_metadata(out, args.format)
    print(f"wrote {out} ({args.format}, {out.stat().st_size / 1e6:.1f} MB): normalised 2D (B, 17, 2) -> "
          f"3D (B, 17, 3) model units; mm_per_unit {float(meta['ambipose.mm_per_unit']):.2f}, "
          f"normalisation {meta['ambipose.normalisation_mode']} "
          f"(constant {meta['ambipose.normalisation_constant'] or '-'}), depth {meta['ambipose.depth']}")
    if args.no_check:
        return 0
    x = random_poses(64, seed=0).numpy()
    with torch.inference_mode():
        ref = model_from_state(state, args.checkpoint)(torch.from_numpy(x)).numpy()
    try:
        got = run_exported(out, x, args.format)
    except ImportError as e:  # onnxruntime is optional
        print(f"check skipped: {e.name} is not installed (pip install 'ambipose[export]')")
        return 0
    print(f"check: max |exported - PyTorch| = {float(np.abs(got - ref).max()):.2e} model units on 64 random poses")
    return 0
