"""The project's import graph: no cycles between its modules (lazy and TYPE_CHECKING imports
included: a cycle hidden behind one is still a cycle), and no import of a project module inside a
function unless a comment on that line or the line above says why (start-up time, an optional
dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "tests", "shared", "build", "dist"}
# Where function-level imports of project modules and of torch must carry a reason. The scripts not
# listed are still to be cleaned by their owners (see docs/architecture.md).
EXPLAINED_ONLY = ("run.py", "evaluator", "solution", "synthetic_fbc2", "fbc2_io", "fbc2_tasks.py", "training",
                  "fbc2_tools", "scripts/demo_reports.py", "scripts/bench_evaluator.py")
SLOW_LIBRARIES = {"torch"}  # imported inside a function only with a reason, like a project module
# Checked for project modules only, not yet for torch: being rewritten by its owner (torch.nn.attention).
TORCH_PENDING = ("solution/rudolph/generation.py",)


def project_files() -> dict[str, Path]:
    """Module name -> file, for every Python file of the project outside the tests."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIPPED or any(part.startswith(".") for part in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            modules[".".join(parts)] = path
    return modules


def imported_modules(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules an import statement loads (`from a import b` loads a.b when it is a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            found.append(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = project_files()
    known = set(files)
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(imported_modules(node, module, path.name == "__init__.py", known))
        edges.discard(module)
        # a package's own __init__ always runs first: importing a.b imports a
        edges.update(p for p in (".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)) if p in known)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_edges_only(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the implicit edge from a module to the packages above it."""
    return {m: {e for e in edges if not m.startswith(e + ".")} for m, edges in graph.items()}


def test_no_import_cycle():
    assert cycles(_package_edges_only(import_graph())) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def module_name(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    """(dotted name, is a package's __init__) of a file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def unexplained_function_imports(path: Path, known: set[str], root: Path = ROOT) -> list[str]:
    """``file:line: import`` for each import of a ``known`` module inside a function (relative imports
    resolved) with no comment on its line or on the line above."""
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    module, is_package = module_name(path, root)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and imported_modules(node, module, is_package, known):
                here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                if "#" not in here and not above.strip().startswith("#"):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {here.strip()}")
    return sorted(set(found))


def test_no_unexplained_function_level_import_of_project_modules():
    files = project_files()
    known = set(files)
    checked = [p for p in files.values()
               if any(str(p.relative_to(ROOT)) == root or p.relative_to(ROOT).parts[0] == root
                      for root in EXPLAINED_ONLY)]
    assert len(checked) > 40
    assert {"run.py", "training/cli.py", "fbc2_tools/quiet.py"} <= {str(p.relative_to(ROOT)) for p in checked}
    found = [line for path in checked
             for line in unexplained_function_imports(
                 path, known if str(path.relative_to(ROOT)) in TORCH_PENDING else known | SLOW_LIBRARIES)]
    assert found == []


def test_function_import_finder(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from evaluator import cli\n\n"
                                   "def g():\n    # torch is slow to import\n    from evaluator import cli\n"
                                   "    import json\n", encoding="utf-8")
    assert unexplained_function_imports(tmp_path / "m.py", {"evaluator", "evaluator.cli"}, tmp_path) == \
        ["m.py:2: from evaluator import cli"]


def test_function_import_finder_resolves_relative_imports_and_sees_torch(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    from .trainer import train\n\n"
                                           "def g():\n    import torch.nn\n\n"
                                           "def h():\n    import torch  # slow: only for the GPU path\n",
                                           encoding="utf-8")
    known = {"pkg", "pkg.m", "pkg.trainer", "torch"}
    assert unexplained_function_imports(tmp_path / "pkg" / "m.py", known, tmp_path) == \
        ["pkg/m.py:2: from .trainer import train", "pkg/m.py:5: import torch.nn"]


# evaluator/'s layers: a module imports only modules of its own layer or of layers before it.
EVALUATOR_LAYERS = (
    ("evaluator.errors", "evaluator.options", "evaluator.provenance", "evaluator.pngplot", "evaluator.names",
     "evaluator.co2_rows"),
    ("evaluator.metrics",),
    ("evaluator.tasks",),
    ("evaluator.io",),
    ("evaluator.scoring", "evaluator.co2"),
    ("evaluator.leaderboard",),
    ("evaluator.report",),
    ("evaluator.cli", "evaluator.__main__", "evaluator.evalai"),
)


def evaluator_layer(module: str) -> int | None:
    for number, prefixes in enumerate(EVALUATOR_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def test_evaluator_imports_point_one_way():
    graph = _package_edges_only(import_graph())
    modules = [m for m in graph if m.startswith("evaluator.")]
    unplaced = [m for m in modules if evaluator_layer(m) is None]
    assert unplaced == []
    upward = [f"{m} -> {e}" for m in modules for e in graph[m]
              if e.startswith("evaluator.") and evaluator_layer(e) > evaluator_layer(m)]
    assert upward == []
    assert not any(e.startswith(("training", "synthetic_fbc2")) for m in modules for e in graph[m])


def test_no_private_name_imported_from_another_project_module():
    files = project_files()
    found = []
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {m.split(".")[0] for m in files}:
                found += [f"{module}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []
