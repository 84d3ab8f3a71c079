"""The local server's stand-ins for the service's own tools: Google Search and code execution.

Why: on Google's side these tools run inside the service (§3.1.4); a client only declares them
and shows what comes back (§4.2 ``groundingMetadata``, ``executableCode`` and
``codeExecutionResult`` parts). The local server cannot search the web or run a sandbox, so the
echo assistant sends the documented shapes with honest content, enough to test every client
path offline:

* Search (``googleSearch`` declared, the user asks something: a question word first, or a
  ``?``): the reply says it is a stand-in, and the turn carries groundingMetadata with
  ``webSearchQueries`` = the user's words and two ``groundingChunks`` whose uris are stable
  (example.org / example.com, made from the query) and whose titles are made from the query.
* Code execution (``codeExecution`` declared, the user asks to compute simple arithmetic:
  "what is 12 times 7", "calculate (3 + 4) * 2"): an ``executableCode`` part
  (``print(12 * 7)``, language PYTHON) and a ``codeExecutionResult`` (OUTCOME_OK and what
  Python would print; OUTCOME_FAILED and the error for a division by zero). The arithmetic is
  evaluated by the small parser below with Python's operators, never by ``eval``: nothing the
  user says is executed.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicecli.server.engines.interface import Dialogue, Grounded, RanCode, Say

QUESTION_WORDS = frozenset({
    "what", "who", "whom", "whose", "when", "where", "why", "how", "which", "is", "are", "was",
    "were", "do", "does", "did", "can", "could", "will", "would", "should", "tell", "search",
    "find", "look",
})
COMPUTE_WORDS = ("compute", "calculate", "what is", "what's", "how much is", "evaluate",
                 "work out")
_WORD = re.compile(r"[A-Za-z0-9']+")
MAX_QUERY_CHARS = 200

# ---- search ---------------------------------------------------------------------------------


def asks_something(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return bool(words) and (words[0] in QUESTION_WORDS or text.rstrip().endswith("?"))


def search_standin(text: str) -> tuple[str, Grounded]:
    """What the assistant says, and the turn's groundingMetadata, for a question."""
    query = " ".join(_WORD.findall(text))[:MAX_QUERY_CHARS]
    slug = "-".join(query.lower().split()) or "query"
    title = query[:1].upper() + query[1:]
    said = (f"You asked: {query}. This is voicecli's local stand-in for Google Search: it "
            "cannot search the web, so the two sources listed are placeholders.")
    chunks = [
        {"web": {"uri": f"https://example.org/search/{slug}", "title": f"{title} (example.org)",
                 "domain": "example.org"}},
        {"web": {"uri": f"https://example.com/answers/{slug}", "title": f"{title} (example.com)",
                 "domain": "example.com"}},
    ]
    first = said.split(":", 1)[0] + ": " + query
    metadata: dict[str, Any] = {
        "webSearchQueries": [query],
        "groundingChunks": chunks,
        "groundingSupports": [{
            "segment": {"startIndex": 0, "endIndex": len(first.encode()), "text": first},
            "groundingChunkIndices": [0, 1],
        }],
    }
    return said, Grounded(metadata)


