#!/usr/bin/env python3
"""Fine-tune RUDOLPH on FBC2-format data with DeepSpeed and eco2AI: see ``--help`` and docs/training.md."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fbc2_io.console import make_console_safe  # noqa: E402
from fbc2_tools.quiet import silence_library_warnings, verbose_requested  # noqa: E402

silence_library_warnings(verbose_requested())  # before torch is imported (its pynvml FutureWarning)
from training.cli import main  # noqa: E402

if __name__ == "__main__":
    make_console_safe()
    sys.exit(main())
