"""The commands of `voicecli`, by name: where each lives, and the line `voicecli --help` lists.

Kept free of imports so that the top-level help (voicecli.cli.quick_help) and the lazy group
(voicecli.cli.app) can list the commands without importing any of them.
"""

from __future__ import annotations

# name -> (module, attribute, the first paragraph of its help on one line: what `voicecli --help`
# lists).
# tests/cli/test_startup.py checks each line against the command's own help text.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "talk": ("voicecli.cli.talk_cmd", "talk",
             "Talk with Gemini: speak, hear the reply, interrupt it by speaking."),
    "ask": ("voicecli.cli.ask_cmd", "ask",
            "Ask one question and print the answer (for audio replies: what was said)."),
    "serve": ("voicecli.cli.serve_cmd", "serve",
              "Run a local server that speaks the Gemini Live protocol with offline speech parts."),
    "models": ("voicecli.cli.models_cmd", "models",
               "List the known Live models and what each takes (any other id is accepted with "
               "--model, unchecked)."),
    "voices": ("voicecli.cli.voices_cmd", "voices",
               "List the prebuilt voices for --voice (any letter case), with the style of each."),
    "transcribe": ("voicecli.cli.transcribe_cmd", "transcribe",
                   "Transcribe audio files, with segment times (text, JSON, SRT or WebVTT)."),
    "translate": ("voicecli.cli.translate_cmd", "translate",
                  "Translate speech as you speak: your words in one language, spoken in another."),
    "batch": ("voicecli.cli.batch_cmd", "batch",
              "Ask every question of a jobs file; rerun the same command to finish what failed."),
    "devices": ("voicecli.cli.devices_cmd", "devices",
                "List input and output devices (pick one by index or by part of its name)."),
    "doctor": ("voicecli.cli.doctor_cmd", "doctor",
               "Check the microphone and speaker, then measure the echo path (delay, level) and "
               "how much echo each --echo mode removes. Use it before `talk` on laptop speakers."),
    "tools": ("voicecli.cli.tools_cmd", "tools",
              "List every tool (declared, built-in, MCP), where it comes from and whether it is "
              "allowed."),
    "token": ("voicecli.cli.token_cmd", "token_app",
              "Ephemeral tokens: let a client connect without holding your API key."),
}
