"""Chat JSONL to training sequences: rendering with the tokenizer's chat template and label masks.

Masks come from the template itself: an assistant turn k covers the characters between the rendering
of messages[:k] with the generation prompt (so the "assistant" header is context, not target) and the
rendering of messages[:k+1] (so the end-of-turn token is a target: the model learns to stop). Tokens
are labelled by their character offsets in the rendering of the whole conversation, so the mask is
exactly the template's, for any template that renders conversations prefix by prefix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

IGNORE = -100


class DataError(ValueError):
    """The data or the template cannot give training examples (bad line, template not prefix-stable)."""


@dataclass
class Row:
    """One training example: token ids and labels (IGNORE where no loss)."""

    input_ids: list[int]
    labels: list[int]


@dataclass
class EncodeStats:
    examples: int = 0
    dropped_no_target: int = 0
    truncated: int = 0
    label_tokens: int = 0
    tokens: int = 0
    notes: list[str] = field(default_factory=list)


def read_chat_jsonl(path: str | Path) -> list[list[dict[str, Any]]]:
    """Conversations from OpenAI chat JSONL ({"messages": [...]} per line); blank lines skipped."""
    conversations = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not JSON ({e})") from e
            messages = obj.get("messages") if isinstance(obj, dict) else None
            if not isinstance(messages, list) or not messages:
                raise DataError(f"{path}:{n}: no messages array")
            for i, m in enumerate(messages):
                if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
                    raise DataError(f"{path}:{n}: messages[{i}] needs a role (system/user/assistant) and string content")
            conversations.append(messages)
    if not conversations:
        raise DataError(f"{path}: no examples")
    return conversations


def render(tokenizer: Any, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = False) -> str:
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    return tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of the assistant turns to train on.

    An assistant message with "weight": 0 (OpenAI's fine-tuning format) is left out.
    """
    full = render(tokenizer, messages)
    spans = []
    for k, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight", 1) == 0:
            continue
        before = render(tokenizer, messages[:k], add_generation_prompt=True) if k > 0 else ""
        through = render(tokenizer, messages[: k + 1])
        if not (full.startswith(through) and through.startswith(before)):
            raise DataError(
                "the chat template does not render conversations prefix by prefix (an earlier turn renders "
                "differently once later turns follow), so assistant turns cannot be masked exactly; use "
                "--loss-on all or a template without that behaviour"
            )
        spans.append((len(before), len(through)))
    return full, spans


def encode(tokenizer: Any, messages: Sequence[dict[str, Any]], loss_on: str = "assistant") -> Row:
    """Token ids and labels for one conversation, untruncated."""
    if not getattr(tokenizer, "is_fast", False):
        raise DataError("a fast tokenizer is needed (character offsets make the masks exact)")
    if loss_on == "all":
        ids = tokenizer(render(tokenizer, messages), add_special_tokens=False)["input_ids"]
        return Row(ids, list(ids))
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    labels = [IGNORE] * len(ids)
    for i, (start, end) in enumerate(enc["offset_mapping"]):
        if end > start and any(s <= start < e for s, e in spans):
            labels[i] = ids[i]
    return Row(ids, labels)


def encode_all(tokenizer: Any, conversations: Sequence[Sequence[dict[str, Any]]], loss_on: str, max_len: int) -> tuple[list[Row], EncodeStats]:
    """Encodes and truncates every conversation to max_len; drops those left with nothing to learn."""
    out = []
    stats = EncodeStats()
    for messages in conversations:
        seq = encode(tokenizer, messages, loss_on)
        if len(seq.input_ids) > max_len:
            stats.truncated += 1
            seq = Row(seq.input_ids[:max_len], seq.labels[:max_len])
        n_targets = sum(1 for x in seq.labels[1:] if x != IGNORE)
        if n_targets == 0:
            stats.dropped_no_target += 1
            continue
        stats.examples += 1
        stats.label_tokens += n_targets
        stats.tokens += len(seq.input_ids)
        out.append(seq)
    if not out:
        raise DataError("no example has a target token left (all masked or truncated away)")
    return out, stats
