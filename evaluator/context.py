"""Everything a task metric needs while scoring one submission: the loaded files, their folders,
the optional model weights (loaded lazily, once) and the list of per-sample problems."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from evaluator import fbc2_files as files
from evaluator.weights import WeightsMissing

MAX_ANSWER_CHARS = 1000  # a text prediction is cut to this length before any metric sees it


@dataclass
class ScoreOptions:
    clip_weights: str | None = None
    inception_weights: str | None = None
    ruwordnet: str | None = None
    device: str = "cpu"
    extras: bool = True
    progress: bool = True
    allow_id_mismatch: bool = False  # score predictions that look like another set's (with a warning)


# key -> (label, ScoreOptions field, command-line flag, module, loader function)
WEIGHTED_MODELS = {
    "clip": ("ruCLIP", "clip_weights", "--clip-weights DIR", "evaluator.ruclip", "load_ruclip"),
    "inception": ("FID InceptionV3", "inception_weights", "--inception-weights FILE", "evaluator.fid", "load_inception"),
}


@dataclass
class ScoringContext:
    ground_truth: dict
    predictions: dict
    inputs: dict | None
    ground_truth_dir: str
    predictions_dir: str
    input_dir: str | None
    options: ScoreOptions = field(default_factory=ScoreOptions)
    synonyms: object | None = None
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    _models: dict = field(default_factory=dict)

    # ----- predictions -------------------------------------------------------------------------
    def _problem(self, task: str, sample_id: str, kind: str, detail: str) -> None:
        self.problems.append(files.Problem(sample_id, task, kind, detail))

    def text_prediction(self, task: str, sample_id: str) -> str | None:
        """The first text item's content, or None (and a recorded problem)."""
        if sample_id not in self.predictions:
            self._problem(task, sample_id, files.MISSING, "no prediction")
            return None
        content, kind, detail = files.first_item(self.predictions[sample_id], "text")
        if kind is not None:
            self._problem(task, sample_id, kind, detail)
            return None
        if not isinstance(content, str):
            self._problem(task, sample_id, files.BAD_CONTENT, f"text content is {type(content).__name__}, not a string")
            return None
        return files.without_surrogates(content[:MAX_ANSWER_CHARS])

    def image_prediction(self, task: str, sample_id: str) -> str | None:
        """Absolute path of the first image item, checked to exist inside the submission folder."""
        if sample_id not in self.predictions:
            self._problem(task, sample_id, files.MISSING, "no prediction")
            return None
        content, kind, detail = files.first_item(self.predictions[sample_id], "image")
        if kind is None:
            path, kind, detail = files.resolve_inside(self.predictions_dir, content)
            if kind is None:
                return path
        self._problem(task, sample_id, kind, detail)
        return None

    def open_image(self, path: str, task: str, sample_id: str, predicted: bool = True):
        """An RGB PIL image, or None (a problem for predictions, a warning for reference images)."""
        from evaluator.images import open_rgb

        try:
            return open_rgb(path)
        except Exception as error:  # Pillow raises many kinds for broken files
            if predicted:
                self._problem(task, sample_id, files.IMAGE_UNREADABLE, f"{os.path.basename(path)}: {error}")
            else:
                self.warnings.append(f"{task} sample {sample_id}: cannot read reference image {path}: {error}")
            return None

    # ----- reference data ----------------------------------------------------------------------
    def golds(self, task: str, sample_id: str) -> list[str] | None:
        answers = files.gold_answers(self.ground_truth.get(sample_id))
        if not answers:
            self.warnings.append(f"{task} sample {sample_id}: ground truth has no text answers; scored 0")
            return None
        return answers

    def gold_image_path(self, task: str, sample_id: str) -> str | None:
        content, kind, _ = files.first_item(self.ground_truth.get(sample_id), "image")
        if kind is None:
            path, kind, detail = files.resolve_inside(self.ground_truth_dir, content)
            if kind is None:
                return path
            self.warnings.append(f"{task} sample {sample_id}: ground-truth image unusable ({detail})")
        else:
            self.warnings.append(f"{task} sample {sample_id}: ground truth has no image item")
        return None

    def input_image_path(self, task: str, sample_id: str) -> str | None:
        if self.inputs is None or sample_id not in self.inputs:
            return None
        images = files.items_of_type(self.inputs[sample_id], "image")
        if not images:
            self.warnings.append(f"{task} sample {sample_id}: input has no image item")
            return None
        path, kind, detail = files.resolve_inside(self.input_dir, images[0])
        if kind is not None:
            self.warnings.append(f"{task} sample {sample_id}: input image unusable ({detail})")
        return path

    def caption(self, task: str, sample_id: str) -> str | None:
        if self.inputs is None or sample_id not in self.inputs:
            return None
        return files.generation_caption(self.inputs[sample_id])

    # ----- models (lazy, loaded once; a failure is remembered and re-raised) ------------------
    def _model(self, key: str, loader):
        if key not in self._models:
            try:
                self._models[key] = loader()
            except WeightsMissing as error:
                self._models[key] = error
        value = self._models[key]
        if isinstance(value, WeightsMissing):
            raise value
        return value

    def _weighted_model(self, key: str):
        """A CLIP or FID model loaded once; any failure becomes WeightsMissing ("not computed")."""
        label, option, flag, module, function = WEIGHTED_MODELS[key]
        path = getattr(self.options, option)

        def load():
            if not path:
                raise WeightsMissing(f"{label} weights not given ({flag})")
            try:
                loader = getattr(importlib.import_module(module), function)
            except ImportError as error:
                raise WeightsMissing(f"{label} model code unavailable ({error})") from None
            try:
                return loader(path, device=self.options.device)
            except WeightsMissing:
                raise
            except Exception as error:  # a corrupt or foreign weight file: report it, do not crash
                raise WeightsMissing(f"cannot load {label} from {path}: {error}") from None

        return self._model(key, load)

    def clip_scorer(self):
        return self._weighted_model("clip")

    def inception(self):
        return self._weighted_model("inception")
