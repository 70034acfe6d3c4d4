"""Quiet start-up for the kit's commands: no library warnings or chatter unless ``--verbose``.

- ``silence_library_warnings()``: warnings raised inside third-party code (torch's pynvml
  FutureWarning, DeepSpeed's, eco2AI's) are hidden; warnings of this project's packages still show.
- ``silence_deepspeed()``: DeepSpeed's logger at ERROR and its accelerator fixed to the CPU when no
  GPU is visible (else it logs that it found none).
- ``quiet_output()``: a block whose C/C++ or Python prints to stdout/stderr (youtokentome's parameter
  block, DeepSpeed's "op built successfully") are captured at the file-descriptor level and shown
  only if the block fails.
- ``LineProgress``-style plain lines: ``progress_lines(total)`` for logs that are not a terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
import warnings

PROGRESS_EVERY = 30.0  # seconds between plain progress lines
OUR_PACKAGES = r"(solution|training|evaluator|synthetic_fbc2|fbc2_tools|fbc2_tasks|scripts|__main__)(\.|$)"


def silence_library_warnings(verbose: bool = False) -> None:
    if verbose:
        return
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OUR_PACKAGES)  # inserted first: ours still show


def verbose_requested(argv: list[str] | None = None) -> bool:
    """``--verbose`` on the command line, read before argparse (warnings fire at import time)."""
    return "--verbose" in (sys.argv[1:] if argv is None else argv)


def silence_deepspeed(verbose: bool = False) -> None:
    """Import DeepSpeed quietly: its accelerator fixed to the CPU when no GPU is visible, its logger at ERROR."""
    if verbose:
        return
    if not _cuda_visible():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        from deepspeed.utils import logger
    except Exception:  # not installed, or failing to import: the caller reports that
        return
    logger.setLevel(logging.ERROR)


def _cuda_visible() -> bool:
    try:
        import torch  # optional: the quiet start-up works without torch
    except ModuleNotFoundError:
        return False
    return torch.cuda.is_available()


@contextlib.contextmanager
def quiet_output(verbose: bool = False):
    """Capture fds 1 and 2 for the block; replay them to stderr if it raises."""
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 1)
        os.dup2(captured.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if failed:
                captured.seek(0)
                sys.stderr.write(captured.read().decode("utf-8", "replace"))
                sys.stderr.flush()



class PlainProgress:
    """A progress line every ``every`` seconds and at the end, no carriage returns (for log files)."""

    def __init__(self, label: str, total: int, initial: int = 0, every: float = PROGRESS_EVERY, file=None):
        self.label, self.total, self.n, self.every = label, total, initial, every
        self.file = file if file is not None else sys.stdout
        self.start = self.last = time.monotonic()
        self.postfix = ""
        self.printed = initial

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(now)

    def write(self, message: str) -> None:
        print(message, file=self.file, flush=True)

    def _line(self, now: float) -> None:
        self.printed = self.n
        extra = f", {self.postfix}" if self.postfix else ""
        self.write(f"{self.label}: {self.n}/{self.total}{extra}, {now - self.start:.0f} s")

    def close(self) -> None:
        if self.n != self.printed:
            self._line(time.monotonic())


def progress(label: str, total: int, initial: int = 0, unit: str = "it", every: float = PROGRESS_EVERY, file=None):
    """tqdm on a terminal, PlainProgress lines otherwise."""
    file = file if file is not None else sys.stdout
    if hasattr(file, "isatty") and file.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=label, unit=unit, dynamic_ncols=True, file=file)
    return PlainProgress(label, total, initial, every, file)
