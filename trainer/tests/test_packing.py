from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from fireact_trainer.data import IGNORE, Row, collate, encode_all, pack

from conftest import fireact_conversations


def rows_for(tokenizer, n: int = 7, loss_on: str = "all") -> list[Row]:
    rows, _ = encode_all(tokenizer, fireact_conversations(n), loss_on, max_len=10_000)
    return rows


def test_packing_keeps_examples_whole_in_order_within_max_len(tokenizer) -> None:
    rows = rows_for(tokenizer)
    max_len = max(len(r.input_ids) for r in rows) * 2 + 7
    packed = pack(rows, max_len)
    assert 1 < len(packed) < len(rows)
    assert all(len(p.input_ids) <= max_len for p in packed)
    assert sum(p.n_examples for p in packed) == len(rows)
    assert [t for p in packed for t in p.input_ids] == [t for r in rows for t in r.input_ids]


def test_positions_restart_and_no_label_crosses_a_boundary(tokenizer) -> None:
    rows = rows_for(tokenizer, loss_on="all")
    packed = pack(rows, 10_000)[0]
    assert packed.position_ids is not None and packed.n_examples == len(rows)
    offset = 0
    for r in rows:
        n = len(r.input_ids)
        assert packed.position_ids[offset : offset + n] == list(range(n))
        # The first token of every example is never a target (it would be predicted from the previous one)...
        assert packed.labels[offset] == IGNORE
        # ...and every other label is the example's own.
        assert packed.labels[offset + 1 : offset + n] == r.labels[1:]
        offset += n
    assert offset == len(packed.input_ids)


def test_packing_keeps_assistant_only_masks(tokenizer) -> None:
    rows = rows_for(tokenizer, loss_on="assistant")
    packed = pack(rows, 10_000)[0]
    assert sum(l != IGNORE for l in packed.labels) == sum(l != IGNORE for r in rows for l in r.labels[1:])


def test_an_example_longer_than_max_len_is_refused(tokenizer) -> None:
    rows = rows_for(tokenizer, 1)
    with pytest.raises(ValueError):
        pack(rows, len(rows[0].input_ids) - 1)


def test_collate_pads_with_masked_labels(tokenizer) -> None:
    rows = rows_for(tokenizer, 3)
    batch = collate(rows, tokenizer.pad_token_id)
    width = max(len(r.input_ids) for r in rows)
    assert batch["input_ids"].shape == (3, width) and "position_ids" not in batch
    for i, r in enumerate(rows):
        n = len(r.input_ids)
        assert batch["attention_mask"][i].tolist() == [1] * n + [0] * (width - n)
        assert batch["labels"][i, n:].eq(IGNORE).all()
        assert batch["input_ids"][i, n:].eq(tokenizer.pad_token_id).all()


def test_a_packed_example_sees_only_itself(tiny_model, tokenizer) -> None:
    """The logits of each example inside a packed, padded row equal its logits when run alone."""
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model)).eval()
    rows = rows_for(tokenizer, 3)
    packed = pack(rows, 10_000)
    short = pack(rows[:1], 10_000)
    batch = collate([packed[0], short[0]], tokenizer.pad_token_id)  # the second row is padded
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        offset = 0
        for r in rows:
            alone = model(input_ids=torch.tensor([r.input_ids]), use_cache=False).logits[0]
            n = len(r.input_ids)
            torch.testing.assert_close(logits[0, offset : offset + n], alone, rtol=1e-4, atol=1e-4)
            offset += n
        torch.testing.assert_close(logits[1, : len(rows[0].input_ids)], model(input_ids=torch.tensor([rows[0].input_ids]), use_cache=False).logits[0], rtol=1e-4, atol=1e-4)
