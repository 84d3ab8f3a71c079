"""voicecli's import graph, read from the source: every `import` anywhere in a module (at the top,
inside functions and under `if TYPE_CHECKING:`), so an import hidden in a function cannot hide a
cycle. Used by the tests that keep the graph acyclic and the server's rooms one-way, and runnable:

    .venv/bin/python -m tests.import_graph [PACKAGE_DIR]   # modules per package, cycles

"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

Graph = dict[str, set[str]]
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "voicecli"


def package_modules(package_dir: Path = PACKAGE_DIR, root: str | None = None) -> dict[str, Path]:
    """Every module under `package_dir` by dotted name (`root` names the directory itself)."""
    root = root or package_dir.name
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join([root, *parts])] = path
    return modules


def _absolute(node: ast.ImportFrom, package: str) -> str:
    base = node.module or ""
    if not node.level:
        return base
    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{anchor}.{base}" if base else anchor


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The known modules `module` imports, wherever in the file the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            # `from package import module` imports the module; `from module import name` the module
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def import_graph(modules: dict[str, Path] | None = None) -> Graph:
    modules = package_modules() if modules is None else modules
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


def without_package_inits(graph: Graph) -> Graph:
    """The graph less the edges into a package's `__init__` from inside that package.

    `from voicecli.server import x` in voicecli/server/a.py, where the package's __init__ re-exports
    a's names, is the ordinary re-export pattern, not a dependency between two parts."""
    inits = {name for name in graph if any(other.startswith(name + ".") for other in graph)}
    return {module: {t for t in targets if not (t in inits and module.startswith(t + "."))}
            for module, targets in graph.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle as [a, b, …, a], or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)


def per_package(modules: dict[str, Path]) -> Counter[str]:
    """Module count per first-level package (`voicecli.server.session.x` counts for server)."""
    counts: Counter[str] = Counter()
    for name, path in modules.items():
        parts = name.split(".")
        in_package = len(parts) > 2 or (len(parts) == 2 and path.name == "__init__.py")
        counts[parts[1] if in_package else "(top level)"] += 1
    return counts


def main(argv: list[str]) -> None:
    package_dir = Path(argv[0]) if argv else PACKAGE_DIR
    modules = package_modules(package_dir)
    graph = import_graph(modules)
    print(f"{len(modules)} modules, {sum(map(len, graph.values()))} import edges")
    for package, count in sorted(per_package(modules).items()):
        print(f"  {package:<14} {count}")
    for label, view in (("cycles", graph), ("cycles less package re-exports",
                                            without_package_inits(graph))):
        found = cycles(view)
        print(f"{label}: {len(found) or 'none'}")
        for group in found:
            print("  " + " <-> ".join(name.removeprefix("voicecli.") for name in group))


if __name__ == "__main__":
    main(sys.argv[1:])
