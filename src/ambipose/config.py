"""Experiment configuration: one YAML per experiment, validated into typed dataclasses.

Unknown keys and wrong types are errors (naming the file and the key), so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from .errors import InputError


@dataclass
class DataConfig:
    source: Literal["h36m", "2d-file", "3dhp"] = "h36m"
    input_2d: Literal["gt", "sh"] = "gt"  # h36m only: projected ground truth or Stacked Hourglass
    path_2d: str | None = None  # 2d-file only: the user's 2D keypoints (any format `ambipose lift` reads)
    root: str | None = None  # 3dhp only: folder with S1..S8/Seq1..2/annot.mat (default $AMBIPOSE_DATA/mpi_inf_3dhp)
    normalisation: Literal["universal", "step-wise", "none"] = "universal"
    train_stride: int = 1  # keep every n-th training frame
    # Camera ids; None = the dataset's usual training cameras (`DEFAULT_CAMERAS`).
    cameras: list[str] | None = None
    # h36m only: train on these subjects' 2D; None = S1, S5, S6, S7, S8. Test subjects (S9, S11)
    # are read at 10 fps like the training split: e.g. unsupervised adaptation to S9's 2D alone.
    subjects: list[str] | None = None
    # Beyond the paper, sh only: first fit a 2D keypoint adapter (`models.keypoint_adapter`) that
    # moves the detections to Human3.6M's joint definitions, on the training subjects' pairs of
    # detected and annotated 2D (2D only, as fine-tuning a detector would); train and infer on
    # the adapted 2D. Stored in the checkpoint and applied to every input the model lifts.
    adapt_2d: bool = False


@dataclass
class ModelConfig:
    width: int = 1024
    blocks: int = 5
    dropout: float = 0.25
    depth: float = 10.0  # D: canonical root depth
    disc_blocks: int = 2
    disc_dropout: float = 0.25  # the discriminator has no BatchNorm (it scores each pose alone)
    # Beyond the paper: also give the discriminator the 2D bone vectors' dot products (Wandt et
    # al.'s kinematic chain space; `networks.kcs_features`).
    disc_kcs: bool = False
    scale_blocks: int = 1
    # Scale module: off, applied to the 2D input (paper's best), to the 3D output, or replaced by
    # the ground-truth reference scale S_2D^ref (a ceiling: uses 3D).
    scale: Literal["off", "2d", "3d", "reference"] = "2d"
    # Beyond the paper: a second lifter head that corrects each joint's 2D (`networks.Lifter`),
    # zero until the self-training stage trains it on labels that leave the detected rays
    # (needs `self_training` with `lateral_weight`). For detections, not clean 2D.
    correct_2d: bool = False


@dataclass
class LossConfig:
    # The authors' weights for the full method (cfg/h36m_gt_scale.yaml of their code).
    w_2d: float = 5.0
    w_3d: float = 0.5
    w_adv: float = 1.0
    w_tmc: float = 1.0
    w_kl: float = 0.001
    w_bone: float = 1.0
    tmc_offset: int = 1  # k, in frames of the loaded data (0.1 s at Human3.6M's 10 fps training rate)
    # L_bone compares frame t with a random frame of the same video at least this many frames
    # away (1 s at 10 fps): far enough that the pose has changed, so only the person's size is shared.
    bone_min_offset: int = 10
    # Prior N(mu, sigma) of the scale: S_2D^ref measured on the Human3.6M training subjects in
    # our normalisation (`ambipose data-stats`: 0.994 / 0.157; the paper reports 0.71 / 0.06 in its own).
    prior_mean: float = 0.99
    prior_std: float = 0.16
    # In the scale step, divide L2D, L3D, L_tmc and L_bone by the scales they were computed at, so
    # the step cannot lower them by shrinking every pose (only L_kl then sets the overall size).
    scale_relative: bool = False
    # Instance noise: std (normalised units; head-root is 0.1) of Gaussian noise added to every 2D
    # pose the discriminator scores, real and synthetic alike, so it cannot tell detections from
    # synthetic views by their jitter alone (0 = off; Stacked Hourglass's error is about 0.01).
    disc_noise: float = 0.0


@dataclass
class RotationConfig:
    """Synthetic views: turns about the world's vertical axis (from the camera extrinsics where
    the data has them), then small elevation / roll jitter about the camera's axes."""

    azimuth_deg: float = 180.0
    elevation_deg: float = 10.0
    roll_deg: float = 0.0
    # World vertical for data without extrinsics (own 2D, 3DHP): a camera looking down by this
    # many degrees (Human3.6M's cameras: 10-16).
    assumed_tilt_deg: float = 13.0
    clip_2d: float = 0.3  # synthetic 2D coordinates clamped to +-clip_2d (normalised; head-root ~0.1)


