"""Tokenizers built locally for models made from a config (no pretrained weights can be fetched).

Two kinds: a pure byte-level tokenizer (one token per UTF-8 byte, ids 0-255 are the byte values) and
a byte-level BPE trained with `tokenizers` on a corpus. Both carry the same special tokens and the
same chat template, and save as ordinary Hugging Face tokenizer files.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD = "<|pad|>"
END = "<|end|>"  # ends every turn; the eos token, so generation stops after one assistant turn
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, END, *ROLE_TOKENS]

# Renders system/user/assistant turns as "<|role|>\n{content}{eos}\n". Written against eos_token
# rather than a fixed string so that it also serves base models that ship without a template.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}"
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (what ByteLevel pre-tokenizes into)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def _wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=END,
        pad_token=PAD,
        extra_special_tokens=ROLE_TOKENS,
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_byte_tokenizer() -> PreTrainedTokenizerFast:
    """One token per byte: a BPE with the 256 byte symbols as its vocabulary and no merges."""
    vocab = {ch: b for b, ch in bytes_to_unicode().items()}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    # No regex split: bytes are bytes, whatever the script or spacing.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIAL_TOKENS)
    return _wrap(tok)


def corpus_texts(path: Path) -> Iterator[str]:
    """Texts to train a BPE on: the message contents of chat JSONL lines, other lines as they are."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict) and isinstance(obj.get("messages"), list):
                    yield from (m["content"] for m in obj["messages"] if isinstance(m, dict) and isinstance(m.get("content"), str))
                    continue
            yield line


def build_bpe_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on `texts`; every byte stays representable whatever the corpus."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return _wrap(tok)


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # padding is never attended nor trained on
    if not tok.chat_template:
        logging.getLogger("fireact_trainer.tokenizer").warning("%s has no chat template; using fireact's (<|role|> headers, eos after each turn)", model)
        tok.chat_template = CHAT_TEMPLATE
    return tok
