"""`python -m evaluator ...`: see evaluator/cli.py."""

import sys

from evaluator.cli import main

sys.exit(main())
