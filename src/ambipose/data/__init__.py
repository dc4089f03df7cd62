"""Data: skeletons, cameras, rotations, normalisation, datasets and file formats."""
