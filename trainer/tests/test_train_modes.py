from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from fireact_trainer.cli import main


def train(model: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--model", str(model), "--data", str(data), "--out", str(out), "--lr", "5e-3", "--save-every", "0", *extra])


def test_full_fine_tuning_with_packing_bf16_and_loss_on_all(tiny_model: Path, chat_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "full"
    code = train(tiny_model, chat_file, out, "--full", "--packing", "--max-len", "512", "--loss-on", "all", "--bf16", "on", "--epochs", "2", "--batch-size", "2")
    assert code == 0
    events = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    start = events[0]
    assert start["event"] == "start" and start["bf16"] is True
    assert start["sequences"] < start["examples"] == 12  # packed
    result = json.loads((out / "result.json").read_text())
    assert result["method"] == "full" and result["epochs_completed"] == 2
    assert result["step"] == 2 * -(-start["sequences"] // 2)
    before = AutoModelForCausalLM.from_pretrained(str(tiny_model)).state_dict()
    after = AutoModelForCausalLM.from_pretrained(str(out / "final")).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "full fine-tuning changed the weights"


def test_grad_accum_changes_memory_not_the_update(tiny_model: Path, chat_file: Path, tmp_path: Path) -> None:
    common = ("--max-steps", "1", "--lora", "4,8,0.0")
    assert train(tiny_model, chat_file, tmp_path / "a", *common, "--batch-size", "4", "--grad-accum", "1") == 0
    assert train(tiny_model, chat_file, tmp_path / "b", *common, "--batch-size", "2", "--grad-accum", "2") == 0
    a = load_file(tmp_path / "a" / "final" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "final" / "adapter_model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)


def test_merge_saves_a_plain_model_equal_to_base_plus_adapter(tiny_model: Path, chat_file: Path, tmp_path: Path) -> None:
    from peft import PeftModel

    out = tmp_path / "lora"
    assert train(tiny_model, chat_file, out, "--max-steps", "3", "--lora", "4,8,0.0", "--merge") == 0
    result = json.loads((out / "result.json").read_text())
    assert result["merged_path"] == str(out / "merged")
    assert not (out / "merged" / "adapter_config.json").exists()
    ids = torch.tensor([[1, 2, 3, 60, 70, 80, 257]])
    with torch.no_grad():
        adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model)), str(out / "final")).eval()(input_ids=ids).logits
        merged = AutoModelForCausalLM.from_pretrained(str(out / "merged")).eval()(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(str(tiny_model)).eval()(input_ids=ids).logits
    torch.testing.assert_close(merged, adapted, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(base, adapted), "the adapter learned something"


def test_bad_input_exits_2_with_an_error_event(tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": "nope"}\n')
    assert train(tiny_model, bad, tmp_path / "out") == 2
    assert train(tmp_path / "no-such-model", bad, tmp_path / "out2") == 2
    errors = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in errors] == ["error", "error"]
    assert "bad.jsonl:1" in errors[0]["message"] and errors[0]["kind"] == "bad_input"
