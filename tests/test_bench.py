"""`ambipose bench`: FLOP counting, synthetic training data, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ambipose.bench import (
    BenchSettings, format_report, inference_flops, linear_flops, random_poses, random_training_data, run_bench,
    time_calls, training_flops,
)
from ambipose.cli import main
from ambipose.config import config_from_dict
from ambipose.models.networks import ResidualMLP
from ambipose.models.pose_model import PoseModel
from ambipose.training.loop import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the CLI's --threads must not leak."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def mlp_flops(n_in: int, n_out: int, w: int, blocks: int) -> int:
    return 2 * (n_in * w + 2 * blocks * w * w + w * n_out)


def test_linear_flops_by_hand() -> None:
    assert linear_flops(ResidualMLP(34, 17, 64, 2)) == mlp_flops(34, 17, 64, 2)
    assert linear_flops(None) == 0


def test_paper_size_model_flops() -> None:
    cfg = config_from_dict({"name": "full"})  # width 1024, 5 blocks, 1-block scale module
    model = PoseModel(cfg.model)
    lifter, scale = mlp_flops(34, 17, 1024, 5), mlp_flops(34, 1, 1024, 1)
    assert inference_flops(model) == lifter + scale
    assert 25e6 < lifter + scale < 26e6  # ~25.3 MFLOP per pose


def test_training_flops_count_every_forward() -> None:
    cfg = config_from_dict({"name": "t", "model": {"width": 64, "blocks": 1}})
    f = training_flops(cfg)
    lift, scale, disc = mlp_flops(34, 17, 64, 1), mlp_flops(34, 1, 64, 1), mlp_flops(34, 1, 64, 2)
    # lifter step: 4 lifts x (fwd + 2 bwd), 2 frozen scale forwards, the frozen disc once x2
    # (input gradient only), and its own update (2 forwards x3) every 3rd lifter step
    assert f["lifter_step"] == pytest.approx(12 * lift + 2 * scale + 2 * disc + 6 * disc / 3)
    # scale step: 3 scale forwards x3, 5 frozen-lifter forwards x2 (gradient to the input only),
    # the frozen disc once x2
    assert f["scale_step"] == 9 * scale + 10 * lift + 2 * disc
    assert f["per_pair"] == pytest.approx((4 * f["lifter_step"] + f["scale_step"]) / 5)
    no_tmc = training_flops(config_from_dict({"name": "t", "model": {"width": 64, "blocks": 1}, "loss": {"w_tmc": 0.0}}))
    assert no_tmc["lifter_step"] == f["lifter_step"] - 6 * lift
    # scale on the 3D output: the scale step is 2 scale forwards x3 and 2 lifts without gradient
    out3d = training_flops(config_from_dict({"name": "t", "model": {"width": 64, "blocks": 1, "scale": "3d"}}))
    assert out3d["scale_step"] == 6 * scale + 2 * lift and out3d["lifter_step"] == f["lifter_step"]


def test_random_training_data_trains(tmp_path: Path) -> None:
    data = random_training_data(400, 4, seed=1)
    assert data.frames.poses_2d.shape == (400, 17, 2)
    assert float(data.frames.poses_2d[:, 0].abs().max()) == 0.0  # root-centred
    cfg = config_from_dict({"name": "t", "model": {"width": 64, "blocks": 1}, "train": {"batch_size": 32}})
    tr = Trainer(cfg, tmp_path, data=data, progress=False)
    for it in range(5):  # one cycle: 4 lifter steps, 1 scale step
        kind, losses = tr.train_step(it)
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert kind == "scale"


def test_time_calls_bounds_the_repeats() -> None:
    calls = []
    times = time_calls(lambda: calls.append(1), torch.device("cpu"), budget_s=0.0, warmup=2, min_repeats=4)
    assert len(times) == 4 and len(calls) == 6
    assert len(time_calls(lambda: None, torch.device("cpu"), budget_s=10.0, max_repeats=7)) == 7


def test_random_poses_shape() -> None:
    x = random_poses(5, seed=0)
    assert x.shape == (5, 17, 2) and torch.equal(x, random_poses(5, seed=0))


def test_run_bench_tiny() -> None:
    s = BenchSettings(width=64, blocks=1, train_batch=32, quick=True, batches=(1, 64), seconds_per_case=0.02)
    r = run_bench(s)
    names = [v["name"] for v in r["inference"]["variants"]]
    assert "fused BN, inference_mode" in names and "fused BN + torch.compile" not in names  # quick: no compile
    for v in r["inference"]["variants"]:
        assert "error" in v or set(v["batches"]) == {"1", "64"}
    assert set(r["inference"]["best"]) == {"1", "64"}
    lat = r["inference"]["latency_ms"]
    assert 0 < lat["median"] <= lat["p90"]
    tr = r["training"]
    assert tr["pairs_per_s"] > 0 and 0 <= tr["data_share"] < 1 and set(tr["step_seconds"]) == {"lifter", "scale"}
    assert r["matmul"]["gflops"] > 0
    text = format_report(r)
    assert "frame pairs/s" in text and "single-pose latency" in text and "targets:" in text


def test_bench_training_in_bf16_reports_both_matmul_rates() -> None:
    import torch

    from ambipose.bench import MatmulProbe, bench_training

    s = BenchSettings(width=64, blocks=1, train_batch=32, quick=True, precision="bf16")
    tr = bench_training(s, MatmulProbe(torch.device("cpu"), 128))
    assert tr["precision"] == "bf16" and tr["bf16_matmul_gflops"] > 0 and tr["pairs_per_s"] > 0
    assert tr["fraction_of_bf16_matmul"] == pytest.approx(tr["gflops"] / tr["bf16_matmul_gflops"])
    fp32 = bench_training(BenchSettings(width=64, blocks=1, train_batch=32, quick=True),
                          MatmulProbe(torch.device("cpu"), 128))
    assert fp32["precision"] == "fp32" and "bf16_matmul_gflops" not in fp32


def test_bench_cli_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "b" / "bench.json"
    rc = main(["bench", "--quick", "--width", "64", "--blocks", "1", "--train-batch", "32", "--seconds", "0.02",
               "--threads", "1", "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    assert set(r["inference"]["best"]) == {"1", "64", "1024"}
    assert set(r["targets"]) == {"inference_batch_1024", "training"}
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["--width", "0"], "--width must be >= 1"),
    (["--train-batch", "1"], "--train-batch must be >= 2"),
    (["--seconds", "0"], "--seconds must be > 0"),
])
def test_bench_bad_options(args: list[str], match: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", *args]) == 2
    assert match in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"]])
def test_help_renders(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:  # a stray '%' in a help string breaks argparse here
        main(argv)
    assert e.value.code == 0
