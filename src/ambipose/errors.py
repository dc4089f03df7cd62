"""One exception type for bad user input: the CLI prints it as one line and exits non-zero."""

from __future__ import annotations


class AmbiposeError(Exception):
    """Bad input, a malformed file or an impossible request. The message names the file and the problem."""


class InputError(AmbiposeError):
    """A data file (2D keypoints, dataset, checkpoint, config) that cannot be used as given."""
