#!/usr/bin/env bash
# Issue #34: apply each mutation a broken product could ship with to a scratch copy (/tmp/mut) of
# src/, tests/ and docs/, run the tests that must catch it, and print the ones that fail. Every
# mutation must make at least one test fail. Usage: bash scripts/mutation_check.sh (about 1 min).
set -u
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PY=$SRC/.venv/bin/python
run() {  # name, then pytest args
    local name="$1"; shift
    echo "== $name"
    (cd /tmp/mut && PYTHONPATH=/tmp/mut/src CI=true $PY -m pytest -q -p no:cacheprovider "$@" 2>&1 | grep -E "^FAILED|passed|failed" | sed 's/ - .*//' | head -8)
}
fresh() { rm -rf /tmp/mut && mkdir -p /tmp/mut && cp -r $SRC/src $SRC/tests $SRC/docs $SRC/configs $SRC/README.md $SRC/pyproject.toml /tmp/mut/; }

fresh
$PY - <<'PY'
import torch
p = "/tmp/mut/src/ambipose/assets/ambipose_h36m.pt"
ck = torch.load(p, weights_only=True)
g = torch.Generator().manual_seed(0)
for k, v in ck["model"].items():
    if k.startswith("lifter.") and v.is_floating_point() and v.ndim == 2:
        ck["model"][k] = v[torch.randperm(v.shape[0], generator=g)]  # rows shuffled: same statistics, wrong weights
torch.save(ck, p)
PY
run "scrambled shipped lifter weights" tests/test_shipped_model.py tests/test_cli.py -k "shipped or demo or quote"

fresh
sed -i 's/("_codecs", "encode"),/("_codecs", "encode"), ("builtins", "getattr"),/' /tmp/mut/src/ambipose/data/safe_npz.py
run "getattr in the unpickler allowlist" tests/test_safe_pickle.py

fresh
sed -i 's/    return joint_dist(bone_vectors(pose_t), bone_vectors(pose_l))/    return ((bone_vectors(pose_t) - bone_vectors(pose_l)) ** 2).sum(-1).mean()/' /tmp/mut/src/ambipose/losses.py
run "squared bone loss" tests/test_method.py tests/test_training.py

fresh
sed -i 's|    return torch.log(prior_std / sd) +|    return torch.log(sd / prior_std) +|' /tmp/mut/src/ambipose/losses.py
run "flipped KL log term" tests/test_method.py tests/test_training.py

fresh
sed -i '/^    s\[:, -1\] \*= d$/d' /tmp/mut/src/ambipose/evaluation/metrics.py
run "dropped reflection sign in Procrustes' scale" tests/test_metrics.py
rm -rf /tmp/mut
