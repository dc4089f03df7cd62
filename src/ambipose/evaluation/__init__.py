"""Evaluation: metrics (mm) and the scale protocols for unit-less unsupervised predictions."""
