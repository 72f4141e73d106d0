"""The GPU check (`bash trainer/gpu-check.sh`): one short device session that exercises the real paths.

1. builds a Llama-architecture model of about 1B parameters from a config (BPE tokenizer trained on the data);
2. trains it for a fixed number of steps on FireAct's multitask_multimethod data three ways: our
   trainer with LoRA, our trainer with full fine-tuning, and plain TRL SFTTrainer defaults (full, no
   packing) on the same data and batch, printing tokens/s and model FLOPs utilisation for each and
   the ratio of ours (full) to the defaults;
3. runs our full fine-tune again, SIGKILLs it after its first checkpoint, resumes it, and checks its
   loss curve against the undisturbed run;
4. serves the LoRA result (vLLM with the adapter unmerged when installed with a GPU, else
   `trainer serve`) and asks it through the openai client with many requests in flight.

`--cpu-smoke` runs every piece that can run without a GPU with a tiny model and a few steps.
Tokens counted are real (non-padding) input tokens; MFU = FLOPs per token x tokens/s / peak, with
6N FLOPs per token for full fine-tuning and 4N for LoRA (no weight gradients of the frozen base),
N the parameter count, attention FLOPs left out (so MFU is slightly understated).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TRAINER_DIR = Path(__file__).resolve().parents[1]
REPO = TRAINER_DIR.parent
DATA = REPO.parent / "shared" / "fireact" / "finetune" / "gpt_format" / "multitask_multimethod.jsonl"

# bf16 dense peak FLOP/s by device name (vendor datasheets); FIREACT_PEAK_TFLOPS overrides.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}

SIZES = {
    # ~1.1B: 16 layers of width 2048, GQA 32/8 heads, MLP 8192, 32k BPE vocabulary.
    "gpu": {"hidden": 2048, "layers": 16, "heads": 32, "kv_heads": 8, "intermediate": 8192, "vocab": "bpe", "vocab_size": 32000,
            "steps": 30, "batch": 8, "max_len": 2048, "save_every": 10, "examples": 0},
    "cpu": {"hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate": 128, "vocab": "byte", "vocab_size": 0,
            "steps": 4, "batch": 2, "max_len": 512, "save_every": 2, "examples": 40},
}


def say(msg: str) -> None:
    print(f"[gpu-check] {msg}", flush=True)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(TRAINER_DIR), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def trainer(*args: str) -> list[str]:
    return [sys.executable, "-m", "fireact_trainer", *args]


def run_events(cmd: list[str], kill_after: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Runs a trainer command in its own process group, collecting its events; SIGKILLs the group at
    the first event named kill_after."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)
    events: list[dict[str, Any]] = []
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stdout:
        if line.startswith("{"):
            events.append(json.loads(line))
            if kill_after and events[-1]["event"] == kill_after:
                os.killpg(proc.pid, signal.SIGKILL)
                break
    code = proc.wait()
    if code not in (0, -signal.SIGKILL):
        sys.stderr.write(proc.stderr.read()[-4000:])
    return code, events


def peak_flops() -> float | None:
    import torch

    if os.environ.get("FIREACT_PEAK_TFLOPS"):
        return float(os.environ["FIREACT_PEAK_TFLOPS"]) * 1e12
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(0)
    for key, tflops in PEAK_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None


def mfu(tokens_per_second: float, params: int, full: bool, peak: float | None) -> float | None:
    return None if not peak else (6 if full else 4) * params * tokens_per_second / peak


def steady_rate(events: list[dict[str, Any]]) -> float:
    """Tokens/s over the steps after the first (which pays for compilation and warm-up)."""
    steps = [e for e in events if e["event"] == "step"]
    if len(steps) < 2:
        return float(steps[-1]["tokens_per_second"]) if steps else 0.0
    a, b = steps[0], steps[-1]
    return (b["tokens"] - a["tokens"]) / max(b["elapsed"] - a["elapsed"], 1e-9)


def build_model(work: Path, size: dict[str, Any], data: Path) -> Path:
    base = work / "base"
    if (base / "config.json").exists():
        return base
    args = ["init-model", "--out", str(base), "--force", "--hidden", str(size["hidden"]), "--layers", str(size["layers"]),
            "--heads", str(size["heads"]), "--kv-heads", str(size["kv_heads"]), "--intermediate", str(size["intermediate"]),
            "--max-position", str(max(size["max_len"], 2048)), "--vocab", size["vocab"]]
    if size["vocab"] == "bpe":
        args += ["--corpus", str(data), "--vocab-size", str(size["vocab_size"])]
    code, _ = run_events(trainer(*args))
    if code != 0:
        raise SystemExit("init-model failed")
    return base


def trl_defaults(model: str, data: str, out: str, steps: int, batch: int, max_len: int, bf16: bool) -> None:
    """Plain TRL SFTTrainer with its defaults (no packing, padding, full fine-tuning) on the same data
    and batch; prints one JSON line with its tokens/s over the steps after the first."""
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from .tokenizer import load_tokenizer

    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            marks.append((time.monotonic(), state.num_input_tokens_seen))

    dataset = load_dataset("json", data_files=data, split="train")
    cfg = SFTConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=batch, max_length=max_len, bf16=bf16,
                    use_cpu=not torch.cuda.is_available(), report_to="none", save_strategy="no", logging_steps=1,
                    include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    t = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(model), args=cfg, train_dataset=dataset,
                   processing_class=load_tokenizer(model), callbacks=[Clock()])
    t.train()
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    print(json.dumps({"tokens_per_second": (n1 - n0) / max(t1 - t0, 1e-9), "steps": len(marks)}), flush=True)


def ask_many(base_url: str, model: str, n: int) -> dict[str, Any]:
    """n chat requests at once through the openai client (a plain HTTP post where it is not installed)."""
    question = [{"role": "user", "content": "Question: What is the capital of France?"}]
    try:
        from openai import OpenAI

        client = OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=300)

        def one(_: int) -> str:
            r = client.chat.completions.create(model=model, messages=question, max_tokens=32, temperature=0)  # type: ignore[arg-type]
            return r.choices[0].message.content or ""
        via = "openai client"
    except ImportError:
        def one(_: int) -> str:
            body = json.dumps({"model": model, "messages": question, "max_tokens": 32, "temperature": 0}).encode()
            req = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=300) as res:
                return json.loads(res.read())["choices"][0]["message"]["content"]
        via = "HTTP (openai package not installed)"
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    seconds = time.monotonic() - t0
    return {"via": via, "requests": n, "seconds": round(seconds, 2), "requests_per_second": round(n / seconds, 2), "first_answer": answers[0][:80]}


def serve_and_ask(base: Path, adapter: Path, use_vllm: bool, in_flight: int) -> dict[str, Any]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if use_vllm:
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(base), "--served-model-name", "base",
               "--host", "127.0.0.1", "--port", str(port), "--max-num-seqs", str(in_flight),
               "--enable-lora", "--lora-modules", f"student={adapter}", "--max-loras", "1", "--max-lora-rank", "16"]
    else:
        cmd = trainer("serve", "--model", str(base), "--adapter", str(adapter), "--host", "127.0.0.1", "--port", str(port), "--name", "student")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)
    try:
        t0 = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
            if time.monotonic() - t0 > 600:
                raise SystemExit("the server was not healthy after 600 s")
            time.sleep(1)
        started = time.monotonic() - t0
        out = ask_many(f"http://127.0.0.1:{port}/v1", "student", in_flight)
        return {"server": "vllm" if use_vllm else "trainer serve", "startup_seconds": round(started, 1), **out}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpu-check")
    p.add_argument("--cpu-smoke", action="store_true", help="a tiny model and a few steps: every piece that runs without a GPU")
    p.add_argument("--work", default=None, help="scratch folder (default: a new one under /tmp)")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--steps", type=int, default=None)
    sub = p.add_subparsers(dest="inner")
    d = sub.add_parser("trl-defaults")  # run in its own process, so its GPU memory is freed after
    for a in ("model", "data", "out"):
        d.add_argument(f"--{a}", required=True)
    for a in ("steps", "batch", "max-len"):
        d.add_argument(f"--{a}", type=int, required=True)
    d.add_argument("--bf16", action="store_true")
    args = p.parse_args(argv)
    if args.inner == "trl-defaults":
        trl_defaults(args.model, args.data, args.out, args.steps, args.batch, args.max_len, args.bf16)
        return 0

    import importlib.util
    import tempfile

    import torch

    gpu = torch.cuda.is_available()
    if not gpu and not args.cpu_smoke:
        say("no CUDA device: run with --cpu-smoke on a machine without a GPU")
        return 3
    size = dict(SIZES["cpu" if args.cpu_smoke else "gpu"])
    if args.steps:
        size["steps"] = args.steps
    work = Path(args.work or tempfile.mkdtemp(prefix="fireact-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    if not data.is_file():
        say(f"no data at {data} (the FireAct data belongs at ../shared/fireact beside the repo)")
        return 2
    if size["examples"]:
        small = work / "data.jsonl"
        small.write_text("".join(data.read_text().splitlines(keepends=True)[: size["examples"]]))
        data = small
    t_start = time.monotonic()
    report: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if gpu else "cpu", "mode": "cpu-smoke" if args.cpu_smoke else "gpu",
                              "extras": {m: importlib.util.find_spec(m) is not None for m in ("flash_attn", "liger_kernel", "bitsandbytes", "deepspeed", "vllm")}}
    say(f"device {report['device']}; installed extras {report['extras']}; work folder {work}")

    base = build_model(work, size, data)
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        params = sum(t.numel() for t in AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base)).parameters())
    report["parameters"] = params
    say(f"model: {params:,} parameters ({params / 1e9:.2f}B) from a Llama config ({size['layers']} layers, width {size['hidden']})")
    peak = peak_flops()
    bf16 = "on" if gpu else "off"
    common = ["--data", str(data), "--max-steps", str(size["steps"]), "--batch-size", str(size["batch"]), "--max-len", str(size["max_len"]),
              "--packing", "--bf16", bf16, "--log-every", "1", "--lr", "1e-4", "--warmup-steps", "0"]

    runs: dict[str, dict[str, Any]] = {}
    for name, extra in (("ours-lora", ["--lora", "16,32,0.0"]), ("ours-full", ["--full", "--gradient-checkpointing"])):
        code, events = run_events(trainer("train", "--model", str(base), "--out", str(work / name), "--save-every", str(size["save_every"]), *extra, *common))
        if code != 0:
            say(f"{name} failed with exit code {code}")
            return 1
        rate = steady_rate(events)
        full = name.endswith("full")
        runs[name] = {"tokens_per_second": round(rate, 1), "mfu": mfu(rate, params, full, peak), "steps": events[-1]["step"],
                      "start": next(e for e in events if e["event"] == "start"), "losses": {e["step"]: e["loss"] for e in events if e["event"] == "step"}}
        say(f"{name}: {rate:,.0f} tokens/s" + (f", MFU {runs[name]['mfu']:.1%}" if runs[name]["mfu"] is not None else ", MFU n/a (no GPU peak known)"))

    out = subprocess.run([sys.executable, "-m", "fireact_trainer.gpu_check", "trl-defaults", "--model", str(base), "--data", str(data),
                          "--out", str(work / "trl-defaults"), "--steps", str(size["steps"]), "--batch", str(size["batch"]),
                          "--max-len", str(size["max_len"]), *(["--bf16"] if gpu else [])], capture_output=True, text=True, env=env())
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        say("plain TRL defaults failed")
        return 1
    trl = json.loads(out.stdout.strip().splitlines()[-1])
    runs["trl-defaults"] = {"tokens_per_second": round(trl["tokens_per_second"], 1), "mfu": mfu(trl["tokens_per_second"], params, True, peak)}
    ratio = runs["ours-full"]["tokens_per_second"] / max(runs["trl-defaults"]["tokens_per_second"], 1e-9)
    say(f"trl-defaults: {trl['tokens_per_second']:,.0f} tokens/s; ours (full) / TRL defaults = {ratio:.2f}x")
    report["runs"], report["ratio_full_vs_trl_defaults"] = runs, ratio

    # Kill mid-way, resume, compare with the undisturbed full run.
    resumed_dir = work / "ours-full-killed"
    killed_cmd = trainer("train", "--model", str(base), "--out", str(resumed_dir), "--save-every", str(size["save_every"]), "--full", "--gradient-checkpointing", *common)
    _, first = run_events(killed_cmd, kill_after="checkpoint")
    code, second = run_events(killed_cmd)
    resumed = next((e for e in second if e["event"] == "resumed"), None)
    curve = {**{e["step"]: e["loss"] for e in first if e["event"] == "step"}, **{e["step"]: e["loss"] for e in second if e["event"] == "step"}}
    reference = runs["ours-full"]["losses"]
    diff = max((abs(curve[s] - reference[s]) for s in reference if s in curve), default=float("nan"))
    ok = code == 0 and resumed is not None and sorted(curve) == sorted(reference)
    report["kill_resume"] = {"resumed_at": resumed and resumed["step"], "finished": code == 0, "max_loss_diff_vs_undisturbed": diff, "ok": ok}
    say(f"SIGKILL after the first checkpoint, resumed at step {resumed and resumed['step']}, finished: {code == 0}; "
        f"largest loss difference from the undisturbed run: {diff:.2e}")

    use_vllm = gpu and bool(report["extras"]["vllm"])
    served = serve_and_ask(base, work / "ours-lora" / "final", use_vllm, 64 if gpu else 4)
    report["serve"] = served
    say(f"served by {served['server']} (up in {served['startup_seconds']} s): {served['requests']} requests in flight via the {served['via']}, "
        f"{served['requests_per_second']} requests/s; first answer {served['first_answer']!r}")

    report["seconds"] = round(time.monotonic() - t_start, 1)
    (work / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str))
    targets_ok = args.cpu_smoke or (ratio >= 1.3 and (runs["ours-full"]["mfu"] or 0) >= 0.40)
    say(f"done in {report['seconds']} s; report {work / 'gpu-check.json'}"
        + ("" if args.cpu_smoke else f"; targets (>= 1.3x TRL defaults, full MFU >= 40%): {'met' if targets_ok else 'NOT met'}"))
    return 0 if ok and targets_ok else 1


if __name__ == "__main__":
    sys.exit(main())
