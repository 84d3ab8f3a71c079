"""The server's rooms (voicecli/server/__init__.py): transport → session → engines, never back.

The import graph is read from the source (every `import` anywhere in a module: at the top, inside
functions and under `if TYPE_CHECKING:`), so an import hidden in a function cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import voicecli.server

ROOT = "voicecli.server"
SERVER_DIR = Path(voicecli.server.__file__).parent
#: Each room may import the rooms after it in this order, never one before it.
ROOMS = ("transport", "session", "engines")

Graph = dict[str, set[str]]


def server_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(SERVER_DIR.rglob("*.py")):
        parts = list(path.relative_to(SERVER_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join([ROOT, *parts])] = path
    return modules


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The server modules `module` imports, wherever in the file the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports the module; `from module import name` the module
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def import_graph() -> Graph:
    modules = server_modules()
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


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


def room_of(module: str) -> str | None:
    """The room a module is in; None for the package's own `__init__` (the public names)."""
    rest = module.removeprefix(ROOT).lstrip(".")
    return rest.partition(".")[0] or None


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    graph = import_graph()
    # make_engine imports the brain only when one is configured (a function-level import)
    assert f"{ROOT}.engines.brain" in graph[f"{ROOT}.transport.assembly"]
    # `from voicecli.server.engines import discovery` names a module, not the package
    assert f"{ROOT}.engines.discovery" in graph[f"{ROOT}.transport.assembly"]


def test_find_cycle_reports_one_hidden_in_a_function() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_server_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_every_server_module_is_in_a_room() -> None:
    loose = [m for m in server_modules() if m != ROOT and room_of(m) not in ROOMS]
    assert loose == []
    for room in ROOMS:
        assert len([m for m in server_modules() if room_of(m) == room]) > 1


def test_rooms_depend_in_one_direction_transport_session_engines() -> None:
    backward = []
    for module, targets in import_graph().items():
        here = room_of(module)
        for target in targets:
            there = room_of(target)
            if here == there:
                continue
            if there is None or (here is not None and ROOMS.index(there) < ROOMS.index(here)):
                backward.append(f"{module} -> {target}")
    assert backward == []
