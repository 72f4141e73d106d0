"""An OpenAI-compatible chat completions server for a trained model (stdlib HTTP, one generation at a
time): GET /health, GET /v1/models, POST /v1/chat/completions.

Stop sequences are applied to the decoded text (generation also halts as soon as one appears); the
usage counts are the prompt's tokens and the tokens generated.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import torch

from .events import emit

log = logging.getLogger("fireact_trainer.serve")


class RequestError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


def resolve_model(model: str, adapter: str | None) -> tuple[str, str | None]:
    """(base, adapter): a LoRA output given as --model is served on the base it was trained from."""
    if adapter is None and (Path(model) / "adapter_config.json").is_file():
        base = json.loads((Path(model) / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise ValueError(f"{model} is a LoRA adapter that does not name its base model; pass --model BASE --adapter {model}")
        return base, model
    return model, adapter


class Generator:
    """The model, its tokenizer and a lock (generation is serialized: one model, CPU or one GPU)."""

    def __init__(self, model: str, adapter: str | None, device: str | None = None, name: str | None = None) -> None:
        from transformers import AutoModelForCausalLM

        from .tokenizer import load_tokenizer

        base, adapter = resolve_model(model, adapter)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.bfloat16 if self.device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        # The adapter's directory holds the tokenizer it was trained with (chat template included).
        tok_source = adapter if adapter and (Path(adapter) / "tokenizer_config.json").is_file() else base
        self.tokenizer = load_tokenizer(tok_source)
        m = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
        if adapter:
            from peft import PeftModel

            m = PeftModel.from_pretrained(m, adapter)
        self.model = m.to(self.device).eval()
        source = adapter or base
        self.name = name or (Path(source).resolve().name if Path(source).exists() else source)
        self.lock = threading.Lock()
        gc = getattr(self.model, "generation_config", None)
        eos = getattr(gc, "eos_token_id", None) if gc is not None else None
        eos_ids = eos if isinstance(eos, list) else [eos] if eos is not None else []
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in eos_ids:
            eos_ids.append(self.tokenizer.eos_token_id)
        self.eos_ids = eos_ids

    def chat(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float, top_p: float, stop: list[str], seed: int | None) -> dict[str, Any]:
        prompt = self.tokenizer.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in messages], tokenize=False, add_generation_prompt=True
        )
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and ids.shape[1] + max_tokens > limit:
            raise RequestError(400, f"prompt ({ids.shape[1]} tokens) plus max_tokens ({max_tokens}) exceeds the model's context of {limit}", "messages", "context_length_exceeded")
        with self.lock:
            if seed is not None:
                torch.manual_seed(seed)
            kwargs: dict[str, Any] = {"max_new_tokens": max_tokens, "eos_token_id": self.eos_ids or None,
                                      "pad_token_id": self.tokenizer.pad_token_id}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            if stop:
                kwargs["stopping_criteria"] = [StopOnText(self.tokenizer, ids.shape[1], stop)]
            with torch.no_grad():
                output = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        new = output[0, ids.shape[1]:].tolist()
        ended_on_eos = bool(new) and new[-1] in self.eos_ids
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        cut = cut_at_stop(text, stop)
        finish = "stop" if (cut is not None or ended_on_eos) else "length"
        return {"text": text if cut is None else cut, "finish_reason": finish, "prompt_tokens": int(ids.shape[1]), "completion_tokens": len(new)}


def cut_at_stop(text: str, stop: list[str]) -> str | None:
    """The text before the earliest stop sequence, or None when none occurs."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(hits)] if hits else None


