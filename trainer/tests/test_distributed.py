"""Two CPU processes over gloo, launched the way the fine-tune activity launches them
(`accelerate launch --multi_gpu --num_processes 2 -m fireact_trainer train ...`)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_TRAINER = Path(__file__).resolve().parents[1]


def launch(processes: int, model: Path, data: Path, out: Path, *extra: str, kill_after_checkpoint: bool = False) -> tuple[int, list[dict]]:
    common = ["train", "--model", str(model), "--data", str(data), "--out", str(out), "--max-steps", "4", "--save-every", "2", "--lr", "5e-3", *extra]
    if processes == 1:
        cmd = [sys.executable, "-m", "fireact_trainer", *common]
    else:
        accelerate = str(Path(sys.executable).with_name("accelerate"))
        cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1", "--main_process_port", "0", "-m", "fireact_trainer", *common]
    env = {**os.environ, "PYTHONPATH": str(REPO_TRAINER), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True)
    events = []
    assert proc.stdout is not None
    for line in proc.stdout:
        events.append(json.loads(line))
        if kill_after_checkpoint and events[-1]["event"] == "checkpoint":
            os.killpg(proc.pid, signal.SIGKILL)  # a preempted node: every rank dies at once
            break
    return proc.wait(timeout=300), events


# Two ranks average gradients in another order than one process sums them; Adam magnifies such
# rounding a little. A wrong batch or data order moves the loss by far more (~1e-2 per step here).
CROSS_WORLD_TOLERANCE = 1e-3


def losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in events if e["event"] == "step"}


def test_two_processes_ddp_train_as_one_process_with_the_global_batch(tiny_model: Path, chat_file: Path, tmp_path: Path) -> None:
    code, one = launch(1, tiny_model, chat_file, tmp_path / "one", "--batch-size", "4")
    assert code == 0
    code, two = launch(2, tiny_model, chat_file, tmp_path / "two", "--batch-size", "2")
    assert code == 0, two
    start = two[0]
    assert start["event"] == "start" and start["world_size"] == 2 and start["fsdp_units"] == 0
    assert [e["event"] for e in two].count("start") == 1, "only rank 0 prints events"
    a, b = losses(one), losses(two)
    assert list(b) == [1, 2, 3, 4]
    for step in a:
        assert abs(a[step] - b[step]) < CROSS_WORLD_TOLERANCE, (step, a[step], b[step])
    result = json.loads((tmp_path / "two" / "result.json").read_text())
    assert result["world_size"] == 2 and result["step"] == 4
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoint-2").glob("rng_state_*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]


def test_two_processes_killed_mid_run_resume_and_match_an_unbroken_run(tiny_model: Path, chat_file: Path, tmp_path: Path) -> None:
    code, whole = launch(1, tiny_model, chat_file, tmp_path / "whole", "--full", "--batch-size", "4")
    assert code == 0
    out = tmp_path / "two"
    common = ("--full", "--batch-size", "2")
    code, first = launch(2, tiny_model, chat_file, out, *common, kill_after_checkpoint=True)
    assert code != 0 and first[-1] == {"event": "checkpoint", "step": 2, "path": str(out / "checkpoint-2")}
    code, second = launch(2, tiny_model, chat_file, out, *common)
    assert code == 0, second
    assert second[0] == {"event": "resumed", "step": 2, "path": str(out / "checkpoint-2")}
    a, b = losses(whole), {**losses(first), **losses(second)}
    assert sorted(b) == [1, 2, 3, 4] and sorted(losses(second)) == [3, 4]
    for step in a:
        assert abs(a[step] - b[step]) < CROSS_WORLD_TOLERANCE, (step, a[step], b[step])


def test_fsdp_and_zero3_settings_handed_to_the_trainer() -> None:
    from types import SimpleNamespace

    from fireact_trainer.train import sharding_kwargs

    model = SimpleNamespace(_no_split_modules=["LlamaDecoderLayer"])
    fsdp = sharding_kwargs(SimpleNamespace(sharding="fsdp", gradient_checkpointing=True), model)
    assert fsdp["fsdp"] is True
    assert fsdp["fsdp_config"] == {"version": 2, "reshard_after_forward": True, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                                   "activation_checkpointing": True, "state_dict_type": "FULL_STATE_DICT",
                                   "transformer_layer_cls_to_wrap": ["LlamaDecoderLayer"]}
    zero3 = sharding_kwargs(SimpleNamespace(sharding="zero3", gradient_checkpointing=False), model)["deepspeed"]
    assert zero3["zero_optimization"]["stage"] == 3 and zero3["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"]
    assert sharding_kwargs(SimpleNamespace(sharding="ddp", gradient_checkpointing=False), model) == {}


@pytest.mark.parametrize("flags, says", [
    (("--qlora",), "--qlora needs a CUDA GPU"),
    (("--full", "--sharding", "zero3"), "--sharding zero3 needs DeepSpeed, which is not installed"),
    (("--full", "--sharding", "fsdp"), "--sharding fsdp needs CUDA GPUs"),
])
def test_what_this_machine_cannot_run_is_refused_as_bad_input(tiny_model: Path, chat_file: Path, tmp_path: Path, flags: tuple[str, ...], says: str) -> None:
    code, events = launch(1, tiny_model, chat_file, tmp_path / "out", *flags)
    assert code == 2
    assert events[-1]["event"] == "error" and events[-1]["kind"] == "bad_input"
    assert events[-1]["message"].startswith(says), events[-1]["message"]
    assert not (tmp_path / "out").exists(), "nothing written"
