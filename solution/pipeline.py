"""One RUDOLPH pipeline for every FBC2 sample, unaware of the task.

Each sample gets ``<LT_UNK>`` on its left text and ``<RT_UNK>`` on its right text. Phases, each
batched and ordered by left-text length so that similar samples (and answer lengths) share a batch:

1. **encode** the input image of each sample with the VQGAN (samples without a readable image are
   text-only);
2. **answer**: when the text carries options (``a) ...; b) ...``) every option is scored as the
   right text and the best one answers as ``"b) text"``; otherwise the right text is generated.
   Text-only samples answer with the all-zero image block, as fine-tuning trained them
   (``text_only_image="generated"`` conditions them on their generated image, as the baseline did);
3. **image**: text-only samples get a generated image, decoded and saved as
   ``images/image_<id>.jpg``.

Images come last so that the time-budget guard can drop them first. ``Budget`` decides, before every
batch, what the remaining time still allows.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from .budget import Budget, Remaining
from .data.options import parse_options
from .fbc2_input import Sample, read_sample_image
from .images import prepare_image, to_pil
from .predictions import PredictionStore
from .rudolph import (
    BASELINE_IMAGE_SAMPLING,
    GREEDY,
    Sampling,
    generate_image_tokens,
    generate_right_text,
    score_right_texts,
)
from .weights import Weights


@dataclass
class RunOptions:
    batch_size: int = 4
    text_only_image: str = "zeros"  # "zeros" (as fine-tuned) or "generated" (the baseline)
    options: str = "score"  # "score" the given options or "generate" freely
    generate_images: bool = True
    max_answer_tokens: int = 0  # 0 = all right-text positions
    answer_sampling: Sampling = GREEDY
    image_sampling: Sampling = BASELINE_IMAGE_SAMPLING
    seed: int = 0
    progress: bool = True


@dataclass
class RunStats:
    seconds: dict = field(default_factory=lambda: defaultdict(float))
    samples: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    levels: list = field(default_factory=list)


def option_candidates(sample: Sample) -> list[tuple[str, str]]:
    """Options of the last text item that carries at least two, else none."""
    for text in reversed(sample.texts):
        options = parse_options(text)
        if len(options) >= 2:
            return options
    return []


def image_file_name(sample_id: str) -> str:
    """``image_<id>.jpg``; ids that are not plain names get a stable hash instead."""
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", sample_id) and not sample_id.startswith("."):
        return f"image_{sample_id}.jpg"
    return f"image_{hashlib.sha1(sample_id.encode()).hexdigest()[:16]}.jpg"


def batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Pipeline:
    def __init__(self, weights: Weights, store: PredictionStore, budget: Budget, options: RunOptions):
        self.w, self.store, self.budget, self.opt = weights, store, budget, options
        self.model, self.tok, self.vqgan = weights.model, weights.tokenizer, weights.vqgan
        self.c = self.model.config
        self.device = self.model.text_embeddings.weight.device
        self.stats = RunStats()
        self.image_ids: dict[str, torch.Tensor] = {}  # VQGAN codes of input images
        self.generated_ids: dict[str, torch.Tensor] = {}  # generated codes of text-only samples
        self.options: dict[str, list[tuple[str, str]]] = {}
        self.left: dict[str, torch.Tensor] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _generator(self, phase: str, ids: list[str]) -> torch.Generator:
        seed = zlib.crc32(f"{self.opt.seed}:{phase}:{ids[0]}".encode())
        return torch.Generator(device=self.device).manual_seed(seed)

    def _bar(self, phase: str, total: int):
        return tqdm(total=total, desc=f"{phase:<7}", unit="sample", disable=not self.opt.progress or total == 0,
                    dynamic_ncols=True)

    @property
    def full_answer_tokens(self) -> int:
        room = self.c.r_text_seq_length - 2
        return min(self.opt.max_answer_tokens, room) if self.opt.max_answer_tokens else room

    def _remaining(self, answer: list[Sample], image: list[Sample]) -> Remaining:
        todo = [s for s in answer if not self.store.is_done("answer", s.id)]
        scored = sum(1 for s in todo if self.options.get(s.id))
        return Remaining(generate=len(todo) - scored, score=scored,
                         image=sum(1 for s in image if not self.store.is_done("image", s.id)))

    def _check_budget(self, answer: list[Sample], image: list[Sample]) -> None:
        before = self.budget.name
        level = self.budget.update(self._remaining(answer, image), self.full_answer_tokens)
        if level != before:
            self.stats.levels.append((round(self.budget.elapsed(), 1), level))
            tqdm.write(f"time budget: {self.budget.remaining():.0f} s left, degrading to '{level}'")

    # -- phases -------------------------------------------------------------------------------
    def prepare(self, samples: list[Sample]) -> None:
        for s in samples:
            self.left[s.id] = self.tok.encode_left(s.text, self.c.l_text_seq_length)
            if self.opt.options == "score":
                self.options[s.id] = option_candidates(s)

    def encode_images(self, samples: list[Sample]) -> None:
        todo = [s for s in samples if s.image_path and not self.store.is_done("answer", s.id)]
        t0 = time.monotonic()
        size = self.w.image_size
        with self._bar("encode", len(todo)) as bar:
            for batch in batches(todo, self.opt.batch_size):
                tensors, ok = [], []
                for s in batch:
                    img = s.image if s.image is not None else read_sample_image(Path(s.image_path), s.image_path, s)
                    s.image = None  # not kept in memory
                    if img is not None:
                        tensors.append(prepare_image(img, size))
                        ok.append(s)
                    else:
                        s.image_path = None  # unreadable: the sample becomes text-only
                if tensors:
                    codes = self.vqgan.encode(torch.stack(tensors).to(self.device))
                    for s, code in zip(ok, codes, strict=True):
                        self.image_ids[s.id] = code.cpu()
                bar.update(len(batch))
        self.stats.seconds["encode"] += time.monotonic() - t0
        self.stats.samples["encode"] += len(todo)

    def _image_block(self, s: Sample) -> torch.Tensor:
        if s.id in self.image_ids:
            return self.image_ids[s.id]
        if self.opt.text_only_image == "generated" and s.id in self.generated_ids:
            return self.generated_ids[s.id]
        return torch.zeros(self.c.image_seq_length, dtype=torch.long)

    def answer(self, samples: list[Sample], image_samples: list[Sample]) -> None:
        todo = [s for s in samples if not self.store.is_done("answer", s.id)]
        todo.sort(key=lambda s: (bool(self.options.get(s.id)), int((self.left[s.id] != 0).sum())))
        with self._bar("answer", len(todo)) as bar:
            for kind in ("score", "generate"):
                group = [s for s in todo if bool(self.options.get(s.id)) == (kind == "score")]
                for batch in batches(group, self.opt.batch_size):
                    self._check_budget(samples, image_samples)
                    if not self.budget.allows(kind):
                        bar.update(len(batch))
                        continue
                    t0 = time.monotonic()
                    (self._score_batch if kind == "score" else self._generate_batch)(batch)
                    seconds = time.monotonic() - t0
                    self.budget.record(kind, seconds, len(batch))
                    self.stats.seconds["answer"] += seconds
                    self.stats.samples["answer"] += len(batch)
                    bar.update(len(batch))

    def _batch_inputs(self, batch: list[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
        left = torch.stack([self.left[s.id] for s in batch]).to(self.device)
        image = torch.stack([self._image_block(s) for s in batch]).to(self.device)
        return left, image

    def _score_batch(self, batch: list[Sample]) -> None:
        left, image = self._batch_inputs(batch)
        rights, owner = [], []
        for row, s in enumerate(batch):
            for _, text in self.options[s.id]:
                rights.append(self.tok.encode_right(text, self.c.r_text_seq_length))
                owner.append(row)
        total, count = score_right_texts(self.model, left, image, torch.stack(rights).to(self.device),
                                         torch.tensor(owner, device=self.device))
        mean = (total / count.clamp(min=1)).cpu()
        start = 0
        for s in batch:
            options = self.options[s.id]
            best = int(mean[start:start + len(options)].argmax())
            letter, text = options[best]
            self.store.set_text(s.id, f"{letter}) {text}")
            start += len(options)

    def _generate_batch(self, batch: list[Sample]) -> None:
        left, image = self._batch_inputs(batch)
        prefix = self.tok.right_prefix().to(self.device).expand(len(batch), -1)
        out = generate_right_text(self.model, left, image, prefix, self.opt.answer_sampling,
                                  max_new_tokens=self.budget.answer_tokens(self.full_answer_tokens),
                                  generator=self._generator("answer", [s.id for s in batch]))
        for s, ids in zip(batch, out, strict=True):
            self.store.set_text(s.id, self.tok.decode(ids))

    def generate_images(self, samples: list[Sample], answer_samples: list[Sample]) -> None:
        todo = [s for s in samples if not self.store.is_done("image", s.id)]
        todo.sort(key=lambda s: int((self.left[s.id] != 0).sum()))
        images_dir = self.store.dir / "images"
        images_dir.mkdir(parents=True, exist_ok=True)
        with self._bar("image", len(todo)) as bar:
            for batch in batches(todo, self.opt.batch_size):
                self._check_budget(answer_samples, samples)
                if not self.budget.allows("image"):
                    bar.update(len(batch))
                    continue
                t0 = time.monotonic()
                left = torch.stack([self.left[s.id] for s in batch]).to(self.device)
                codes = generate_image_tokens(self.model, left, self.opt.image_sampling,
                                              generator=self._generator("image", [s.id for s in batch]))
                pictures = self.vqgan.decode(codes)
                for s, code, picture in zip(batch, codes, pictures, strict=True):
                    self.generated_ids[s.id] = code.cpu()
                    name = image_file_name(s.id)
                    to_pil(picture.float().cpu()).save(images_dir / name, quality=95)
                    self.store.set_image(s.id, f"images/{name}")
                seconds = time.monotonic() - t0
                self.budget.record("image", seconds, len(batch))
                self.stats.seconds["image"] += seconds
                self.stats.samples["image"] += len(batch)
                bar.update(len(batch))

    def recover_generated_codes(self, samples: list[Sample]) -> None:
        """After a resume, images generated by the earlier run are known only as files: encode them
        again so that their samples are still answered conditioned on them."""
        todo = [s for s in samples if s.id not in self.generated_ids and self.store.is_done("image", s.id)
                and not self.store.is_done("answer", s.id)]
        for batch in batches(todo, self.opt.batch_size):
            found = [(s, read_sample_image(self.store.dir / self.store.images[s.id], self.store.images[s.id], s))
                     for s in batch]
            found = [(s, img) for s, img in found if img is not None]  # unreadable: answered with zeros
            if not found:
                continue
            pictures = torch.stack([prepare_image(img, self.w.image_size) for _, img in found])
            codes = self.vqgan.encode(pictures.to(self.device))
            for (s, _), code in zip(found, codes, strict=True):
                self.generated_ids[s.id] = code.cpu()

    # -- all ----------------------------------------------------------------------------------
    def run(self, samples: list[Sample]) -> RunStats:
        t0 = time.monotonic()
        self.prepare(samples)
        self.stats.seconds["prepare"] += time.monotonic() - t0
        self.encode_images(samples)
        text_only = [s for s in samples if s.id not in self.image_ids and not s.image_path]
        wants_images = text_only if self.opt.generate_images else []
        if self.opt.text_only_image == "generated":
            self.generate_images(wants_images, samples)
            self.recover_generated_codes(wants_images)
            self.answer(samples, wants_images)
        else:
            self.answer(samples, wants_images)
            self.generate_images(wants_images, samples)
        for s in samples:
            for w in s.warnings:
                self.stats.warnings[w.split(":", 1)[0]] += 1
        return self.stats
