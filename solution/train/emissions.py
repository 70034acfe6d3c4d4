"""eco2AI around training: one CSV row per epoch, offline, rank 0 only.

The FBC2 "Most Sustainable Solution" category reads the eco2AI CSV of the training run: the value is
the ``CO2_emissions(kg)`` of the last row whose ``experiment_description`` contains ``TargetValue``
(``--final`` appends it). We use eco2AI's training interface: ``start_training()``,
``new_epoch({"epoch", "loss", "accuracy"})`` (which writes that epoch's row) and
``stop_training()``.

Offline by construction: eco2AI looks the country up at ipinfo.io only when ``alpha_2_code`` is
None, so the country is always passed (``--country``, default ``RU``); nothing else in eco2AI
0.3.12 uses the network. (Side effect of eco2AI itself: every ``Tracker`` writes its defaults to
``eco2ai/data/config.txt`` inside the installed package.)
"""

from __future__ import annotations

import warnings
from pathlib import Path

TARGET_PHRASE = "TargetValue"
DEFAULT_COUNTRY = "RU"
DEFAULT_PROJECT = "FBC2 RUDOLPH fine-tuning"


def describe_model(name: str, n_params: int, n_trainable: int, final: bool) -> str:
    text = f"RUDOLPH {name} ({n_params / 1e6:.2f}M parameters, {n_trainable / 1e6:.2f}M trained)"
    return f"{text} {TARGET_PHRASE}" if final else text


class NullTracker:
    """Stands in on ranks other than 0 and with ``--no-eco2ai``."""

    csv_path = None

    def start(self, first_epoch: int = 1) -> None:
        pass

    def epoch(self, epoch: int, loss: float, accuracy: float) -> None:
        pass

    def stop(self) -> None:
        pass


class EmissionTracker:
    def __init__(self, csv_path: str | Path, project_name: str, description: str, country: str = DEFAULT_COUNTRY,
                 region: str | None = None, cpu_processes: str = "current"):
        import eco2ai

        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise ValueError(f"--country must be an ISO 3166 alpha-2 code such as RU or DE, got {country!r} "
                             "(eco2AI asks ipinfo.io when it has none)")
        self.csv_path = Path(csv_path)
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.tracker = eco2ai.Tracker(project_name=project_name, experiment_description=description,
                                          file_name=str(self.csv_path), alpha_2_code=country.upper(), region=region,
                                          cpu_processes=cpu_processes, ignore_warnings=True,
                                          timezone="UTC")  # no tzlocal lookup (fails without /etc/localtime)

    def start(self, first_epoch: int = 1) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.tracker.start_training(start_epoch=first_epoch)

    def epoch(self, epoch: int, loss: float, accuracy: float) -> None:
        # eco2AI writes "epoch: N" itself from its own counter (started at ``first_epoch``, one call per
        # epoch keeps it equal to ``epoch``); the dict follows as ", key: value" pairs, no commas inside.
        self.tracker.new_epoch({"loss": f"{loss:.6f}", "accuracy": f"{accuracy:.6f}"})

    def stop(self) -> None:
        self.tracker.stop_training()
