"""Option values that need no pydantic: a str option given a str, an int or float option given
a plain number (or its own default), answered here; everything else as typer answers it.

typer (0.2x) coerces every option value through a pydantic TypeAdapter, built per option the
first time a value passes through, its default included: for `voicecli talk`'s fifty options
that is the pydantic import and fifty adapters, 100-250 ms before the command even starts
(benchmarks/bench_vs_cookbook.py: process start -> setup on the wire). Those values come out
the same either way (tests/cli/test_plain_values.py checks each case against typer's own), so
the adapter is built only for a value this module does not answer: a path, a bool given as
text, a number with an exponent, a bad value (typer's error message). With a typer that
coerces otherwise, `install` leaves the command as it is.
"""

from __future__ import annotations

import re
from typing import Any

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
except ImportError:  # a typer without per-value coercion: nothing to spare
    RuntimeParam = None  # type: ignore[assignment,misc]

_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?")
_NO_ANSWER = object()


def plain_value(annotation: Any, value: Any) -> Any:
    """`value` as an option of type `annotation` takes it, when that is plain; else
    `_NO_ANSWER` (typer's coercion decides)."""
    kind = type(value)
    if annotation is str and kind is str:
        return value
    if annotation is int:
        if kind is int:
            return value
        if kind is str and _INT.fullmatch(value):
            return int(value)
    if annotation is float:
        if kind is float:
            return value
        if kind is str and _FLOAT.fullmatch(value):
            return float(value)
    return _NO_ANSWER


def install(command: Any) -> None:
    """Answer plain values of `command`'s options without pydantic (a `None` never needs it:
    typer answers it before coercing)."""
    if RuntimeParam is None:
        return
    try:
        for param in getattr(command, "params", ()):
            _plain_first(param)
    except (TypeError, AttributeError):  # a typer whose coercion is built otherwise
        return
    help_option = getattr(command, "get_help_option", None)
    if help_option is not None:  # --help is made on first use, for the context's names

        def plain_help_option(ctx: Any) -> Any:
            option = help_option(ctx)
            _plain_first(option)
            return option

        command.get_help_option = plain_help_option


def _plain_first(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if isinstance(descriptor, TypeDescriptor) and getattr(param, "_runtime_param", 0) is None:
        param._runtime_param = _PlainFirst(descriptor.parameter_info, descriptor.annotation,
                                           descriptor, _plain_kind(descriptor))


def _plain_kind(descriptor: Any) -> bool:
    info = descriptor.parameter_info
    limits = [getattr(info, name, None) for name in ("parser", "click_type", "min", "max", "clamp")]
    constrained = any(limit is not None and limit is not False for limit in limits)
    return descriptor.annotation in (str, int, float) and not constrained and \
        descriptor.file_annotation is None and not descriptor.is_path and \
        not descriptor.is_choice


if RuntimeParam is not None:
    class _PlainFirst(RuntimeParam):
        """typer's runtime coercion of one option, built only for a value that is not plain."""

        descriptor: TypeDescriptor
        plain: bool
        _typers: list[Any]

        def __init__(self, parameter_info: Any, annotation: Any, descriptor: TypeDescriptor,
                     plain: bool) -> None:
            super().__init__(parameter_info, annotation)
            object.__setattr__(self, "descriptor", descriptor)
            # a str, int or float option with no parser, limits, choices or paths
            object.__setattr__(self, "plain", plain)
            object.__setattr__(self, "_typers", [])

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            answer = plain_value(self.annotation, value) if self.plain else _NO_ANSWER
            if answer is not _NO_ANSWER:
                return answer
            if not self._typers:
                self._typers.append(build_runtime_param(self.descriptor))
            return self._typers[0]._coerce_value(value, param=param, ctx=ctx)


__all__ = ["install", "plain_value"]
