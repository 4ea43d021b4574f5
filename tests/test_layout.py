"""The package's layout: no import cycles among deepstep's modules, no shims, ``python -m deepstep``.

The graph counts every ``from . import`` / ``from .x import`` in the source,
at module level or inside a function (a lazy import is still an arrow), so a
cycle cannot hide behind a function-level import.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import deepstep

SRC = Path(deepstep.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ["deepstep", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


def _modules():
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str, path: Path, known) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:               # `from . import steps` imports a module
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("deepstep"))
    return {m for m in out if m in known and m != name}


def _graph():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    for name in graph:
        graph[name] = {parent for m in graph[name] for parent in _with_parents(m) if parent in mods} - {name}
    return graph


def _with_parents(m):
    parts = m.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts) + 1)} | {m}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    stack = []

    def visit(u):
        color[u] = GREY
        stack.append(u)
        for v in sorted(graph[u]):
            if color[v] == GREY:
                return stack[stack.index(v):] + [v]
            if color[v] == WHITE and (found := visit(v)):
                return found
        stack.pop()
        color[u] = BLACK
        return None

    for u in sorted(graph):
        if color[u] == WHITE and (found := visit(u)):
            return found
    return None


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ importing its own submodules is how it publishes names, not a cycle
    # the arrow from a submodule to its own package's __init__ comes from Python itself
    graph = {u: {v for v in vs if not u.startswith(v + ".")} for u, vs in graph.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_getattr_shims_and_no_prefix_groups():
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        assert not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body), name
    top = [p.stem for p in SRC.glob("*.py")]
    prefixes = {}
    for stem in top:
        head = stem.lstrip("_").split("_")[0]
        prefixes.setdefault(head, []).append(stem)
    groups = {k: v for k, v in prefixes.items() if len(v) > 1 and k not in ("",)}
    assert not groups, f"name-prefix groups at the top of the package: {groups}; make them a subpackage"


def test_model_file_layer_knows_nothing_of_the_model():
    graph = _graph()
    for name in graph:
        if name.startswith("deepstep.modelfile"):
            assert not {"deepstep.network", "deepstep.state", "deepstep.training"} & graph[name], name


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_python_dash_m_deepstep(args):
    r = subprocess.run([sys.executable, "-m", "deepstep", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert ("train" in r.stdout) if args == ["--help"] else (deepstep.__version__ in r.stdout)
