"""JSON ⇄ message objects, driven by the dataclass definitions in ``messages.py`` (§2).

Nothing here is written per message type: each dataclass is compiled once into a table of
fields, each field into a (decode, encode) pair chosen from its type annotation. Decoding is
liberal (§2: camelCase or snake_case keys at any depth, standard or URL-safe base64 with or without
padding, text or binary frames, int64 as number or string, enums as names or numbers) and every
failure is a ``RemoteProtocolError`` naming the path of the bad value. Encoding is canonical:
camelCase, standard padded base64, durations as ``"1.5s"``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from voicecli.errors import RemoteProtocolError
from voicecli.protocol.messages import (
    ClientContent,
    ClientMessage,
    RealtimeInput,
    ServerMessage,
    Setup,
    ToolResponse,
)

T = TypeVar("T")
Decoder = Callable[[Any, str], Any]  # (wire value, path for messages) -> Python value
Encoder = Callable[[Any], Any]  # Python value -> JSON-ready value

#: §2: exactly one of these per client frame; the wire name is camelCase, snake_case accepted.
CLIENT_MESSAGE_TYPES: dict[str, type[Any]] = {
    "setup": Setup,
    "clientContent": ClientContent,
    "realtimeInput": RealtimeInput,
    "toolResponse": ToolResponse,
}
_CLIENT_WIRE_NAME: dict[type[Any], str] = {cls: name for name, cls in CLIENT_MESSAGE_TYPES.items()}
_INT_TEXT = re.compile(r"-?[0-9]{1,20}")  # ASCII digits only: int() also takes "٣" and "３"
MAX_DURATION_S = 315_576_000_000  # protobuf Duration range: ±10,000 years
_DURATION_TEXT = re.compile(r"(-?[0-9]{1,12}(?:\.[0-9]{1,9})?)s")
#: json.loads turns an escaped surrogate pair into one character; a lone ``\ud800`` stays a
#: surrogate code point, which no UTF-8 output (stdout, NDJSON, the next frame) can carry.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _bad(path: str, problem: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"bad frame: {path}: {problem}")


# ---- scalar converters ---------------------------------------------------------------------------


def valid_unicode(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings and keys, at any depth, as U+FFFD.

    JSON may escape one (RFC 8259 §8.2 leaves it to the parser); UTF-8 cannot encode it, so
    text, transcripts, ids, names and opaque objects (tool arguments, grounding, unknown fields)
    are made printable here, once, instead of failing in whatever writes them out."""
    if isinstance(value, str):
        return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [valid_unicode(item) for item in value]
    if isinstance(value, dict):
        return {valid_unicode(k): valid_unicode(v) for k, v in value.items()}
    return value


def _decode_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"expected a string, got {type(value).__name__}")
    return valid_unicode(value)


def _decode_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(path, f"expected true or false, got {type(value).__name__}")
    return value


def _decode_int(value: Any, path: str) -> int:
    # protobuf JSON: int32/int64 as a number or a decimal string; 9.0 is accepted (§3.1 topK).
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value)
    raise _bad(path, f"expected an integer, got {value!r:.40}")


