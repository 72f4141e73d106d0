"""Supervised fine-tuning on chat JSONL: LoRA (peft) or full, resumable from atomic checkpoints.

A step is one optimizer update (grad_accum micro-batches). The loss is the mean over target tokens
of the whole accumulation window, so grad_accum changes memory, not the objective. Data order is a
function of (seed, epoch), which lets a resumed run pick up at the next unseen batch.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import signal
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

from . import checkpoint as ckpt
from .data import IGNORE, DataError, Row, collate, encode_all, pack, read_chat_jsonl, real_tokens
from .distributed import Dist
from .events import emit
from .tokenizer import load_tokenizer

log = logging.getLogger("fireact_trainer.train")

EXIT_DONE = 0
EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped on request after saving a checkpoint; run again to resume


@dataclass
class State:
    """What a checkpoint must restore besides weights and optimizer: where the run stands."""

    step: int = 0
    epoch: int = 0
    window: int = 0  # next accumulation window of `epoch` to run
    tokens: int = 0
    loss_sum: float = 0.0  # summed token losses since the start of training (all runs)
    loss_tokens: int = 0
    elapsed: float = 0.0  # training seconds over all runs
    fingerprint: str = ""


@dataclass
class Plan:
    rows: list[Row]
    total_steps: int
    steps_per_epoch: int
    fingerprint: str


class StopRequest:
    """SIGTERM/SIGINT ask for a clean stop: the current step ends, a checkpoint is saved."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> dict[int, Any]:
        """Installs the handlers; returns the previous ones (for restore)."""
        return {sig: signal.signal(sig, self._handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def restore(previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: Any) -> None:
        if not self.requested:
            log.info("signal %d: stopping after the current step", signum)
        self.requested = True


def parse_lora(spec: str) -> tuple[int, int, float]:
    parts = spec.split(",")
    if len(parts) != 3:
        raise ValueError("--lora takes r,alpha,dropout, e.g. 8,16,0.05")
    return int(parts[0]), int(parts[1]), float(parts[2])


def use_bf16(mode: str, device: torch.device) -> bool:
    if mode == "on":
        return True
    if mode == "off":
        return False
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_tuplify(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plan(args: Any, tokenizer: Any, world_size: int) -> Plan:
    conversations = read_chat_jsonl(args.data)
    seqs, stats = encode_all(tokenizer, conversations, args.loss_on, args.max_len)
    log.info(
        "%d examples (%d truncated to %d tokens, %d dropped with no target), %d tokens, %d target tokens",
        stats.examples, stats.truncated, args.max_len, stats.dropped_no_target, stats.tokens, stats.label_tokens,
    )
    rows = pack(seqs, args.max_len) if args.packing else seqs
    per_rank = math.ceil(len(rows) / world_size)
    batches = math.ceil(per_rank / args.batch_size)
    steps_per_epoch = math.ceil(batches / args.grad_accum)
    total = args.max_steps if args.max_steps and args.max_steps > 0 else args.epochs * steps_per_epoch
    what = {
        "data": file_sha256(args.data), "model": args.model, "method": "full" if args.full else f"lora:{args.lora}",
        "loss_on": args.loss_on, "max_len": args.max_len, "packing": args.packing, "batch_size": args.batch_size,
        "grad_accum": args.grad_accum, "total_steps": total, "seed": args.seed, "world_size": world_size,
    }
    fingerprint = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]
    return Plan(rows, total, steps_per_epoch, fingerprint)


def epoch_windows(rows: list[Row], epoch: int, args: Any, d: Dist) -> list[list[list[Row]]]:
    """This rank's accumulation windows for an epoch: shuffled by (seed, epoch), sharded by rank."""
    sampler = DistributedSampler(rows, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=args.seed)  # type: ignore[arg-type]
    sampler.set_epoch(epoch)
    idx = list(sampler)
    batches = [[rows[i] for i in idx[j : j + args.batch_size]] for j in range(0, len(idx), args.batch_size)]
    return [batches[j : j + args.grad_accum] for j in range(0, len(batches), args.grad_accum)]


def build_model(args: Any, resume_from: Path | None, bf16: bool) -> Any:
    from transformers import AutoModelForCausalLM

    if args.full:
        # Full fine-tuning keeps fp32 master weights; bf16 applies through autocast.
        model = AutoModelForCausalLM.from_pretrained(str(resume_from or args.model), dtype=torch.float32)
        if args.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        return model
    from peft import LoraConfig, PeftModel, get_peft_model

    # The frozen base can sit in bf16 (half the memory); peft keeps the adapter weights in fp32.
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16 if bf16 else torch.float32)
    if args.gradient_checkpointing:
        base.gradient_checkpointing_enable()
        base.enable_input_require_grads()
    if resume_from is not None:
        return PeftModel.from_pretrained(base, str(resume_from), is_trainable=True)
    r, alpha, dropout = parse_lora(args.lora)
    targets: Any = args.lora_targets if args.lora_targets == "all-linear" else args.lora_targets.split(",")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(base, config)


def token_loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed cross-entropy over target tokens (labels shifted: position i predicts token i+1)."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    # Only target positions go to fp32: with a large vocabulary the full logits would not fit twice.
    return F.cross_entropy(logits[keep].float(), labels[keep], reduction="sum")


def target_count(rows: list[Row]) -> int:
    return sum(1 for r in rows for x in r.labels[1:] if x != IGNORE)


def save_checkpoint(out: Path, model: Any, optimizer: Any, scheduler: Any, state: State, keep: int, d: Dist) -> Path | None:
    rngs = d.gather(rng_state())  # every rank's generators, written by rank 0
    path = ckpt.checkpoint_path(out, state.step)
    if d.is_main:
        if ckpt.is_complete(path):
            return path  # this very step was saved already (a stop right after a resume)

        def write(tmp: Path) -> None:
            _unwrap(model).save_pretrained(str(tmp))
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            torch.save(rngs, tmp / "rng_state.pt")
            (tmp / "trainer_state.json").write_text(json.dumps(asdict(state), indent=2) + "\n")

        ckpt.write_dir_atomically(path, write)
        ckpt.prune(out, keep)
        emit("checkpoint", step=state.step, path=str(path))
    d.barrier()
    return path


def load_checkpoint(path: Path, optimizer: Any, scheduler: Any, d: Dist) -> State:
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", map_location="cpu", weights_only=True))
    rngs = torch.load(path / "rng_state.pt", map_location="cpu", weights_only=True)
    if len(rngs) == d.world_size:
        set_rng_state(rngs[d.rank])
    else:
        log.warning("checkpoint has RNG states for %d processes, this run has %d: not restoring them", len(rngs), d.world_size)
    return State(**json.loads((path / "trainer_state.json").read_text()))


def _unwrap(model: Any) -> Any:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _write_json_atomically(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_final(out: Path, model: Any, tokenizer: Any, merge: bool) -> tuple[Path, Path | None]:
    inner = _unwrap(model)

    def write_final(tmp: Path) -> None:
        inner.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))

    final = ckpt.write_dir_atomically(out / "final", write_final, marker=False)
    merged = None
    if merge and hasattr(inner, "merge_and_unload"):
        full = inner.merge_and_unload()

        def write_merged(tmp: Path) -> None:
            full.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))

        merged = ckpt.write_dir_atomically(out / "merged", write_merged, marker=False)
    return final, merged


