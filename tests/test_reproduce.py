"""`ambipose reproduce` and `ambipose figures`: every row config loads and means what its row says,
budgets apply, the Markdown puts the paper's figures beside ours, evaluations are cached, and (with
the data) a smoke reproduction of two rows and the figures run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ambipose import reproduce as R
from ambipose.cli import main
from ambipose.config import config_from_dict, load_config
from ambipose.errors import InputError

CONFIGS = Path(__file__).parents[1] / "configs"


@pytest.fixture(scope="module")
def budgets() -> dict[str, R.Budget]:
    return R.load_budgets(CONFIGS / "budgets.yaml")


# --- configs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(R.TABLES))
def test_every_table_config_loads_with_paper_defaults(table):
    spec = R.TABLES[table]
    assert sorted(p.stem for p in (CONFIGS / table).glob("*.yaml")) == sorted(spec.rows)
    tag = {"table3": "Table 3", "table4": "Table 4", "fig5": "Fig. 5", "fig6": "Fig. 6"}[table]
    for row in spec.rows:
        cfg = load_config(CONFIGS / table / f"{row}.yaml")
        assert cfg.name == row and cfg.description.startswith(tag), row
        assert (cfg.train.epochs, cfg.model.width, cfg.model.blocks, cfg.train.batch_size, cfg.train.lr) == (200, 1024, 5, 512, 1.5e-4)
        assert cfg.data.input_2d == "gt"


def _cfg(table: str, row: str):
    return load_config(CONFIGS / table / f"{row}.yaml")


def test_table3_rows_add_one_loss_each():
    rows = {r: _cfg("table3", r) for r in R.TABLES["table3"].rows}
    key = {r: (c.model.scale, c.loss.w_tmc > 0, c.loss.w_kl > 0, c.loss.w_bone > 0) for r, c in rows.items()}
    assert key == {"l2d_l3d_ladv": ("off", False, False, False), "plus_tmc": ("off", True, False, False),
                   "plus_kl": ("2d", True, True, False), "plus_bone": ("2d", True, True, True)}
    assert all(c.loss.w_2d > 0 and c.loss.w_3d > 0 and c.loss.w_adv > 0 for c in rows.values())


def test_table4_is_the_normalisation_by_scale_grid_plus_the_reference_ceiling():
    grid = set()
    for row in R.TABLES["table4"].rows:
        cfg = _cfg("table4", row)
        if row == "reference_scale":
            assert cfg.model.scale == "reference" and cfg.data.normalisation == "universal"
            continue
        assert row == f"norm_{cfg.data.normalisation.replace('-', '')}_scale_{cfg.model.scale}"
        grid.add((cfg.data.normalisation, cfg.model.scale))
    assert grid == {(n, s) for n in ("none", "universal", "step-wise") for s in ("off", "2d", "3d")}


def test_the_table_names_agree_everywhere():
    from ambipose.commands.reproduce import TABLE_CHOICES
    from ambipose.config import ABLATION_TABLES

    assert tuple(R.TABLES) == ABLATION_TABLES == TABLE_CHOICES


def test_fig5_rows_are_the_scale_module_variants_of_the_paper():
    full = _cfg("table3", "plus_bone").to_dict()
    assert R.config_differences(_cfg("fig5", "bone_kl_iterative").to_dict(), full) == []
    assert R.config_differences(_cfg("fig5", "bone_iterative").to_dict(), full) == ["loss.w_kl (0.0 vs 0.001)"]
    assert R.config_differences(_cfg("fig5", "bone_joint").to_dict(), full) == \
        ["loss.w_kl (0.0 vs 0.001)", "train.schedule ('joint' vs 'iterative')"]


def test_fig6_rows_vary_only_the_schedule():
    for n in (1, 2, 4, 8):
        cfg = _cfg("fig6", f"ratio_{n}")
        assert (cfg.train.schedule, cfg.train.lifter_steps, cfg.model.scale) == ("iterative", n, "2d")
    assert _cfg("fig6", "joint").train.schedule == "joint"
    base = _cfg("fig6", "ratio_4").to_dict()
    joint = _cfg("fig6", "joint").to_dict()
    assert R.config_differences(base, joint) == ["train.schedule ('iterative' vs 'joint')"]


@pytest.mark.parametrize("table", sorted(R.TABLES))
def test_the_full_method_row_is_configs_full_yaml(table):
    full = load_config(CONFIGS / "full.yaml").to_dict()
    row = load_config(CONFIGS / table / f"{R.TABLES[table].full_method_row}.yaml").to_dict()
    assert R.config_differences(full, row) == []


# --- budgets -------------------------------------------------------------------------------------


def test_budgets_apply_as_overrides(budgets):
    assert set(budgets) >= {"paper", "cpu", "smoke"}
    paper = R.row_config(CONFIGS, "table3", "plus_bone", budgets["paper"])
    assert R.config_differences(paper.to_dict(), _cfg("table3", "plus_bone").to_dict()) == []
    cpu = R.row_config(CONFIGS, "table3", "l2d_l3d_ladv", budgets["cpu"])
    recipe = load_config(CONFIGS / "cpu_budget.yaml")
    for section, key in [("model", "width"), ("model", "blocks"), ("train", "batch_size"), ("train", "epochs"),
                         ("train", "iters_per_epoch"), ("train", "lr_decay"), ("train", "threads")]:
        assert getattr(getattr(cpu, section), key) == getattr(getattr(recipe, section), key), key
    assert (cpu.model.scale, cpu.loss.w_tmc) == ("off", 0.0)  # the row's own settings survive
    smoke = R.row_config(CONFIGS, "fig6", "ratio_2", budgets["smoke"], input_2d="sh")
    assert (smoke.model.width, smoke.model.blocks, smoke.train.epochs, smoke.train.iters_per_epoch,
            smoke.train.batch_size) == (32, 1, 1, 5, 64)
    assert smoke.train.lifter_steps == 2 and smoke.data.input_2d == "sh"
    assert budgets["smoke"].eval_stride > 1 and budgets["paper"].eval_stride == 1
    # The ablation budget: the recipe's model, a third of its steps, two seeds where error bars are asked for.
    ablation = R.row_config(CONFIGS, "table3", "plus_bone", budgets["ablation"])
    assert (ablation.model.width, ablation.model.blocks, ablation.train.epochs * ablation.train.iters_per_epoch) \
        == (512, 3, 4000)
    assert [budgets["ablation"].seeds_for(t) for t in ("table3", "table4", "fig5", "fig6")] == [2, 1, 1, 2]
    assert budgets["cpu"].seeds_for("table3") == 1


@pytest.mark.parametrize("raw, match", [
    ({"x": {"overrides": {"model": {"widht": 3}}}}, r"unknown key\(s\) \['widht'\]"),
    ({"x": {"overrides": {"train": {"epochs": "many"}}}}, "expected an integer"),
    ({"x": {"overrides": {"train": {"batch_size": 1}}}}, "batch_size must be >= 2"),
    ({"x": {"overrides": {"name": "y"}}}, "overrides must map config sections"),
    ({"x": {"overrides": {}, "eval_stride": 0}}, "eval_stride must be an integer >= 1"),
    ({"x": {"overides": {}}}, r"unknown key\(s\) \['overides'\]"),
    ({"x": {"seeds": {"table9": 2}}}, "seeds must map table names"),
    ({"x": {"seeds": {"table3": 0}}}, "seeds must map table names"),
    ({"x": {"seeds": 2}}, "seeds must map table names"),
    ({"x": 3}, "expected a mapping"),
    ([1, 2], "expected a mapping of budget names"),
])
def test_bad_budgets_are_one_line_errors(tmp_path, raw, match):
    path = tmp_path / "budgets.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError, match=match):
        R.load_budgets(path)


# --- paper figures and the Markdown table --------------------------------------------------------


def test_only_sourced_paper_figures_are_shown():
    for table, spec in R.TABLES.items():
        for row in spec.rows:
            fig = R.paper_figures(table, row, "gt")
            if row == spec.full_method_row:
                assert (fig["mpjpe"], fig["pa_mpjpe"]) == (85.3, 42.0) and fig["source"]
            elif row in R.paper.QUOTED.get(table, {}):  # quoted by issue #12, and labelled so
                assert fig["mpjpe"] == R.paper.QUOTED[table][row]["mpjpe"] and "issue #12" in fig["source"]
            elif table == "table4" and row in R.paper.TABLE4:  # the paper's Table 4 as issue #31 gives it
                assert fig["mpjpe"] == R.paper.TABLE4[row]["mpjpe"] and "issue #31" in fig["source"]
            elif row in R.paper.NOT_IN_PAPER.get(table, ()):
                assert fig["not_in_paper"] and fig["mpjpe"] is None
            else:
                assert fig["mpjpe"] is None and fig["pa_mpjpe"] is None
    sh = R.paper_figures("table3", "plus_bone", "sh")
    assert (sh["mpjpe"], sh["pa_mpjpe"]) == (92.4, 52.3)
    # Table 4 is complete: every row has the paper's figure or is marked as not in the paper
    assert all(R.paper_figures("table4", row, "gt")["mpjpe"] is not None or R.paper_figures("table4", row, "gt").get("not_in_paper")
               for row in R.TABLES["table4"].rows)
    assert not R.paper_figures("table4", "norm_universal_scale_off", "sh")["mpjpe"]  # GT 2D figures only


def _fake_result(mpjpe: float, pa: float, n: float) -> dict:
    return {"action_mean_mpjpe": mpjpe, "action_mean_pa_mpjpe": pa, "action_mean_n_mpjpe": n,
            "mpjpe": mpjpe + 1, "frames": 1234, "mirror_fraction": 0.004}


def fake_report() -> dict:
    rows = []
    for row in R.TABLES["table3"].rows:
        entry = {"row": row, "description": f"Table 3: {row}", "paper": R.paper_figures("table3", row, "gt"),
                 "authors_release": R.AUTHORS_RELEASE["rows"].get(row, {}).get("gt"), "uses_3d_at_test": False}
        if row in ("l2d_l3d_ladv", "plus_bone"):
            off = 10.0 if row == "l2d_l3d_ladv" else 0.0
            entry["ours"] = {"global": _fake_result(101.25 + off, 55.5, 95.0),
                             "per-frame-gt": _fake_result(90.04 + off, 55.5, 95.0),
                             "authors": _fake_result(104.96 + off, 55.5, 95.0)}
            entry["training"] = {"epochs": 10, "steps": 5000, "train_seconds": 2700.0}
        rows.append(entry)
    return {"table": "table3", "title": "Table 3: loss ablation", "budget": "cpu", "budget_description": "CPU budget",
            "input_2d": "gt", "stride": 5, "rows": rows, "labels": {},
            "command": "ambipose reproduce table3 --budget cpu --stride 5",
            "machine": {"processor": "x86_64", "cpu_count": 2, "torch": "2.9.0", "device": "cpu", "python": "3.11"},
            "generated": "2025-01-01 00:00:00 UTC"}


def test_markdown_puts_paper_and_our_figures_side_by_side():
    md = R.render_markdown(fake_report())
    lines = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]]
             for ln in md.splitlines() if ln.startswith("| `")}
    assert list(lines) == [f"`{r}`" for r in R.TABLES["table3"].rows]
    full = lines["`plus_bone`"]
    # what | paper MPJPE | paper PA | ours MPJPE global | per-frame-gt | authors | PA | N | mirrored | seeds | training
    assert full[1:8] == ["85.3 †", "42.0 †", "101.2", "90.0", "105.0", "55.5", "95.0"]
    assert full[8:] == ["0.4 %", "1 of 1", "10 epochs, 5000 steps, 45 min"]
    assert lines["`l2d_l3d_ladv`"][1:5] == ["105.0 ‡", "46.0 ‡", "111.2", "100.0"]
    assert lines["`plus_tmc`"][1:7] == ["101.7 ‡", "43.5 ‡", "not run", "not run", "not run", "not run"]
    header = next(ln for ln in md.splitlines() if ln.startswith("| row"))
    assert "paper MPJPE" in header and "MPJPE (global)" in header and "MPJPE (per-frame-gt)" in header
    assert "**global**" in md and "**per-frame-gt**" in md and "one test frame in 5 (1234 frames)" in md
    assert "`ambipose reproduce table3 --budget cpu --stride 5`" in md
    assert "x86_64, 2 CPUs, torch 2.9.0, device cpu" in md
    assert "not recovered" in md and "†:" in md and "‡: the paper as quoted in the project's issue #12" in md
    assert "105.0 / 46.0" in md and "87.85 / 42.0" in md and "not the paper's figures" in md


def test_fig6_png_from_a_report(tmp_path):
    report = fake_report()
    report["labels"] = {"l2d_l3d_ladv": "1", "plus_tmc": "2", "plus_kl": "4", "plus_bone": "8"}
    png = R.write_fig6_png(report, tmp_path / "fig6.png", log=lambda m: None)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for r in report["rows"]:
        r.pop("ours", None)
    assert R.write_fig6_png(report, tmp_path / "none.png", log=lambda m: None) is None


# --- runs: config checks and the evaluation cache ------------------------------------------------


def _fake_checkpoint(path: Path, config: dict) -> None:
    """A model file whose stored config is `config`."""
    from ambipose.models.checkpoint import save_checkpoint

    save_checkpoint(path, {"config": config, "model": {}, "normalisation": {}, "epoch": 1, "step": 5,
                           "seconds": 1.0, "mm_per_unit": 600.0})


def test_a_run_folder_with_another_configs_model_is_refused(tmp_path, budgets):
    cfg = R.row_config(CONFIGS, "table3", "plus_kl", budgets["smoke"])
    _fake_checkpoint(tmp_path / "model.pt", cfg.to_dict())
    assert R.ensure_trained(cfg, tmp_path, train=False) == tmp_path / "model.pt"
    other = R.row_config(CONFIGS, "table3", "plus_bone", budgets["smoke"])
    with pytest.raises(InputError, match=r"trained with another config \(loss.w_bone"):
        R.ensure_trained(other, tmp_path, train=False)
    assert R.ensure_trained(cfg, tmp_path / "empty", train=False) is None


def test_a_model_from_before_an_option_existed_still_counts_as_its_row(tmp_path, budgets):
    """A checkpoint whose stored config lacks an option added since (its default keeps the old
    behaviour) is the same experiment; one that set the option otherwise is not."""
    cfg = R.row_config(CONFIGS, "table3", "plus_kl", budgets["smoke"])
    old = cfg.to_dict()
    del old["loss"]["disc_noise"]
    _fake_checkpoint(tmp_path / "model.pt", old)
    assert R.ensure_trained(cfg, tmp_path, train=False) == tmp_path / "model.pt"
    noisy = cfg.to_dict()
    noisy["loss"]["disc_noise"] = 0.01
    with pytest.raises(InputError, match=r"loss.disc_noise \(0.0 vs 0.01\)"):
        R.ensure_trained(config_from_dict(noisy), tmp_path, train=False)


def test_evaluations_are_cached_beside_the_model(tmp_path, monkeypatch):
    import ambipose.evaluation.h36m_eval as h36m_eval
    import ambipose.inference as inference

    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    calls = []
    monkeypatch.setattr(inference.PoseLifter, "from_checkpoint", classmethod(lambda cls, p, d="cpu": object()))

    def fake_eval(lifter, input_2d, protocol, stride, progress=True, sequences=None):
        calls.append(protocol)
        return {"scale_protocol": protocol, "action_mean_mpjpe": 1.0}

    monkeypatch.setattr(h36m_eval, "evaluate_checkpoint", fake_eval)
    quiet = dict(device="cpu", progress=False, log=lambda m: None)
    first = R.evaluate_run(model, "gt", 7, **quiet)
    assert calls == ["global", "per-frame-gt", "authors"] and set(first) == {"global", "per-frame-gt", "authors"}
    assert (tmp_path / "eval_gt_global_stride7.json").is_file()
    R.evaluate_run(model, "gt", 7, **quiet)
    assert len(calls) == 3  # cached
    R.evaluate_run(model, "gt", 9, **quiet)
    assert len(calls) == 6  # another stride is another evaluation
    model.write_bytes(b"new weights!")
    R.evaluate_run(model, "gt", 7, **quiet)
    assert len(calls) == 9  # the model changed


def test_memo_lifter_lifts_each_input_once():
    import numpy as np

    class Counting:
        depth = 10.0

        def __init__(self):
            self.n = 0

        def lift_normalised(self, x, sref=None, **kw):
            self.n += 1
            return x * 2

    inner = Counting()
    memo = R._MemoLifter(inner)
    x = np.ones((3, 17, 2), np.float32)
    assert (memo.lift_normalised(x) == 2).all() and (memo.lift_normalised(x.copy()) == 2).all()
    memo.lift_normalised(x, sref=np.ones(3, np.float32))
    assert inner.n == 2 and memo.depth == 10.0


def test_a_table_without_models_reports_every_row_and_a_diverged_one(tmp_path, monkeypatch):
    from ambipose.training.loop import TrainingDiverged

    def fake_ensure(cfg, run_dir, train=True, **kw):
        if cfg.name == "plus_tmc" and train:
            raise TrainingDiverged("non-finite loss at step 3; last good checkpoint kept")
        return None

    monkeypatch.setattr(R.rows, "ensure_trained", fake_ensure)
    report = R.reproduce_table("table3", budget="smoke", runs=tmp_path / "runs", out=tmp_path / "out",
                               rows=["plus_tmc"], device="cpu", progress=False, log=lambda m: None)
    assert [r["status"] for r in report["rows"]] == ["not run", "failed", "not run", "not run"]
    md = (tmp_path / "out" / "table3_smoke.md").read_text()
    assert "| failed | failed |" in md and md.count("| not run | not run |") == 6
    saved = json.loads((tmp_path / "out" / "table3_smoke.json").read_text())
    assert saved["rows"][1]["error"].startswith("non-finite") and saved["stride"] == 200


def test_no_train_reports_recorded_results_when_the_run_folders_are_gone(tmp_path, monkeypatch):
    """A fresh clone has docs/results/<table>.json but no runs/: --no-train keeps each row whose
    config is unchanged (status "recorded"), and drops one whose config changed since."""
    calls = {"n": 0}

    def fake_ensure(cfg, run_dir, train=True, **kw):
        return None

    def fake_eval(model, *a, **kw):
        calls["n"] += 1

    monkeypatch.setattr(R.rows, "ensure_trained", fake_ensure)
    monkeypatch.setattr(R.rows, "evaluate_run", fake_eval)
    out = tmp_path / "out"
    first = R.reproduce_table("table3", budget="smoke", runs=tmp_path / "runs", out=out, train=False, device="cpu",
                              progress=False, log=lambda m: None)
    stored = json.loads((out / "table3_smoke.json").read_text())
    for entry in stored["rows"][:2]:  # as if these two rows had been trained and evaluated
        entry["seeds"][0]["ours"] = {"global": _fake_result(100.0, 50.0, 90.0)}
        entry["seeds"][0]["training"] = {"epochs": 1, "steps": 10, "train_seconds": 60.0}
    stored["rows"][1]["effective_config"]["loss"]["w_tmc"] = 123.0  # ... the second with another config
    (out / "table3_smoke.json").write_text(json.dumps(stored))
    report = R.reproduce_table("table3", budget="smoke", runs=tmp_path / "runs", out=out, train=False, device="cpu",
                               progress=False, log=lambda m: None)
    assert [s["status"] for r in report["rows"] for s in r["seeds"]] == ["recorded", "not run", "not run", "not run"]
    assert report["rows"][0]["ours"]["global"]["action_mean_mpjpe"] == 100.0 and calls["n"] == 0
    assert "recorded for the same config" in (out / "table3_smoke.md").read_text()
    assert [r["status"] for r in first["rows"]] == ["not run"] * 4


# --- command-line errors and figure inputs -------------------------------------------------------


@pytest.mark.parametrize("argv, match", [
    (["reproduce", "table3", "--rows", "plus_nothing"], "has no row"),
    (["reproduce", "table3", "--budget", "huge"], "unknown budget 'huge'"),
    (["reproduce", "fig6", "--stride", "0"], "--stride must be >= 1"),
    (["figures", "--scale-models", "nameless"], "is not NAME=PATH"),
    (["figures", "--scale-models", "a=/nonexistent/model.pt"], "checkpoint not found"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, argv, match):
    assert main(argv + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1


def test_sequence_names_are_checked():
    assert R.parse_sequence("S9/Walking 1/54138969") == ("S9", "Walking 1", "54138969")
    with pytest.raises(InputError, match="SUBJECT/ACTION/CAMERA"):
        R.parse_sequence("S9-Walking")


def test_figures_without_inputs_are_skipped_with_reasons(tmp_path, monkeypatch):
    monkeypatch.setattr(R.figures, "data_available", lambda: False)
    res = R.build_figures(tmp_path, log=lambda m: None)
    assert res["written"] == [] and len(res["skipped"]) == 4
    assert any("training curves" in s for s in res["skipped"])
    assert any("Fig. 3" in s and "data not found" in s for s in res["skipped"])


# --- with the data: a smoke reproduction and the figures -----------------------------------------


@pytest.fixture(scope="module")
def smoke_table3(h36m, tmp_path_factory):
    """Two rows of Table 3 under the smoke budget (seconds), evaluated on a sparse test set."""
    root = tmp_path_factory.mktemp("reproduce")
    argv = ["reproduce", "table3", "--budget", "smoke", "--runs", str(root / "runs"), "--out", str(root / "out"),
            "--rows", "l2d_l3d_ladv,plus_kl", "--stride", "500", "--device", "cpu", "--no-progress"]
    assert main(argv) == 0
    return root, argv


@pytest.mark.data
def test_smoke_reproduction_of_two_rows(smoke_table3, monkeypatch):
    root, argv = smoke_table3
    md = (root / "out" / "table3_smoke.md").read_text()
    report = json.loads((root / "out" / "table3_smoke.json").read_text())
    done = {r["row"]: r for r in report["rows"] if r.get("ours")}
    assert set(done) == {"l2d_l3d_ladv", "plus_kl"}
    for r in done.values():
        for protocol in R.SCALE_PROTOCOLS:
            res = r["ours"][protocol]
            assert res["scale_protocol"] == protocol and res["action_mean_mpjpe"] < 2000
            # Each alignment only removes error: PA (rotation + scale) <= N (scale) <= none.
            assert 0 < res["action_mean_pa_mpjpe"] <= res["action_mean_n_mpjpe"] <= res["action_mean_mpjpe"]
        assert (Path(r["run"]) / "eval_gt_global_stride500.json").is_file()
    assert report["stride"] == 500 and report["machine"]["cpu_count"]
    assert md.count("not run") == 12 and "| `plus_bone` |" in md and "85.3 †" in md
    # Re-running trains and evaluates nothing: models and evaluations are reused.
    import ambipose.evaluation.h36m_eval as h36m_eval
    import ambipose.training.run as run_mod

    monkeypatch.setattr(h36m_eval, "evaluate_checkpoint", lambda *a, **k: pytest.fail("re-evaluated"))
    monkeypatch.setattr(run_mod, "run_training", lambda *a, **k: pytest.fail("re-trained"))
    assert main(argv) == 0


@pytest.mark.data
def test_figures_command_smoke(smoke_table3, tmp_path):
    root, _ = smoke_table3
    runs = root / "runs" / "smoke" / "table3"
    out = tmp_path / "figs"
    assert main(["figures", "--checkpoint", str(runs / "plus_kl" / "model.pt"),
                 "--scale-models", f"KL only={runs / 'plus_kl' / 'model.pt'}", f"no scale={runs / 'l2d_l3d_ladv' / 'model.pt'}",
                 "--runs", str(runs / "l2d_l3d_ladv"), "--frames", "2",
                 "--sequences", "S9/Walking 1/54138969", "S11/Sitting 1/54138969",
                 "--out", str(out), "--device", "cpu"]) == 0
    for name in ("fig3_reference_scale.png", "fig5_scale_over_time.png", "fig4_qualitative.png",
                 "training_curves_l2d_l3d_ladv.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    assert main(["figures", "--sequences", "S9/Running 1/54138969", "--out", str(out)]) == 2


# --- seeds and rows shared between tables ---------------------------------------------------------


def test_seeds_are_averaged_with_their_half_range():
    a = {"global": {"scale_protocol": "global", "action_mean_mpjpe": 78.0, "action_mean_pa_mpjpe": 55.0,
                    "mirror_fraction": 0.01, "per_action": {"Walking": 70.0}}}
    b = {"global": {"scale_protocol": "global", "action_mean_mpjpe": 80.0, "action_mean_pa_mpjpe": 56.0,
                    "mirror_fraction": 0.03, "per_action": {"Walking": 72.0}}}
    mean, spread = R.rows.combine_seeds([a, b])
    assert mean["global"]["action_mean_mpjpe"] == 79.0 and spread["global"]["action_mean_mpjpe"] == 1.0
    assert mean["global"]["action_mean_pa_mpjpe"] == 55.5 and spread["global"]["action_mean_pa_mpjpe"] == 0.5
    assert mean["global"]["mirror_fraction"] == pytest.approx(0.02)
    assert mean["global"]["scale_protocol"] == "global" and "per_action" not in mean["global"]
    entry = {"ours": mean, "spread": spread, "seeds_evaluated": 2}
    assert R.tables._cell(entry, "global", "mpjpe") == "79.0 ± 1.0"
    assert R.tables._cell({**entry, "seeds_evaluated": 1}, "global", "mpjpe") == "79.0"


def _fake_table_run(tmp_path, monkeypatch, table, seeds, trained):
    """reproduce_table with training and evaluation faked: a 'trained' run gets a config.yaml and a
    model.pt (as a real run leaves them) and its MPJPE is 70 + seed."""
    from ambipose.training.loop import _yaml

    def fake_ensure(cfg, run_dir, train=True, **kw):
        if (run_dir / "model.pt").is_file():
            return run_dir / "model.pt"
        if not train:
            return None
        trained.append((cfg.name, cfg.train.seed, run_dir.name))
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(_yaml(cfg.to_dict()))
        (run_dir / "model.pt").write_text(str(cfg.train.seed))
        return run_dir / "model.pt"

    def fake_eval(model, input_2d, stride, *a, **k):
        seed = float(model.read_text())
        return {p: {"scale_protocol": p, "action_mean_mpjpe": 70.0 + seed, "action_mean_pa_mpjpe": 50.0 + seed}
                for p in R.SCALE_PROTOCOLS}

    monkeypatch.setattr(R.rows, "ensure_trained", fake_ensure)
    monkeypatch.setattr(R.rows, "evaluate_run", fake_eval)
    monkeypatch.setattr(R.rows, "_training_info", lambda m: {"epochs": 1, "steps": 5, "train_seconds": 1.0})
    return R.reproduce_table(table, budget="smoke", runs=tmp_path / "runs", out=tmp_path / "out", seeds=seeds,
                             rows=["plus_bone"] if table == "table3" else ["norm_universal_scale_2d"],
                             device="cpu", progress=False, log=lambda m: None)


def test_two_seeds_train_two_runs_and_report_mean_and_spread(tmp_path, monkeypatch):
    trained: list = []
    report = _fake_table_run(tmp_path, monkeypatch, "table3", 2, trained)
    assert trained == [("plus_bone", 0, "plus_bone"), ("plus_bone", 1, "plus_bone_seed1")]
    full = report["rows"][-1]
    assert [s["seed"] for s in full["seeds"]] == [0, 1] and full["seeds_evaluated"] == 2
    assert full["ours"]["global"]["action_mean_mpjpe"] == 70.5 and full["spread"]["global"]["action_mean_mpjpe"] == 0.5
    md = (tmp_path / "out" / "table3_smoke.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| `plus_bone`"))
    assert "70.5 ± 0.5" in row and "50.5 ± 0.5" in row and "| 2 of 2 |" in row and "2 seeds per row" in md
    assert report["seeds"] == 2 and "--seeds 2" in report["command"]
    # Run again: nothing is trained.
    _fake_table_run(tmp_path, monkeypatch, "table3", 2, trained)
    assert len(trained) == 2


def test_the_same_experiment_in_another_table_is_not_trained_again(tmp_path, monkeypatch):
    trained: list = []
    _fake_table_run(tmp_path, monkeypatch, "table3", 1, trained)
    report = _fake_table_run(tmp_path, monkeypatch, "table4", 1, trained)
    assert trained == [("plus_bone", 0, "plus_bone")]  # Table 4's universal / 2D row is Table 3's full method
    row = next(r for r in report["rows"] if r["row"] == "norm_universal_scale_2d")
    assert row["seeds"][0]["shared_with"].endswith("table3/plus_bone") and row["status"] == "evaluated"
    other = R.rows.find_identical_run(tmp_path / "runs" / "smoke",
                                      R.row_config(CONFIGS, "table4", "norm_universal_scale_off",
                                                   R.load_budgets(CONFIGS / "budgets.yaml")["smoke"]),
                                      tmp_path / "nowhere")
    assert other is None


def test_fig5_draws_the_evaluated_rows_scales(tmp_path, monkeypatch):
    calls = []

    def fake_figures(folder, scale_models=None, **kw):
        calls.append((folder, scale_models))
        return {"written": [str(folder / "fig5_scale_over_time.png")], "skipped": []}

    monkeypatch.setattr(R.figures, "build_figures", fake_figures)
    monkeypatch.setattr(R.rows, "ensure_trained",
                        lambda cfg, run_dir, train=True, **kw: run_dir / "model.pt" if cfg.name != "bone_joint" else None)
    monkeypatch.setattr(R.rows, "evaluate_run", lambda *a, **k: {p: {"action_mean_mpjpe": 80.0} for p in R.SCALE_PROTOCOLS})
    monkeypatch.setattr(R.rows, "_training_info", lambda m: {})
    report = R.reproduce_table("fig5", budget="smoke", runs=tmp_path / "runs", out=tmp_path / "out", train=False,
                               device="cpu", progress=False, log=lambda m: None)
    (folder, models), = calls
    assert folder == tmp_path / "out" / "fig5_smoke"
    assert list(models) == ["bone + iterative", "bone + KL + iterative"]  # bone_joint has no model
    assert models["bone + iterative"] == tmp_path / "runs" / "smoke" / "fig5" / "bone_iterative" / "model.pt"
    md = (tmp_path / "out" / "fig5_smoke.md").read_text()
    assert "(fig5_smoke/fig5_scale_over_time.png)" in md and report["figures"]
