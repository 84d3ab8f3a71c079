"""Token usage by modality (§4.7): one report as NDJSON, and sums per turn and session."""

from __future__ import annotations

from voicecli.client.ndjson import usage_json
from voicecli.client.usage import TokenTally, by_modality, modality_name, usage_fields
from voicecli.protocol.codec import decode_server
from voicecli.protocol.messages import ModalityTokenCount, UsageMetadata

RECORDED = (b'{"serverContent": {"turnComplete": true}, "usageMetadata": {"promptTokenCount": 612,'
            b' "responseTokenCount": 96, "totalTokenCount": 708, "promptTokensDetails": ['
            b'{"modality": "TEXT", "tokenCount": 540}, {"modality": "AUDIO", "tokenCount": 72}],'
            b' "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 96}]}}')


def test_a_report_splits_prompt_and_response_by_modality() -> None:
    usage = decode_server(RECORDED).usage_metadata
    assert usage_json(usage) == {
        "prompt_tokens": 612, "response_tokens": 96, "total_tokens": 708,
        "prompt_by_modality": {"audio": 72, "text": 540},
        "response_by_modality": {"audio": 96}}


def test_vertex_candidates_names_and_numeric_modalities() -> None:
    # §8: Vertex says candidates*; §2: protobuf JSON may send an enum as its number
    usage = decode_server(b'{"usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,'
                          b' "totalTokenCount": 15, "promptTokensDetails": [{"modality": 4,'
                          b' "tokenCount": 10}], "candidatesTokensDetails": [{"modality":'
                          b' "AUDIO", "tokenCount": 5}]}}').usage_metadata
    assert usage is not None
    fields = usage_fields(usage)
    assert fields["response_tokens"] == 5
    assert fields["prompt_by_modality"] == {"audio": 10}
    assert fields["response_by_modality"] == {"audio": 5}
    assert modality_name("MODALITY_UNSPECIFIED") == "unspecified" and modality_name(2) == "image"


def test_a_session_sums_its_turns() -> None:
    tally = TokenTally()
    for prompt_audio, image, response in ((100, 0, 40), (150, 256, 60)):
        details = [ModalityTokenCount("AUDIO", prompt_audio), ModalityTokenCount("TEXT", 20)]
        if image:
            details.append(ModalityTokenCount("IMAGE", image))
        tally.add(UsageMetadata(
            prompt_token_count=prompt_audio + image + 20, response_token_count=response,
            total_token_count=prompt_audio + image + 20 + response,
            prompt_tokens_details=details,
            response_tokens_details=[ModalityTokenCount("AUDIO", response)]))
    assert tally.reports == 2 and tally.prompt == 546 and tally.response == 100
    assert tally.to_json()["prompt_by_modality"] == {"audio": 250, "text": 40, "image": 256}
    assert tally.summary() == ("prompt 546 (audio 250, text 40, image 256) · response 100 "
                               "(audio 100) · total 646")
    again = TokenTally()
    again.add_json(tally.to_json())  # what batch does with results.jsonl usage objects
    assert again.to_json() == tally.to_json()


def test_repeated_modalities_are_added_and_empty_details_left_out() -> None:
    assert by_modality([ModalityTokenCount("TEXT", 3), ModalityTokenCount("TEXT", 4)]) == {
        "text": 7}
    assert "prompt_by_modality" not in usage_fields(UsageMetadata(prompt_token_count=1))
