"""The method's pieces pinned one equation at a time: the view-synthesis cycle, each loss on a
hand-built case, the per-pose discriminator, world-up rotations, bone-frame sampling, the mirror
diagnostic and the `authors` scale protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ambipose import losses as L
from ambipose.data.rotation import axis_angle, random_rotation, rotate, tilted_up
from ambipose.data.skeleton import bone_lengths
from ambipose.data.sampler import PairSampler, PoseFrames
from ambipose.evaluation import metrics
from ambipose.evaluation.protocols import apply_scale_protocol
from ambipose.models.cycle import project, view_synthesis
from ambipose.models.networks import Discriminator, ScaleModule

D = 10.0


def _poses_3d(n: int, seed: int = 0) -> torch.Tensor:
    """Random root-centred 3D poses (n, 17, 3) of about unit size (model units)."""
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 17, 3, generator=g, dtype=torch.float64) * 0.3
    return p - p[:, :1]


class OracleLifter(nn.Module):
    """A perfect lifter for one known set of 3D poses: returns the depth offsets that rebuild
    whichever of them (or of their rotations) projects to the input."""

    def __init__(self):
        super().__init__()
        self.table: list[tuple[torch.Tensor, torch.Tensor]] = []

    def remember(self, pose_3d: torch.Tensor) -> None:
        self.table.append((project(pose_3d + torch.tensor([0.0, 0.0, D], dtype=pose_3d.dtype)), pose_3d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 34)
        x = x.view(-1, 17, 2)
        for x2d, p3d in self.table:
            if x.shape == x2d.shape and torch.allclose(x, x2d, atol=1e-9):
                # lift_to_3d multiplies the root-centred 2D by Z, so reproduce the root depth too.
                return p3d[..., 2]  # Z_i - D, with the root at depth D
        raise AssertionError("oracle asked about an unknown pose")


def test_perfect_lifter_gives_zero_cycle_losses():
    pose = _poses_3d(8)
    rot = random_rotation(8, math.pi, 0.2, 0.0, generator=torch.Generator().manual_seed(1), dtype=torch.float64,
                          up=torch.tensor(tilted_up(13.0), dtype=torch.float64).expand(8, 3))
    lifter = OracleLifter()
    lifter.remember(pose)
    lifter.remember(rotate(pose, rot))
    x = project(pose + torch.tensor([0.0, 0.0, D], dtype=torch.float64))
    # The bounded offsets (tanh) are the identity only near 0: compare through the same map.
    from ambipose.models import networks

    orig = networks.bound_offsets
    networks.bound_offsets = lambda raw, depth: raw
    try:
        c = view_synthesis(lifter, x, rot, D)
    finally:
        networks.bound_offsets = orig
    assert L.loss_2d(c.back_2d, x).item() < 1e-9
    assert L.loss_3d(c.relifted_3d, c.rotated_3d).item() < 1e-9
    torch.testing.assert_close(c.pose_3d, pose)


def test_losses_on_hand_made_cases():
    a = torch.zeros(1, 17, 3)
    b = a.clone()
    b[0, 3] = torch.tensor([3.0, 4.0, 0.0])  # one joint 5 away
    assert L.loss_3d(b, a).item() == pytest.approx(5.0 / 17)  # Euclidean, not squared
    assert L.loss_2d(b[..., :2], a[..., :2]).item() == pytest.approx(5.0 / 17)
    assert L.generator_adv(torch.ones(4)).item() == 0.0 and L.generator_adv(torch.zeros(4)).item() == 1.0
    assert L.discriminator_adv(torch.ones(4), torch.zeros(4)).item() == 0.0
    assert L.discriminator_adv(torch.zeros(4), torch.ones(4)).item() == 2.0


def test_static_clip_gives_zero_motion_and_bone_losses():
    pose = _poses_3d(4).float()
    rot = random_rotation(4, math.pi, 0.3, 0.1, generator=torch.Generator().manual_seed(2))
    relifted = rotate(pose, rot)
    assert L.motion_consistency(pose, pose, relifted, relifted, rot).item() == 0.0
    assert L.bone_consistency(pose, pose).item() == 0.0
    # A real motion seen consistently in both views also gives 0 ...
    moved = pose + 0.1 * _poses_3d(4, seed=5).float()
    assert L.motion_consistency(pose, moved, rotate(pose, rot), rotate(moved, rot), rot).item() < 1e-6
    # ... and an inconsistent one does not.
    assert L.motion_consistency(pose, moved, rotate(pose, rot), rotate(pose, rot), rot).item() > 1e-3
    # Bones 1.5x as long: each bone vector is off by half its length, and the loss is the mean
    # Euclidean distance (the authors' code), not its square.
    half_bones = 0.5 * bone_lengths(pose).mean().item()
    assert L.bone_consistency(pose, 1.5 * pose).item() == pytest.approx(half_bones, rel=1e-5)


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    z = torch.randn(100_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = (z - z.mean()) / z.std()  # exactly mean 0, std 1

    def kl(mean: float, std: float) -> float:
        return L.kl_gaussian(mean + std * z, 0.99, 0.16).item()

    assert kl(0.99, 0.16) == pytest.approx(0.0, abs=1e-9)
    # KL(N(0.99, 0.016) || N(0.99, 0.16)) = log 10 + 0.01 / 2 - 0.5: the log term dominates, so a
    # flipped log (-2.80) or a dropped one (-0.495) is far off.
    assert kl(0.99, 0.016) == pytest.approx(math.log(10.0) + 0.005 - 0.5, rel=1e-6)
    # A shifted mean: (0.16 / 0.16) -> log 1 = 0, + (0.16^2 + 0.08^2) / (2 * 0.16^2) - 0.5 = 0.125.
    assert kl(0.91, 0.16) == pytest.approx(0.125, rel=1e-6)


@pytest.mark.parametrize("kcs", [False, True])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_discriminator_scores_each_pose_on_its_own(mode, kcs):
    torch.manual_seed(0)
    disc = Discriminator(width=64, blocks=2, dropout=0.0, kcs=kcs)
    disc.train(mode == "train")
    pose = torch.randn(1, 17, 2) * 0.1
    alone = disc(pose)
    for other in (torch.randn(63, 17, 2) * 0.1, torch.randn(63, 17, 2) * 3.0 + 1.0):
        in_batch = disc(torch.cat([pose, other]))[:1]
        torch.testing.assert_close(in_batch, alone, atol=1e-5, rtol=0)


def test_kcs_features_are_bone_dot_products_invariant_to_rotation_and_translation():
    from ambipose.data.skeleton import BONE_CHILD, BONE_PARENT
    from ambipose.models.networks import N_KCS, kcs_features

    poses = torch.randn(4, 17, 2, generator=torch.Generator().manual_seed(0))
    f = kcs_features(poses)
    assert f.shape == (4, N_KCS) and N_KCS == 16 * 17 // 2
    bones = poses[:, BONE_CHILD] - poses[:, BONE_PARENT]
    # The first row of the upper triangle: bone 0 against bones 0..15; its first entry is |b_0|^2.
    torch.testing.assert_close(f[:, :16], (bones[:, :1] * bones).sum(-1))
    torch.testing.assert_close(f[:, 0], bones[:, 0].square().sum(-1))
    c, s_ = math.cos(0.7), math.sin(0.7)
    rot = torch.tensor([[c, -s_], [s_, c]])
    torch.testing.assert_close(kcs_features(poses @ rot.T + torch.tensor([3.0, -2.0])), f, atol=1e-5, rtol=1e-5)
    # A pose with one forearm twice as long differs in that bone's entries only.
    longer = poses.clone()
    longer[:, 16] = poses[:, 15] + 2 * (poses[:, 16] - poses[:, 15])
    changed = (kcs_features(longer) - f).abs().amax(0) > 1e-6
    assert changed.sum() == 16  # bone 15's row/column of the triangle


def test_scale_prior_offset_is_stored_with_the_weights():
    a = ScaleModule(width=16, blocks=1, init=0.7)
    b = ScaleModule(width=16, blocks=1, init=1.3)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 17, 2)
    torch.testing.assert_close(b(x), a(x))
    torch.testing.assert_close(a(x), torch.full((5,), 0.7))


@pytest.mark.parametrize("scale", ["off", "2d", "3d"])
def test_lift_with_root_is_forward_plus_a_root_on_the_optical_axis(scale):
    from ambipose.config import ModelConfig
    from ambipose.models.pose_model import PoseModel

    torch.manual_seed(0)
    model = PoseModel(ModelConfig(width=32, blocks=1, scale=scale)).eval()
    x = 0.1 * torch.randn(6, 17, 2)
    x = x - x[:, :1]  # root-centred, as every input
    with torch.no_grad():
        pose, root, s = model.lift_with_root(x)
        torch.testing.assert_close(pose, model(x))
        torch.testing.assert_close(s, model.scales(x))
        cam = pose + torch.stack([torch.zeros_like(root), torch.zeros_like(root), root], -1)[:, None]
    assert torch.all(root > 0)
    # In '2d' mode the lifter sees the scaled input; a scale never moves a joint off its ray.
    torch.testing.assert_close(project(cam), model.lifter_input(x, s), rtol=1e-5, atol=1e-6)


def test_world_up_rotation_keeps_the_axis_and_is_orthonormal():
    up = torch.tensor(tilted_up(15.0)).expand(100, 3)
    R = random_rotation(100, math.pi, 0.0, 0.0, generator=torch.Generator().manual_seed(0), up=up)
    torch.testing.assert_close(rotate(up[:, None], R)[:, 0], up, atol=1e-6, rtol=0)
    torch.testing.assert_close(R @ R.transpose(-1, -2), torch.eye(3).expand(100, 3, 3), atol=1e-6, rtol=0)
    # Rodrigues about Y equals the textbook Y rotation.
    a = torch.tensor([0.7])
    ry = torch.tensor([[math.cos(0.7), 0, math.sin(0.7)], [0, 1, 0], [-math.sin(0.7), 0, math.cos(0.7)]])
    torch.testing.assert_close(axis_angle(torch.tensor([[0.0, 1.0, 0.0]]), a)[0], ry, atol=1e-6, rtol=0)


def test_tilted_axis_breaks_the_depth_mirror_symmetry():
    """About the camera's Y axis, a pose and its depth mirror give the same set of synthetic
    views (up to the sign of the angle); about a tilted world axis they do not."""
    pose = _poses_3d(1, seed=3)
    mirror = pose * torch.tensor([1.0, 1.0, -1.0], dtype=pose.dtype)
    off = torch.tensor([0.0, 0.0, D], dtype=pose.dtype)
    angles = torch.linspace(-math.pi, math.pi, 721, dtype=pose.dtype)

    def views(p, up):
        R = axis_angle(torch.tensor(up, dtype=pose.dtype).expand(len(angles), 3), angles)
        return project(rotate(p.expand(len(angles), 17, 3), R) + off)

    def set_distance(a, b):  # for each view of a, the nearest view of b
        d = torch.cdist(a.flatten(1), b.flatten(1))
        return d.min(1).values.max().item()

    # Equal up to perspective effects (exactly equal under weak perspective) ...
    about_y = set_distance(views(pose, (0.0, 1.0, 0.0)), views(mirror, (0.0, 1.0, 0.0)))
    about_world_up = set_distance(views(pose, tilted_up(15.0)), views(mirror, tilted_up(15.0)))
    assert about_world_up > 4 * about_y


def test_far_frames_are_in_the_same_video_and_far_enough():
    lengths = [50, 30, 8]
    seqs = [np.zeros((n, 17, 2), np.float32) for n in lengths]
    frames = PoseFrames.from_sequences(seqs)
    sampler = PairSampler(frames, 1)
    g = torch.Generator().manual_seed(0)
    t = sampler.sample(5000, g)
    l = sampler.far(t, 10, g)
    seq = frames.seq_index
    assert torch.equal(seq[t], seq[l])
    long_enough = seq[t] < 2  # the 8-frame video has no frame 10 away: its farthest frame instead
    assert ((l - t).abs()[long_enough] >= 10).all()
    assert ((l - t).abs()[~long_enough] >= 4).all()
    assert len(torch.unique(l[seq[t] == 0])) > 35  # spread over the video, not one fixed offset


def test_mirror_diagnostic():
    gt = np.random.default_rng(0).normal(size=(20, 17, 3)) * 200
    gt -= gt[:, :1]
    pa_m, frac = metrics.mirror_fractions(gt, gt)
    assert frac == 0.0 and pa_m > 10.0
    pa_m, frac = metrics.mirror_fractions(metrics.depth_mirror(gt), gt)
    assert frac == 1.0 and pa_m < 1e-6


def test_authors_protocol_multiplies_by_gt_head_root_length():
    pred = np.zeros((1, 17, 3))
    pred[0, 10] = [0.0, -1.2, 0.0]  # head 1.2 units above the root
    gt = np.zeros((1, 17, 3))
    gt[0, 10] = [0.0, -500.0, 0.0]
    out = apply_scale_protocol(pred, gt, "authors", mm_per_unit=999.0)
    assert out[0, 10, 1] == pytest.approx(-600.0)  # the predicted size still counts
    out = apply_scale_protocol(pred, gt, "per-frame-gt", mm_per_unit=999.0)
    assert out[0, 10, 1] == pytest.approx(-500.0)


def test_fast_dropout_matches_torch_dropout_in_distribution():
    from ambipose.models.networks import Dropout

    torch.manual_seed(0)
    m = Dropout(0.25)
    x = torch.full((1000, 1000), 2.0)
    y = m.train()(x)
    assert abs(float((y == 0).float().mean()) - 0.25) < 0.005  # drop rate p
    assert torch.all((y == 0) | torch.isclose(y, torch.tensor(2.0 / 0.75)))  # survivors scaled by 1/(1-p)
    assert abs(float(y.mean()) - 2.0) < 0.02  # expectation kept
    assert torch.equal(m.eval()(x), x)  # identity at inference
    assert torch.equal(Dropout(0.0).train()(x), x)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.125, 0.1])
def test_fast_dropout_drops_every_element_position_at_rate_p(p):
    """The byte masks (p a multiple of 1/128) and the fallback (0.1): each of the 4 bytes of a
    random word, the top one included (only 0..127 before doubling), drops at rate p."""
    from ambipose.models.networks import Dropout

    torch.manual_seed(1)
    y = Dropout(p).train()(torch.ones(2000, 1000))
    dropped = (y == 0).float().view(-1, 4).mean(0)  # (4,): per byte position
    assert torch.allclose(dropped, torch.full((4,), p), atol=0.004), dropped
    odd = Dropout(p).train()(torch.ones(7, 3))  # numel not a multiple of 4: the fallback
    assert odd.shape == (7, 3) and torch.all((odd == 0) | torch.isclose(odd, torch.tensor(1 / (1 - p))))
