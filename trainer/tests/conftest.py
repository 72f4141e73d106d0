"""Shared fixtures: a tiny model made locally (nothing is downloaded) and FireAct-style chat data."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def fireact_conversations(n: int = 12) -> list[list[dict[str, str]]]:
    """Short trajectories in FireAct's shape: question, Thought/Action turns, Observation turns."""
    places = [("France", "Paris"), ("Peru", "Lima"), ("Japan", "Tokyo"), ("Egypt", "Cairo"), ("Norway", "Oslo"), ("Spain", "Madrid")]
    out = []
    for i in range(n):
        country, city = places[i % len(places)]
        out.append([
            {"role": "user", "content": f"What is the capital of {country}?"},
            {"role": "assistant", "content": f"Thought: I should search {country}.\nAction: search[{country}]"},
            {"role": "user", "content": f"Observation: {country} is a country whose capital is {city}."},
            {"role": "assistant", "content": f"Thought: The answer is {city}.\nAction: finish[{city}]"},
            {"role": "user", "content": "Observation: Episode finished, reward = 1"},
        ])
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fireact_trainer.init_model import init_model

    out = tmp_path_factory.mktemp("model") / "tiny"
    init_model(out, hidden=32, layers=2, heads=4, max_position=512, seed=0)
    return out


@pytest.fixture(scope="session")
def tokenizer(tiny_model: Path):
    from fireact_trainer.tokenizer import load_tokenizer

    return load_tokenizer(str(tiny_model))


@pytest.fixture()
def chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in fireact_conversations(12)))
    return path
