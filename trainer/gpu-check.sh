#!/usr/bin/env bash
# The GPU check: builds a ~1B Llama-architecture model, trains LoRA and full fine-tuning on FireAct's
# multitask_multimethod data, compares tokens/s and MFU with plain TRL SFTTrainer defaults, SIGKILLs a
# run and resumes it, and serves the result (vLLM) to the openai client. Meant to take under 8 minutes
# on one H100/H200. `--cpu-smoke` runs the same pieces on CPU with a tiny model (what CI can run).
#
# Python: $FIREACT_TRAINER_PYTHON, else the venv of scripts/setup-trainer.sh (which needs PyPI the
# first time). On a GPU, install the optional extras into that venv first:
#   "$python" -m pip install -r trainer/requirements-gpu.txt
# Extra arguments go to `python -m fireact_trainer.gpu_check` (--work DIR, --steps N, --data FILE).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${FIREACT_TRAINER_PYTHON:-$(bash "$repo/scripts/setup-trainer.sh" | tail -n 1)}
cd "$repo"
PYTHONPATH="$repo/trainer" HF_HUB_OFFLINE=1 exec "$python" -m fireact_trainer.gpu_check "$@"
