"""Plain option values are answered without pydantic, and exactly as typer's own coercion
answers them (voicecli/cli/plain_values.py); everything else still goes through typer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.models import OptionInfo

from voicecli.cli import plain_values
from voicecli.cli.app import command_function, load_command

typer_coercion = pytest.importorskip("typer._coercion")


def typers_answer(annotation: Any, value: Any) -> Any:
    descriptor = typer_coercion.resolve_type_descriptor(annotation, OptionInfo())
    runtime = typer_coercion.build_runtime_param(descriptor)
    return runtime._coerce_value(value, param=None, ctx=None)


@pytest.mark.parametrize(("annotation", "value"), [
    (str, "off"), (str, ""), (str, " spaced "), (str, "https://127.0.0.1:8766"), (str, "ünï"),
    (int, 20), (int, 0), (int, -1), (int, "20"), (int, "0"), (int, "-5"), (int, "-0"),
    (int, "123456789012345678"), (float, 0.05), (float, "0.05"), (float, "2"), (float, "-1.5"),
    (float, "0"), (float, "123456789012345.123456789012345"),
])
def test_a_plain_value_comes_out_as_typer_makes_it(annotation: Any, value: Any) -> None:
    ours = plain_values.plain_value(annotation, value)
    theirs = typers_answer(annotation, value)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize(("annotation", "value"), [
    (int, "1_000"), (int, " 20"), (int, "+5"), (int, "020"), (int, "٣"), (int, "1.0"),
    (int, "1234567890123456789012"), (int, True), (float, "1e3"), (float, "inf"), (float, ".5"),
    (float, 3), (float, "nan"), (bool, "yes"), (bool, True), (Path, "x.md"), (str, 3),
])
def test_anything_else_is_left_to_typer(annotation: Any, value: Any) -> None:
    assert plain_values.plain_value(annotation, value) is plain_values._NO_ANSWER


def _typers_talk() -> Any:
    """`voicecli talk` as typer builds it, without plain_values."""
    single = typer.Typer()
    single.command("talk")(command_function("talk"))
    return typer.main.get_command(single)


@pytest.mark.parametrize("args", [
    [], ["--json", "--echo", "off", "--base-url", "https://127.0.0.1:8766"],
    ["--chunk-ms", "40", "--latency", "0.05", "--temperature", "0.7", "--thinking-budget", "-1"],
    ["--temperature", "1e-1", "--record", "out", "--affective", "--no-search", "-i", "3"],
])
def test_talk_parses_every_option_as_typer_does(args: list[str]) -> None:
    ours = load_command("talk").make_context("talk", list(args)).params
    assert ours == _typers_talk().make_context("talk", list(args)).params


@pytest.mark.parametrize("args", [["--chunk-ms", "abc"], ["--temperature", "warm"]])
def test_a_bad_value_gets_typers_own_message(args: list[str]) -> None:
    errors = []
    for command in (load_command("talk"), _typers_talk()):
        with pytest.raises(typer.BadParameter) as caught:
            command.make_context("talk", list(args))
        errors.append(caught.value.format_message())
    assert errors[0] == errors[1] and args[0] in errors[0]
