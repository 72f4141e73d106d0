"""Progress as JSON lines on stdout (the caller's protocol); everything human goes to stderr."""
from __future__ import annotations

import json
import logging
import math
import os
import sys
from typing import Any, TextIO

_events: TextIO | None = None  # set by claim_stdout; else whatever sys.stdout is now


def claim_stdout() -> None:
    """Keeps stdout for events only: libraries that print (Python or C) end up on stderr instead."""
    global _events
    sys.stdout.flush()
    _events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def emit(event: str, **fields: Any) -> None:
    """Writes one event line and flushes, so a caller reading the pipe sees it at once."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in fields.items()}
    out = _events if _events is not None else sys.stdout
    out.write(json.dumps({"event": event, **clean}, separators=(",", ":")) + "\n")
    out.flush()


def setup_logging(verbose: bool = False) -> None:
    # Progress bars and deprecation chatter from the libraries would bury the trainer's own lines.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_warning()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
