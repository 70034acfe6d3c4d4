"""What a task metric may use besides its samples: the options, the METEOR synonym source, the
model-based scorers (ruCLIP, the FID InceptionV3; loaded lazily, once) and the report's warnings."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from evaluator.errors import WeightsUnavailable
from evaluator.options import ScoreOptions

# key -> (label, ScoreOptions field, command-line flag, module, loader function). The modules are
# imported by name when their weights are given: they pull in torch, which most runs never need.
WEIGHTED_MODELS = {
    "clip": ("ruCLIP", "clip_weights", "--clip-weights DIR", "evaluator.metrics.ruclip", "load_ruclip"),
    "inception": ("FID InceptionV3", "inception_weights", "--inception-weights FILE", "evaluator.metrics.fid",
                  "load_inception"),
}


@dataclass
class MetricContext:
    options: ScoreOptions = field(default_factory=ScoreOptions)
    synonyms: object | None = None
    warnings: list[str] = field(default_factory=list)
    models: dict = field(default_factory=dict)  # key -> loaded model or the WeightsUnavailable it raised

    def progress(self, items, label: str):
        """`items`, with a progress bar on a terminal when the options ask for one."""
        if not self.options.progress:
            return items
        from tqdm import tqdm  # third-party, only for interactive runs

        return tqdm(items, desc=label, unit="sample", leave=False, disable=None)

    def module(self, key: str):
        """The code module of a weighted model (WeightsUnavailable when it cannot be imported)."""
        label, _, _, module, _ = WEIGHTED_MODELS[key]
        try:
            return importlib.import_module(module)
        except ImportError as error:
            raise WeightsUnavailable(f"{label} model code unavailable ({error})") from None

    def model(self, key: str):
        """A CLIP or FID model loaded once; any failure is WeightsUnavailable ("not computed"),
        remembered and raised again at the next call."""
        if key not in self.models:
            try:
                self.models[key] = self._load(key)
            except WeightsUnavailable as error:
                self.models[key] = error
        value = self.models[key]
        if isinstance(value, WeightsUnavailable):
            raise value
        return value

    def _load(self, key: str):
        label, option, flag, _, function = WEIGHTED_MODELS[key]
        path = getattr(self.options, option)
        if not path:
            raise WeightsUnavailable(f"{label} weights not given ({flag})")
        loader = getattr(self.module(key), function)
        try:
            return loader(path, device=self.options.device)
        except WeightsUnavailable:
            raise
        except Exception as error:  # a corrupt or foreign weight file: report it, do not crash
            raise WeightsUnavailable(f"cannot load {label} from {path}: {error}") from None

    def clip_scorer(self):
        return self.model("clip")

    def inception(self):
        return self.model("inception")
