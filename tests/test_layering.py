"""Dependencies run one way: no import cycle between our modules, and no package imports a later one."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "host", "authority", "quant", "hw", "eval")
# What each package must never import: the data flow is sim/host (board) -> quant -> hw -> eval. (host.run's
# demo makes a throwaway authority with authority.shares; authority reads records with host.vault.)
FORBIDDEN = {"sim": {"host", "authority", "quant", "hw", "eval"}, "host": {"quant", "hw", "eval"},
             "quant": {"authority", "hw", "eval"}, "hw": {"authority", "eval"}}


def imports_of(path: Path) -> set[str]:
    """Every project module a file imports, at any depth (``TYPE_CHECKING`` blocks and functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {n for n in names if n.split(".")[0] in PACKAGES}
    return found


def module_graph() -> dict[str, set[str]]:
    """Module name -> the project modules it imports (``from pkg import mod`` counts as importing pkg.mod)."""
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules (first == last), or [] when the graph is acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_find_cycle_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_our_modules():
    assert find_cycle(module_graph()) == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_no_later_package(package):
    offenders = sorted(f"{name} imports {m}" for name, deps in module_graph().items() if name.split(".")[0] == package
                       for m in deps if m.split(".")[0] in FORBIDDEN[package])
    assert offenders == []
