"""The whole package's import graph has no cycle, counting imports inside functions and under
`if TYPE_CHECKING:` (tests/import_graph.py reads them from the source)."""

from __future__ import annotations

from tests.import_graph import cycles, import_graph, package_modules, per_package


def test_cycles_finds_every_group_not_just_one() -> None:
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert cycles(graph) == [["a", "b"], ["c", "d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_type_checking_import_counts_as_an_edge(tmp_path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from pkg.b import B\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n")
    assert cycles(import_graph(package_modules(package))) == [["pkg.a", "pkg.b"]]


def test_voicecli_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_modules_are_counted_in_their_first_level_package() -> None:
    counts = per_package(package_modules())
    assert counts["server"] > 10 and counts["protocol"] > 5
    assert "session" not in counts  # voicecli.server.session.* counts for server


def test_no_module_imports_a_command_module() -> None:
    """A command's module (voicecli/cli/*_cmd.py) is reached only through the app's registry
    (voicecli.cli.commands names them; voicecli.cli.app loads them): what two commands share
    lives in a module of its own."""
    commands = {name for name in package_modules() if name.startswith("voicecli.cli.")
                and name.endswith("_cmd")}
    assert len(commands) > 10
    reaching = {module: sorted(imports & commands) for module, imports in import_graph().items()
                if imports & commands and module != "voicecli.cli.app"}
    assert reaching == {}