# ---- code execution ---------------------------------------------------------------------------

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_NUMBER_WORDS.update({w: 10 * (i + 2) for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_OPERATOR_WORDS = (  # longest first
    ("to the power of", "**"), ("multiplied by", "*"), ("divided by", "/"), ("plus", "+"),
    ("minus", "-"), ("times", "*"), ("over", "/"), ("modulo", "%"), ("mod", "%"),
    ("squared", "** 2"), ("cubed", "** 3"),
)
_TOKEN = re.compile(r"\d+(?:\.\d+)?|\*\*|//|[-+*/%()^]|[A-Za-z']+")
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
}
MAX_EXPONENT = 64
MAX_MAGNITUDE = 10**30


@dataclass(frozen=True)
class Computation:
    expression: str  # Python syntax, e.g. "12 * 7"
    outcome: str  # OUTCOME_OK | OUTCOME_FAILED
    output: str  # what print() would write, or the error


def wants_computation(text: str) -> bool:
    lowered = " ".join(_WORD.findall(text.lower().replace("what's", "what is")))
    return any(lowered.startswith(w) or f" {w} " in f" {lowered} " for w in COMPUTE_WORDS)


def find_computation(text: str) -> Computation | None:
    """The arithmetic in `text` ("what is 12 times 7"), computed; None if there is none."""
    if not wants_computation(text):
        return None
    tokens = _expression_tokens(text)
    if tokens is None:
        return None
    expression = " ".join(tokens).replace("( ", "(").replace(" )", ")")
    try:
        value = _Parser(tokens).parse()
    except ZeroDivisionError as exc:
        return Computation(expression, "OUTCOME_FAILED",
                           f"Traceback (most recent call last):\nZeroDivisionError: {exc}\n")
    except (ValueError, OverflowError):
        return None
    return Computation(expression, "OUTCOME_OK", f"{value!r}\n")


def code_standin(computation: Computation) -> tuple[RanCode, str]:
    """The code parts of the turn and what the assistant says about them."""
    code = f"print({computation.expression})\n"
    result = computation.output.strip().splitlines()[-1] if computation.output.strip() else ""
    said = (f"I ran print({computation.expression}) in voicecli's local stand-in for code "
            f"execution (an arithmetic evaluator, not a Python sandbox); it "
            f"{'printed' if computation.outcome == 'OUTCOME_OK' else 'failed with'} {result}.")
    return RanCode("PYTHON", code, computation.outcome, computation.output), said


def _expression_tokens(text: str) -> list[str] | None:
    """The longest run of arithmetic in `text` (words turned into digits and operators), with
    at least one operator; None without one."""
    lowered = text.lower().replace("^", " ** ")
    for words, symbol in _OPERATOR_WORDS:
        lowered = re.sub(rf"\b{words}\b", f" {symbol} ", lowered)
    tokens = _numbers_from_words(_TOKEN.findall(lowered))
    best: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if token and (_is_number(token) or token in _BINARY or token in "()"):
            run.append(token)
            continue
        run = _trim(run)
        if sum(t in _BINARY for t in run) and len(run) > len(best):
            best = run
        run = []
    return best or None


def _numbers_from_words(tokens: list[str]) -> list[str]:
    """"twenty three" → "23", "two hundred" → "200"; other tokens as they are."""
    out: list[str] = []
    value: int | None = None
    for token in tokens:
        if token in _NUMBER_WORDS or (token in _SCALES and value is not None):
            if token in _SCALES:
                value = (value or 1) * _SCALES[token]
            else:
                value = (value or 0) + _NUMBER_WORDS[token]
            continue
        if value is not None:
            out.append(str(value))
            value = None
        if token not in ("and", "a"):
            out.append(token)
    if value is not None:
        out.append(str(value))
    return out


def _trim(run: list[str]) -> list[str]:
    """Drop operators and unbalanced parentheses dangling at either end of a run."""
    while run and (run[-1] in _BINARY or run[-1] == "("):
        run = run[:-1]
    while run and (run[0] in _BINARY and run[0] != "-" or run[0] == ")"):
        run = run[1:]
    if run.count("(") != run.count(")"):
        return [t for t in run if t not in "()"]
    return run


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)?", token))


class _Parser:
    """expr := term (('+'|'-') term)*; term := power (('*'|'/'|'//'|'%') power)*;
    power := unary ('**' power)?; unary := '-' unary | atom; atom := number | '(' expr ')'."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def parse(self) -> int | float:
        value = self._expr()
        if self.at != len(self.tokens):
            raise ValueError("trailing tokens")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("unexpected end")
        self.at += 1
        return token

    def _expr(self) -> int | float:
        value = self._term()
        while self._peek() in ("+", "-"):
            value = _apply(self._take(), value, self._term())
        return value

    def _term(self) -> int | float:
        value = self._power()
        while self._peek() in ("*", "/", "//", "%"):
            value = _apply(self._take(), value, self._power())
        return value

    def _power(self) -> int | float:
        base = self._unary()
        if self._peek() == "**":
            self._take()
            return _apply("**", base, self._power())
        return base

    def _unary(self) -> int | float:
        if self._peek() == "-":
            self._take()
            return -self._unary()
        return self._atom()

    def _atom(self) -> int | float:
        token = self._take()
        if token == "(":
            value = self._expr()
            if self._take() != ")":
                raise ValueError("unbalanced parentheses")
            return value
        if not _is_number(token):
            raise ValueError(f"not a number: {token}")
        return float(token) if "." in token else int(token)


def _apply(op: str, left: int | float, right: int | float) -> int | float:
    if op == "**" and (abs(right) > MAX_EXPONENT or abs(left) > MAX_MAGNITUDE):
        raise ValueError("too large for the stand-in")
    value = _BINARY[op](left, right)
    if isinstance(value, complex) or abs(value) > MAX_MAGNITUDE ** 2:
        raise ValueError("out of range for the stand-in")
    return value


def standin_reply(
    conversation: Dialogue, text: str
) -> list[Say | Grounded | RanCode] | None:
    """The echo assistant's reply when a declared service tool applies to `text`, else None."""
    if conversation.code_execution:
        computation = find_computation(text)
        if computation is not None:
            ran, said = code_standin(computation)
            return [ran, Say(said)]
    if conversation.google_search and asks_something(text):
        said, grounded = search_standin(text)
        return [Say(said), grounded]
    return None
