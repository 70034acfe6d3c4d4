"""Reading and checking the evaluator's inputs once: the reference, each team's folder and predictions,
into typed per-sample records (the lowest layer above evaluator.errors and evaluator.tasks)."""
