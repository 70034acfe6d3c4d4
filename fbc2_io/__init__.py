"""Reading and writing files that come from strangers, shared by the submission and the judge.

``run.py`` and ``solution/`` import it, and so do ``evaluator/``, ``scripts/`` and ``training/``; the
Docker image and the submission ZIP ship it beside ``solution/``. It imports only the standard
library, numpy and Pillow.

- :mod:`fbc2_io.errors`: :class:`UnusableFile`, the one "this file cannot be used" exception.
- :mod:`fbc2_io.files`: checked paths, bounded non-blocking reads, atomic writes with umask modes.
- :mod:`fbc2_io.text`: lone surrogates, printable paths.
- :mod:`fbc2_io.images`: the one image loader (fixed raster formats, bounded decode cost, deadline).
- :mod:`fbc2_io.console`: stdout/stderr that never crash on a character they cannot encode.
- :mod:`fbc2_io.settings`: command-line flags built from settings dataclasses (``run.py``'s and
  ``training``'s), each setting written once in its field.
"""
