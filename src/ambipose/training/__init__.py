"""Training: data preparation, the loop, one run end to end, distributed helpers (checkpoint files
live in `ambipose.models.checkpoint`)."""
