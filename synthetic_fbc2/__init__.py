"""Synthetic FBC2-format data: generators for the six open tasks and the FBC2 file writers."""

from solution.answer_options import format_options, parse_options

from .files import read_test_set, read_training_folders, write_test_set, write_training_folders
from .fonts import FontNotFoundError, find_cyrillic_fonts
from .sample import Item, SyntheticSample
from .synthetic import SPLITS, content_bucket, generate_samples, generate_split, iter_samples, iter_split
from .tasks import TASK_BY_ID, TASKS, TaskSpec

__all__ = [
    "SPLITS", "TASKS", "TASK_BY_ID", "FontNotFoundError", "Item", "SyntheticSample", "TaskSpec",
    "content_bucket", "find_cyrillic_fonts", "format_options", "generate_samples", "generate_split",
    "iter_samples", "iter_split",
    "parse_options", "read_test_set", "read_training_folders", "write_test_set",
    "write_training_folders",
]
