"""ViewState → rich renderables. Pure: no I/O, no clocks (tests render into a captured Console)."""

from __future__ import annotations

import math

from rich.console import Group, RenderableType
from rich.text import Text

from voicecli.ui.state import Status, TurnView, ViewState

METER_WIDTH = 20
METER_FLOOR_DB = -60.0
STATUS_WIDTH = len("● you're speaking")

_STATUS_STYLE = {
    Status.CONNECTING: "yellow",
    Status.LISTENING: "green",
    Status.USER_SPEAKING: "bold cyan",
    Status.THINKING: "magenta",
    Status.SPEAKING: "bold blue",
    Status.RECONNECTING: "bold yellow",
    Status.CLOSED: "red",
}


def render(state: ViewState) -> RenderableType:
    """The live region: the turn in progress, then the status bar, then the key help."""
    parts: list[RenderableType] = []
    turn = render_turn(state.turn, live=True, labels=state.labels)
    if turn is not None:
        parts.append(turn)
    if state.typing is not None:
        parts.append(Text.assemble(("type> ", "bold"), state.typing, ("▏", "blink")))
    if state.confirm is not None:
        parts.append(Text.assemble(("Run the tool ", "bold yellow"), (state.confirm, "yellow"),
                                   ("? y/n", "bold yellow")))
    parts.append(status_bar(state))
    parts.append(key_help(state))
    return Group(*parts)


def frame_key(state: ViewState) -> tuple[object, ...]:
    """Everything render() draws, as comparable values: equal keys draw the same frame, so the
    live view repaints only when this changes (the meter counts in cells, not in dB)."""
    turn = state.turn
    return (state.status, state.muted, state.ptt, state.ptt_talking, state.barge_in,
            state.typing, state.confirm, state.notice, state.where, state.labels,
            state.typing_allowed, _meter(state.mic_dbfs), _numbers(state),
            turn.user, turn.user_interim, turn.typed, turn.thoughts, turn.model,
            turn.interrupted, turn.cut_at, turn.connection_lost, turn.reply_cut,
            turn.latency_ms, turn.usage.reports, turn.usage.total,
            tuple((tool.name, tool.args, tool.result) for tool in turn.tools),
            tuple(turn.sources), tuple(turn.code))


def render_turn(turn: TurnView, *, live: bool = False,
                labels: tuple[str, str] = ("You", "Gemini")) -> RenderableType | None:
    """A finished turn for the scrollback, or the live one. `labels` name the two sides
    (translate: the source and target languages)."""
    if turn.is_empty():
        return None
    lines: list[RenderableType] = []
    if turn.user or turn.user_interim:
        who = f"{labels[0]} (typed)" if turn.typed else labels[0]
        interim = (" " if turn.user else "") + turn.user_interim
        lines.append(Text.assemble((f"{who}: ", "bold cyan"), turn.user, (interim, "dim")))
    for tool in turn.tools:
        result = "…" if tool.result is None else tool.result
        lines.append(Text.assemble(("  ⚙ ", "yellow"), (f"{tool.name}({tool.args})", "yellow"),
                                   (f" → {result}", "dim")))
    if turn.thoughts:  # --show-thoughts: the summaries, dimmed, before the reply
        lines.append(Text.assemble(("  thinking: ", "dim bold"), (turn.thoughts.strip(),
                                                                   "dim italic")))
    for label, body in turn.code:
        lines.append(Text.assemble((f"  ▸ {label}: ", "magenta"), (body.rstrip("\n"), "dim")))
    if turn.model or (live and turn.user):
        lines.append(_model_line(turn, labels[1]))
    for number, (title, uri) in enumerate(turn.sources, start=1):
        lines.append(Text.assemble((f"  [{number}] ", "dim"), title, (f" — {uri}", "dim")))
    return Group(*lines)


