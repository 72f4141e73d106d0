"""`python -m fireact_trainer init-model | train | serve` (see trainer/README.md for the protocol).

Exit codes: 0 done; 75 train stopped on request (SIGTERM/SIGINT) after saving a checkpoint;
1 unexpected failure; 2 bad arguments, data or output directory (retrying cannot help).
Failures also print {"event":"error","kind":...,"message":...} on stdout.
"""
from __future__ import annotations

import argparse
import errno
import logging
import sys
import traceback
from pathlib import Path

from .events import emit, setup_logging

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# A path the file system refuses as such (too long, not a folder): a retry asks for the same path.
REFUSED_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fireact_trainer", description="Fine-tune and serve causal LMs on FireAct chat data.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("init-model", help="build a small randomly initialised model with a local tokenizer")
    i.add_argument("--out", required=True)
    i.add_argument("--arch", default="llama", choices=["llama"])
    i.add_argument("--hidden", type=_positive, default=64)
    i.add_argument("--layers", type=_positive, default=2)
    i.add_argument("--heads", type=_positive, default=4)
    i.add_argument("--kv-heads", type=_positive, default=None)
    i.add_argument("--intermediate", type=_positive, default=None, help="MLP width (default 4 x hidden)")
    i.add_argument("--max-position", type=_positive, default=2048)
    i.add_argument("--vocab", default=None, choices=["byte", "bpe"],
                   help="byte: one token per byte; bpe: a byte-level BPE trained on --corpus (default: bpe with --corpus, else byte)")
    i.add_argument("--vocab-size", type=_positive, default=1024, help="BPE vocabulary size")
    i.add_argument("--corpus", help="chat JSONL or text file to train the BPE on")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--force", action="store_true", help="replace --out if it exists")

    t = sub.add_parser("train", help="fine-tune on chat JSONL (LoRA, QLoRA or full) with TRL's SFTTrainer, resuming from the newest checkpoint")
    t.add_argument("--model", required=True, help="base model: a directory or a hub id (from_pretrained)")
    t.add_argument("--data", required=True, help="OpenAI chat JSONL, one {\"messages\": [...]} per line")
    t.add_argument("--out", required=True)
    method = t.add_mutually_exclusive_group()
    method.add_argument("--lora", default="8,16,0.05", help="r,alpha,dropout (default 8,16,0.05)")
    method.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    t.add_argument("--qlora", action="store_true", help="LoRA on a 4-bit (NF4) base: needs a CUDA GPU and bitsandbytes")
    t.add_argument("--sharding", default="ddp", choices=["ddp", "fsdp", "zero3"],
                   help="with several processes: ddp replicates the model, fsdp (full shard, one unit per transformer layer) or zero3 (DeepSpeed) shard it")
    t.add_argument("--liger", default="auto", choices=["auto", "on", "off"], help="Liger kernels (auto: when installed and on a GPU)")
    t.add_argument("--lora-targets", default="all-linear", help="all-linear (attention and MLP projections) or a comma list of module names")
    t.add_argument("--merge", action="store_true", help="also save LoRA merged into the base as DIR/merged")
    t.add_argument("--epochs", type=_positive, default=3)
    t.add_argument("--max-steps", type=int, default=0, help="optimizer steps in all; overrides --epochs when > 0")
    t.add_argument("--lr", type=float, default=None, help="peak learning rate (default 2e-4 LoRA, 2e-5 full)")
    t.add_argument("--warmup-ratio", type=float, default=0.03)
    t.add_argument("--warmup-steps", type=int, default=None)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--max-grad-norm", type=float, default=1.0)
    t.add_argument("--batch-size", type=_positive, default=4, help="sequences per micro-batch per process")
    t.add_argument("--grad-accum", type=_positive, default=1)
    t.add_argument("--max-len", type=_positive, default=1024)
    t.add_argument("--packing", action="store_true", help="pack whole examples into --max-len rows without padding (each example sees only itself)")
    t.add_argument("--loss-on", default="assistant", choices=["assistant", "all"])
    t.add_argument("--save-every", type=int, default=50, help="checkpoint every N steps (0: only when stopped)")
    t.add_argument("--keep", type=_positive, default=2, help="checkpoints kept")
    t.add_argument("--log-every", type=_positive, default=1)
    t.add_argument("--bf16", default="auto", choices=["auto", "on", "off"])
    t.add_argument("--gradient-checkpointing", action="store_true")
    t.add_argument("--seed", type=int, default=42)

    s = sub.add_parser("serve", help="OpenAI-compatible chat completions for a model (and LoRA adapter)")
    s.add_argument("--model", required=True, help="model directory or hub id; a LoRA output directory also works")
    s.add_argument("--adapter", default=None, help="LoRA adapter directory applied on --model")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed in the listening event)")
    s.add_argument("--max-new-tokens", type=_positive, default=256, help="when a request sets no max_tokens")
    s.add_argument("--name", "--served-model-name", dest="name", default=None, help="model id reported by /v1/models and in responses (default: the directory name)")
    s.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        if args.command == "init-model":
            from .init_model import init_model

            out = Path(args.out)
            if out.exists() and any(out.iterdir()) and not args.force:
                raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
            init_model(out, hidden=args.hidden, layers=args.layers, heads=args.heads, kv_heads=args.kv_heads,
                       intermediate=args.intermediate, max_position=args.max_position, vocab=args.vocab or ('bpe' if args.corpus else 'byte'),
                       vocab_size=args.vocab_size, corpus=args.corpus, seed=args.seed)
            emit("done", path=str(out))
            return 0
        if args.command == "train":
            from . import train

            if not args.full:
                train.parse_lora(args.lora)
            return train.run(args)
        from . import serve

        return serve.run(args)
    except (ValueError, OSError) as e:
        # ValueError covers DataError and a bad --lora; an OSError without errno is how from_pretrained
        # says a model cannot be found. Other OS errors (disk full, ...) are failures worth a retry.
        if (isinstance(e, OSError) and not isinstance(e, (FileNotFoundError, FileExistsError)) and e.errno is not None
                and e.errno not in REFUSED_PATH_ERRNOS):
            traceback.print_exc(file=sys.stderr)
            emit("error", kind="failed", message=f"{type(e).__name__}: {e}")
            return EXIT_FAILED
        logging.getLogger("fireact_trainer").error("%s", e)
        logging.getLogger("fireact_trainer").debug("%s", traceback.format_exc())
        emit("error", kind="bad_input", message=str(e))
        return EXIT_BAD_INPUT
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        emit("error", kind="failed", message=f"{type(e).__name__}: {e}")
        return EXIT_FAILED


def entry() -> None:
    """`python -m fireact_trainer` and the fireact-trainer script: stdout for events only."""
    from .events import claim_stdout

    claim_stdout()
    sys.exit(main())
