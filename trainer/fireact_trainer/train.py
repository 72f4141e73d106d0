"""Supervised fine-tuning on chat JSONL with TRL's SFTTrainer; several processes through `accelerate launch`.

TRL and Transformers do the training: the loop, LoRA and QLoRA (peft, bitsandbytes), FSDP and DeepSpeed
ZeRO-3 (accelerate), bf16, gradient checkpointing, best-fit-decreasing packing without padding
(position ids restart for each example, the first label of each example is masked), Liger kernels,
checkpoints (weights, optimizer, scheduler, every rank's RNG, trainer state) and resuming from one at
the next unseen batch of the same seeded data order.

What is ours, and why:
- the labels (data.py): loss on assistant turns only, exact for any template that renders prefix by
  prefix; TRL's `assistant_only_loss` needs `{% generation %}` markers in the template.
- the COMPLETE marker and pruning: the Trainer writes `checkpoint-N/` in place and rotates old ones
  before anything could tell a whole checkpoint from a half-written one.
- the stop on SIGTERM (every rank agrees on the step, a checkpoint is saved, exit 75), the JSON event
  lines, the run fingerprint that refuses another run's checkpoints, and result.json.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import torch

from . import checkpoint as ckpt
from .data import DataError, encode_all, read_chat_jsonl
from .events import emit
from .tokenizer import load_tokenizer

log = logging.getLogger("fireact_trainer.train")

EXIT_DONE = 0
EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped on request after saving a checkpoint; run again to resume
RUN_STATE = "fireact_run.json"  # in each checkpoint: what the Trainer's own state does not hold


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


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def method_of(args: Any) -> str:
    return "full" if args.full else ("qlora" if args.qlora else "lora")


def use_bf16(mode: str) -> bool:
    if mode == "on":
        return True
    if mode == "off":
        return False
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def cannot_run(args: Any) -> str | None:
    """Why this machine cannot run what was asked (a bad input: no retry installs a GPU or a package)."""
    if args.qlora and args.full:
        return "--qlora is LoRA on a 4-bit base; it cannot be combined with --full"
    if args.qlora and not torch.cuda.is_available():
        return "--qlora needs a CUDA GPU (bitsandbytes 4-bit); this machine has none. Use LoRA (drop --qlora) or run on a GPU worker"
    if args.qlora and not installed("bitsandbytes"):
        return "--qlora needs bitsandbytes, which is not installed in the trainer's environment (pip install -r trainer/requirements-gpu.txt)"
    if args.sharding == "fsdp" and not torch.cuda.is_available():
        # accelerate applies FSDP on GPUs only; on CPU it would quietly replicate the model (DDP) instead.
        return "--sharding fsdp needs CUDA GPUs (accelerate shards with FSDP on GPUs only); this machine has none. Use --sharding ddp here"
    if args.sharding == "zero3" and not installed("deepspeed"):
        return "--sharding zero3 needs DeepSpeed, which is not installed in the trainer's environment (pip install -r trainer/requirements-gpu.txt), or use --sharding fsdp"
    if args.sharding == "zero3" and not torch.cuda.is_available():
        return "--sharding zero3 (DeepSpeed) needs CUDA GPUs; this machine has none. Use --sharding fsdp or ddp"
    if args.sharding != "ddp" and args.qlora:
        return f"--sharding {args.sharding} with --qlora is not supported here; QLoRA runs with --sharding ddp"
    return None


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint_of(args: Any, world_size: int) -> str:
    what = {
        "data": file_sha256(args.data), "model": args.model, "method": method_of(args), "lora": None if args.full else args.lora,
        "loss_on": args.loss_on, "max_len": args.max_len, "packing": args.packing, "batch_size": args.batch_size,
        "grad_accum": args.grad_accum, "epochs": args.epochs, "max_steps": args.max_steps, "seed": args.seed,
        "world_size": world_size, "sharding": args.sharding,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def training_dataset(tokenizer: Any, data: str | Path, loss_on: str, max_len: int) -> tuple[Any, int]:
    """The pre-tokenized dataset SFTTrainer takes as is (input_ids, labels) and the number of examples."""
    from datasets import Dataset

    seqs, stats = encode_all(tokenizer, read_chat_jsonl(data), loss_on, max_len)
    log.info(
        "%d examples (%d truncated to %d tokens, %d dropped with no target), %d tokens, %d target tokens",
        stats.examples, stats.truncated, max_len, stats.dropped_no_target, stats.tokens, stats.label_tokens,
    )
    return Dataset.from_dict({"input_ids": [s.input_ids for s in seqs], "labels": [s.labels for s in seqs]}), len(seqs)


def attention_implementation(bf16: bool) -> str:
    # FlashAttention-2 takes the packed rows' varlen boundaries directly; sdpa derives the block mask
    # from the position ids (what runs on CPU).
    if torch.cuda.is_available() and bf16 and installed("flash_attn"):
        return "flash_attention_2"
    return "sdpa"


def build_model(args: Any, bf16: bool) -> Any:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"attn_implementation": attention_implementation(bf16)}
    if args.qlora:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32,
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    elif bf16 and not args.full:
        kwargs["dtype"] = torch.bfloat16  # the frozen base in bf16; full fine-tuning keeps fp32 master weights
    model = AutoModelForCausalLM.from_pretrained(args.model, **kwargs)
    model.config.use_cache = False
    return model


def peft_config(args: Any) -> Any:
    if args.full:
        return None
    from peft import LoraConfig

    r, alpha, dropout = parse_lora(args.lora)
    targets: Any = "all-linear" if args.lora_targets == "all-linear" else [t.strip() for t in args.lora_targets.split(",") if t.strip()]
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")


def sharding_kwargs(args: Any, model: Any) -> dict[str, Any]:
    if args.sharding == "fsdp":
        # FSDP2 with resharding after forward is full_shard; one unit per transformer layer.
        config: dict[str, Any] = {"version": 2, "reshard_after_forward": True, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                                  "activation_checkpointing": args.gradient_checkpointing, "state_dict_type": "FULL_STATE_DICT"}
        layers = list(getattr(model, "_no_split_modules", None) or [])
        if layers:
            config["transformer_layer_cls_to_wrap"] = layers
        return {"fsdp": True, "fsdp_config": config}
    if args.sharding == "zero3":
        return {"deepspeed": {
            "zero_optimization": {"stage": 3, "overlap_comm": True, "contiguous_gradients": True, "stage3_gather_16bit_weights_on_model_save": True},
            "bf16": {"enabled": "auto"}, "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
            "train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
        }}
    return {}


def sft_config(args: Any, out: Path, bf16: bool, model: Any) -> Any:
    from trl import SFTConfig

    lr = args.lr if args.lr is not None else (2e-5 if args.full else 2e-4)
    fsdp_checkpointing = args.sharding == "fsdp" and args.gradient_checkpointing
    liger = args.liger == "on" or (args.liger == "auto" and torch.cuda.is_available() and installed("liger_kernel"))
    return SFTConfig(
        output_dir=str(out),
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps if args.max_steps and args.max_steps > 0 else -1,
        learning_rate=lr,
        lr_scheduler_type="linear",
        warmup_steps=args.warmup_steps if args.warmup_steps is not None else args.warmup_ratio,
        weight_decay=args.weight_decay,
        max_grad_norm=args.max_grad_norm if args.max_grad_norm > 0 else 0.0,
        optim="adamw_torch",
        seed=args.seed,
        data_seed=args.seed,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        gradient_checkpointing=args.gradient_checkpointing and not fsdp_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        use_liger_kernel=liger,
        logging_steps=args.log_every,
        save_strategy="steps" if args.save_every > 0 else "no",
        save_steps=max(args.save_every, 1),
        save_total_limit=None,  # pruned by us once the new checkpoint is marked complete
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        max_length=args.max_len,
        packing=args.packing,
        packing_strategy="bfd",
        padding_free=args.packing,
        dataset_num_proc=None,
        **sharding_kwargs(args, model),
    )


class Progress:
    """Everything a checkpoint carries besides the Trainer's state: the loss over all runs, elapsed time."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.loss_sum = 0.0  # sum over optimizer steps of the step's loss (all runs)
        self.loss_steps = 0
        self.elapsed = 0.0  # training seconds over all runs

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "loss_sum": self.loss_sum, "loss_steps": self.loss_steps, "elapsed": self.elapsed}

    @classmethod
    def load(cls, path: Path) -> "Progress":
        raw = json.loads((path / RUN_STATE).read_text()) if (path / RUN_STATE).is_file() else {}
        p = cls(raw.get("fingerprint", ""))
        p.loss_sum, p.loss_steps, p.elapsed = raw.get("loss_sum", 0.0), raw.get("loss_steps", 0), raw.get("elapsed", 0.0)
        return p


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def _any_rank(flag: bool, device: Any) -> bool:
    """True on every rank when it is true on one, so all ranks stop after the same step."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t)
    return bool(t.item() > 0)


def fsdp_units(model: Any) -> int:
    """How many modules FSDP shards (one per transformer layer plus the root); 0 when not sharded."""
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:
        return 0
    return sum(1 for m in model.modules() if isinstance(m, FSDPModule)) if model is not None else 0


def make_callback(out: Path, is_main: bool, stop: StopRequest, progress: Progress, keep: int, meta: dict[str, Any]) -> Any:
    from transformers import TrainerCallback

    class Events(TrainerCallback):  # type: ignore[misc]
        """Turns the Trainer's hooks into the event protocol, the stop request and complete checkpoints."""

        def __init__(self) -> None:
            self.stopped = False
            self.started = time.monotonic()
            self.elapsed_before = progress.elapsed
            self.last_logged = 0
            self.first_step = 0
            self.win_t0 = self.started
            self.win_tokens0 = 0
            self.announced = False

        def _elapsed(self) -> float:
            return self.elapsed_before + (time.monotonic() - self.started)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.started = self.win_t0 = time.monotonic()
            self.last_logged = self.first_step = state.global_step
            self.win_tokens0 = state.num_input_tokens_seen

        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            # Announced before the first step rather than at train begin: only then is the model wrapped (FSDP).
            if is_main and not self.announced:
                emit("start", step=state.global_step, total_steps=state.max_steps, fsdp_units=fsdp_units(kw.get("model")), **meta)
            self.announced = True

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            last = state.global_step >= state.max_steps
            if not last and _any_rank(stop.requested, args.device):
                self.stopped = True
                control.should_save = True
                control.should_training_stop = True
            elif last:
                control.should_save = False  # the run ends with final/, not one more checkpoint
            # Log every step that is saved or ends the run, so the loss sum in the checkpoint is whole.
            if control.should_save or last:
                control.should_log = True

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if not logs or "loss" not in logs:
                return
            steps = state.global_step - self.last_logged
            if steps <= 0:
                return
            progress.loss_sum += float(logs["loss"]) * steps
            progress.loss_steps += steps
            progress.elapsed = self._elapsed()
            now = time.monotonic()
            tokens = state.num_input_tokens_seen
            rate = (tokens - self.win_tokens0) / max(now - self.win_t0, 1e-9)
            done_this_run = state.global_step - self.first_step
            eta = (now - self.started) / done_this_run * (state.max_steps - state.global_step) if done_this_run > 0 else None
            if is_main:
                emit("step", step=state.global_step, total_steps=state.max_steps, loss=round(float(logs["loss"]), 6),
                     lr=logs.get("learning_rate"), tokens=int(tokens), tokens_per_second=round(rate, 1),
                     elapsed=round(progress.elapsed, 3), eta_seconds=None if eta is None else round(eta, 1),
                     epoch=round(float(state.epoch or 0), 3))
            self.last_logged = state.global_step
            self.win_t0, self.win_tokens0 = now, tokens

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            _barrier()  # every rank has written its part (its RNG state, its shards)
            if is_main:
                path = ckpt.checkpoint_path(out, state.global_step)
                progress.elapsed = self._elapsed()
                (path / RUN_STATE).write_text(json.dumps(progress.to_json()) + "\n")
                ckpt.mark_complete(path)
                ckpt.prune(out, keep)
                emit("checkpoint", step=state.global_step, path=str(path))
            _barrier()

    return Events()


