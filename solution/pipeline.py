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
batch of every phase, what the remaining time still allows; the work left is kept in counters, so a
check costs the same with 20 or 20,000 samples.

One sample never costs another its answer: an exception while preparing, encoding, answering or
saving is a warning on that sample (which keeps its placeholder); a batch that fails is retried
sample by sample.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from fbc2_io.errors import UnusableFile
from fbc2_io.files import make_dirs
from fbc2_io.images import save_image
from fbc2_io.text import without_surrogates

from .answer_options import parse_options
from .budget import ENCODE_SHARE, Budget, Remaining
from .fbc2_input import Sample, read_sample_image
from .images import prepare_image, to_pil
from .predictions import PredictionStore
from .rudolph import (
    BASELINE_IMAGE_SAMPLING,
    GREEDY,
    DecodeEngine,
    Sampling,
    generate_image_tokens,
    generate_right_text,
    score_right_texts,
)
from .rudolph.batching import CPU_BATCH
from .weights import Weights

VQGAN_CHUNK = 8  # images the VQGAN encodes or decodes at once, whatever the batch size


def default_decoding(device: torch.device) -> str:
    """CUDA graphs of the static step on a GPU; the cached path on CPU (measured faster there)."""
    return "graph" if device.type == "cuda" else "cached"


@dataclass
class RunSettings:
    """The run's settings (run.py's command line)."""

    batch_size: int = CPU_BATCH  # run.py sets it: on a GPU from free memory (solution.rudolph.batching)
    decoding: str = "auto"  # a mode of solution.rudolph.DECODING_MODES, or "auto" (default_decoding)
    text_only_image: str = "zeros"  # "zeros" (as fine-tuned) or "generated" (the baseline)
    answer_mode: str = "score"  # "score" the answer choices a sample gives, or "generate" freely
    generate_images: bool = True
    max_answer_tokens: int = 0  # 0 = all right-text positions
    answer_sampling: Sampling = GREEDY
    image_sampling: Sampling = BASELINE_IMAGE_SAMPLING
    seed: int = 0
    progress: bool = True
    progress_every: float = 30.0  # seconds between progress lines when stderr is not a terminal


@dataclass
class RunStats:
    seconds: dict = field(default_factory=lambda: defaultdict(float))
    samples: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    levels: list = field(default_factory=list)


def answer_choices(sample: Sample) -> list[tuple[str, str]]:
    """The answer choices (``a) ...; b) ...``) of the last text item that carries at least two, else none."""
    for text in reversed(sample.texts):
        choices = parse_options(text)
        if len(choices) >= 2:
            return choices
    return []


def image_file_name(sample_id: str) -> str:
    """``image_<id>.jpg``; ids that are not plain names get a stable hash instead."""
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", sample_id) and not sample_id.startswith("."):
        return f"image_{sample_id}.jpg"
    return f"image_{hashlib.sha1(sample_id.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}.jpg"


def batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class LineProgress:
    """Progress for a log file: one line every ``every`` seconds (and at the end), no carriage returns."""

    def __init__(self, phase: str, total: int, every: float):
        self.phase, self.total, self.every = phase, total, every
        self.n, self.start = 0, time.monotonic()
        self.last, self.printed = self.start, -1  # when and at which count the last line was printed

    def update(self, n: int) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        self.printed = self.n
        print(f"{self.phase}: {self.n}/{self.total} samples, {now - self.start:.0f} s", file=sys.stderr, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        now = time.monotonic()
        if self.total and self.n and self.n != self.printed and now - self.start >= self.every:
            self._line(now)  # the final count, unless the last line already said it


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


MAX_PRINTED_FAILURES = 10  # later failures only count in the summary
FAILURE_CONSEQUENCE = {"prepare": "it keeps its placeholder answer", "answer": "it keeps its placeholder answer",
                       "encode": "it is answered without its image", "image": "it gets no generated image"}


class Pipeline:
    def __init__(self, weights: Weights, store: PredictionStore, budget: Budget, settings: RunSettings):
        self.weights, self.store, self.budget, self.settings = weights, store, budget, settings
        self.model, self.tokenizer, self.vqgan = weights.model, weights.tokenizer, weights.vqgan
        self.config = self.model.config
        self.device = self.model.text_embeddings.weight.device
        self.stats = RunStats()
        self.image_ids: dict[str, torch.Tensor] = {}  # VQGAN codes of input images
        self.generated_ids: dict[str, torch.Tensor] = {}  # generated codes of text-only samples
        self.choices: dict[str, list[tuple[str, str]]] = {}  # a sample's answer choices
        self.left: dict[str, torch.Tensor] = {}
        self.todo = Remaining()  # work left, kept up to date batch by batch (never recounted)
        self.failures = 0
        self.decoding = default_decoding(self.device) if settings.decoding == "auto" else settings.decoding
        # The static KV cache (and CUDA graphs) live as long as the run; option scoring reuses the cache.
        self.engine = DecodeEngine.for_decoding(self.model, settings.batch_size, self.decoding)

    # -- helpers ------------------------------------------------------------------------------
    def _generator(self, phase: str, ids: list[str]) -> torch.Generator:
        seed = zlib.crc32(f"{self.settings.seed}:{phase}:{ids[0]}".encode("utf-8", "surrogatepass"))
        return torch.Generator(device=self.device).manual_seed(seed)

    def _bar(self, phase: str, total: int):
        """A tqdm bar on a terminal, a line every ``progress_every`` seconds otherwise."""
        if not self.settings.progress or total == 0:
            return _NoProgress()
        if sys.stderr.isatty():
            return tqdm(total=total, desc=f"{phase:<7}", unit="sample", dynamic_ncols=True, file=sys.stderr)
        return LineProgress(phase, total, self.settings.progress_every)

    def _failed(self, phase: str, s: Sample, error: BaseException) -> None:
        """One sample's failure: a warning on it (the summary counts them), printed for the first few."""
        s.warnings.append(f"failed sample: {phase} ({type(error).__name__})")
        self.failures += 1
        if self.failures <= MAX_PRINTED_FAILURES:
            message = str(error).splitlines()[0][:200] if str(error) else ""
            print(f"run.py: warning: sample {s.id!r}: {phase} failed ({type(error).__name__}: {message}); "
                  f"{FAILURE_CONSEQUENCE[phase]}", file=sys.stderr)

    def _isolated(self, phase: str, batch: list[Sample], work, done) -> None:
        """``work(batch)``; if it raises, ``work([s])`` for each sample not ``done(s)`` yet, so that a
        failure costs only the sample that causes it."""
        try:
            work(batch)
            return
        except Exception as e:
            if len(batch) == 1:
                self._failed(phase, batch[0], e)
                return
        if self.device.type == "cuda":
            torch.cuda.empty_cache()  # an out-of-memory batch may leave blocks that one sample can use
        for s in batch:
            if done(s):
                continue
            try:
                work([s])
            except Exception as e:
                self._failed(phase, s, e)

    @property
    def full_answer_tokens(self) -> int:
        room = self.config.r_text_seq_length - 2
        return min(self.settings.max_answer_tokens, room) if self.settings.max_answer_tokens else room

    def _batches(self, kind: str, items: list):
        """Batches of ``kind`` sized to the budget: a single sample while its cost is unmeasured (an
        unknown cost overruns by one sample at most), then ``batch_size``, or fewer when only fewer
        still fit; once none fits, all the rest as one batch (which the budget check skips)."""
        i = 0
        while i < len(items):
            affordable = self.budget.affordable(kind)
            size = 1 if affordable is None else min(self.settings.batch_size, affordable) or len(items) - i
            yield items[i:i + size]
            i += size

    def _check_budget(self) -> None:
        """Constant time: the budget sees the counters in ``self.todo``."""
        before = self.budget.name
        level = self.budget.update(self.todo, self.full_answer_tokens)
        if level != before:
            self.stats.levels.append((round(self.budget.elapsed(), 1), level))
            tqdm.write(f"time budget: {self.budget.remaining():.0f} s left, degrading to '{level}'", file=sys.stderr)

    def _count_todo(self, samples: list[Sample], image_samples: list[Sample]) -> None:
        """The counters, set once per run (each batch then lowers them)."""
        answer = [s for s in samples if not self.store.is_done("answer", s.id)]
        scored = sum(1 for s in answer if self.choices.get(s.id))
        self.todo = Remaining(generate=len(answer) - scored, score=scored,
                              image=sum(1 for s in image_samples if not self.store.is_done("image", s.id)))

    # -- phases -------------------------------------------------------------------------------
    def prepare(self, samples: list[Sample]) -> list[Sample]:
        """Tokenise every sample (texts with lone surrogates after replacement); returns the samples
        that are ready. A failing sample, or any sample once the budget has run out, is left out."""
        ready = []
        for s in samples:
            if self.budget.out_of_time():
                self._check_budget()  # records the fall to 'stop'
                break
            try:
                self.left[s.id] = self.tokenizer.encode_left(without_surrogates(s.text), self.config.l_text_seq_length)
                if self.settings.answer_mode == "score":
                    self.choices[s.id] = answer_choices(s)
            except Exception as e:
                self.left.pop(s.id, None)
                self._failed("prepare", s, e)
                continue
            ready.append(s)
        return ready

    def _read_image(self, s: Sample) -> torch.Tensor | None:
        time_left = self.budget.remaining() - self.budget.reserve  # decoding stops at a deadline inside it
        img = s.image if s.image is not None else read_sample_image(Path(s.image_path), s.image_path, s, s.image_root,
                                                                    time_left)
        s.image = None  # not kept in memory
        return None if img is None else prepare_image(img, self.weights.image_size)

    def _encode_batch(self, batch: list[Sample]) -> None:
        tensors, ok = [], []
        for s in batch:
            tensor = self._read_image(s)
            if tensor is None:
                s.image_path = None  # unreadable: the sample becomes text-only
            else:
                tensors.append(tensor)
                ok.append(s)
        for i in range(0, len(tensors), VQGAN_CHUNK):
            codes = self.vqgan.encode(torch.stack(tensors[i:i + VQGAN_CHUNK]).to(self.device))
            for s, code in zip(ok[i:i + VQGAN_CHUNK], codes, strict=True):
                self.image_ids[s.id] = code.cpu()

    def encode_images(self, samples: list[Sample]) -> None:
        todo = [s for s in samples if s.image_path and not self.store.is_done("answer", s.id)]
        self.budget.cap("encode", ENCODE_SHARE)
        t0 = time.monotonic()
        with self._bar("encode", len(todo)) as bar:
            for batch in self._batches("encode", todo):
                self._check_budget()
                if not (self.budget.allows("encode") and self.budget.fits("encode", len(batch))):
                    for s in batch:  # not encoded: answered with the zero image block; image_path stays
                        s.image = None  # set, so no image is generated for it either
                        s.warnings.append("not encoded: no time budget left for it")
                else:
                    started = time.monotonic()
                    self._isolated("encode", batch, self._encode_batch, lambda s: s.id in self.image_ids)
                    for s in batch:
                        if s.id not in self.image_ids:
                            s.image_path = None
                    self.budget.record("encode", time.monotonic() - started, len(batch))
                bar.update(len(batch))
        self.stats.seconds["encode"] += time.monotonic() - t0
        self.stats.samples["encode"] += len(todo)

    def _image_block(self, s: Sample) -> torch.Tensor:
        if s.id in self.image_ids:
            return self.image_ids[s.id]
        if self.settings.text_only_image == "generated" and s.id in self.generated_ids:
            return self.generated_ids[s.id]
        return torch.zeros(self.config.image_seq_length, dtype=torch.long)

    def answer(self, samples: list[Sample]) -> None:
        todo = [s for s in samples if not self.store.is_done("answer", s.id)]
        todo.sort(key=lambda s: (bool(self.choices.get(s.id)), int((self.left[s.id] != 0).sum())))
        answered = lambda s: self.store.is_done("answer", s.id)  # noqa: E731
        with self._bar("answer", len(todo)) as bar:
            for kind in ("score", "generate"):
                group = [s for s in todo if bool(self.choices.get(s.id)) == (kind == "score")]
                work = self._score_batch if kind == "score" else self._generate_batch
                for batch in self._batches(kind, group):
                    self._check_budget()
                    if self.budget.allows(kind) and self.budget.fits(kind, len(batch)):
                        t0 = time.monotonic()
                        self._isolated("answer", batch, work, answered)
                        seconds = time.monotonic() - t0
                        self.budget.record(kind, seconds, len(batch))
                        self.stats.seconds["answer"] += seconds
                        self.stats.samples["answer"] += len(batch)
                    setattr(self.todo, kind, getattr(self.todo, kind) - len(batch))
                    bar.update(len(batch))

    def _batch_inputs(self, batch: list[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
        left = torch.stack([self.left[s.id] for s in batch]).to(self.device)
        image = torch.stack([self._image_block(s) for s in batch]).to(self.device)
        return left, image

    def _score_batch(self, batch: list[Sample]) -> None:
        left, image = self._batch_inputs(batch)
        rights, owner = [], []
        for row, s in enumerate(batch):
            for _, text in self.choices[s.id]:
                rights.append(self.tokenizer.encode_right(text, self.config.r_text_seq_length))
                owner.append(row)
        total, count = score_right_texts(self.model, left, image, torch.stack(rights).to(self.device),
                                         torch.tensor(owner, device=self.device),
                                         cache=self.engine.cache if self.engine is not None else None)
        mean = (total / count.clamp(min=1)).cpu()
        start = 0
        for s in batch:
            choices = self.choices[s.id]
            best = int(mean[start:start + len(choices)].argmax())
            letter, text = choices[best]
            self.store.set_text(s.id, f"{letter}) {text}")
            start += len(choices)

    def _generate_batch(self, batch: list[Sample]) -> None:
        left, image = self._batch_inputs(batch)
        prefix = self.tokenizer.right_prefix().to(self.device).expand(len(batch), -1)
        out = generate_right_text(self.model, left, image, prefix, self.settings.answer_sampling,
                                  max_new_tokens=self.budget.answer_tokens(self.full_answer_tokens),
                                  generator=self._generator("answer", [s.id for s in batch]),
                                  decoding=self.decoding, engine=self.engine)
        for s, ids in zip(batch, out, strict=True):
            self.store.set_text(s.id, self.tokenizer.decode(ids))

    def _image_batch(self, batch: list[Sample]) -> None:
        left = torch.stack([self.left[s.id] for s in batch]).to(self.device)
        codes = generate_image_tokens(self.model, left, self.settings.image_sampling,
                                      generator=self._generator("image", [s.id for s in batch]),
                                      decoding=self.decoding, engine=self.engine)
        pictures = torch.cat([self.vqgan.decode(codes[i:i + VQGAN_CHUNK]) for i in range(0, len(batch), VQGAN_CHUNK)])
        for s, code, picture in zip(batch, codes, pictures, strict=True):
            self.generated_ids[s.id] = code.cpu()
            name = image_file_name(s.id)
            try:
                save_image(to_pil(picture.float().cpu()), self.store.dir / "images" / name, root=self.store.dir,
                           quality=95)
            except Exception as e:  # this sample only: the others of the batch keep their images
                self._failed("image", s, e)
                continue
            self.store.set_image(s.id, f"images/{name}")

    def generate_images(self, samples: list[Sample]) -> None:
        todo = [s for s in samples if not self.store.is_done("image", s.id)]
        if todo:
            try:
                make_dirs(self.store.dir / "images", root=self.store.dir)
            except UnusableFile as e:  # e.g. a link planted as output/images: refused once, not per sample
                print(f"run.py: warning: no images are generated: {e}", file=sys.stderr)
                self.stats.warnings["no images generated"] += 1
                return
        todo.sort(key=lambda s: int((self.left[s.id] != 0).sum()))
        with self._bar("image", len(todo)) as bar:
            for batch in self._batches("image", todo):
                self._check_budget()
                if self.budget.allows("image") and self.budget.fits("image", len(batch)):
                    t0 = time.monotonic()
                    self._isolated("image", batch, self._image_batch,
                                   lambda s: self.store.is_done("image", s.id) or s.id in self.generated_ids)
                    seconds = time.monotonic() - t0
                    self.budget.record("image", seconds, len(batch))
                    self.stats.seconds["image"] += seconds
                    self.stats.samples["image"] += len(batch)
                self.todo.image -= len(batch)
                bar.update(len(batch))

    def recover_generated_codes(self, samples: list[Sample]) -> None:
        """After a resume, images generated by the earlier run are known only as files: encode them
        again so that their samples are still answered conditioned on them."""
        todo = [s for s in samples if s.id not in self.generated_ids and self.store.is_done("image", s.id)
                and not self.store.is_done("answer", s.id)]

        def work(batch: list[Sample]) -> None:
            found = [(s, read_sample_image(self.store.dir / self.store.images[s.id], self.store.images[s.id], s,
                                           self.store.dir)) for s in batch]
            found = [(s, img) for s, img in found if img is not None]  # unreadable: answered with zeros
            if found:
                pictures = torch.stack([prepare_image(img, self.weights.image_size) for _, img in found])
                codes = self.vqgan.encode(pictures.to(self.device))
                for (s, _), code in zip(found, codes, strict=True):
                    self.generated_ids[s.id] = code.cpu()

        for batch in batches(todo, self.settings.batch_size):
            if self.budget.out_of_time():
                break
            self._isolated("encode", batch, work, lambda s: s.id in self.generated_ids)

    # -- all ----------------------------------------------------------------------------------
    def run(self, samples: list[Sample]) -> RunStats:
        t0 = time.monotonic()
        try:
            ready = self.prepare(samples)
        finally:
            self.stats.seconds["prepare"] += time.monotonic() - t0
            self.stats.samples["prepare"] += len(self.left)
        try:
            self._phases(ready)
        finally:
            for s in samples:
                for w in s.warnings:
                    self.stats.warnings[w.split(":", 1)[0]] += 1
        return self.stats

    def _phases(self, samples: list[Sample]) -> None:
        self.encode_images(samples)
        text_only = [s for s in samples if s.id not in self.image_ids and not s.image_path]
        wants_images = text_only if self.settings.generate_images else []
        self._count_todo(samples, wants_images)
        if self.settings.text_only_image == "generated":
            self.generate_images(wants_images)
            self.recover_generated_codes(wants_images)
            self.answer(samples)
        else:
            self.answer(samples)
            self.generate_images(wants_images)
