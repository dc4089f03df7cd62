"""Reproduction of the paper's ablations and analysis figures.

Tables (`ambipose reproduce table3|table4|fig6`): one YAML per row under `configs/<table>/`,
trained under a named compute budget (`configs/budgets.yaml`) into
`runs/<budget>/<table>/<row>` (resumed where a run stopped, skipped where `model.pt` exists),
evaluated on Human3.6M S9/S11 under both scale protocols (cached next to the model), and written
as a Markdown table beside the paper's figures, plus a JSON with everything.

Figures (`ambipose figures`): Fig. 3 (S_2D^ref over two test videos and its histogram), Fig. 5
(S_2D^ref against the scales predicted by several checkpoints over one video), training curves
and a qualitative panel like Fig. 4.

Modules: `paper` (the tables' rows and the paper's figures), `rows` (budgets, training and cached
evaluation of each row, one table end to end), `tables` (Markdown and the Fig. 6 PNG), `figures`
(Fig. 3, 4, 5 and training curves). Everything public is importable from here.
"""

from ..evaluation.protocols import SCALE_PROTOCOLS
from ..settings import machine_info
from . import figures, paper, rows, tables
from .figures import (DEFAULT_SEQUENCES, build_figures, data_available, load_test_sequence, parse_named_paths,
                      parse_sequence)
from .paper import AUTHORS_RELEASE, INPUTS, PAPER_HEADLINE, PAPER_HEADLINE_SOURCE, TABLES, TableSpec, paper_figures
from .rows import (Budget, config_differences, default_configs_dir, ensure_trained, eval_cache_path, evaluate_run,
                   load_budgets, output_stem, reproduce_table, row_config, run_dir_for)
from .rows import _MemoLifter  # noqa: F401 - private, but the tests reach it here
from .tables import NOT_RECOVERED, render_markdown, write_fig6_png

__all__ = [
    "AUTHORS_RELEASE", "Budget", "DEFAULT_SEQUENCES", "INPUTS", "NOT_RECOVERED", "PAPER_HEADLINE",
    "PAPER_HEADLINE_SOURCE", "SCALE_PROTOCOLS", "TABLES", "TableSpec", "build_figures", "config_differences",
    "data_available", "default_configs_dir", "ensure_trained", "eval_cache_path", "evaluate_run", "figures",
    "load_budgets", "load_test_sequence", "machine_info", "output_stem", "paper", "paper_figures",
    "parse_named_paths", "parse_sequence", "render_markdown", "reproduce_table", "row_config", "rows",
    "run_dir_for", "tables", "write_fig6_png",
]
