"""The metrics: per-sample functions (text, METEOR, ruCLIP, FID) and task metrics that declare their
aggregation, standard error and extras (evaluator.metrics.task_metrics)."""
