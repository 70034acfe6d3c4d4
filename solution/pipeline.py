"""One RUDOLPH pipeline for every FBC2 sample, unaware of the task.

Each sample gets ``<LT_UNK>`` on its left text and ``<RT_UNK>`` on its right text. Phases, each
batched and ordered by left-text length so that similar samples (and answer lengths) share a batch:

1. **encode** the input image of each sample with the VQGAN (samples without a readable image are
   text-only);
2. **answer**: when the text carries options (``a) ...; b) ...``) every option is scored as the
   right text (kind ``score``) and the best one answers as ``"b) text"``; otherwise the right text
   is generated (kind ``generate``). Text-only samples answer with the all-zero image block, as
   fine-tuning trained them (``text_only_image="generated"`` conditions them on their generated
   image, as the baseline did);
3. **image**: text-only samples get a generated image, decoded and saved as
   ``images/image_<id>.jpg`` (``predictions.image_file_name``).

Self-reranking is an option, off by default: with ``image_candidates`` (``answer_candidates``) N > 1
a batch of images (of generated answers) makes N candidates per sample, candidate 0 exactly the
one of N = 1, and keeps the one ``solution.candidates`` ranks best; the extra candidates are the
first thing the time budget drops (``budget.py``).

Every phase is one loop, :meth:`Pipeline.run_phase`: before each batch one question to the
``Budget`` (how many rows may run now), then the batch. Images come last so that the time-budget
guard can drop them first; the work left is kept in counters, so a question costs the same with 20
or 20,000 samples. Each sample's state lives in one :class:`SampleWork` record.

Every sampled token of a sample comes from its own seeded stream (``row_seed(seed, phase, id)``),
so answers and images do not depend on the batch size, on which samples share a batch, or on a
resume.

One sample never costs another its answer: an exception while preparing, encoding, answering or
saving is a warning on that sample (which keeps its placeholder); a batch that fails is retried
sample by sample.
"""

from __future__ import annotations

import enum
import functools
import io
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from fbc2_io.errors import UnusableFile
from fbc2_io.files import make_dirs
from fbc2_io.settings import setting
from fbc2_io.text import without_surrogates

from .answer_options import parse_options
from .budget import ENCODE_SHARE, BatchMeter, Budget, Remaining
from .candidates import best_answers, best_images, check_candidates, perplexity
from .fbc2_input import Sample, read_sample_image
from .images import prepare_image, to_pil
from .predictions import DiskFull, PredictionStore
from .predictions import image_file_name as image_file_name  # scripts name it from here
from .rudolph import (
    BASELINE_IMAGE_SAMPLING,
    BASELINE_TEXT_SAMPLING,
    DECODING_MODES,
    GREEDY,
    DecodeEngine,
    Sampling,
    generate_image_tokens,
    generate_right_text,
    row_seed,
    score_right_texts,
)
from .rudolph.batching import CPU_BATCH, MAX_AUTO_BATCH
from .rudolph.generation import format_status, score_image_tokens
from .rudolph.tokenizer import EOS_ID
from .weights import Weights

VQGAN_CHUNK = 8  # images the VQGAN encodes or decodes at once, whatever the batch size


def default_decoding(device: torch.device) -> str:
    """CUDA graphs of the static step on a GPU; the cached path on CPU (measured faster there)."""
    return "graph" if device.type == "cuda" else "cached"


# The names run.py offers for the settings below (fbc2_io.settings builds its flags from the fields).
ANSWER_MODES = ("score", "generate")  # score the answer choices a sample gives, or generate freely
TEXT_ONLY_IMAGES = ("zeros", "generated")  # the image block a text-only sample is answered with
ANSWER_SAMPLINGS = {"greedy": GREEDY, "baseline": BASELINE_TEXT_SAMPLING}
# "full" (no cache) is the reference path the others are tested against, too slow to offer.
RUN_DECODING = ("auto", *(mode for mode in DECODING_MODES if mode != "full"))