def run(args: Any) -> int:
    d = Dist.from_env()
    try:
        return _run(args, d)
    finally:
        d.close()


def _run(args: Any, d: Dist) -> int:
    out = Path(args.out)
    result_path = out / "result.json"
    if result_path.is_file():
        # Finished earlier (a retried activity): report the same result again, touch nothing.
        result = json.loads(result_path.read_text())
        if d.is_main:
            emit("done", step=result["step"], path=result["final_path"], train_loss=result["train_loss"])
        return EXIT_DONE

    stop = StopRequest()
    previous = stop.install()
    try:
        return _train(args, d, out, stop)
    finally:
        stop.restore(previous)


def _train(args: Any, d: Dist, out: Path, stop: StopRequest) -> int:
    result_path = out / "result.json"
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        for p in ckpt.remove_incomplete(out):
            log.info("removed incomplete checkpoint %s", p)
    d.barrier()
    latest = ckpt.newest_checkpoint(out)

    device = d.device()
    bf16 = use_bf16(args.bf16, device)
    seed_everything(args.seed)
    tokenizer = load_tokenizer(args.model)
    p = plan(args, tokenizer, d.world_size)

    model = build_model(args, latest[1] if latest else None, bf16).to(device)
    trainable = [prm for prm in model.parameters() if prm.requires_grad]
    n_trainable = sum(prm.numel() for prm in trainable)
    n_total = sum(prm.numel() for prm in model.parameters())
    log.info("device %s, bf16 %s, trainable parameters %d of %d", device, bf16, n_trainable, n_total)

    from transformers import get_linear_schedule_with_warmup

    lr = args.lr if args.lr is not None else (2e-5 if args.full else 2e-4)
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=args.weight_decay)
    warmup = args.warmup_steps if args.warmup_steps is not None else int(args.warmup_ratio * p.total_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, p.total_steps)

    state = State(fingerprint=p.fingerprint)
    if latest:
        state = load_checkpoint(latest[1], optimizer, scheduler, d)
        if state.fingerprint != p.fingerprint:
            raise DataError(
                f"{out} holds checkpoints of a different run (data, model or schedule changed); "
                "use a new --out directory, or delete it to start over"
            )
        if d.is_main:
            emit("resumed", step=state.step, path=str(latest[1]))
    else:
        seed_everything(args.seed)  # the data order and dropout do not depend on how the model was built

    if d.enabled:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if device.type == "cuda" else None)

    if d.is_main:
        emit("start", step=state.step, total_steps=p.total_steps, examples=len(p.rows) if not args.packing else sum(r.n_examples for r in p.rows),
             sequences=len(p.rows), trainable_parameters=n_trainable, device=str(device), bf16=bf16, world_size=d.world_size)

    model.train()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    started = time.monotonic()
    elapsed_before = state.elapsed
    win_t0, win_tokens, win_loss, win_targets = time.monotonic(), 0, 0.0, 0
    last_saved = state.step if latest else -1
    stopped = False

    while state.step < p.total_steps:
        windows = epoch_windows(p.rows, state.epoch, args, d)
        while state.window < len(windows) and state.step < p.total_steps:
            if d.any(stop.requested, device):
                stopped = True
                break
            window = windows[state.window]
            local_targets = sum(target_count(b) for b in window)
            targets = d.sum(float(local_targets), device)
            local_loss, local_tokens = 0.0, 0
            for j, rows in enumerate(window):
                batch = {k: v.to(device) for k, v in collate(rows, tokenizer.pad_token_id).items()}
                sync = model.no_sync() if d.enabled and j < len(window) - 1 else nullcontext()
                with sync:
                    with autocast:
                        loss_sum = token_loss_sum(model, batch)
                    # DDP averages gradients over ranks; scaling by world size makes it a global token mean.
                    (loss_sum * d.world_size / max(targets, 1.0)).backward()
                local_loss += float(loss_sum.detach())
                local_tokens += real_tokens(rows)
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            loss, tokens = d.sum(local_loss, device), int(d.sum(float(local_tokens), device))
            state.step += 1
            state.window += 1
            state.tokens += tokens
            state.loss_sum += loss
            state.loss_tokens += int(targets)
            state.elapsed = elapsed_before + (time.monotonic() - started)
            win_tokens, win_loss, win_targets = win_tokens + tokens, win_loss + loss, win_targets + int(targets)

            last = state.step == p.total_steps
            if state.step % args.log_every == 0 or last:
                now = time.monotonic()
                if d.is_main:
                    emit("step", step=state.step, total_steps=p.total_steps, loss=round(win_loss / max(win_targets, 1), 6),
                         lr=scheduler.get_last_lr()[0], tokens=state.tokens,
                         tokens_per_second=round(win_tokens / max(now - win_t0, 1e-9), 1), elapsed=round(state.elapsed, 3),
                         epoch=state.epoch)
                win_t0, win_tokens, win_loss, win_targets = now, 0, 0.0, 0
            if args.save_every and state.step % args.save_every == 0 and not last:
                save_checkpoint(out, model, optimizer, scheduler, state, args.keep, d)
                last_saved = state.step
        if stopped:
            break
        if state.window >= len(windows):
            state.epoch += 1
            state.window = 0

    if stopped:
        if state.step > 0 and last_saved != state.step:
            save_checkpoint(out, model, optimizer, scheduler, state, args.keep, d)
        if d.is_main:
            emit("stopped", step=state.step, path=str(ckpt.checkpoint_path(out, state.step)) if state.step > 0 else None)
        return EXIT_STOPPED

    train_loss = state.loss_sum / max(state.loss_tokens, 1)
    if d.is_main:
        final, merged = save_final(out, model, tokenizer, args.merge)
        result = {
            "status": "done", "step": state.step, "total_steps": p.total_steps, "train_loss": train_loss,
            "final_path": str(final), "merged_path": str(merged) if merged else None,
            "method": "full" if args.full else "lora", "lora": None if args.full else args.lora,
            "base_model": args.model, "data": str(args.data), "tokens": state.tokens, "elapsed": round(state.elapsed, 3),
            "tokens_per_second": round(state.tokens / max(state.elapsed, 1e-9), 1),
            "epochs_completed": state.epoch, "world_size": d.world_size, "bf16": bf16,
        }
        _write_json_atomically(result_path, result)
        emit("done", step=state.step, path=str(final), train_loss=train_loss)
    d.barrier()
    return EXIT_DONE