@dataclass
class TrainConfig:
    objective: Literal["unsupervised", "supervised"] = "unsupervised"
    schedule: Literal["iterative", "joint"] = "iterative"
    lifter_steps: int = 4  # lifter steps per scale step (iterative schedule)
    # The defaults are the paper's schedule with the authors' optimiser settings (cfg/h36m_gt_scale.yaml
    # of their code): batch 512, lr 1.5e-4 (discriminator 1e-4), x0.95 every 5 epochs (~x0.99 per
    # epoch), 200 epochs of the 10 fps training frames (572 steps each).
    epochs: int = 200
    iters_per_epoch: int | None = None  # default: one pass over the training frames
    batch_size: int = 512
    lr: float = 1.5e-4  # lifter and scale module (Adam, betas (0.5, 0.9) as the authors)
    disc_lr: float | None = 1e-4  # discriminator; None = lr
    disc_every: int = 3  # one discriminator update every n lifter steps
    lr_decay: float = 0.99  # per epoch
    # Exponential moving average of the lifter and scale weights (0 = off): the model that is
    # validated and shipped. Adversarial training jitters the live weights from step to step.
    ema_decay: float = 0.999
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None = torch's default
    # Arithmetic of the networks' layers while training: "bf16" runs every MLP (lifter, scale
    # module, discriminator) under bfloat16 autocast; weights, optimiser, geometry (rotation,
    # projection, KCS features) and losses stay fp32, and validation, checkpoints and inference
    # are fp32. Pays on GPUs and on CPUs with bf16 matrix units (Intel AMX); elsewhere it is slower.
    precision: Literal["fp32", "bf16"] = "fp32"
    log_every: int = 50
    # Write as model.pt the epoch (or, with --init, possibly the initial weights) whose 3D is most
    # plausible on the training clip (bone-length variation + left/right asymmetry, no 3D needed:
    # evaluation/plausibility.py) instead of the last epoch. Meant for fine-tuning on own 2D.
    keep_best: bool = False
    # Discriminator-only steps before the lifter moves: with --init the discriminator starts from
    # scratch, and its first, random verdicts would otherwise push a trained lifter around.
    disc_warmup_steps: int = 0
    # Keep the BatchNorm statistics of the --init weights instead of re-estimating them on the
    # training batches: a short clip of one person is a narrow sample of poses.
    freeze_norm_stats: bool = False


