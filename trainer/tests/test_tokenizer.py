from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from fireact_trainer.tokenizer import END, SPECIAL_TOKENS, build_bpe_tokenizer, build_byte_tokenizer

SAMPLES = [
    "",
    "Thought: I need to search.\nAction: search[Badr Hari]",
    "  leading and trailing spaces  ",
    "tabs\tand\r\nwindows newlines\n\n",
    "Ünïcödé — 漢字かな 🙂 \u00a0nbsp \u200b zero-width",
    "\x00\x01 control bytes \x7f",
    "<|user|> looks special but is text in the middle: <|end",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_byte_tokenizer_round_trips_every_string(text: str) -> None:
    tok = build_byte_tokenizer()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text


def test_byte_tokenizer_is_one_token_per_utf8_byte_with_ids_equal_to_byte_values() -> None:
    tok = build_byte_tokenizer()
    text = "Aé漢🙂"
    assert tok(text, add_special_tokens=False)["input_ids"] == list(text.encode("utf-8"))


def test_special_tokens_are_single_ids_after_the_bytes(tmp_path: Path) -> None:
    tok = build_byte_tokenizer()
    tok.save_pretrained(str(tmp_path))
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    for s in SPECIAL_TOKENS:
        ids = loaded(s, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] >= 256, s
    assert loaded.eos_token == END
    assert len(loaded) == 256 + len(SPECIAL_TOKENS)
    text = SAMPLES[4]
    assert loaded.decode(loaded(text, add_special_tokens=False)["input_ids"]) == text


def test_chat_template_survives_save_and_load(tmp_path: Path) -> None:
    tok = build_byte_tokenizer()
    tok.save_pretrained(str(tmp_path))
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    assert loaded.apply_chat_template(messages, tokenize=False) == "<|system|>\nS<|end|>\n<|user|>\nQ<|end|>\n<|assistant|>\nA<|end|>\n"
    assert loaded.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True).endswith("<|user|>\nQ<|end|>\n<|assistant|>\n")


def test_bpe_tokenizer_learns_merges_and_still_round_trips_unseen_text() -> None:
    corpus = ["Thought: I need to search.\nAction: search[x]"] * 50
    tok = build_bpe_tokenizer(corpus, vocab_size=400)
    seen = "Thought: I need to search."
    assert len(tok(seen, add_special_tokens=False)["input_ids"]) < len(seen.encode()) / 2
    for text in SAMPLES:
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