def _model_line(turn: TurnView, who: str = "Gemini") -> Text:
    line = Text.assemble((f"{who}: ", "bold blue"))
    if not turn.interrupted or turn.cut_at is None:
        line.append(turn.model)
    else:
        line.append(turn.model[: turn.cut_at].rstrip())
        line.append(" ⟂ interrupted", "bold red")
        rest = turn.model[turn.cut_at :].strip()
        if rest:
            line.append(f" (unheard: {rest})", "dim strike")
    if turn.connection_lost:
        line.append(" ⟂ connection lost", "bold yellow")
    elif turn.reply_cut:
        line.append(" ⟂ connection lost mid-reply; asked again", "yellow")
    facts = []
    if turn.latency_ms is not None:
        facts.append(f"{turn.latency_ms:.0f} ms")
    if turn.usage.reports:
        facts.append(f"{turn.usage.total} tokens")
    if facts:
        line.append(f"  [{' · '.join(facts)}]", "dim")
    return line


def status_bar(state: ViewState) -> Group:
    """Status, mic meter and where we are; the numbers below; then any notice."""
    status = f"● {state.status.value}".ljust(STATUS_WIDTH)
    top = Text.assemble((status, _STATUS_STYLE[state.status]), "  ", mic_meter(state))
    if state.where:
        top.append(f"  {state.where}", "dim")
    top.no_wrap, top.overflow = True, "ellipsis"
    rows: list[RenderableType] = [top]
    numbers = _numbers(state)
    if numbers:
        rows.append(Text(numbers, style="dim"))
    if state.notice:
        rows.append(Text(state.notice, style="yellow"))
    return Group(*rows)


def mic_meter(state: ViewState) -> Text:
    if state.muted:
        return Text("mic muted".ljust(METER_WIDTH + 4), style="bold red")
    if state.ptt and not state.ptt_talking:
        label = "mic ▷ space"
        return Text(label.ljust(METER_WIDTH + 4), style="dim")
    return Text.assemble(("mic ", "dim"), (_meter(state.mic_dbfs), "green"))


def _meter(dbfs: float) -> str:
    if math.isinf(dbfs) or dbfs <= METER_FLOOR_DB:
        filled = 0
    else:
        filled = round((1 - dbfs / METER_FLOOR_DB) * METER_WIDTH)
    filled = max(0, min(METER_WIDTH, filled))
    return "█" * filled + "·" * (METER_WIDTH - filled)


def _numbers(state: ViewState) -> str:
    parts = []
    if state.last_latency_ms is not None:
        parts.append(f"latency {state.last_latency_ms:.0f} ms")
    if state.usage.total:
        parts.append(_tokens(state))
    if state.video is not None:
        parts.append(f"video {state.video}: {state.video_frames} frames")
    c = state.counters
    if c.reconnects:
        parts.append(f"reconnects {c.reconnects}")
    if c.mic_dropped_ms or c.mic_overflows:
        parts.append(f"mic drops {c.mic_dropped_ms:.0f} ms/{c.mic_overflows}")
    if c.underruns:
        parts.append(f"underruns {c.underruns}")
    if not state.text_replies:
        parts.append(_echo(state))
    return " · ".join(parts)


def _tokens(state: ViewState) -> str:
    """`tokens 2134 (in audio 1000 text 234 · out audio 900)`: the session's sum (§4.7)."""
    usage = state.usage
    sides = []
    for side, counts in (("in", usage.prompt_by_modality), ("out", usage.response_by_modality)):
        if counts:
            sides.append(side + " " + " ".join(f"{m} {n}" for m, n in counts.items()))
    split = f" ({' · '.join(sides)})" if sides else ""
    return f"tokens {usage.total}{split}"


def _echo(state: ViewState) -> str:
    """Which echo handling is on, and how much echo it removes while the reply plays."""
    erle = state.counters.echo_erle_db
    if state.echo == "off" or erle is None:
        return f"echo {state.echo}"
    return f"echo {state.echo} −{max(0.0, erle):.0f} dB"


def key_help(state: ViewState) -> Text:
    if state.confirm is not None:
        return Text("y run it  n refuse", style="bold")
    keys = ["m mute" if not state.muted else "m unmute", "t type", "q quit"]
    if not state.typing_allowed:
        keys.remove("t type")
    if state.ptt:
        keys.insert(0, "space stop talking" if state.ptt_talking else "space talk")
    if not state.barge_in:
        keys.append("(no barge-in)")
    return Text("  ".join(keys), style="dim")
