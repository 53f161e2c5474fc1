"""The README's layering, checked: a module imports only its own package or lower layers, and no packages loop.

Run as a script on another tree to see its violations: `python tests/unit/test_layers.py /path/to/agent`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[2] / "agent"

# Lowest first. Packages in one tuple share a layer; a package may be listed before it exists.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "location", "lazy"),
    ("formats",),
    ("system",),
    ("settings",),
    ("facts",),
    ("data",),
    ("secrets",),
    ("reports",),
    ("repo",),
    ("manifest",),
    ("providers",),
    ("resources",),
    ("catalog",),
    ("runner",),
    ("fleet",),
    ("bundles",),
    ("pipeline",),
    ("run",),
    ("daemon",),
    ("cli",),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}
# agent/__init__ (the version) and agent/__main__ (the entry point) stand outside the layers.
OUTSIDE = frozenset(["__init__", "__main__"])


@dataclass(frozen=True, slots=True)
class Edge:
    """One import of package `target` by a module of package `source`, at file:line."""

    source: str
    target: str
    module: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} -> {self.target} (imports {self.module})"


def package_of(path: Path, agent: Path) -> str:
    """`agent/secrets/enc.py` belongs to `secrets`, `agent/errors.py` to `errors`."""
    parts = path.relative_to(agent).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def _imported(node: ast.AST, path: Path, agent: Path) -> Iterator[str]:
    """The dotted `agent.…` names one import statement brings in (relative imports resolved)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            here = list(path.relative_to(agent.parent).with_suffix("").parts)
            base = here[: len(here) - node.level]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        if module == "agent":
            yield from (f"agent.{alias.name}" for alias in node.names)
        else:
            yield module


def _target(name: str, agent: Path) -> str | None:
    """The package an `agent.…` name lies in; None for names outside agent or for agent/__init__ itself."""
    parts = name.split(".")
    if parts[0] != "agent" or len(parts) < 2:
        return None
    first = parts[1]
    if (agent / first).is_dir() or (agent / f"{first}.py").is_file():
        return None if first in OUTSIDE else first
    return None  # `from agent import __version__`: a name of agent/__init__


def edges(agent: Path) -> list[Edge]:
    """Every import between packages under `agent`, top-level and inside functions alike."""
    found = []
    for path in sorted(agent.rglob("*.py")):
        source = package_of(path, agent)
        if source in OUTSIDE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for name in _imported(node, path, agent):
                target = _target(name, agent)
                if target is not None and target != source:
                    file = str(path.relative_to(agent.parent))
                    found.append(Edge(source, target, name, file, node.lineno))
    return sorted(found, key=lambda e: (e.file, e.line, e.module))


def unlisted(agent: Path) -> list[str]:
    """Packages and top-level modules under `agent` that LAYERS does not place."""
    names = {package_of(path, agent) for path in agent.rglob("*.py")}
    return sorted(f"agent/{name}: not in LAYERS; give it a layer" for name in names - OUTSIDE - RANK.keys())


def upward(agent: Path) -> list[str]:
    """Imports of a higher layer, each with its file:line."""
    return [
        f"{edge}: {edge.target} is a higher layer than {edge.source}"
        for edge in edges(agent)
        if edge.source in RANK and edge.target in RANK and RANK[edge.target] > RANK[edge.source]
    ]


def cycles(agent: Path) -> list[str]:
    """Each group of packages that import one another in a loop, with the imports that close it."""
    all_edges = edges(agent)
    graph: dict[str, set[str]] = {}
    for edge in all_edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    out = []
    for group in _strongly_connected(graph):
        inside = [e for e in all_edges if e.source in group and e.target in group]
        first = {(e.source, e.target): e for e in reversed(inside)}
        shown = "; ".join(str(first[pair]) for pair in sorted(first))
        out.append(f"packages {', '.join(sorted(group))} import each other in a loop: {shown}")
    return out


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm; only the groups of two or more packages (self-imports are not edges here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups, key=sorted)


def violations(agent: Path) -> list[str]:
    return [*unlisted(agent), *upward(agent), *cycles(agent)]


def test_every_package_has_a_layer():
    assert unlisted(AGENT) == []


def test_no_import_runs_up_the_layers():
    assert upward(AGENT) == []


def test_no_packages_import_each_other_in_a_loop():
    assert cycles(AGENT) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    agent = root / "agent"
    for name, text in files.items():
        path = agent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return agent


@pytest.mark.parametrize(
    ("statement", "line"),
    [
        ("from agent.catalog.compile import Compiler", 2),
        ("import agent.catalog.compile", 2),
        ("from agent import catalog", 2),
        ("from ..catalog import compile", 2),
        ("def later():\n    if True:\n        from agent.catalog import compile\n", 4),
    ],
)
def test_an_import_up_the_layers_is_named_with_its_file_and_line(tmp_path, statement, line):
    agent = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "secrets/__init__.py": "",
            "secrets/audit.py": f'"""Doc."""\n{statement}\n',
            "catalog/__init__.py": "",
            "catalog/compile.py": "",
        },
    )
    [problem] = upward(agent)
    assert problem.startswith(f"agent/secrets/audit.py:{line}: secrets -> catalog")


def test_lower_layers_own_package_and_agent_itself_are_allowed(tmp_path):
    agent = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "from agent.location import Location\n",
            "location.py": "",
            "data/__init__.py": "",
            "data/hiera.py": "import agent\nfrom agent import __version__\nfrom agent.data import merge\n",
            "secrets/__init__.py": "",
            "secrets/enc.py": "from agent.data.hiera import x\nfrom agent.errors import E\n",
        },
    )
    assert violations(agent) == []


def test_a_package_without_a_layer_is_named(tmp_path):
    agent = _tree(tmp_path, {"__init__.py": "", "gadgets/__init__.py": "", "util.py": ""})
    assert unlisted(agent) == [
        "agent/gadgets: not in LAYERS; give it a layer",
        "agent/util: not in LAYERS; give it a layer",
    ]


def test_a_loop_between_packages_is_named_even_within_one_layer(tmp_path):
    agent = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "from agent.location import Location\n",
            "location.py": "\n\ndef f():\n    from agent.errors import E\n",
        },
    )
    assert cycles(agent) == [
        "packages errors, location import each other in a loop: "
        "agent/errors.py:1: errors -> location (imports agent.location); "
        "agent/location.py:4: location -> errors (imports agent.errors)"
    ]


if __name__ == "__main__":
    found = violations(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else AGENT)
    print("\n".join(found) or "no violations")
    sys.exit(1 if found else 0)