@dataclass
class RunSettings:
    """The run's settings: each field made with ``setting`` is also a flag of run.py."""

    batch_size: int = setting(  # run.py's 0 is replaced: on a GPU from free memory (solution.rudolph.batching)
        CPU_BATCH, "samples per batch (default: on a GPU as many as its free memory holds after the weights, "
        f"at most {MAX_AUTO_BATCH}; {CPU_BATCH} on CPU)", flag_default=0, group="running")
    decoding: str = setting(
        "auto", "how decode steps run: auto = graph on a GPU (the static step replayed as a CUDA graph), cached on "
        "CPU; static = the same step without graphs", choices=RUN_DECODING, group="running")  # see default_decoding
    answer_mode: str = setting(
        "score", "score: rank the given options a) b) ... by likelihood and answer the best (default); generate: free "
        "generation as the baseline", flag="--options", choices=ANSWER_MODES, group="answer strategies")
    text_only_image: str = setting(
        "zeros", "image block for answering text-only samples: zeros, as fine-tuning trained them (default), or the "
        "generated image, as the baseline", choices=TEXT_ONLY_IMAGES, group="answer strategies")
    generate_images: bool = setting(True, "do not generate images for text-only samples", flag="--no-images",
                                    group="answer strategies")
    max_answer_tokens: int = setting(0, "cap on generated answer tokens (0 = all right-text positions)",
                                     group="answer strategies")
    answer_sampling: Sampling = setting(
        GREEDY, f"greedy (default) or the baseline's top-k {BASELINE_TEXT_SAMPLING.top_k}, top-p "
        f"{BASELINE_TEXT_SAMPLING.top_p:g}", choices=ANSWER_SAMPLINGS, group="answer strategies")
    image_sampling: Sampling = BASELINE_IMAGE_SAMPLING
    seed: int = setting(0, "seed of every sampled token (default {default})", group="running")
    progress: bool = setting(True, "no progress (default: bars on a terminal, a line every {progress_every:g} s in a "
                             "log file)", flag="--no-progress", group="running")
    progress_every: float = 30.0  # seconds between progress lines when stderr is not a terminal
    image_candidates: int = setting(
        1, "images generated per text-only sample, the best kept by the model's own scores (ru-dolph's "
        "self-reranking: the caption's likelihood after the image and the image's own); 1 (default): no reranking. "
        "The time budget drops extra candidates first", metavar="N", group="answer strategies")
    answer_candidates: int = setting(
        1, "generated answers per sample that is not option-scored: the greedy one and N-1 sampled (top-k "
        f"{BASELINE_TEXT_SAMPLING.top_k}, top-p {BASELINE_TEXT_SAMPLING.top_p:g}), the one of highest mean "
        "log-likelihood kept; 1 (default): no reranking. The time budget drops extra candidates first",
        metavar="N", group="answer strategies")

    def __post_init__(self):
        check_candidates("image_candidates", self.image_candidates)
        check_candidates("answer_candidates", self.answer_candidates)


@dataclass
class RunStats:
    seconds: dict = field(default_factory=lambda: defaultdict(float))
    samples: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    levels: list = field(default_factory=list)
    one_offs: dict = field(default_factory=dict)  # what -> seconds paid once (warm-up, capture), not in ``seconds``
    decoding: str = ""  # one summary line: CUDA graphs in use, kernels chosen, shapes that fell back
    candidates: str = ""  # one summary line of self-reranking (empty when it is off)


def answer_choices(sample: Sample) -> list[tuple[str, str]]:
    """The answer choices (``a) ...; b) ...``) of the last text item that carries at least two, else none."""
    for text in reversed(sample.texts):
        choices = parse_options(text)
        if len(choices) >= 2:
            return choices
    return []


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
FAILURE_CONSEQUENCE = {"prepare": "it keeps its placeholder answer", "score": "it keeps its placeholder answer",
                       "generate": "it keeps its placeholder answer", "encode": "it is answered without its image",
                       "image": "it gets no generated image"}
