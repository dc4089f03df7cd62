"""Training: data preparation, the loop, checkpoints, distributed helpers."""