class StopOnText:
    """Ends generation once the decoded continuation contains a stop sequence."""

    def __init__(self, tokenizer: Any, prompt_len: int, stop: list[str]) -> None:
        self.tokenizer, self.prompt_len, self.stop = tokenizer, prompt_len, [s for s in stop if s]

    def __call__(self, input_ids: torch.Tensor, scores: Any, **_: Any) -> torch.Tensor:
        text = self.tokenizer.decode(input_ids[0, self.prompt_len:], skip_special_tokens=True)
        done = any(s in text for s in self.stop)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def parse_request(body: Any, default_max_tokens: int) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "messages must be a non-empty array", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "developer"):
            raise RequestError(400, f"messages[{i}].role must be system, user or assistant", f"messages[{i}].role")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise RequestError(400, f"messages[{i}].content must be a string", f"messages[{i}].content")
        messages[i] = {"role": "system" if m["role"] == "developer" else m["role"], "content": content}
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    if max_tokens is None:
        max_tokens = default_max_tokens
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise RequestError(400, "max_tokens must be a positive integer", "max_tokens")
    temperature = 1.0 if body.get("temperature") is None else body["temperature"]
    top_p = 1.0 if body.get("top_p") is None else body["top_p"]
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise RequestError(400, "temperature must be between 0 and 2", "temperature")
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise RequestError(400, "top_p must be in (0, 1]", "top_p")
    if body.get("n", 1) != 1:
        raise RequestError(400, "only n=1 is supported", "n")
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop) or len(stop) > 4:
        raise RequestError(400, "stop must be a string or up to 4 strings", "stop")
    seed = body.get("seed")
    return {"messages": messages, "max_tokens": max_tokens, "temperature": float(temperature), "top_p": float(top_p),
            "stop": stop, "seed": seed if isinstance(seed, int) else None, "stream": bool(body.get("stream"))}


def make_handler(gen: Generator, default_max_tokens: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, e: RequestError) -> None:
            kind = "invalid_request_error" if e.status < 500 else "server_error"
            self._send(e.status, {"error": {"message": str(e), "type": kind, "param": e.param, "code": e.code}})

        def do_GET(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            if path == "/health":
                self._send(200, {"status": "ok", "model": gen.name})
            elif path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": gen.name, "object": "model", "created": 0, "owned_by": "fireact"}]})
            else:
                self._error(RequestError(404, f"no route {self.path}", code="not_found"))

        def do_POST(self) -> None:
            try:
                if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
                    raise RequestError(404, f"no route {self.path}", code="not_found")
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except json.JSONDecodeError as e:
                    raise RequestError(400, f"the body is not JSON: {e}") from e
                req = parse_request(body, default_max_tokens)
                out = gen.chat(req["messages"], req["max_tokens"], req["temperature"], req["top_p"], req["stop"], req["seed"])
            except RequestError as e:
                self._error(e)
                return
            except Exception as e:  # a failed generation answers 500 and the server keeps serving
                log.exception("generation failed")
                self._error(RequestError(500, f"generation failed: {e}"))
                return
            completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
            usage = {"prompt_tokens": out["prompt_tokens"], "completion_tokens": out["completion_tokens"],
                     "total_tokens": out["prompt_tokens"] + out["completion_tokens"]}
            if req["stream"]:
                self._stream(completion_id, created, out, usage)
                return
            self._send(200, {
                "id": completion_id, "object": "chat.completion", "created": created, "model": gen.name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": out["text"], "refusal": None},
                             "logprobs": None, "finish_reason": out["finish_reason"]}],
                "usage": usage, "system_fingerprint": None,
            })

        def _stream(self, completion_id: str, created: int, out: dict[str, Any], usage: dict[str, int]) -> None:
            """Server-sent events for stream=true: the whole answer in one chunk (it is generated first)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": gen.name}
            chunks = [
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": out["text"]}, "finish_reason": None}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": out["finish_reason"]}], "usage": usage},
            ]
            for c in chunks:
                self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def run(args: Any) -> int:
    gen = Generator(args.model, args.adapter, args.device, args.name)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(gen, args.max_new_tokens))
    server.daemon_threads = True

    def shutdown(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    host, port = server.server_address[:2]
    emit("listening", host=host, port=port, model=gen.name, base_url=f"http://{host}:{port}/v1")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    emit("stopped")
    return 0