STATS_PHASE = {"encode": "encode", "score": "answer", "generate": "answer", "image": "image"}
CANDIDATE_KIND = {"image": "image_candidates", "generate": "answer_candidates"}  # budget kinds = RunSettings fields


class ImageState(enum.Enum):
    """Where a sample stands with images."""

    GIVEN = "given"  # it has an input image, not encoded yet
    ENCODED = "encoded"  # its input image's codes are in ``image_codes``
    TEXT_ONLY = "text-only"  # no usable input image: it gets a generated one
    NOT_ENCODED = "not encoded"  # no time to encode its image: answered with the zero block, no generated image


@dataclass
class SampleWork:
    """One sample's state through the phases (the store holds its answer and image file)."""

    sample: Sample
    left: torch.Tensor  # left-text ids (l,)
    choices: list[tuple[str, str]]  # answer choices to score; empty: the answer is generated
    image: ImageState
    image_codes: torch.Tensor | None = None  # VQGAN codes of its input image
    generated_codes: torch.Tensor | None = None  # codes of its generated image

    @property
    def id(self) -> str:
        return self.sample.id

    @property
    def answer_kind(self) -> str:
        return "score" if self.choices else "generate"

    @property
    def left_length(self) -> int:
        return int((self.left != 0).sum())


def jpeg_bytes(picture: torch.Tensor) -> bytes:
    """A decoded image tensor as JPEG bytes (quality 95)."""
    buffer = io.BytesIO()
    to_pil(picture.float().cpu()).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


