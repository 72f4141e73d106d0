"""Checkpoint directories that count only when whole.

The Trainer writes `checkpoint-<step>/` in place; once every rank has written its part, every file is
fsynced and a COMPLETE marker written last (`mark_complete`). Directories we write ourselves (final/,
merged/) are written into a hidden temporary directory and renamed into place. A checkpoint without
the marker, or a leftover temporary directory, is the trace of a crash: it is removed on start and
never resumed from. Old checkpoints are renamed away before they are deleted, so a
crash mid-delete cannot leave a marked but gutted checkpoint.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Callable

COMPLETE = "COMPLETE"
PREFIX = "checkpoint-"
_STEP_DIR = re.compile(r"^checkpoint-(\d+)$")
_TEMP_PREFIXES = (".tmp-", ".trash-")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flushes every file and directory under root (directories too, so their entries are durable)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def write_dir_atomically(target: Path, write: Callable[[Path], None], marker: bool = True) -> Path:
    """Calls write(tmp_dir), then makes tmp_dir appear as target in one rename.

    With marker, a COMPLETE file is the last thing written before the rename. An existing target is
    replaced (moved aside first, then deleted).
    """
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{target.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    write(tmp)
    if marker:
        (tmp / COMPLETE).write_text(json.dumps({"written_at": time.time()}) + "\n")
    return publish_dir(tmp, target)


def mark_complete(path: Path) -> None:
    """Flushes a checkpoint written in place (by the Trainer), then writes its COMPLETE marker last."""
    fsync_tree(path)
    marker = path / COMPLETE
    marker.write_text(json.dumps({"written_at": time.time()}) + "\n")
    _fsync_path(marker)
    _fsync_path(path)


def publish_dir(tmp: Path, target: Path) -> Path:
    """Makes a fully written tmp directory appear as target in one rename (replacing target)."""
    fsync_tree(tmp)
    if target.exists():
        _remove(target)
    os.rename(tmp, target)
    _fsync_path(target.parent)
    return target


def _remove(path: Path) -> None:
    trash = path.parent / f".trash-{path.name}-{os.getpid()}"
    if trash.exists():
        shutil.rmtree(trash)
    os.rename(path, trash)
    _fsync_path(path.parent)
    shutil.rmtree(trash)


def is_complete(path: Path) -> bool:
    return (path / COMPLETE).is_file()


def step_of(path: Path) -> int | None:
    m = _STEP_DIR.match(path.name)
    return int(m.group(1)) if m else None


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under out, oldest first."""
    if not out.is_dir():
        return []
    found = []
    for p in out.iterdir():
        step = step_of(p)
        if step is not None and p.is_dir() and is_complete(p):
            found.append((step, p))
    return sorted(found)


def newest_checkpoint(out: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(out)
    return found[-1] if found else None


def remove_incomplete(out: Path) -> list[Path]:
    """Deletes half-written checkpoints and temporary leftovers; returns what it removed."""
    removed: list[Path] = []
    if not out.is_dir():
        return removed
    for p in sorted(out.iterdir()):
        leftover = p.name.startswith(_TEMP_PREFIXES)
        unmarked = step_of(p) is not None and not is_complete(p)
        if p.is_dir() and (leftover or unmarked):
            shutil.rmtree(p)
            removed.append(p)
    return removed


def checkpoint_path(out: Path, step: int) -> Path:
    return out / f"{PREFIX}{step}"


def prune(out: Path, keep: int) -> list[Path]:
    """Keeps the newest `keep` complete checkpoints (at least one), deletes the rest."""
    found = list_checkpoints(out)
    doomed = [p for _, p in found[: max(0, len(found) - max(1, keep))]]
    for p in doomed:
        _remove(p)
    return doomed
