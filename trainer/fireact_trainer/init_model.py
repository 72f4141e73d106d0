"""A small Llama-architecture model from a config, randomly initialised, saved as an ordinary
Hugging Face model directory (config.json, model.safetensors, generation_config.json, tokenizer files
with the chat template), for when no pretrained weights can be had."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from . import checkpoint as ckpt
from .tokenizer import build_bpe_tokenizer, build_byte_tokenizer, corpus_texts

log = logging.getLogger("fireact_trainer.init_model")


def build_tokenizer(vocab: str, vocab_size: int, corpus: str | None) -> Any:
    if vocab == "byte":
        return build_byte_tokenizer()
    if vocab == "bpe":
        if not corpus:
            raise ValueError("--vocab bpe needs --corpus (a chat JSONL or a text file)")
        return build_bpe_tokenizer(corpus_texts(Path(corpus)), vocab_size)
    raise ValueError(f"unknown --vocab {vocab!r} (byte or bpe)")


def init_model(
    out: Path,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int | None = None,
    intermediate: int | None = None,
    max_position: int = 2048,
    vocab: str = "byte",
    vocab_size: int = 1024,
    corpus: str | None = None,
    seed: int = 0,
) -> Path:
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    if hidden % heads:
        raise ValueError("--hidden must be a multiple of --heads")
    tokenizer = build_tokenizer(vocab, vocab_size, corpus)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate or 4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads,
        max_position_embeddings=max_position,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, max_new_tokens=256, do_sample=False
    )
    log.info("llama %d layers x %d hidden, vocab %d, %d parameters", layers, hidden, len(tokenizer), model.num_parameters())

    def write(tmp: Path) -> None:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))

    return ckpt.write_dir_atomically(out, write, marker=False)
