"""One module per CLI subcommand; each defines `register(subparsers)` and sets `func`.

Module names map to command names with '_' -> '-' (e.g. `data_stats` -> `ambipose data-stats`).
Keep heavy imports (torch, matplotlib) inside the command function so `ambipose --help` is fast.
"""
