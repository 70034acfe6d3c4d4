"""FBC2 values: a sample's value is a list of items {"type": "text"|"image", "content": ...}.

Problems with single predictions never raise: they are returned as `Problem`s, the sample scores 0
and the report counts them (`--strict` turns them into a non-zero exit).
"""

from __future__ import annotations

import os
import reprlib
from dataclasses import dataclass

from evaluator.io.display import shown
from evaluator.io.files import path_text_problem, resolve_in_folder

# Kinds of per-sample prediction problems (the report counts each kind).
MISSING = "missing"  # the sample id is not in predictions.json
NOT_A_LIST = "not_a_list"  # the value is neither a list of items nor one item object
BAD_ITEM = "bad_item"  # an item is not an object with "type" and "content"
NO_MATCHING_ITEM = "no_matching_item"  # no item of the task's output type
BAD_CONTENT = "bad_content"  # the first matching item's content is not a string
IMAGE_MISSING = "image_missing"  # the image file does not exist
IMAGE_OUTSIDE = "image_outside"  # the image path leaves the submission folder
IMAGE_UNREADABLE = "image_unreadable"  # the image file exists but Pillow cannot read it


@dataclass(frozen=True)
class Problem:
    """Why one sample's prediction could not be used (it scores 0)."""

    sample_id: str
    task: str
    kind: str
    detail: str

    def to_json(self) -> dict:
        return {"id": self.sample_id, "task": self.task, "kind": self.kind, "detail": self.detail}


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


def item_types(value) -> list:
    """The "type" of every item of a value (for the sanity checks)."""
    return [item.get("type") for item in as_items(value) or [] if isinstance(item, dict)]


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


def image_file(folder: str, relative) -> tuple[str | None, str | None, str]:
    """(path of an existing image file named by `relative` inside `folder`, problem kind, detail):
    refuses unusable strings (NUL, lone surrogates, too long), absolute paths and paths leaving the
    folder (through '..' or a link)."""
    problem = path_text_problem(relative)
    if problem is not None:
        return None, BAD_CONTENT, f"image content {shown(relative)}: {problem}"
    path, reason = resolve_in_folder(folder, relative)
    if path is None:
        return None, IMAGE_OUTSIDE, f"{shown(relative)}: {reason} ({shown(folder)})"
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