def _decode_float(value: Any, path: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _bad(path, f"expected a number, got {value!r:.40}")


def _decode_enum(value: Any, path: str) -> str | int:
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _bad(path, f"expected an enum name, got {value!r:.40}")


def _decode_bytes(value: Any, path: str) -> bytes:
    # §2: the service sends standard base64; Google's Python SDK sends URL-safe, unpadded is seen.
    if not isinstance(value, str):
        raise _bad(path, "expected a base64 string")
    text = value.replace("-", "+").replace("_", "/").rstrip("=")
    if len(text) % 4 == 1:
        raise _bad(path, "base64 text has an impossible length")
    try:
        # Non-strict decoding is a third faster than validate=True on audio-sized frames; it skips
        # characters outside the alphabet, so a length check catches what it would have rejected.
        data = binascii.a2b_base64(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _bad(path, "not valid base64") from None
    if len(data) != len(text) * 3 // 4:
        raise _bad(path, "not valid base64")
    return data


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_duration(value: Any, path: str) -> float:
    # §2: protobuf Duration is a string of seconds with an "s" suffix ("50s", "30.5s").
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION_TEXT.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise _bad(path, f'expected a duration like "50s", got {value!r:.40}')
        seconds = float(match.group(1))
    if not abs(seconds) <= MAX_DURATION_S:  # also refuses NaN
        raise _bad(path, f"duration out of range: {value!r:.40}")
    return seconds


def encode_duration(seconds: float) -> str:
    """Seconds as protobuf JSON: 50.0 → "50s", 30.5 → "30.5s"."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{float(seconds):.9f}".rstrip("0").rstrip(".") + "s"


def _decode_object_json(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(path, f"expected an object, got {type(value).__name__}")
    return valid_unicode(value)


def _keep(value: Any, path: str) -> Any:
    return valid_unicode(value)


def _identity(value: Any) -> Any:
    return value


_SCALARS: dict[Any, tuple[Decoder, Encoder]] = {
    str: (_decode_str, _identity),
    bool: (_decode_bool, _identity),
    int: (_decode_int, _identity),
    float: (_decode_float, _identity),
    bytes: (_decode_bytes, _encode_bytes),
    Any: (_keep, _identity),
}


# ---- compiling dataclasses into field tables ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    attr: str
    wire: str
    decode: Decoder
    encode: Encoder


@dataclass(frozen=True, slots=True)
class _Schema:
    fields: tuple[_Field, ...]
    by_key: dict[str, _Field]  # camelCase and snake_case spellings


_SCHEMAS: dict[type[Any], _Schema] = {}


def _schema(cls: type[Any]) -> _Schema:
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = _compile_schema(cls)
    return schema


def _compile_schema(cls: type[Any]) -> _Schema:
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        if f.name == "extra":
            continue
        decode, encode = _converters(hints[f.name], dict(f.metadata))
        fields.append(_Field(f.name, camel_case(f.name), decode, encode))
    by_key = {f.wire: f for f in fields} | {f.attr: f for f in fields}
    return _Schema(tuple(fields), by_key)


def _converters(annotation: Any, metadata: dict[str, Any]) -> tuple[Decoder, Encoder]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if metadata.get("duration"):
        return _decode_duration, encode_duration
    if origin in (typing.Union, types.UnionType):
        if set(args) == {str, int}:
            return _decode_enum, _identity
        return _converters(args[0], metadata)
    if origin is list:
        return _list_converters(_converters(args[0], {}))
    if origin is dict:
        return _decode_object_json, _identity  # opaque JSON object: kept verbatim
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _object_converters(annotation)
    return _SCALARS[annotation]


def _list_converters(item: tuple[Decoder, Encoder]) -> tuple[Decoder, Encoder]:
    decode_item, encode_item = item

    def decode(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise _bad(path, f"expected a list, got {type(value).__name__}")
        return [decode_item(v, f"{path}[{i}]") for i, v in enumerate(value)]

    return decode, lambda values: [encode_item(v) for v in values]


def _object_converters(cls: type[Any]) -> tuple[Decoder, Encoder]:
    return (lambda value, path: from_wire(cls, value, path)), to_wire


# ---- public API ---------------------------------------------------------------------------------


def from_wire(cls: type[T], value: Any, path: str = "$") -> T:
    """Build a message object from parsed JSON; unknown keys go to ``extra``."""
    if not isinstance(value, dict):
        raise _bad(path, f"expected an object, got {type(value).__name__}")
    schema = _schema(cls)
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, item in value.items():
        spec = schema.by_key.get(key)
        if spec is None:
            extra[valid_unicode(key)] = valid_unicode(item)
        elif item is not None:  # protobuf JSON: null means "absent"
            known[spec.attr] = spec.decode(item, f"{path}.{spec.wire}")
    make: Callable[..., T] = cls  # a message dataclass: every one has ``extra``
    return make(**known, extra=extra)


def to_wire(obj: Any) -> dict[str, Any]:
    """The JSON-ready dict of one message object (no envelope): camelCase, base64, durations."""
    out: dict[str, Any] = {}
    for spec in _schema(type(obj)).fields:
        value = getattr(obj, spec.attr)
        if value is not None:
            out[spec.wire] = spec.encode(value)
    for key, value in obj.extra.items():
        out.setdefault(key, value)
    return out


def envelope(msg: ClientMessage | ServerMessage) -> dict[str, Any]:
    """The whole frame as a dict: client messages wrapped in their top-level key (§3)."""
    if isinstance(msg, ServerMessage):
        return to_wire(msg)
    return {_CLIENT_WIRE_NAME[type(msg)]: to_wire(msg)}


def encode(msg: ClientMessage | ServerMessage) -> str:
    """Compact JSON text of a frame, as clients send it (§2)."""
    return json.dumps(envelope(msg), separators=(",", ":"), ensure_ascii=False)


def encode_pretty(msg: ClientMessage | ServerMessage) -> bytes:
    """2-space indented UTF-8 JSON, the layout Google's server sends in binary frames (§2)."""
    frame = envelope(msg)
    try:
        return json.dumps(frame, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in some text: escape instead of failing
        return json.dumps(frame, indent=2).encode("ascii")


def parse_frame(data: str | bytes) -> dict[str, Any]:
    """One WebSocket message as a JSON object (§2: text or binary frames, any layout)."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise RemoteProtocolError("bad frame: not valid UTF-8") from None
    if not isinstance(data, str):
        raise RemoteProtocolError(f"bad frame: expected text or bytes, got {type(data).__name__}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise RemoteProtocolError(f"bad frame: not JSON ({str(exc)[:80]})") from None
    if not isinstance(obj, dict):
        raise RemoteProtocolError(f"bad frame: expected a JSON object, got {type(obj).__name__}")
    return obj


def decode_server(data: str | bytes) -> ServerMessage:
    """A server frame; every known top-level field decoded, unknown ones kept in ``extra``."""
    return from_wire(ServerMessage, parse_frame(data))


def decode_client(data: str | bytes) -> ClientMessage:
    """A client frame, which must hold exactly one of setup | clientContent | realtimeInput |
    toolResponse (§2, camelCase or snake_case)."""
    frame = parse_frame(data)
    if len(frame) != 1:
        raise RemoteProtocolError(
            f"bad frame: a client message needs exactly one of {', '.join(CLIENT_MESSAGE_TYPES)}; "
            f"got {len(frame)} top-level fields {sorted(frame)[:5]}"
        )
    (key, body), = frame.items()
    cls = CLIENT_MESSAGE_TYPES.get(camel_case(key)) if "_" in key else CLIENT_MESSAGE_TYPES.get(key)
    if cls is None:
        raise RemoteProtocolError(f"bad frame: unknown client message {key[:40]!r}")
    return from_wire(cls, body, key)
