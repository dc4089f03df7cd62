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
    assert (cfg.train.lr, cfg.train.lr_decay, cfg.train.batch_size, cfg.train.lifter_steps) == (2e-4, 0.95, 1024, 4)


@pytest.mark.parametrize("raw, match", [
    ({"train": {"epochz": 3}}, r"unknown key\(s\) \['epochz'\]"),
    ({"train": {"epochs": "ten"}}, "expected an integer"),
    ({"train": {"epochs": 2.5}}, "expected an integer"),
    ({"model": {"scale": "4d"}}, "not one of"),
    ({"model": []}, "expected a mapping"),
    ({"train": {"batch_size": 1}}, "batch_size must be >= 2"),
    ({"data": {"source": "2d-file"}}, "path_2d is required"),
    ({"loss": {"prior_std": 0}}, "prior_std must be > 0"),
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
