"""Offline FBC2 evaluator: the official metrics (evaluator.metrics), task registry (evaluator.tasks),
submission scoring (evaluator.scoring), local leaderboard (evaluator.leaderboard) and eco2AI CO2
reports (evaluator.co2). Command line: `python -m evaluator --help`."""
