"""Packing as the trainer runs it: our labels, TRL's best-fit-decreasing packing and padding-free collator."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM
from trl import pack_dataset
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from fireact_trainer.data import IGNORE
from fireact_trainer.train import training_dataset

from conftest import fireact_conversations


def dataset_for(tmp_path: Path, tokenizer, n: int, loss_on: str):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in fireact_conversations(n)))
    ds, examples = training_dataset(tokenizer, data, loss_on, max_len=10_000)
    assert examples == n
    return ds


def test_bfd_packing_keeps_every_example_whole_with_its_labels(tmp_path: Path, tokenizer) -> None:
    ds = dataset_for(tmp_path, tokenizer, 7, "assistant")
    lengths = [len(x) for x in ds["input_ids"]]
    max_len = max(lengths) * 2 + 7
    packed = pack_dataset(ds, max_len, "bfd")
    assert 1 < len(packed) < len(ds)
    assert all(len(row) <= max_len for row in packed["input_ids"])
    # Each packed row is a run of whole examples (seq_lengths), each identical to one original example.
    originals = sorted(zip(map(tuple, ds["input_ids"]), map(tuple, ds["labels"])))
    pieces = []
    for ids, labels, seq_lengths in zip(packed["input_ids"], packed["labels"], packed["seq_lengths"]):
        offset = 0
        for n in seq_lengths:
            pieces.append((tuple(ids[offset : offset + n]), tuple(labels[offset : offset + n])))
            offset += n
        assert offset == len(ids)
    assert sorted(pieces) == originals


def test_padding_free_batches_restart_positions_and_mask_each_first_label(tmp_path: Path, tokenizer) -> None:
    ds = dataset_for(tmp_path, tokenizer, 5, "all")
    packed = pack_dataset(ds, 10_000, "bfd")
    batch = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)([packed[0]])
    assert "attention_mask" not in batch
    pos, labels = batch["position_ids"][0].tolist(), batch["labels"][0].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    assert len(starts) == 5
    for s in starts:
        assert labels[s] == IGNORE  # never trained to predict an example's first token from the previous one


def test_a_packed_example_sees_only_itself(tmp_path: Path, tiny_model, tokenizer) -> None:
    """The logits of each example inside a padding-free packed row equal its logits when run alone."""
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), attn_implementation="sdpa").eval()
    ds = dataset_for(tmp_path, tokenizer, 3, "all")
    packed = pack_dataset(ds, 10_000, "bfd")
    batch = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)([packed[0]])
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        offset = 0
        for n in packed[0]["seq_lengths"]:
            ids = batch["input_ids"][0, offset : offset + n]
            alone = model(input_ids=ids[None], use_cache=False).logits[0]
            torch.testing.assert_close(logits[offset : offset + n], alone, rtol=1e-4, atol=1e-4)
            offset += n
