"""From FBC2 samples to RUDOLPH training sequences.

``build_examples`` turns samples (read from the organisers' per-task training folders or drawn from
the synthetic generator) into :class:`Example`: task, left text (all text items joined with
spaces, as the baseline does), answer (the first, canonical gold answer: the organisers' loader
trains on ``content[0]`` as well) and the VQGAN codes of the task's image (see ``tasks.py``).
Encoding images is the slow part, so codes are computed once and kept in an
:class:`ImageCodeCache` file keyed by the prepared image's bytes and the VQGAN's weights.

``encode_example`` makes the ``(l + m*m + r,)`` ids of one example for one epoch: the task's
special tokens are used with probability 0.75 and the UNK tokens otherwise, drawn from a
``random.Random`` seeded by (seed, epoch, example index), so a run and its resumption see the same
choices.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from fbc2_io.files import atomic_write_bytes
from solution.images import prepare_image
from solution.rudolph import RudolphConfig
from solution.rudolph.tokenizer import Tokenizer

from .tasks import LT_UNK, RT_UNK, TASK_TOKEN_PROBABILITY, TaskTraining, task_training


@dataclass(frozen=True)
class Example:
    task: str
    left_text: str
    answer: str | None  # None for tasks without right text
    image_codes: torch.Tensor | None  # (m*m,) long, None: the all-zero image block


def left_text_of(sample) -> str:
    """All text items of the input joined with spaces (the baseline's left text)."""
    return " ".join(t.strip() for t in sample.texts if t.strip())


def image_of(sample, spec: TaskTraining):
    """The PIL image whose codes fill the image block, or None (``image_source`` "none")."""
    if spec.image_source == "none":
        return None
    if spec.image_source == "gold":
        if sample.gold_image is None:
            raise ValueError(f"{sample.task} sample {sample.meta.get('id', '?')} has no ground-truth image")
        return sample.gold_image
    images = sample.images
    if not images:
        raise ValueError(f"{sample.task} sample {sample.meta.get('id', '?')} has no input image")
    return images[-1]  # the baseline encodes the last image of a sample


def answer_of(sample, spec: TaskTraining) -> str | None:
    if not spec.has_right_text:
        return None
    if not sample.answers:
        raise ValueError(f"{sample.task} sample {sample.meta.get('id', '?')} has no text answer")
    return sample.answers[0]


def vqgan_fingerprint(vqgan) -> str:
    """A short hash of the VQGAN's weights: cached codes are valid only for the same weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(vqgan.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class ImageCodeCache:
    """VQGAN codes of prepared images, ``sha1(image bytes) -> (h*w,) codes``, saved as one ``.pt``.

    The file records the VQGAN fingerprint and the image size; a file made with other weights or
    another size is ignored (and rewritten on ``save``). Codes are the deterministic argmax.
    """

    def __init__(self, path: str | Path | None, vqgan, image_size: int):
        self.path = Path(path) if path is not None else None
        self.vqgan, self.image_size = vqgan, image_size
        self.fingerprint = vqgan_fingerprint(vqgan)
        self.codes: dict[str, torch.Tensor] = {}
        self.loaded = 0
        if self.path is not None and self.path.is_file():
            data = torch.load(self.path, map_location="cpu", weights_only=True)
            if data.get("vqgan") == self.fingerprint and data.get("image_size") == image_size:
                self.codes = dict(data["codes"])
                self.loaded = len(self.codes)

    @staticmethod
    def key(pixels: torch.Tensor) -> str:
        return hashlib.sha1(pixels.numpy().tobytes()).hexdigest()

    def encode_all(self, images: list, batch_size: int = 32) -> list[torch.Tensor]:
        """Codes of PIL images, computing only those not cached yet."""
        pixels = [prepare_image(img, self.image_size) for img in images]
        keys = [self.key(p) for p in pixels]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        todo = [k for k in first if k not in self.codes]
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            batch = torch.stack([pixels[first[k]] for k in chunk])
            with torch.no_grad():
                codes = self.vqgan.encode(batch).cpu()
            for k, c in zip(chunk, codes, strict=True):
                self.codes[k] = c.clone()
        return [self.codes[k] for k in keys]

    def save(self) -> None:
        if self.path is None:
            return
        buffer = io.BytesIO()
        torch.save({"vqgan": self.fingerprint, "image_size": self.image_size, "codes": self.codes}, buffer)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, buffer.getvalue())


def build_examples(samples: Iterable, cache: ImageCodeCache | None, registry: dict[str, TaskTraining] | None = None
                   ) -> list[Example]:
    """Examples of ``samples`` in order; image codes come from ``cache`` (needed when a task has images)."""
    samples = list(samples)
    specs = [registry[s.task] if registry is not None else task_training(s.task) for s in samples]
    images = [image_of(s, spec) for s, spec in zip(samples, specs, strict=True)]
    with_image = [i for i, img in enumerate(images) if img is not None]
    codes: dict[int, torch.Tensor] = {}
    if with_image:
        if cache is None:
            raise ValueError("these samples have images: an ImageCodeCache (a VQGAN) is needed")
        for i, c in zip(with_image, cache.encode_all([images[i] for i in with_image]), strict=True):
            codes[i] = c
    return [Example(s.task, left_text_of(s), answer_of(s, spec), codes.get(i))
            for i, (s, spec) in enumerate(zip(samples, specs, strict=True))]


def special_tokens_rng(seed: int, epoch: int, index: int) -> random.Random:
    return random.Random(f"fbc2-train-tokens:{seed}:{epoch}:{index}")


def choose_special(task_token: str, unk_token: str, rng: random.Random,
                   probability: float = TASK_TOKEN_PROBABILITY) -> str:
    """The task's token with ``probability``, else the UNK token."""
    return task_token if rng.random() < probability else unk_token


def encode_example(example: Example, tokenizer: Tokenizer, config: RudolphConfig, rng: random.Random,
                   registry: dict[str, TaskTraining] | None = None,
                   probability: float = TASK_TOKEN_PROBABILITY) -> torch.Tensor:
    """``(l + m*m + r,)`` ids: left text, image codes (zeros when none), right text (zeros when none)."""
    spec = registry[example.task] if registry is not None else task_training(example.task)
    left_token = choose_special(spec.lt_token, LT_UNK, rng, probability)
    right_token = choose_special(spec.rt_token, RT_UNK, rng, probability) if spec.has_right_text else None
    left = tokenizer.encode_left(example.left_text, config.l_text_seq_length, left_token)
    n = config.image_seq_length
    if example.image_codes is None:
        image = torch.zeros(n, dtype=torch.long)
    else:
        if example.image_codes.numel() != n:
            raise ValueError(f"{example.task}: {example.image_codes.numel()} image codes, the model expects {n} "
                             f"(image side {config.image_tokens_per_dim} tokens)")
        image = example.image_codes.long()
    if right_token is None:
        right = torch.zeros(config.r_text_seq_length, dtype=torch.long)
    else:
        right = tokenizer.encode_right(example.answer, config.r_text_seq_length, right_token)
    return torch.cat([left, image, right])


def make_batch(examples: list[Example], indices: list[int], epoch: int, seed: int, tokenizer: Tokenizer,
               config: RudolphConfig, registry: dict[str, TaskTraining] | None = None
               ) -> tuple[torch.Tensor, list[str]]:
    """``(len(indices), S)`` ids and the task names of the examples at ``indices``."""
    ids = [encode_example(examples[i], tokenizer, config, special_tokens_rng(seed, epoch, i), registry)
           for i in indices]
    return torch.stack(ids), [examples[i].task for i in indices]