def run(args: Any) -> int:
    from accelerate import PartialState

    # Sets up the process group when launched by accelerate/torchrun (NCCL on GPUs, gloo on CPU).
    dist = PartialState(cpu=not torch.cuda.is_available())
    out = Path(args.out)
    result_path = out / "result.json"
    if result_path.is_file():
        # Finished earlier (a retried activity): report the same result again, touch nothing.
        result = json.loads(result_path.read_text())
        if dist.is_main_process:
            emit("done", step=result["step"], path=result["final_path"], train_loss=result["train_loss"])
        return EXIT_DONE
    refused = cannot_run(args)
    if refused:
        raise DataError(refused)

    stop = StopRequest()
    previous = stop.install()
    try:
        return _train(args, dist, out, stop)
    finally:
        stop.restore(previous)


def _train(args: Any, dist: Any, out: Path, stop: StopRequest) -> int:
    from transformers import set_seed
    from trl import SFTTrainer

    is_main = dist.is_main_process
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        for p in ckpt.remove_incomplete(out):
            log.info("removed incomplete checkpoint %s", p)
    dist.wait_for_everyone()
    latest = ckpt.newest_checkpoint(out)

    bf16 = use_bf16(args.bf16)
    set_seed(args.seed)
    tokenizer = load_tokenizer(args.model)
    dataset, examples = training_dataset(tokenizer, args.data, args.loss_on, args.max_len)
    progress = Progress(fingerprint_of(args, dist.num_processes))
    if latest:
        saved = Progress.load(latest[1])
        if saved.fingerprint != progress.fingerprint:
            raise DataError(
                f"{out} holds checkpoints of a different run (data, model, method or schedule changed); "
                "use a new --out directory, or delete it to start over"
            )
        progress = saved
        if is_main:
            emit("resumed", step=latest[0], path=str(latest[1]))

    model = build_model(args, bf16)
    trainer = SFTTrainer(model=model, args=sft_config(args, out, bf16, model), train_dataset=dataset,
                         processing_class=tokenizer, peft_config=peft_config(args))
    n_trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    meta = {"examples": examples, "sequences": len(trainer.train_dataset), "trainable_parameters": n_trainable,
            "device": str(trainer.args.device), "bf16": bf16, "world_size": dist.num_processes, "method": method_of(args),
            "sharding": args.sharding, "attention": model.config._attn_implementation, "liger": bool(trainer.args.use_liger_kernel)}
    events = make_callback(out, is_main, stop, progress, args.keep, meta)
    trainer.add_callback(events)
    # The Trainer prints its log dicts to stdout, which carries our events only; they are in the step events.
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)

    if stop.requested:  # stopped while loading: nothing new to save
        if is_main:
            emit("stopped", step=latest[0] if latest else 0, path=str(latest[1]) if latest else None)
        return EXIT_STOPPED
    trainer.train(resume_from_checkpoint=str(latest[1]) if latest else None)
    step = trainer.state.global_step

    if events.stopped:
        if is_main:
            emit("stopped", step=step, path=str(ckpt.checkpoint_path(out, step)))
        return EXIT_STOPPED

    final = save_final(trainer, tokenizer, out, is_main)
    merged = save_merged(args, out, final) if args.merge and not args.full and is_main else None
    train_loss = progress.loss_sum / max(progress.loss_steps, 1)
    if is_main:
        result = {
            "status": "done", "step": step, "total_steps": trainer.state.max_steps, "train_loss": train_loss,
            "final_path": str(final), "merged_path": str(merged) if merged else None,
            "method": method_of(args), "lora": None if args.full else args.lora, "sharding": args.sharding,
            "base_model": args.model, "data": str(args.data), "tokens": int(trainer.state.num_input_tokens_seen),
            "elapsed": round(progress.elapsed, 3), "tokens_per_second": round(trainer.state.num_input_tokens_seen / max(progress.elapsed, 1e-9), 1),
            "epochs_completed": math.floor((trainer.state.epoch or 0) + 1e-9), "world_size": dist.num_processes, "bf16": bf16,
        }
        _write_json_atomically(out / "result.json", result)
        emit("done", step=step, path=str(final), train_loss=train_loss)
    dist.wait_for_everyone()
    return EXIT_DONE


def save_final(trainer: Any, tokenizer: Any, out: Path, is_main: bool) -> Path:
    """final/: the adapter (LoRA) or the model, plus the tokenizer, appearing whole in one rename.

    Every rank takes part (FSDP and ZeRO-3 gather the sharded weights), the main one renames."""
    final = out / "final"
    tmp = out / ".tmp-final"
    if is_main and tmp.exists():
        shutil.rmtree(tmp)
    _barrier()
    trainer.save_model(str(tmp))
    _barrier()
    if is_main:
        tokenizer.save_pretrained(str(tmp))
        ckpt.publish_dir(tmp, final)
    _barrier()
    return final


def save_merged(args: Any, out: Path, final: Path) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    def write(tmp: Path) -> None:
        base = AutoModelForCausalLM.from_pretrained(args.model)
        PeftModel.from_pretrained(base, str(final)).merge_and_unload().save_pretrained(str(tmp))
        load_tokenizer(str(final)).save_pretrained(str(tmp))

    return ckpt.write_dir_atomically(out / "merged", write, marker=False)


def _write_json_atomically(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
