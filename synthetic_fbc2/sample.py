"""The in-memory form of one FBC2 sample, independent of how it is written to disk."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

TEXT = "text"
IMAGE = "image"


@dataclass
class Item:
    """One input item: ``type`` is "text" (content a str) or "image" (content a PIL image)."""

    type: str
    content: str | Image.Image

    def __post_init__(self) -> None:
        if self.type == TEXT and not isinstance(self.content, str):
            raise TypeError("a text item needs a str content")
        if self.type == IMAGE and not isinstance(self.content, Image.Image):
            raise TypeError("an image item needs a PIL image content")
        if self.type not in (TEXT, IMAGE):
            raise ValueError(f"unknown item type {self.type!r}")


@dataclass
class SyntheticSample:
    """A generated sample.

    ``answers`` lists the acceptable text answers of a text task (``answers[0]`` is the canonical one,
    the training target); ``gold_image`` is the ground-truth image of ImageGeneration. ``meta`` holds
    generator facts (layout, content key, scene, equation...) for tests and diagnostics; it is not
    written to the FBC2 files.
    """

    task: str
    task_id: int
    items: list[Item]
    answers: list[str] | None = None
    gold_image: Image.Image | None = None
    meta: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [it.content for it in self.items if it.type == TEXT]

    @property
    def images(self) -> list[Image.Image]:
        return [it.content for it in self.items if it.type == IMAGE]
