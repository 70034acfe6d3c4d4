"""Ranking several teams into a Board (evaluator.leaderboard.types), with the sustainability nomination."""
