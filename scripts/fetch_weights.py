#!/usr/bin/env python3
"""Download the published RUDOLPH, bpe.model and Sber-VQGAN (or the evaluator's ruCLIP and FID Inception)
into a weights folder: see ``--help`` and fbc2_tools/fetch_weights.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fbc2_tools.quiet import silence_library_warnings, verbose_requested  # noqa: E402

silence_library_warnings(verbose_requested())
from fbc2_tools.fetch_weights import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
