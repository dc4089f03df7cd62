#!/usr/bin/env bash
# Install the CPU build of PyTorch into the given Python environment.
# A bare `pip install torch` on Linux pulls a multi-GB CUDA build; we never want that for CPU work.
# 1) a local wheel (pip's find-links, e.g. /opt/wheels here), 2) the official CPU-only index.
set -euo pipefail
PY=${1:-python3}
VERSION=${TORCH_VERSION:-2.13.0}
if "$PY" -c "import torch" 2>/dev/null; then
    echo "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
    exit 0
fi
if "$PY" -m pip install -q "torch==${VERSION}+cpu" 2>/dev/null; then
    echo "installed torch ${VERSION}+cpu (local wheel)"
else
    "$PY" -m pip install -q "torch==${VERSION}+cpu" --index-url https://download.pytorch.org/whl/cpu
    echo "installed torch ${VERSION}+cpu (PyTorch CPU index)"
fi
