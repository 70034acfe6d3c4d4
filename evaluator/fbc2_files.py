"""Reading FBC2 JSON files (input, ground truth, predictions, sample ids) defensively.

Unreadable files raise `InputError` with one clear sentence (the CLI prints it as one line).
Problems with single predictions never raise: they are returned as `Problem`s, the sample
scores 0, and the report counts them (`--strict` turns them into a non-zero exit).
"""

from __future__ import annotations

import json
import os
import reprlib
from dataclasses import dataclass

# Kinds of per-sample prediction problems (the report counts each kind).
MISSING = "missing"  # the sample id is not in predictions.json
NOT_A_LIST = "not_a_list"  # the value is neither a list of items nor one item object
BAD_ITEM = "bad_item"  # an item is not an object with "type" and "content"
NO_MATCHING_ITEM = "no_matching_item"  # no item of the task's output type
BAD_CONTENT = "bad_content"  # the first matching item's content is not a string
IMAGE_MISSING = "image_missing"  # the image file does not exist
IMAGE_OUTSIDE = "image_outside"  # the image path leaves the submission folder
IMAGE_UNREADABLE = "image_unreadable"  # the image file exists but Pillow cannot read it

PROBLEM_KINDS = (MISSING, NOT_A_LIST, BAD_ITEM, NO_MATCHING_ITEM, BAD_CONTENT, IMAGE_MISSING, IMAGE_OUTSIDE,
                 IMAGE_UNREADABLE)


class InputError(Exception):
    """A file cannot be used at all (absent, not JSON, wrong top-level shape)."""


@dataclass(frozen=True)
class Problem:
    sample_id: str
    task: str
    kind: str
    detail: str

    def message(self) -> str:
        return f"{self.task} sample {self.sample_id}: {self.kind} ({self.detail})"


def load_json(path: str, what: str, *, root: str | None = None) -> dict:
    """Load a JSON object keyed by sample id; raise InputError with a one-line reason otherwise.

    With `root`, `path` is relative to that folder and must stay inside it (a team's files)."""
    from evaluator import safe_read

    limit = safe_read.MAX_JSON_BYTES
    if root is None:
        data = safe_read.read_regular(path, limit, f"{what} file")
    else:
        data = safe_read.read_inside(root, path, limit, f"{what} file")
        path = os.path.join(root, path)
    return parse_json_object(data, path, what)


def parse_json_object(data: bytes, path: str, what: str) -> dict:
    """The JSON object in `data`; InputError for bad UTF-8, bad syntax, too deep nesting or a number
    too long to convert, or a top level that is not an object."""
    from evaluator.safe_read import shown

    where = shown(path)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{what} file is not UTF-8 text: {where} ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{what} file is not valid JSON: {where} (line {error.lineno}, column {error.colno}: "
                         f"{error.msg})") from None
    except RecursionError:
        raise InputError(f"{what} file is not usable JSON: {where} (nested too deeply)") from None
    except ValueError as error:  # e.g. an integer over Python's 4300-digit conversion limit
        raise InputError(f"{what} file is not usable JSON: {where} ({str(error)[:120]})") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{what} file must hold a JSON object keyed by sample id, found {type(parsed).__name__}: "
                         f"{where}")
    return parsed


def load_task_ids(path: str) -> dict[str, int]:
    """sample_ids.json: {"<sample id>": <task id>}; task ids may be ints or digit strings."""
    raw = load_json(path, "task-ids")
    task_ids: dict[str, int] = {}
    for sample_id, value in raw.items():
        digits = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
            raise InputError(f"task-ids file {path}: sample {reprlib.repr(sample_id)} has task id {reprlib.repr(value)}, "
                             "expected an integer")
        task_ids[str(sample_id)] = int(value)
    return task_ids


def as_items(value) -> list | None:
    """A sample's value as a list of items: a list stays a list, one item object becomes [item]."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and "type" in value:
        return [value]
    return None


def first_item(value, item_type: str) -> tuple[object | None, str | None, str]:
    """(content of the first item of `item_type`, problem kind or None, detail)."""
    items = as_items(value)
    if items is None:
        return None, NOT_A_LIST, f"value is {type(value).__name__}, expected a list of items"
    for item in items:
        if not isinstance(item, dict) or "type" not in item or "content" not in item:
            return None, BAD_ITEM, f"item {reprlib.repr(item)} is not an object with 'type' and 'content'"
        if item["type"] == item_type:
            return item["content"], None, ""
    return None, NO_MATCHING_ITEM, f"no item of type {item_type!r}"


def items_of_type(value, item_type: str) -> list:
    """Contents of every item of `item_type` (used for the input's caption and image)."""
    items = as_items(value) or []
    return [item["content"] for item in items if isinstance(item, dict) and item.get("type") == item_type]


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate (valid in JSON, not encodable as UTF-8) replaced by U+FFFD."""
    if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return text
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def gold_answers(value) -> list[str] | None:
    """The acceptable answers of a text ground-truth sample (a list, or a bare string)."""
    content, problem, _ = first_item(value, "text")
    if problem is not None:
        return None
    if isinstance(content, str):
        return [without_surrogates(content)]
    if isinstance(content, list) and all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in content):
        return [without_surrogates(str(c)) for c in content]  # a bare number in a published answer list counts as its text
    return None


def resolve_inside(folder: str, relative: str) -> tuple[str | None, str | None, str]:
    """Resolve an image path against `folder` (fbc2_io.files); refuse unusable strings (NUL,
    lone surrogates, too long), absolute paths and paths leaving the folder (through '..' or a link)."""
    from evaluator.safe_read import shown
    from fbc2_io.errors import UnusableFile
    from fbc2_io.files import path_problem
    from fbc2_io.files import resolve_inside as resolve

    problem = path_problem(relative)
    if problem is not None:
        return None, BAD_CONTENT, f"image content {shown(relative)}: {problem}"
    try:
        path = str(resolve(folder, relative))
    except UnusableFile as error:
        return None, IMAGE_OUTSIDE, f"{shown(relative)}: {error.reason} ({shown(folder)})"
    if not os.path.isfile(path):
        return None, IMAGE_MISSING, f"{shown(relative)} not found in {shown(folder)}"
    return path, None, ""


def generation_caption(input_value) -> str | None:
    """The caption of an ImageGeneration input: the second text item when there are two,
    otherwise the text after the first ". " of the only item (the whole text if there is none)."""
    texts = [t for t in items_of_type(input_value, "text") if isinstance(t, str)]
    if len(texts) >= 2:
        return texts[1]
    if len(texts) == 1:
        head, sep, tail = texts[0].partition(". ")
        return tail if sep else head
    return None
