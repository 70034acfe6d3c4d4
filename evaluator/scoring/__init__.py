"""Scoring one submission into a ScoreReport (evaluator.scoring.types)."""
