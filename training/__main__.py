import sys

from fbc2_tools.quiet import silence_library_warnings, verbose_requested

silence_library_warnings(verbose_requested())  # before torch is imported (its pynvml FutureWarning)
from .cli import main  # noqa: E402

sys.exit(main())