class Pipeline:
    def __init__(self, weights: Weights, store: PredictionStore, budget: Budget, settings: RunSettings):
        self.weights, self.store, self.budget, self.settings = weights, store, budget, settings
        self.model, self.tokenizer, self.vqgan = weights.model, weights.tokenizer, weights.vqgan
        self.config = self.model.config
        self.device = self.model.text_embeddings.weight.device
        self.budget.batch_size = settings.batch_size
        self.stats = RunStats(one_offs=budget.one_offs)
        self.work: dict[str, SampleWork] = {}  # every prepared sample, by id
        self.todo = Remaining()  # work left, kept up to date batch by batch (never recounted)
        self.stopped: dict[str, str] = {}  # kind -> why no more of it runs (besides the budget)
        self.failures = 0
        self.warmed_up = False
        self.decoding = default_decoding(self.device) if settings.decoding == "auto" else settings.decoding
        # The static KV cache (and CUDA graphs) live as long as the run; option scoring reuses the cache.
        self.engine = DecodeEngine.for_decoding(self.model, settings.batch_size, self.decoding)

    # -- helpers ------------------------------------------------------------------------------
    def _seeds(self, phase: str, batch: list[SampleWork]) -> torch.Tensor:
        """The row seeds of a batch: each sample's own, from the run seed, the phase and its id."""
        return torch.tensor([row_seed(self.settings.seed, phase, w.id) for w in batch], dtype=torch.int64,
                            device=self.device)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _bar(self, phase: str, total: int):
        """A tqdm bar on a terminal, a line every ``progress_every`` seconds otherwise."""
        if not self.settings.progress or total == 0:
            return _NoProgress()
        if sys.stderr.isatty():
            return tqdm(total=total, desc=f"{phase:<8}", unit="sample", dynamic_ncols=True, file=sys.stderr)
        return LineProgress(phase, total, self.settings.progress_every)

    def _failed(self, kind: str, s: Sample, error: BaseException) -> None:
        """One sample's failure: a warning on it (the summary counts them), printed for the first few."""
        phase = "answer" if kind in ("score", "generate") else kind
        s.warnings.append(f"failed sample: {phase} ({type(error).__name__})")
        self.failures += 1
        if self.failures <= MAX_PRINTED_FAILURES:
            message = str(error).splitlines()[0][:200] if str(error) else ""
            print(f"run.py: warning: sample {s.id!r}: {phase} failed ({type(error).__name__}: {message}); "
                  f"{FAILURE_CONSEQUENCE[kind]}", file=sys.stderr)

    def _isolated(self, kind: str, batch: list[SampleWork], work, done) -> None:
        """``work(batch)``; if it raises, ``work([w])`` for each sample not ``done(w)`` yet, so that a
        failure costs only the sample that causes it."""
        try:
            work(batch)
            return
        except Exception as e:
            if len(batch) == 1:
                self._failed(kind, batch[0].sample, e)
                return
        if self.device.type == "cuda":
            torch.cuda.empty_cache()  # an out-of-memory batch may leave blocks that one sample can use
        for w in batch:
            if done(w):
                continue
            try:
                work([w])
            except Exception as e:
                self._failed(kind, w.sample, e)

    @property
    def full_answer_tokens(self) -> int:
        room = self.config.r_text_seq_length - 2
        return min(self.settings.max_answer_tokens, room) if self.settings.max_answer_tokens else room

    def _grant(self, kind: str, wanted: int) -> int:
        """The budget's answer for the next batch (level changes printed and kept in the stats)."""
        before = self.budget.name
        rows = self.budget.grant(kind, wanted, self.todo)
        if self.budget.name != before:
            level = self.budget.name
            self.stats.levels.append((round(self.budget.elapsed(), 1), level))
            tqdm.write(f"time budget: {self.budget.remaining():.0f} s left, degrading to '{level}'", file=sys.stderr)
        return rows

    def _one_offs(self, kind: str, rows: int) -> bool:
        """Costs the next batch would otherwise carry into its kind's rates, paid and timed apart:
        the model's first call (once), and the static decode steps of this row count (CUDA-graph
        capture and kernel timing; for answers also the smaller row counts that finished rows
        shrink to). False when the budget cannot afford them (the batch cannot run either); a batch
        granted fewer rows captures its own shape."""
        if kind not in ("score", "generate", "image"):
            return True
        if not self.warmed_up:
            if not self.budget.affords_one_off(kind, "warm-up"):
                return False
            self.warmed_up = True
            t0 = self.budget.clock()
            with torch.no_grad():
                self.model(torch.zeros(1, self.config.l_text_seq_length, dtype=torch.long, device=self.device))
            self._sync()
            self.budget.one_off("warm-up", self.budget.clock() - t0)
        if self.engine is None or kind == "score":
            return True
        part = "image" if kind == "image" else "right"
        shapes = [rows] if kind == "image" else sorted({rows, *(1 << k for k in range(rows.bit_length()) if 1 << k < rows)})
        new = [r for r in shapes if not self.engine.prepared(part, r)]
        if new:
            if not self.budget.affords_one_off(kind, "capture"):
                return False
            t0 = self.budget.clock()
            for r in new:
                self.engine.prepare(part, r)
            self._sync()
            self.budget.one_off("capture", self.budget.clock() - t0)
        return True

    def run_phase(self, kind: str, items: list[SampleWork], work: Callable, done: Callable,
                  skip: Callable | None = None) -> None:
        """Every batch of ``kind`` over ``items``: one Budget question (how many rows may run now),
        then ``work(batch, meter)`` isolated per sample (``done(w)``: that sample needs no retry).
        Once the budget (or ``self.stopped``) refuses, the rest is skipped (``skip(w)`` each)."""
        phase = STATS_PHASE[kind]
        with self._bar(kind, len(items)) as bar:
            i = 0
            while i < len(items):
                wanted = min(self.settings.batch_size, len(items) - i)
                rows = 0
                # One-offs (for the rows the budget affords now) before the question, so that its
                # answer sees the time they took.
                if (kind not in self.stopped and self.budget.allows(kind)
                        and self._one_offs(kind, self.budget.affordable(kind, wanted) or wanted)):
                    rows = self._grant(kind, wanted)
                if rows == 0:
                    for w in items[i:]:
                        if skip is not None:
                            skip(w)
                    self._count_off(kind, len(items) - i)
                    bar.update(len(items) - i)
                    return
                batch = items[i:i + rows]
                meter = self.budget.meter(self._sync)
                self._isolated(kind, batch, functools.partial(work, meter=meter), done)
                seconds = self.budget.record_meter(kind, rows, meter)  # with its retries: on the safe side
                self.stats.seconds[phase] += seconds
                self.stats.samples[phase] += rows
                self._count_off(kind, rows)
                bar.update(rows)
                i += rows

    # -- phases -------------------------------------------------------------------------------
    def prepare(self, samples: list[Sample]) -> list[SampleWork]:
        """Tokenise every sample (texts with lone surrogates after replacement); returns the work
        records of the samples that are ready. A failing sample, or any sample once the budget has
        run out, is left out."""
        ready = []
        for s in samples:
            if self.budget.out_of_time():
                self._grant("score", 0)  # records the fall to 'stop'
                break
            try:
                left = self.tokenizer.encode_left(without_surrogates(s.text), self.config.l_text_seq_length)
                choices = answer_choices(s) if self.settings.answer_mode == "score" else []
            except Exception as e:
                self._failed("prepare", s, e)
                continue
            state = ImageState.GIVEN if s.image_path else ImageState.TEXT_ONLY
            self.work[s.id] = SampleWork(s, left, choices, state)
            ready.append(self.work[s.id])
        return ready

    def _read_image(self, s: Sample) -> torch.Tensor | None:
        time_left = self.budget.remaining() - self.budget.reserve  # decoding stops at a deadline inside it
        img = s.image if s.image is not None else read_sample_image(Path(s.image_path), s.image_path, s, s.image_root,
                                                                    time_left)
        s.image = None  # not kept in memory
        return None if img is None else prepare_image(img, self.weights.image_size)

    def _encode_batch(self, batch: list[SampleWork], meter: BatchMeter) -> None:
        tensors, ok = [], []
        for w in batch:
            tensor = self._read_image(w.sample)
            if tensor is None:
                w.image = ImageState.TEXT_ONLY  # unreadable
            else:
                tensors.append(tensor)
                ok.append(w)
        for i in range(0, len(tensors), VQGAN_CHUNK):
            codes = self.vqgan.encode(torch.stack(tensors[i:i + VQGAN_CHUNK]).to(self.device))
            for w, code in zip(ok[i:i + VQGAN_CHUNK], codes, strict=True):
                w.image_codes, w.image = code.cpu(), ImageState.ENCODED

    @staticmethod
    def _not_encoded(w: SampleWork) -> None:
        w.sample.image = None  # not kept in memory
        w.image = ImageState.NOT_ENCODED
        w.sample.warnings.append("not encoded: no time budget left for it")

    def encode_images(self, works: list[SampleWork]) -> None:
        todo = [w for w in works if w.image is ImageState.GIVEN and not self.store.is_done("answer", w.id)]
        self.budget.set_deadline("encode", ENCODE_SHARE)
        self.run_phase("encode", todo, self._encode_batch, lambda w: w.image is not ImageState.GIVEN,
                       skip=self._not_encoded)
        for w in todo:
            if w.image is ImageState.GIVEN:  # its encoding failed: answered (and drawn) as text-only
                w.image = ImageState.TEXT_ONLY

    def _image_block(self, w: SampleWork) -> torch.Tensor:
        if w.image_codes is not None:
            return w.image_codes
        if self.settings.text_only_image == "generated" and w.generated_codes is not None:
            return w.generated_codes
        return torch.zeros(self.config.image_seq_length, dtype=torch.long)

    def answer(self, works: list[SampleWork]) -> None:
        todo = sorted((w for w in works if not self.store.is_done("answer", w.id)), key=lambda w: w.left_length)
        answered = lambda w: self.store.is_done("answer", w.id)  # noqa: E731
        for kind, work in (("score", self._score_batch), ("generate", self._generate_batch)):
            self.run_phase(kind, [w for w in todo if w.answer_kind == kind], work, answered)

    def _batch_inputs(self, batch: list[SampleWork]) -> tuple[torch.Tensor, torch.Tensor]:
        left = torch.stack([w.left for w in batch]).to(self.device)
        image = torch.stack([self._image_block(w) for w in batch]).to(self.device)
        return left, image

    def _score_batch(self, batch: list[SampleWork], meter: BatchMeter) -> None:
        left, image = self._batch_inputs(batch)
        rights, owner = [], []
        for row, w in enumerate(batch):
            for _, text in w.choices:
                rights.append(self.tokenizer.encode_right(text, self.config.r_text_seq_length))
                owner.append(row)
        total, count = score_right_texts(self.model, left, image, torch.stack(rights).to(self.device),
                                         torch.tensor(owner, device=self.device), cache=self._score_cache())
        mean = (total / count.clamp(min=1)).cpu()
        start = 0
        for w in batch:
            best = int(mean[start:start + len(w.choices)].argmax())
            letter, text = w.choices[best]
            self.store.set_text(w.id, f"{letter}) {text}")
            start += len(w.choices)

    # -- candidates (self-reranking) ------------------------------------------------------------
    def extra_candidates(self, kind: str) -> int:
        """Candidates beyond the first that each sample of ``kind`` asks for (0: no reranking)."""
        return getattr(self.settings, CANDIDATE_KIND[kind]) - 1 if kind in CANDIDATE_KIND else 0

    def _count_off(self, kind: str, samples: int) -> None:
        """``samples`` of ``kind`` are behind us, with their extra candidates (run or not)."""
        self.todo.count_off(kind, samples)
        if kind in CANDIDATE_KIND:
            self.todo.count_off(CANDIDATE_KIND[kind], samples * self.extra_candidates(kind))

    def _best_of(self, kind: str, batch: list[SampleWork], meter: BatchMeter, make: Callable,
                 score: Callable, choose: Callable) -> list:
        """Each row's chosen candidate. ``make(k, progress)`` makes candidate ``k`` of every row;
        candidate 0 is the work as with one candidate, on the batch's own meter. Passes 1..N-1 follow
        while the budget allows them (each one only while a pass of these rows fits), each metered as
        a batch of the kind's candidates and kept out of ``meter``; ``score(candidate)`` gives ``(b, ...)``
        scores (candidate 0 scored in the first pass), ``choose`` turns their ``(b, n, ...)`` stack into
        the chosen index per row."""
        candidates = [make(0, meter.step)]
        extra, rows = self.extra_candidates(kind), len(batch)
        ckind = CANDIDATE_KIND.get(kind)
        scores = []
        for k in range(1, extra + 1):
            if not self.budget.allows(ckind) or self.budget.affordable(ckind, rows) < rows:
                break
            pass_meter = self.budget.meter(self._sync)
            candidates.append(make(k, pass_meter.step))
            if k == 1:
                scores.append(score(candidates[0]))
            scores.append(score(candidates[-1]))
            seconds = self.budget.record_meter(ckind, rows, pass_meter)
            meter.exclude(seconds)
            self.stats.seconds[ckind] += seconds
            self.stats.samples[ckind] += rows
        if len(candidates) == 1:
            return candidates[0]
        index = choose(torch.stack(scores, dim=1)).tolist()
        return [candidates[k][row] for row, k in enumerate(index)]

    def _candidates_line(self) -> str:
        """The run summary's line on self-reranking; empty when it is off."""
        parts = []
        for kind, what in (("image", "images"), ("generate", "answers")):
            if self.extra_candidates(kind):
                ckind = CANDIDATE_KIND[kind]
                made = self.stats.samples.get(ckind, 0)
                parts.append(f"{what} best of {self.extra_candidates(kind) + 1}: {made} extra candidates made in "
                             f"{self.stats.seconds.get(ckind, 0.0):.1f}s")
        if not parts:
            return ""
        dropped = "" if self.budget.allows("image_candidates") else "; the time budget dropped the rest ('one-candidate')"
        return "self-reranking: " + ", ".join(parts) + dropped

    def _right_ids(self, answers: list[list[int]]) -> torch.Tensor:
        """``(b, r)`` right texts ``[bos, <RT_UNK>, *ids, eos, 0...]`` of generated answer ids (cut to r)."""
        r = self.config.r_text_seq_length
        prefix = self.tokenizer.right_prefix().tolist()
        rows = [(prefix + ids + [EOS_ID])[:r] for ids in answers]
        return torch.tensor([row + [0] * (r - len(row)) for row in rows], dtype=torch.long, device=self.device)

    def _score_cache(self):
        return self.engine.cache if self.engine is not None else None

    def _generate_batch(self, batch: list[SampleWork], meter: BatchMeter) -> None:
        left, image = self._batch_inputs(batch)
        prefix = self.tokenizer.right_prefix().to(self.device).expand(len(batch), -1)
        max_new_tokens = self.budget.answer_tokens(self.full_answer_tokens)
        owner = torch.arange(len(batch), device=self.device)

        def make(k: int, progress) -> list[list[int]]:  # candidate 0: the configured sampling, as with N = 1
            sampling, phase = ((self.settings.answer_sampling, "answer") if k == 0
                               else (BASELINE_TEXT_SAMPLING, f"answer candidate {k}"))
            return generate_right_text(self.model, left, image, prefix, sampling, max_new_tokens=max_new_tokens,
                                       seeds=self._seeds(phase, batch), decoding=self.decoding, engine=self.engine,
                                       progress=progress)

        def score(answers: list[list[int]]) -> torch.Tensor:  # (b,) mean log-likelihood
            total, count = score_right_texts(self.model, left, image, self._right_ids(answers), owner,
                                             cache=self._score_cache())
            return (total / count.clamp(min=1)).cpu()

        out = self._best_of("generate", batch, meter, make, score, best_answers)
        for w, ids in zip(batch, out, strict=True):
            self.store.set_text(w.id, self.tokenizer.decode(ids))

    def _image_batch(self, batch: list[SampleWork], meter: BatchMeter) -> None:
        left = torch.stack([w.left for w in batch]).to(self.device)
        sampling = self.settings.image_sampling

        def make(k: int, progress) -> torch.Tensor:  # candidate 0: the row seeds of one candidate
            phase = "image" if k == 0 else f"image candidate {k}"
            return generate_image_tokens(self.model, left, sampling, seeds=self._seeds(phase, batch),
                                         decoding=self.decoding, engine=self.engine, progress=progress)

        score = self._image_scorer(batch, left) if self.extra_candidates("image") else None
        codes = self._best_of("image", batch, meter, make, score, lambda s: best_images(s[..., 0], s[..., 1]))
        codes = torch.stack(list(codes)) if isinstance(codes, list) else codes
        pictures = torch.cat([self.vqgan.decode(codes[i:i + VQGAN_CHUNK]) for i in range(0, len(batch), VQGAN_CHUNK)])
        for w, code, picture in zip(batch, codes, pictures, strict=True):
            w.generated_codes = code.cpu()
            try:
                self.store.write_image(w.id, jpeg_bytes(picture))
            except DiskFull as e:  # no room for more images: the answers keep theirs
                self._stop("image", f"the output disk is full ({e})")
                return
            except Exception as e:  # this sample only: the others of the batch keep their images
                self._failed("image", w.sample, e)

    def _image_scorer(self, batch: list[SampleWork], left: torch.Tensor) -> Callable:
        """``score(codes) -> (b, 2)``: each row's caption perplexity (its text as right text after
        ``[empty left text | image]``) and image perplexity (after its left text); solution.candidates."""
        c = self.config
        empty = self.tokenizer.encode_left("", c.l_text_seq_length).to(self.device).expand(len(batch), -1)
        captions = torch.stack([self.tokenizer.encode_right(without_surrogates(w.sample.text), c.r_text_seq_length)
                                for w in batch]).to(self.device)
        owner = torch.arange(len(batch), device=self.device)

        def score(codes: torch.Tensor) -> torch.Tensor:
            total, count = score_right_texts(self.model, empty, codes, captions, owner, cache=self._score_cache())
            image_total, image_count = score_image_tokens(self.model, left, codes)
            return torch.stack([perplexity(total, count), perplexity(image_total, image_count)], dim=1).cpu()

        return score

    def _stop(self, kind: str, why: str) -> None:
        """No more ``kind`` in this run, for a reason the budget does not know; one warning."""
        if kind not in self.stopped:
            self.stopped[kind] = why
            self.stats.warnings[f"no more {kind}s: {why.split(' (')[0]}"] += 1
            print(f"run.py: warning: no more {kind}s are generated: {why}", file=sys.stderr)

    def generate_images(self, works: list[SampleWork]) -> None:
        todo = sorted((w for w in works if not self.store.is_done("image", w.id)), key=lambda w: w.left_length)
        if todo:
            try:
                make_dirs(self.store.dir / "images", root=self.store.dir)
            except UnusableFile as e:  # e.g. a link planted as output/images: refused once, not per sample
                print(f"run.py: warning: no images are generated: {e}", file=sys.stderr)
                self.stats.warnings["no images generated"] += 1
                self._count_off("image", len(todo))
                return
            if not self.store.reserve_space():
                self._stop("image", "the output disk has no room for them beside the answers")
        self.run_phase("image", todo, self._image_batch,
                       lambda w: self.store.is_done("image", w.id) or w.generated_codes is not None)

    def _recover_batch(self, batch: list[SampleWork], meter: BatchMeter) -> None:
        found = [(w, read_sample_image(self.store.dir / self.store.images[w.id], self.store.images[w.id], w.sample,
                                       self.store.dir)) for w in batch]
        found = [(w, img) for w, img in found if img is not None]  # unreadable: answered with zeros
        if found:
            pictures = torch.stack([prepare_image(img, self.weights.image_size) for _, img in found])
            codes = self.vqgan.encode(pictures.to(self.device))
            for (w, _), code in zip(found, codes, strict=True):
                w.generated_codes = code.cpu()

    def recover_generated_codes(self, works: list[SampleWork]) -> None:
        """After a resume, images generated by the earlier run are known only as files: encode them
        again so that their samples are still answered conditioned on them."""
        todo = [w for w in works if w.generated_codes is None and self.store.is_done("image", w.id)
                and not self.store.is_done("answer", w.id)]
        self.budget.set_deadline("encode", ENCODE_SHARE)
        self.run_phase("encode", todo, self._recover_batch, lambda w: w.generated_codes is not None)

    def _count_todo(self, works: list[SampleWork], wants_images: list[SampleWork]) -> None:
        """The counters, set once per run (each batch then lowers them)."""
        answer = [w for w in works if not self.store.is_done("answer", w.id)]
        scored = sum(1 for w in answer if w.choices)
        images = sum(1 for w in wants_images if not self.store.is_done("image", w.id))
        self.todo = Remaining(generate=len(answer) - scored, score=scored, image=images,
                              image_candidates=images * self.extra_candidates("image"),
                              answer_candidates=(len(answer) - scored) * self.extra_candidates("generate"))

    # -- all ----------------------------------------------------------------------------------
    def run(self, samples: list[Sample]) -> RunStats:
        t0 = time.monotonic()
        try:
            ready = self.prepare(samples)
        finally:
            self.stats.seconds["prepare"] += time.monotonic() - t0
            self.stats.samples["prepare"] += len(self.work)
        try:
            self._phases(ready)
        finally:
            for s in samples:
                for w in s.warnings:
                    self.stats.warnings[w.split(":", 1)[0]] += 1
            if self.engine is not None:
                self.stats.decoding = format_status(self.engine.status())
            self.stats.candidates = self._candidates_line()
        return self.stats

    def _phases(self, works: list[SampleWork]) -> None:
        self.encode_images(works)
        text_only = [w for w in works if w.image is ImageState.TEXT_ONLY]
        wants_images = text_only if self.settings.generate_images else []
        self._count_todo(works, wants_images)
        if self.settings.text_only_image == "generated":
            self.generate_images(wants_images)
            self.recover_generated_codes(wants_images)
            self.answer(works)
        else:
            self.answer(works)
            self.generate_images(wants_images)
