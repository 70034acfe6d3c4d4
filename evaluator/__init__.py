"""Offline FBC2 evaluator. Layers, each importing only those before it: `errors` and `options`
(leaves), `metrics` (per-sample and task metrics), `tasks` (the task registry), `io` (reading the
reference and each team's files once), `scoring` (a ScoreReport), `co2` (eco2AI files),
`leaderboard` (a Board), `report` (renderers), `cli`. Command line: `python -m evaluator --help`."""