@dataclass
class SelfTrainingConfig:
    """A stage after the main epochs (off when `steps` is 0), training/self_training.py: the
    model lifts the training 2D, one skeleton is fitted to each video (`skeleton_fit`), and the
    model is fine-tuned to reproduce the fitted poses from single frames. No 3D is read."""

    steps: int = 0  # fine-tuning steps per round
    rounds: int = 1  # label, fine-tune; again with the new model's labels for rounds > 1
    lr: float = 1e-4  # Adam, default betas (a regression, not the adversarial game)
    batch_size: int = 1024
    # skeleton_fit's lateral_weight: None keeps every joint on its 2D ray (clean 2D); a number
    # lets the fit correct the 2D at that cost (detections; `lift --fit-skeleton --lateral`).
    lateral_weight: float | None = None
    # Beyond the paper (training/augment.py): this share of each batch is a new view of a label,
    # changed in 3D and projected again (other proportions, joint definitions, camera elevation and
    # distance), so the model lifts skeletons and cameras Human3.6M lacks; 0 = off.
    augment: float = 0.0
    # Of the augmented samples, the share with a pattern of joints hidden (legs, a forearm, the head
    # points, random ones): they learn to lift partial 2D (`lift` of tracks with absent joints).
    augment_mask: float = 0.0
    # Of the augmented samples' 2D, Gaussian noise (joints but the root) with a standard deviation
    # per sample uniform in [0, augment_noise] head-root lengths, the target clean: detections.
    augment_noise: float = 0.0
    # At most this many passes over the training frames per round (the steps are capped at
    # max_passes x frames / batch_size): with little 2D, a fixed number of steps overfits it.
    max_passes: float | None = None


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise InputError(f"{where}: {value!r} is not one of {list(get_args(tp))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except InputError as e:
                errors.append(str(e))
        raise InputError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"{where}: expected a list, got {type(value).__name__}")
        (inner,) = get_args(tp)
        return [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InputError(f"{where}: expected a string, got {value!r}")
        return str(value)
    raise InputError(f"{where}: unsupported type {tp}")


def _build(cls: type, raw: dict, where: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in raw.items()}
    return cls(**kwargs)


def _validate(cfg: ExperimentConfig, where: str, weights_given: bool = False) -> None:
    checks = [
        (cfg.train.batch_size >= 2, "train.batch_size must be >= 2 (BatchNorm and the KL loss need a batch)"),
        (cfg.train.epochs >= 1 or cfg.self_training.steps > 0,
         "train.epochs must be >= 1 (0 only for a self-training stage alone, e.g. after --init)"),
        (cfg.train.lifter_steps >= 1, "train.lifter_steps must be >= 1"),
        (cfg.train.lr > 0, "train.lr must be > 0"),
        (0 < cfg.train.lr_decay <= 1, "train.lr_decay must be in (0, 1]"),
        (cfg.train.iters_per_epoch is None or cfg.train.iters_per_epoch >= 1, "train.iters_per_epoch must be >= 1"),
        (cfg.loss.tmc_offset >= 1 and cfg.loss.bone_min_offset >= 1, "loss offsets must be >= 1 frame"),
        (cfg.train.disc_every >= 1, "train.disc_every must be >= 1"),
        (0 <= cfg.train.ema_decay < 1, "train.ema_decay must be in [0, 1)"),
        (cfg.train.disc_lr is None or cfg.train.disc_lr > 0, "train.disc_lr must be > 0"),
        (cfg.self_training.steps >= 0, "self_training.steps must be >= 0 (0: no self-training stage)"),
        (cfg.self_training.rounds >= 1, "self_training.rounds must be >= 1"),
        (cfg.self_training.lr > 0, "self_training.lr must be > 0"),
        (cfg.self_training.batch_size >= 2, "self_training.batch_size must be >= 2 (BatchNorm needs a batch)"),
        (0 <= cfg.self_training.augment <= 1 and 0 <= cfg.self_training.augment_mask <= 1,
         "self_training.augment and augment_mask are shares in [0, 1]"),
        (0 <= cfg.self_training.augment_noise <= 0.5, "self_training.augment_noise must be in [0, 0.5] head-root lengths"),
        (cfg.self_training.max_passes is None or cfg.self_training.max_passes > 0, "self_training.max_passes must be > 0"),
        (cfg.self_training.augment == 0 or cfg.self_training.lateral_weight is None,
         "self_training.augment projects labels on their rays: it needs self_training.lateral_weight null"),
        (cfg.self_training.lateral_weight is None or cfg.self_training.lateral_weight > 0,
         "self_training.lateral_weight must be > 0 (or null: joints stay on their rays)"),
        (cfg.self_training.steps == 0 or cfg.train.objective == "unsupervised",
         "self_training is a stage of unsupervised training"),
        # A head that comes trained with --init (or a stored model's) weights is kept as it is
        # (frozen outside the self-training stage); one made here would stay zero.
        (weights_given or not cfg.model.correct_2d or (cfg.self_training.steps > 0 and (
            cfg.self_training.lateral_weight is not None or cfg.self_training.augment > 0)),
         "model.correct_2d is trained only by the self-training stage: it needs self_training.steps > 0 and a "
         "self_training.lateral_weight or self_training.augment (labels on the input's rays would teach it nothing)"),
        (cfg.rotation.clip_2d > 0, "rotation.clip_2d must be > 0"),
        (cfg.loss.prior_std > 0, "loss.prior_std must be > 0"),
        (cfg.loss.disc_noise >= 0, "loss.disc_noise must be >= 0"),
        (cfg.model.depth > 1, "model.depth must be > 1"),
        (0 <= cfg.model.dropout < 1, "model.dropout must be in [0, 1)"),
        (not cfg.data.adapt_2d or (cfg.data.source == "h36m" and cfg.data.input_2d == "sh"),
         "data.adapt_2d maps Stacked Hourglass detections to Human3.6M's joints: it needs data.source h36m and "
         "data.input_2d sh"),
        (cfg.data.train_stride >= 1, "data.train_stride must be >= 1"),
        (cfg.data.source != "2d-file" or bool(cfg.data.path_2d), "data.path_2d is required when data.source is 2d-file"),
        (cfg.data.source == "h36m" or cfg.model.scale != "reference", "model.scale 'reference' needs Human3.6M 3D (data.source h36m)"),
        (cfg.data.source == "h36m" or cfg.train.objective == "unsupervised", "supervised training needs Human3.6M 3D (data.source h36m)"),
        (cfg.data.source != "3dhp" or all(c.isdigit() for c in cfg.data.cameras or []), "data.cameras for 3dhp are camera numbers 0..13"),
        (cfg.data.subjects is None or (cfg.data.source == "h36m" and len(cfg.data.subjects) > 0
                                       and set(cfg.data.subjects) <= {"S1", "S5", "S6", "S7", "S8", "S9", "S11"}),
         "data.subjects is for Human3.6M: a non-empty list of S1, S5, S6, S7, S8, S9, S11"),
    ]
    for ok, msg in checks:
        if not ok:
            raise InputError(f"{where}: {msg}")


DEFAULT_CAMERAS = {
    "h36m": ["54138969", "55011271", "58860488", "60457274"],
    "3dhp": ["0", "1", "2", "4", "5", "6", "7", "8"],  # the cameras usually used for training
}


def migrate_stored_config(raw: dict) -> dict:
    """A config stored in a checkpoint written by an older ambipose, in today's keys: `loss.bone_offset`
    (a fixed offset) became `loss.bone_min_offset` (the minimum of a random one); the removed
    `model.disc_size_invariant` (always off) is dropped."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    loss = raw.get("loss")
    if isinstance(loss, dict) and "bone_offset" in loss:
        loss.setdefault("bone_min_offset", loss.pop("bone_offset"))
    model = raw.get("model")
    if isinstance(model, dict) and model.get("disc_size_invariant") is False:
        # An experimental switch of 2026-11-28, off in every stored model, then removed.
        del model["disc_size_invariant"]
    return raw


def config_from_dict(raw: dict, where: str = "config", weights_given: bool = False) -> ExperimentConfig:
    """`raw` validated into an ExperimentConfig. `weights_given`: the model's weights come from a
    checkpoint (fine-tuning with --init, a stored model's config), not from this config."""
    cfg = _build(ExperimentConfig, raw, where)
    if cfg.data.cameras is None and cfg.data.source in DEFAULT_CAMERAS:
        # Resolved here so a stored config names the cameras it was trained on.
        cfg.data.cameras = list(DEFAULT_CAMERAS[cfg.data.source])
    _validate(cfg, where, weights_given)
    return cfg


# ---------------------------------------------------------------------------------------------
# Budgets (configs/budgets.yaml): named sets of overrides (model size, schedule) that make any
# experiment config fit a machine: `train --budget`, `reproduce --budget`, or `budget:` in a YAML.
# ---------------------------------------------------------------------------------------------

# The tables `ambipose reproduce` knows (reproduce/paper.py): a budget may set seeds per table.
ABLATION_TABLES = ("table3", "table4", "fig5", "fig6")


@dataclass(frozen=True)
class Budget:
    name: str
    description: str
    overrides: dict
    eval_stride: int = 1
    # Seeds per table (table3 / table4 / fig5 / fig6 -> how many; 1 where not named): seed k of a row
    # trains with train.seed = k into <row> (k = 0) or <row>_seed<k>.
    seeds: dict[str, int] = field(default_factory=dict)

    def seeds_for(self, table: str) -> int:
        return self.seeds.get(table, 1)


def default_configs_dir() -> Path:
    """`./configs` when it holds the table folders, else the repository's own `configs/`."""
    here = Path.cwd() / "configs"
    if (here / "budgets.yaml").is_file():
        return here
    return Path(__file__).resolve().parents[2] / "configs"


def deep_merge(base: dict, extra: dict) -> dict:
    """`base` with `extra` on top, mappings merged key by key (neither argument changes)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_budgets(path: str | Path | None = None) -> dict[str, Budget]:
    """Read and validate `configs/budgets.yaml` -> {name: Budget}.

    Every override must be a valid config key with a valid value (checked by building a config
    from it), and may not rename the experiment."""
    path = Path(path) if path else default_configs_dir() / "budgets.yaml"
    if not path.is_file():
        raise InputError(f"{path}: budgets file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}: expected a mapping of budget names to budgets")
    budgets = {}
    for name, spec in raw.items():
        where = f"{path}: budget '{name}'"
        if not isinstance(spec, dict):
            raise InputError(f"{where}: expected a mapping with description / overrides / eval_stride / seeds")
        allowed = ["description", "eval_stride", "overrides", "seeds"]
        unknown = sorted(set(spec) - set(allowed))
        if unknown:
            raise InputError(f"{where}: unknown key(s) {unknown}; allowed: {allowed}")
        overrides = spec.get("overrides") or {}
        if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
            raise InputError(f"{where}: overrides must map config sections to mappings of keys")
        if {"name", "description"} & set(overrides):
            raise InputError(f"{where}: overrides may not set name or description")
        config_from_dict(overrides, f"{where} overrides")  # unknown keys / bad values -> InputError
        stride = spec.get("eval_stride", 1)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise InputError(f"{where}: eval_stride must be an integer >= 1")
        seeds = spec.get("seeds") or {}
        if not isinstance(seeds, dict) or not all(
                t in ABLATION_TABLES and isinstance(n, int) and not isinstance(n, bool) and n >= 1 for t, n in seeds.items()):
            raise InputError(f"{where}: seeds must map table names ({', '.join(ABLATION_TABLES)}) to integers >= 1")
        budgets[str(name)] = Budget(str(name), str(spec.get("description", "")), overrides, stride, dict(seeds))
    return budgets



def load_config(path: str | Path, overrides: dict | None = None, budget: str | Budget | None = None,
                weights_given: bool = False) -> ExperimentConfig:
    """Read a YAML experiment file. A budget (the `budget` argument, else the YAML's own `budget:`
    key; names from configs/budgets.yaml) applies on top of the YAML, and `overrides` (a nested
    dict: CLI flags) on top of both. `weights_given`: fine-tuning (`--init`), see `config_from_dict`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file") from None
    if raw == {}:
        raise InputError(f"{path}: the config is empty (an experiment needs at least a name or one setting; "
                         f"see configs/full.yaml)")
    if not isinstance(raw, dict):
        raise InputError(f"{path}: the top level must be a mapping")
    data = raw.get("data")
    new_source = (overrides or {}).get("data", {}).get("source")
    if new_source and isinstance(data, dict) and data.get("source") not in (None, new_source):
        raise InputError(f"{path}: data.source is {data.get('source')!r} but the command line gives "
                         f"{new_source!r} data (--data-2d); use a config made for it, e.g. configs/own_2d.yaml")
    if "name" not in raw:
        raw["name"] = path.stem
    named = raw.pop("budget", None)
    if named is not None and not isinstance(named, str):
        raise InputError(f"{path}: budget must be a budget name from configs/budgets.yaml, not {named!r}")
    budget = budget if budget is not None else named
    if isinstance(budget, str):
        budgets = load_budgets()
        if budget not in budgets:
            raise InputError(f"{path}: unknown budget {budget!r}; configs/budgets.yaml defines {sorted(budgets)}")
        budget = budgets[budget]
    # Layers over the YAML, later ones winning: the budget, then the command line.
    for layer in ([budget.overrides] if budget is not None else []) + [overrides or {}]:
        for section, values in layer.items():
            if isinstance(values, dict):
                if not isinstance(raw.setdefault(section, {}), dict):
                    raise InputError(f"{path}: '{section}' must be a mapping")
                raw[section] = deep_merge(raw[section], values)
            else:
                raw[section] = values
    return config_from_dict(raw, str(path), weights_given)
