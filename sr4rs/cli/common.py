"""What every command shares: quiet TensorFlow, error reporting, progress bars."""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Optional

from ..errors import Sr4rsError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def quiet_tensorflow() -> None:
    """TensorFlow prints C++ and absl chatter on import; keep the terminal for our messages."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def run_command(prog: str, func: Callable[[], Optional[int]]) -> int:
    """Run ``func``; an Sr4rsError or Ctrl-C becomes one line on stderr and an exit code."""
    try:
        return func() or 0
    except Sr4rsError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


def progress_bar(total: int, desc: str, unit: str = "px", disable: bool = False):
    """A tqdm bar (pixels/s with SI prefixes); ``disable`` where output is not a terminal by choice."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=disable, dynamic_ncols=True)
