"""FLOPs counted from the nn.Linear layers (2 * in * out per sample and layer)."""

from __future__ import annotations


from torch import nn

from ..config import ExperimentConfig
from ..models.networks import Discriminator
from ..models.pose_model import PoseModel


# ---- FLOP counting ---------------------------------------------------------------------------
def linear_flops(module: nn.Module | None) -> int:
    """FLOPs of one forward pass for one sample through every nn.Linear in `module`: 2*in*out."""
    if module is None:
        return 0
    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


def inference_flops(model: PoseModel) -> int:
    """FLOPs per pose of PoseModel.forward: scale module (if any) + lifter."""
    return linear_flops(model.lifter) + linear_flops(model.scale)


def training_flops(cfg: ExperimentConfig) -> dict[str, float]:
    """FLOPs per sample of the batch for each kind of step and per frame pair of one iterative
    cycle, with backward = 2 x forward (input and weight gradients) where weights train and
    1 x forward (input gradient only) where frozen weights pass a gradient through.

    Lifter step: the lifter runs 2 lifts per cycle and 2 cycles (frames t and t+k) = 4 forwards,
    trained (x3); the frozen scale module 2 forwards without gradient (x1); the frozen
    discriminator 1 forward in the generator loss (x2: input gradient only), and its own update
    (2 forwards, x3) every `disc_every` lifter steps. Scale step: the scale module 3 forwards
    (frames t, t+k and the bone frame l; x3), the frozen lifter the same 4 cycle lifts plus the
    lift of frame l, passing gradients to the scales (x2), the frozen discriminator 1 forward (x2).
    With the scale on the 3D output the scale step skips the cycle (its losses do not reach s):
    2 scale forwards (x3) and 2 lifts without gradient (x1).
    """
    m = PoseModel(cfg.model, cfg.loss.prior_mean)
    f_lift, f_scale = linear_flops(m.lifter), linear_flops(m.scale)
    unsup = cfg.train.objective == "unsupervised"
    f_disc = linear_flops(Discriminator.from_config(cfg.model)) if unsup and cfg.loss.w_adv > 0 else 0
    lifts = 4 if cfg.loss.w_tmc > 0 else 2
    lifter_step = 3 * lifts * f_lift + 2 * f_scale + 2 * f_disc + 2 * 3 * f_disc / cfg.train.disc_every
    if m.scale is None:
        scale_step = 0.0
    elif cfg.model.scale == "3d":
        scale_step = 3 * 2 * f_scale + 2 * f_lift
    else:
        scale_step = 3 * 3 * f_scale + 2 * (lifts + 1) * f_lift + 2 * f_disc
    n = cfg.train.lifter_steps
    cycle = n * lifter_step + scale_step
    steps = n + (1 if m.scale is not None else 0)
    return {"lifter_step": float(lifter_step), "scale_step": float(scale_step), "cycle": float(cycle),
            "per_pair": cycle / steps, "lifter_forward": float(f_lift), "scale_forward": float(f_scale),
            "disc_forward": float(f_disc)}
