"""The package's layering (docs/architecture.md): inference needs no training code, and no module
imports a module that imports it back (top-level or function-local imports alike)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ambipose"

# Layers below training: none of these may import `ambipose.training` or `ambipose.commands`.
BELOW_TRAINING = ("ambipose.data", "ambipose.models", "ambipose.evaluation", "ambipose.viz", "ambipose.video",
                  "ambipose.inference", "ambipose.lift_io", "ambipose.skeleton_fit", "ambipose.api", "ambipose.export", "ambipose.losses",
                  "ambipose.config", "ambipose.settings", "ambipose.io", "ambipose.errors", "ambipose.progress")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Package modules that `name` imports anywhere in its source (module level or inside
    functions): `from . import x` / `from ..x import y` resolved to the module they load (`x.y`
    where that is a module, else `x`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports. Package `__init__` modules are left out as
    importers: they only re-export their submodules (ambipose.lift, ambipose.viz.save_html)."""
    modules = _modules()
    return {name: (set() if path.name == "__init__.py" else _imports(name, path, modules))
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    assert len(graph) > 50 and "ambipose.models.checkpoint" in graph["ambipose.inference"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_function_local_imports():
    """The check follows imports inside functions (the loop inference <-> export was one)."""
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    graph = import_graph()
    assert "ambipose.inference" in graph["ambipose.reproduce.rows"]  # imported inside evaluate_run only
    assert "ambipose.training.run" in graph["ambipose.commands.train"]  # inside run()


def test_layers_below_training_do_not_import_it():
    graph = import_graph()
    bad = sorted(f"{m} imports {t}" for m, targets in graph.items() if m.startswith(BELOW_TRAINING)
                 for t in targets if t.startswith(("ambipose.training", "ambipose.commands")))
    assert bad == []


def test_lifting_loads_no_training_code():
    """A fresh interpreter lifts a clip through the public entry points without importing
    `ambipose.training` (checkpoints and devices live in models/ and settings)."""
    code = (
        "import sys\n"
        "import ambipose, ambipose.api, ambipose.inference, ambipose.lift_io\n"
        "from ambipose.data.synthetic import synthetic_clip\n"
        "clip = ambipose.lift(synthetic_clip(frames=20)['poses_2d'])\n"
        "assert clip.poses_3d.shape == (20, 17, 3), clip.poses_3d.shape\n"
        "loaded = sorted(m for m in sys.modules if m == 'ambipose.training' or m.startswith('ambipose.training.'))\n"
        "print('training modules:', loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "training modules: []" in r.stdout


def test_evaluate_scale_choices_are_the_protocols():
    """`ambipose evaluate --scale` spells the choices out (the CLI imports no numpy to build its
    parser); they must stay the one list in evaluation/protocols.py."""
    from ambipose.cli import build_parser
    from ambipose.evaluation.protocols import SCALE_PROTOCOLS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    scale = next(a for a in sub.choices["evaluate"]._actions if a.dest == "scale")
    assert tuple(scale.choices) == SCALE_PROTOCOLS


def test_only_the_cli_imports_commands():
    """commands/ is the top layer: nothing but cli.py and commands/ itself may import it (the
    torchrun entry point takes its flags from train_options.py, not from commands/train.py)."""
    graph = import_graph()
    up = sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                if t.startswith("ambipose.commands") and not (m.startswith("ambipose.commands") or m == "ambipose.cli"))
    assert up == []


def test_architecture_files_block_names_every_module():
    """docs/architecture.md's "## Files" block names every module and package (CLI subcommands are
    listed by docs/commands.md instead)."""
    import re

    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    block = doc.split("## Files", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "commands" and len(rel.parts) > 1:
            continue
        names = [path.parent.name + "/"] if path.name == "__init__.py" and path.parent != PACKAGE else [path.stem]
        for name in names:
            if not re.search(rf"(?<![\w.]){re.escape(name)}", block):
                missing.append(str(rel))
    assert missing == []


def test_export_loads_no_training_code(tmp_path):
    """`ambipose export` (check included) needs models and inference, not the trainer."""
    code = (
        "import sys\n"
        "from ambipose.cli import main\n"
        "from ambipose.inference import DEFAULT_CHECKPOINT\n"
        f"rc = main(['export', '--checkpoint', str(DEFAULT_CHECKPOINT), '--format', 'torchscript', '--out', {str(tmp_path / 'm.pt')!r}])\n"
        "loaded = sorted(m for m in sys.modules if m == 'ambipose.training' or m.startswith('ambipose.training.'))\n"
        "print('rc', rc, 'training modules:', loaded)\n"
        "sys.exit(1 if rc or loaded else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "m.pt").is_file()


# docs/architecture.md's layers, bottom first: a module may import its own layer or lower ones.
LAYERS = (
    ("base", ("ambipose.errors", "ambipose.io", "ambipose.progress", "ambipose.settings", "ambipose.config")),
    ("data", ("ambipose.data",)),
    ("models", ("ambipose.models", "ambipose.skeleton_fit")),
    ("losses, evaluation", ("ambipose.losses", "ambipose.evaluation")),
    ("inference", ("ambipose.inference", "ambipose.lift_io", "ambipose.api", "ambipose.export", "ambipose.world",
                   "ambipose.bvh")),
    ("training", ("ambipose.train_options", "ambipose.training")),
    ("tools", ("ambipose.bench", "ambipose.reproduce", "ambipose.viz", "ambipose.video")),
    ("interface", ("ambipose.cli", "ambipose.commands")),
)


def _layer(module: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def test_no_import_runs_up_the_layers():
    graph = import_graph()
    placed = {m for m in graph if _layer(m) is not None}
    assert placed == set(graph) - {"ambipose"}, sorted(set(graph) - placed - {"ambipose"})  # every module has a layer
    up = sorted(f"{m} ({LAYERS[_layer(m)][0]}) -> {t} ({LAYERS[_layer(t)][0]})"
                for m in placed for t in graph[m] if _layer(t) is not None and _layer(t) > _layer(m))
    assert up == []
