"""Configs: every shipped YAML validates; typos and wrong types are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambipose.config import ExperimentConfig, config_from_dict, load_config
from ambipose.errors import InputError

CONFIGS = sorted(p for p in (Path(__file__).parents[1] / "configs").rglob("*.yaml") if p.name != "budgets.yaml")


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(p.parents[1])) for p in CONFIGS])
def test_every_shipped_config_loads(path):
    # configs for the user's own 2D get the file from --data-2d
    over = {"data": {"path_2d": "tracks.npz"}} if "2d-file" in path.read_text() else None
    cfg = load_config(path, over)
    assert isinstance(cfg, ExperimentConfig) and cfg.name


def test_defaults_are_the_papers():
    cfg = config_from_dict({})
    assert (cfg.loss.w_2d, cfg.loss.w_3d, cfg.loss.w_adv, cfg.loss.w_tmc, cfg.loss.w_kl, cfg.loss.w_bone) == (5.0, 0.5, 1.0, 1.0, 0.001, 1.0)  # the authors' code (cfg/h36m_gt_scale.yaml)
    assert (cfg.model.width, cfg.model.blocks, cfg.model.dropout, cfg.model.depth) == (1024, 5, 0.25, 10.0)
    # cfg/h36m_gt_scale.yaml: batch 512, lr 1.5e-4, discriminator 1e-4, x0.95 per 5 epochs; 200 epochs
    assert (cfg.train.lr, cfg.train.disc_lr, cfg.train.lr_decay, cfg.train.batch_size, cfg.train.lifter_steps,
            cfg.train.epochs) == (1.5e-4, 1e-4, 0.99, 512, 4, 200)
    assert cfg.model.scale == "2d" and cfg.train.schedule == "iterative" and cfg.data.normalisation == "universal"


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(p.parents[1])) for p in CONFIGS])
def test_configs_hold_only_what_differs_from_the_defaults(path):
    import yaml

    defaults = ExperimentConfig().to_dict()
    raw = yaml.safe_load(path.read_text())
    repeated = [f"{section}.{key}" for section, values in raw.items() if isinstance(values, dict)
                for key, value in values.items() if defaults[section].get(key) == value
                and not (section == "data" and key == "path_2d")]  # path_2d: null names the --data-2d slot
    assert repeated == [], f"{path.name} repeats defaults: {repeated}"


def test_the_full_method_config_is_the_defaults():
    full = load_config(Path(__file__).parents[1] / "configs" / "full.yaml").to_dict()
    assert {k: v for k, v in full.items() if k not in ("name", "description")} == \
        {k: v for k, v in config_from_dict({}).to_dict().items() if k not in ("name", "description")}


def test_the_kcs_experiment_is_the_cpu_recipe_plus_one_switch():
    configs = Path(__file__).parents[1] / "configs"
    gt, kcs = load_config(configs / "cpu_budget.yaml").to_dict(), load_config(configs / "cpu_budget_kcs.yaml").to_dict()
    assert (gt["model"]["disc_kcs"], kcs["model"]["disc_kcs"]) == (False, True)
    for c in (gt, kcs):
        c.pop("name"), c.pop("description"), c["model"].pop("disc_kcs")
    assert gt == kcs
    # Its control: the Chen baseline at the same budget with the same discriminator.
    chen = load_config(configs / "table3" / "l2d_l3d_ladv.yaml", budget="cpu").to_dict()
    chen_kcs = load_config(configs / "chen2019_kcs.yaml").to_dict()
    assert chen_kcs["model"].pop("disc_kcs") is True
    for c in (chen, chen_kcs):
        c.pop("name"), c.pop("description"), c["model"].pop("disc_kcs", None)
    assert chen == chen_kcs


def test_budgets_apply_over_the_yaml_and_flags_over_both(tmp_path):
    recipe = Path(__file__).parents[1] / "configs" / "cpu_budget.yaml"
    cpu = load_config(recipe)  # its own `budget: cpu`
    assert (cpu.model.width, cpu.model.blocks, cpu.train.epochs * cpu.train.iters_per_epoch, cpu.train.lr,
            cpu.train.disc_lr, cpu.train.lr_decay, cpu.train.threads) == (512, 3, 16000, 1e-3, 1e-3, 0.925, 2)
    assert (cpu.model.scale, cpu.loss.scale_relative, cpu.loss.w_2d) == ("3d", True, 1.0)  # the recipe's method
    # The recipe's method on detections at the ablation budget: 4,000 steps decayed x0.7.
    sh = load_config(recipe, {"data": {"input_2d": "sh"}}, budget="ablation")
    assert (sh.train.epochs, sh.train.iters_per_epoch, sh.train.lr_decay, sh.data.input_2d, sh.model.scale) == \
        (8, 500, 0.7, "sh", "3d")
    assert load_config(recipe, {"train": {"epochs": 2}}, budget="ablation").train.epochs == 2  # flags win
    p = tmp_path / "exp.yaml"
    p.write_text("budget: huge\n")
    with pytest.raises(InputError, match="unknown budget 'huge'"):
        load_config(p)
    p.write_text("budget: [cpu]\n")
    with pytest.raises(InputError, match="budget must be a budget name"):
        load_config(p)


@pytest.mark.parametrize("raw, match", [
    ({"train": {"epochz": 3}}, r"unknown key\(s\) \['epochz'\]"),
    ({"train": {"epochs": "ten"}}, "expected an integer"),
    ({"train": {"epochs": 2.5}}, "expected an integer"),
    ({"model": {"scale": "4d"}}, "not one of"),
    ({"model": []}, "expected a mapping"),
    ({"train": {"batch_size": 1}}, "batch_size must be >= 2"),
    ({"data": {"source": "2d-file"}}, "path_2d is required"),
    ({"loss": {"prior_std": 0}}, "prior_std must be > 0"),
    ({"loss": {"disc_noise": -0.01}}, "disc_noise must be >= 0"),
])
def test_bad_configs_are_clear_errors(raw, match):
    with pytest.raises(InputError, match=match):
        config_from_dict(raw, "x.yaml")


def test_yaml_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(InputError, match="bad.yaml: not valid YAML"):
        load_config(bad)
    top = tmp_path / "top.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="top level must be a mapping"):
        load_config(top)
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_overrides_and_name_from_file(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("train:\n  epochs: 3\n")
    cfg = load_config(p, {"train": {"epochs": 5}, "data": {"source": "2d-file", "path_2d": "x.npy"}})
    assert cfg.name == "exp" and cfg.train.epochs == 5 and cfg.data.path_2d == "x.npy"


def test_stored_configs_of_older_versions_migrate():
    from ambipose.config import ExperimentConfig, InputError, config_from_dict, migrate_stored_config

    stored = ExperimentConfig().to_dict()
    stored["loss"]["bone_offset"] = 7
    del stored["loss"]["bone_min_offset"]
    stored["model"]["disc_size_invariant"] = False
    cfg = config_from_dict(migrate_stored_config(stored))
    assert cfg.loss.bone_min_offset == 7
    stored["model"]["disc_size_invariant"] = True  # never shipped: not silently dropped
    with pytest.raises(InputError, match="disc_size_invariant"):
        config_from_dict(migrate_stored_config(stored))


def test_train_budget_and_input_flags(tmp_path):
    import argparse

    from ambipose.commands.train import add_train_arguments, config_from_args, default_run_dir

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    recipe = str(Path(__file__).parents[1] / "configs" / "cpu_budget.yaml")
    args = p.parse_args(["--config", recipe, "--budget", "ablation", "--input", "sh"])
    cfg = config_from_args(args)
    assert cfg.data.input_2d == "sh" and cfg.train.epochs == 8
    # A variant never lands in the folder of the config's own run (runs/cpu_budget).
    assert default_run_dir(args, cfg.name) == "runs/cpu_budget_ablation_sh"
    plain = p.parse_args(["--config", recipe])
    assert default_run_dir(plain, config_from_args(plain).name) == "runs/cpu_budget"


def _changes(a: str, b: str) -> dict[str, str]:
    """{dotted key: "old -> new"} for every setting that differs from configs/a to configs/b."""
    from ambipose.training.run import config_changes

    configs = Path(__file__).parents[1] / "configs"
    old, new = (load_config(configs / n).to_dict() for n in (a, b))
    return dict(c.split(": ", 1) for c in config_changes(old, new) if not c.startswith(("name:", "description:")))


def test_the_shipped_recipe_is_the_kcs_recipe_then_self_training():
    """The main epochs of configs/cpu_budget_kcs_st.yaml are configs/cpu_budget_kcs.yaml's, so a
    finished KCS run resumed with it (--resume) is the same run as one from scratch."""
    assert _changes("cpu_budget_kcs.yaml", "cpu_budget_kcs_st.yaml") == {
        "self_training.steps": "0 -> 8000", "self_training.rounds": "1 -> 3"}


def test_the_gpu_recipe_is_the_shipped_one_at_paper_length():
    """configs/full_kcs_st.yaml = configs/cpu_budget_kcs_st.yaml without the `cpu` budget: the
    paper's model size and schedule (configs/full.yaml's), the shipped recipe's method."""
    from_cpu = _changes("cpu_budget_kcs_st.yaml", "full_kcs_st.yaml")
    assert set(from_cpu) <= {"model.width", "model.blocks"} | {f"train.{k}" for k in
                                                                 ("epochs", "iters_per_epoch", "lr", "disc_lr", "lr_decay", "threads")}
    from_paper = _changes("full.yaml", "full_kcs_st.yaml")
    assert not any(k.startswith("train.") or k in ("model.width", "model.blocks") for k in from_paper)


