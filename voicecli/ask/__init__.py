"""`voicecli ask`: one question, one answer (library API, usable without typer).

    answer = asyncio.run(ask(load_settings(), Question(text="What is the capital of France?")))
    print(answer.text)

The turn (send the question, collect the answer) is in voicecli.ask.turn; how tool calls keep a
reply open, and how they are reported, in voicecli.ask.tools. Batch asks its jobs with the same
turn.
"""

from voicecli.ask.turn import (
    Answer,
    Question,
    answer_with_tools,
    ask,
    collect_answer,
    send_question,
)

__all__ = ["Answer", "Question", "answer_with_tools", "ask", "collect_answer", "send_question"]
