from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from fireact_trainer import checkpoint as ckpt
from fireact_trainer.cli import main


def make_checkpoint(out: Path, step: int, complete: bool = True) -> Path:
    def write(tmp: Path) -> None:
        (tmp / "weights.bin").write_bytes(b"w" * 100)

    path = ckpt.write_dir_atomically(ckpt.checkpoint_path(out, step), write)
    if not complete:
        (path / ckpt.COMPLETE).unlink()
    return path


def test_a_checkpoint_appears_whole_with_its_marker_or_not_at_all(tmp_path: Path) -> None:
    def crash(tmp: Path) -> None:
        (tmp / "weights.bin").write_bytes(b"half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        ckpt.write_dir_atomically(ckpt.checkpoint_path(tmp_path, 5), crash)
    assert not ckpt.checkpoint_path(tmp_path, 5).exists()
    assert ckpt.newest_checkpoint(tmp_path) is None
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-checkpoint-5")

    good = make_checkpoint(tmp_path, 3)
    assert sorted(p.name for p in good.iterdir()) == [ckpt.COMPLETE, "weights.bin"]
    assert ckpt.remove_incomplete(tmp_path) == [tmp_path / leftovers[0]]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-3"]


def test_resume_picks_the_newest_complete_checkpoint_and_drops_unmarked_ones(tmp_path: Path) -> None:
    make_checkpoint(tmp_path, 2)
    make_checkpoint(tmp_path, 10)  # numeric order, not lexical: 10 is newer than 9
    make_checkpoint(tmp_path, 9)
    make_checkpoint(tmp_path, 12, complete=False)
    assert ckpt.newest_checkpoint(tmp_path) == (10, tmp_path / "checkpoint-10")
    assert ckpt.remove_incomplete(tmp_path) == [tmp_path / "checkpoint-12"]
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [2, 9, 10]


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for s in (1, 2, 3, 4):
        make_checkpoint(tmp_path, s)
    ckpt.prune(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3", "checkpoint-4"]
    ckpt.prune(tmp_path, 0)  # never deletes the last one
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-4"]


def events(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def train(model: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--model", str(model), "--data", str(data), "--out", str(out), "--batch-size", "4",
                 "--max-steps", "6", "--save-every", "3", "--lr", "5e-3", "--lora", "4,8,0.1", *extra])


def test_a_resumed_run_continues_the_step_count_and_ends_where_an_unbroken_run_ends(tiny_model: Path, chat_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "whole"
    assert train(tiny_model, chat_file, whole, "--keep", "5") == 0
    ev = events(capsys)
    assert [e["step"] for e in ev if e["event"] == "step"] == [1, 2, 3, 4, 5, 6]
    assert [e["step"] for e in ev if e["event"] == "checkpoint"] == [3]
    assert ev[-1]["event"] == "done" and ev[-1]["step"] == 6

    # A run killed after step 3: its checkpoint-3, a half-written checkpoint-4 and a temp dir.
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copytree(whole / "checkpoint-3", broken / "checkpoint-3")
    shutil.copytree(whole / "checkpoint-3", broken / "checkpoint-4")
    (broken / "checkpoint-4" / ckpt.COMPLETE).unlink()
    (broken / ".tmp-checkpoint-5-123").mkdir()
    assert train(tiny_model, chat_file, broken) == 0
    ev = events(capsys)
    assert [e for e in ev if e["event"] == "resumed"][0]["step"] == 3
    assert [e["step"] for e in ev if e["event"] == "step"] == [4, 5, 6]
    assert not (broken / "checkpoint-4").exists() and not (broken / ".tmp-checkpoint-5-123").exists()

    # Same data order, optimizer, schedule and dropout draws: the same adapter, to float tolerance.
    a = load_file(whole / "final" / "adapter_model.safetensors")
    b = load_file(broken / "final" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] - b[k]).abs().max().item() < 1e-6, k
    ra, rb = (json.loads((d / "result.json").read_text()) for d in (whole, broken))
    assert ra["step"] == rb["step"] == 6
    assert abs(ra["train_loss"] - rb["train_loss"]) < 1e-6

    # Run again after done: nothing is trained, the same result is reported.
    assert train(tiny_model, chat_file, broken) == 0
    assert events(capsys) == [{"event": "done", "step": 6, "path": rb["final_path"], "train_loss": rb["train_loss"]}]


def test_checkpoints_of_another_run_are_not_resumed(tiny_model: Path, chat_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert train(tiny_model, chat_file, out, "--max-steps", "3", "--save-every", "1") == 0
    assert ckpt.newest_checkpoint(out) is not None
    (out / "result.json").unlink()
    assert train(tiny_model, chat_file, out, "--max-steps", "5") == 2  # a different schedule
    assert events(capsys)[-1]["event"] == "error"