def test_the_detections_recipe_is_the_shipped_base_on_adapted_detections():
    """configs/cpu_budget_sh_adapted.yaml = the shipped recipe's base (cpu_budget_kcs_st.yaml) on
    Stacked Hourglass detections moved by the keypoint adapter, with instance noise for the
    discriminator, the 2D-correction head and two self-training rounds whose skeleton fit may leave
    SH's rays. (Its steps, configs removed on 2026-12-08, are in `git show baed6c2:configs/`.)"""
    assert _changes("cpu_budget_kcs_st.yaml", "cpu_budget_sh_adapted.yaml") == {
        "data.input_2d": "'gt' -> 'sh'", "data.adapt_2d": "False -> True", "model.correct_2d": "False -> True",
        "loss.disc_noise": "0.0 -> 0.01", "self_training.rounds": "3 -> 2", "self_training.lateral_weight": "None -> 0.03"}


def test_the_robust_rounds_differ_only_in_their_count_and_the_kept_batchnorm():
    """configs/robust_ft2.yaml (the shipped model's last step) = robust_ft.yaml, three rounds, BatchNorm kept."""
    assert _changes("robust_ft.yaml", "robust_ft2.yaml") == {"train.freeze_norm_stats": "False -> True",
                                                             "self_training.rounds": "1 -> 3"}


@pytest.mark.parametrize("data", [{"input_2d": "gt", "adapt_2d": True},
                                  {"source": "2d-file", "path_2d": "x.npz", "input_2d": "sh", "adapt_2d": True}])
def test_the_keypoint_adapter_is_for_human36m_detections_only(data):
    with pytest.raises(InputError, match="adapt_2d"):
        config_from_dict({"data": data})
