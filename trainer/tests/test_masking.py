from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireact_trainer.data import IGNORE, DataError, encode, encode_all, read_chat_jsonl, render

from conftest import fireact_conversations

CONVERSATION = [
    {"role": "system", "content": "You answer with Thought and Action."},
    {"role": "user", "content": "Who wrote Hamlet?"},
    {"role": "assistant", "content": "Thought: search it.\nAction: search[Hamlet]"},
    {"role": "user", "content": "Observation: Hamlet is a tragedy by William Shakespeare."},
    {"role": "assistant", "content": "Thought: found it.\nAction: finish[William Shakespeare]"},
    {"role": "user", "content": "Observation: Episode finished, reward = 1"},
]


def labelled_runs(tokenizer, ids: list[int], labels: list[int]) -> list[str]:
    """The text of each maximal run of labelled tokens."""
    runs, current = [], []
    for i, l in zip(ids, labels):
        if l != IGNORE:
            assert l == i
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tokenizer.decode(r, skip_special_tokens=False) for r in runs]


def test_assistant_only_labels_exactly_the_assistant_turns_and_their_end_token(tokenizer) -> None:
    row = encode(tokenizer, CONVERSATION, "assistant")
    assert len(row.input_ids) == len(row.labels)
    assert labelled_runs(tokenizer, row.input_ids, row.labels) == [
        "Thought: search it.\nAction: search[Hamlet]<|end|>\n",
        "Thought: found it.\nAction: finish[William Shakespeare]<|end|>\n",
    ]
    masked = tokenizer.decode([i for i, l in zip(row.input_ids, row.labels) if l == IGNORE], skip_special_tokens=False)
    assert "Observation" in masked and "Who wrote Hamlet?" in masked and "You answer" in masked
    assert masked.count("<|assistant|>") == 2  # the header is context, not target


def test_loss_on_all_labels_every_token(tokenizer) -> None:
    row = encode(tokenizer, CONVERSATION, "all")
    assert row.labels == row.input_ids
    assert tokenizer.decode(row.input_ids, skip_special_tokens=False) == render(tokenizer, CONVERSATION)


def test_an_assistant_turn_with_weight_zero_is_not_trained(tokenizer) -> None:
    messages = [dict(m) for m in CONVERSATION]
    messages[2]["weight"] = 0
    row = encode(tokenizer, messages, "assistant")
    assert labelled_runs(tokenizer, row.input_ids, row.labels) == ["Thought: found it.\nAction: finish[William Shakespeare]<|end|>\n"]


def test_masks_follow_any_prefix_stable_template(tokenizer) -> None:
    # A Llama-3-like template written in plain text markers, with a bos and a different turn layout.
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    tok.chat_template = (
        "BOS{% for m in messages %}[{{ m['role'] | upper }}]{{ m['content'] }}[/{{ m['role'] | upper }}]{% endfor %}"
        "{% if add_generation_prompt %}[ASSISTANT]{% endif %}"
    )
    row = encode(tok, CONVERSATION[:4], "assistant")
    assert labelled_runs(tok, row.input_ids, row.labels) == ["Thought: search it.\nAction: search[Hamlet][/ASSISTANT]"]


def test_a_template_that_rewrites_earlier_turns_is_refused(tokenizer) -> None:
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    # Renders the number of messages up front, so a prefix renders differently from the whole.
    tok.chat_template = "{{ messages | length }}{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}>{% endif %}"
    with pytest.raises(DataError, match="prefix"):
        encode(tok, CONVERSATION, "assistant")
    assert encode(tok, CONVERSATION, "all").labels  # --loss-on all needs no spans


def test_truncation_keeps_the_start_and_drops_examples_left_without_targets(tokenizer) -> None:
    convs = fireact_conversations(3)
    first_targets = [next(i for i, l in enumerate(encode(tokenizer, c, "assistant").labels) if l != IGNORE) for c in convs]
    rows, stats = encode_all(tokenizer, convs, "assistant", max_len=max(first_targets) + 5)
    assert stats.truncated == 3 and stats.examples == 3
    assert all(len(r.input_ids) == max(first_targets) + 5 for r in rows)
    rows, stats = encode_all(tokenizer, convs, "assistant", max_len=max(first_targets))
    assert stats.examples == 2 and stats.dropped_no_target == 1
    with pytest.raises(DataError):
        encode_all(tokenizer, convs, "assistant", max_len=min(first_targets))


def test_read_chat_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"messages": CONVERSATION})
    path.write_text(good + "\n\n" + json.dumps({"messages": [{"role": "tool", "content": "x"}]}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:3"):
        read_chat_jsonl(path)
    path.write_text(good + "\n")
    assert read_chat_jsonl(path) == [CONVERSATION]
