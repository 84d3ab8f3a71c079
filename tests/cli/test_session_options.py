"""`--camera [INDEX]` / `--screen [MONITOR]`: a bare flag gets its default before typer parses."""

from __future__ import annotations

from voicecli.cli.session_options import fill_optional_values


def test_a_bare_flag_gets_its_default_and_a_given_value_is_kept() -> None:
    assert fill_optional_values(["talk", "--camera"]) == ["talk", "--camera", "0"]
    assert fill_optional_values(["talk", "--camera", "--json"]) == [
        "talk", "--camera", "0", "--json"]
    assert fill_optional_values(["talk", "--screen", "2", "--json"]) == [
        "talk", "--screen", "2", "--json"]
    assert fill_optional_values(["talk", "--screen", "--camera", "1"]) == [
        "talk", "--screen", "1", "--camera", "1"]
    assert fill_optional_values(["ask", "--json", "hi"]) == ["ask", "--json", "hi"]


def test_talk_ends_with_a_summary_and_the_handle_on_stderr(capsys) -> None:  # type: ignore[no-untyped-def]
    from voicecli.cli.conversation_run import session_summary
    from voicecli.protocol.messages import ModalityTokenCount, UsageMetadata
    from voicecli.talk.options import TalkOptions
    from voicecli.talk.run import TalkResult

    result = TalkResult(reason="quit", turns=3, reconnects=0, duration_s=62.4,
                        resume_handle="Cj-handle", video_frames=7)
    result.usage.add(UsageMetadata(
        prompt_token_count=120, response_token_count=80, total_token_count=200,
        prompt_tokens_details=[ModalityTokenCount("AUDIO", 100), ModalityTokenCount("TEXT", 20)],
        response_tokens_details=[ModalityTokenCount("AUDIO", 80)]))
    session_summary(result, TalkOptions())
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "voicecli: 3 turn(s) in 1 min 2 s, quit",
        "voicecli: tokens: prompt 120 (audio 100, text 20) · response 80 (audio 80) · total 200",
        "voicecli: 7 video frame(s) sent",
        "voicecli: to continue: voicecli talk --resume Cj-handle",
    ]
