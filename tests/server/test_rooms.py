"""The server's rooms (voicecli/server/__init__.py): transport → session → engines, never back.

The import graph is read from the source (every `import` anywhere in a module: at the top, inside
functions and under `if TYPE_CHECKING:`), so an import hidden in a function cannot hide a cycle.
"""

from __future__ import annotations

from pathlib import Path

import voicecli.server
from tests.import_graph import Graph, find_cycle, package_modules
from tests.import_graph import import_graph as package_graph

ROOT = "voicecli.server"
SERVER_DIR = Path(voicecli.server.__file__).parent
#: Each room may import the rooms after it in this order, never one before it.
ROOMS = ("transport", "session", "engines")


def server_modules() -> dict[str, Path]:
    return package_modules(SERVER_DIR, ROOT)


def import_graph() -> Graph:
    """The server's modules and the server modules each imports."""
    return package_graph(server_modules())


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
