"""eco2AI around training: one CSV row per epoch, offline, rank 0 only.

The FBC2 "Most Sustainable Solution" category reads the eco2AI CSV of the training run: the value is
the ``CO2_emissions(kg)`` of the last row whose ``experiment_description`` contains ``TargetValue``
(``--final`` appends it). We use eco2AI's training interface: ``start_training()``,
``new_epoch({"epoch", "loss", "accuracy"})`` (which writes that epoch's row) and
``stop_training()``.

Offline: the tracker is built by ``solution.emissions.make_tracker``, which always passes the
country and the time zone.
"""

from __future__ import annotations

from pathlib import Path

from solution.emissions import DEFAULT_COUNTRY, make_tracker, quiet

TARGET_PHRASE = "TargetValue"
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
        self.csv_path = Path(csv_path)
        self.tracker = make_tracker(project_name, description, self.csv_path, country, region=region,
                                    cpu_processes=cpu_processes)

    def start(self, first_epoch: int = 1) -> None:
        with quiet():
            self.tracker.start_training(start_epoch=first_epoch)

    def epoch(self, epoch: int, loss: float, accuracy: float) -> None:
        # eco2AI writes "epoch: N" itself from its own counter (started at ``first_epoch``, one call per
        # epoch keeps it equal to ``epoch``); the dict follows as ", key: value" pairs, no commas inside.
        self.tracker.new_epoch({"loss": f"{loss:.6f}", "accuracy": f"{accuracy:.6f}"})

    def stop(self) -> None:
        with quiet():
            self.tracker.stop_training()
