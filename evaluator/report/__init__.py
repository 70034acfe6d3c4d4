"""Renderers of ScoreReport and Board: text, CSV, Markdown and HTML. They take only those types."""
