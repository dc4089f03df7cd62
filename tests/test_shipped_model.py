"""What the shipped checkpoint is worth: its accuracy on fixed subsets of real test data, and the
headline figures in the README and the model card against the result files they come from.

A re-shipped checkpoint updates `SHIPPED_RESULTS` (and the figures) in the same commit."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from ambipose.inference import DEFAULT_CHECKPOINT, PoseLifter

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
# The evaluations of the shipped checkpoint on every test frame (`docs/results.md`).
SHIPPED_RESULTS = {"h36m": "robust_ft2_gt_global.json", "mocap": "mocap_test_s9_shipped.json"}


def _doc(key: str) -> dict:
    return json.loads((RESULTS / SHIPPED_RESULTS[key]).read_text())


@pytest.fixture(scope="module")
def shipped() -> PoseLifter:
    return PoseLifter.from_checkpoint(DEFAULT_CHECKPOINT)


@pytest.mark.data
def test_the_shipped_model_scores_its_documented_figures_on_human36m(h36m, shipped):
    from ambipose.evaluation.h36m_eval import evaluate_checkpoint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = evaluate_checkpoint(shipped, "gt", "global", 100, progress=False)  # every 100th frame: ~5,400
    doc = _doc("h36m")
    assert r["frames"] > 5000
    # The subset's sampling moves the means by a few tenths of a mm; scrambled weights by hundreds.
    assert r["mpjpe"] == pytest.approx(doc["mpjpe"], abs=1.5)
    assert r["pa_mpjpe"] == pytest.approx(doc["pa_mpjpe"], abs=1.0)


@pytest.mark.data
def test_the_shipped_model_scores_its_documented_figures_off_human36m(h36m, shipped):
    from ambipose.data.mocap import load_mocap
    from ambipose.evaluation.mocap_eval import evaluate_mocap

    def predict(px):
        return shipped.lift(px, constant=shipped.adapt_constant(px)).poses_3d_units

    r = evaluate_mocap(predict, load_mocap("test"), shipped.mm_per_unit, "s9", stride=20, progress=False)
    doc = _doc("mocap")
    assert r["pa_mpjpe"] == pytest.approx(doc["pa_mpjpe"], abs=1.5)
    assert r["mpjpe"] == pytest.approx(doc["mpjpe"], abs=2.0)
    assert r["pa_mpjpe_limbs"] == pytest.approx(doc["pa_mpjpe_limbs"], abs=1.5)


def test_readme_and_model_card_quote_the_result_files():
    h36m, mocap = _doc("h36m"), _doc("mocap")
    readme = (ROOT / "README.md").read_text()
    card = (ROOT / "docs" / "model_card.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| **ambipose, shipped model**"))
    assert row.endswith(f"| **{h36m['mpjpe']:.1f}** | **{h36m['pa_mpjpe']:.1f}** |")
    other = next(line for line in readme.splitlines() if "motion capture of other people" in line and line.startswith("|"))
    assert other.endswith(f"| {mocap['mpjpe']:.1f} | {mocap['pa_mpjpe']:.1f} |")
    glance = (RESULTS.parent / "results.md").read_text()
    assert f"| **{h36m['mpjpe']:.1f}** | **{h36m['pa_mpjpe']:.1f}** |" in glance
    assert f"| Human3.6M S9 + S11, GT 2D, every frame, `global` | {h36m['mpjpe']:.1f} | {h36m['pa_mpjpe']:.1f} |" in card
    assert f"S9 cameras | {mocap['mpjpe']:.1f} | {mocap['pa_mpjpe']:.1f} |" in card
    # Every "A / B" pair of figures quoted about --fit-skeleton and self-training is one of the
    # result files'.
    pairs = {f"{d['mpjpe']:.1f} / {d['pa_mpjpe']:.1f}" for d in
             (json.loads(p.read_text()) for p in RESULTS.glob("*_gt_global*.json")) if "mpjpe" in d}
    fit_doc = (ROOT / "docs" / "skeleton_fit.md").read_text()
    prose = fit_doc[fit_doc.index("`--fit-skeleton` (in `lift`"):fit_doc.index("![limb bone lengths")]
    quoted = re.findall(r"\d+\.\d / \d+\.\d", prose.replace("\n", " "))
    assert quoted and set(quoted) <= pairs, set(quoted) - pairs
