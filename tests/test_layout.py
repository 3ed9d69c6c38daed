"""The package's layout is its design: stages import only downwards, never in a cycle, and stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import generator

PACKAGE = Path(generator.__file__).parent

# Lowest first: a module may import from its own stage and from stages before it, never after.
STAGES = ("base", "kube", "cluster", "fleetfiles", "allocation", "manifests", "tree", "live", "edits", "cli")
BASE_MODULES = ("diagnostics", "parallel", "settings")
TOP_LEVEL = {"__init__.py", "__main__.py", *(f"{name}.py" for name in BASE_MODULES)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in BASE_MODULES:
        return "base"
    return parts[1] if parts[1] != "__main__" else "main"


def _runtime_imports(tree: ast.Module) -> Iterator[ast.ImportFrom | ast.Import]:
    """Every import statement except those under `if TYPE_CHECKING:`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _imported(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.startswith("generator")}
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    if not base.startswith("generator"):
        return set()
    found = {base}
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
            PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
        ).exists():
            found.add(candidate)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in _runtime_imports(tree):
            edges |= _imported(module, path.name == "__init__.py", node)
        graph[module] = edges - {module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def _package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_stage_imports_a_later_one() -> None:
    upward = []
    for module, targets in _graph().items():
        stage = _stage(module)
        if stage in ("package", "main"):
            continue
        for target in targets:
            target_stage = _stage(target)
            if target_stage in ("package", "main") or STAGES.index(target_stage) > STAGES.index(stage):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_import_cycle_between_modules_nor_between_stages() -> None:
    graph = _graph()
    assert _cycle(graph) == []
    stages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        # A package's __init__ may gather its own modules; that is not a cycle between stages.
        stages.setdefault(_package_of(module), set()).update(
            _package_of(t) for t in targets if _package_of(t) != _package_of(module)
        )
    assert _cycle(stages) == []


def test_the_top_level_holds_few_modules_and_every_stage_says_its_contract() -> None:
    assert {path.name for path in PACKAGE.glob("*.py")} <= TOP_LEVEL
    stages = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))
    assert stages == sorted(STAGES[1:])
    for name in stages:
        docstring = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))) or ""
        if name != "cli":
            assert "Enters:" in docstring and "Leaves:" in docstring and "Must not import:" in docstring, name


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_the_graph_sees_imports_that_break_the_rules(tmp_path: Path) -> None:
    """The checks above can fail: an upward import and a cycle, written the ways the package writes imports."""
    upward = ast.parse("from ..tree.compile import Compiled\nfrom ..kube import api\n")
    found = set().union(*(_imported("generator.fleetfiles.rules", False, n) for n in _runtime_imports(upward)))
    assert "generator.tree.compile" in found and "generator.kube.api" in found
    guarded = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..tree import compile\n")
    assert [n for n in _runtime_imports(guarded) if n.level] == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
