from __future__ import annotations

import pytest

from fireact_trainer.serve import RequestError, cut_at_stop, parse_request


def test_stop_sequences_cut_at_the_earliest_occurrence() -> None:
    text = "Thought: go\nAction: search[x]\nObservation: y"
    assert cut_at_stop(text, ["\nObservation", "Action"]) == "Thought: go\n"
    assert cut_at_stop(text, ["nothing"]) is None
    assert cut_at_stop(text, [""]) is None


def test_requests_are_read_as_openai_sends_them() -> None:
    req = parse_request({"model": "m", "messages": [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]}, {"role": "user", "content": "hi"}],
                         "max_completion_tokens": 9, "temperature": 0, "stop": "\n"}, 256)
    assert req["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert (req["max_tokens"], req["temperature"], req["stop"]) == (9, 0.0, ["\n"])
    assert parse_request({"messages": [{"role": "user", "content": "x"}]}, 256)["max_tokens"] == 256


@pytest.mark.parametrize("body,param", [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature"),
    ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
])
def test_bad_requests_are_400_naming_the_parameter(body: dict, param: str) -> None:
    with pytest.raises(RequestError) as e:
        parse_request(body, 256)
    assert e.value.status == 400 and e.value.param == param
