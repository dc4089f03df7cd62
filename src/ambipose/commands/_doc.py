"""Render docs/commands.md from the argparse definitions, so the docs cannot drift from the CLI.

Regenerate with `python -m ambipose.commands._doc > docs/commands.md`; a test compares them.
"""

from __future__ import annotations

import argparse
import os


def render() -> str:
    from ..cli import build_parser

    os.environ["COLUMNS"] = "100"  # stable wrapping
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    out = ["# Commands", "", "Generated from the CLI's own help (`python -m ambipose.commands._doc > docs/commands.md`).", "",
           "| command | what it does |", "|---|---|"]
    out += [f"| [`ambipose {name}`](#ambipose-{name}) | {helps.get(name, '')} |" for name in sorted(sub.choices)]
    for name in sorted(sub.choices):
        out += ["", f"## ambipose {name}", "", "```", sub.choices[name].format_help().rstrip(), "```"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
