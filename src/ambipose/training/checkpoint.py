"""Moved to `ambipose.models.checkpoint` (models own their files); kept so old imports work."""
from ..models.checkpoint import FORMAT, compact_checkpoint, load_checkpoint, save_checkpoint  # noqa: F401
