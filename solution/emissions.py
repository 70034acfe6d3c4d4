"""eco2AI tracking with the network never touched: the country code is always passed explicitly
(without it eco2ai asks an IP-geolocation service), and the time zone too."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

DEFAULT_COUNTRY = "RU"


def start_tracker(project: str, description: str, csv_path: str | Path, country: str = DEFAULT_COUNTRY,
                  measure_period: float = 10):
    """A started ``eco2ai.Tracker`` writing to ``csv_path``; call ``.stop()`` at the end."""
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code such as RU or DE, got {country!r}")
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # eco2ai imports the deprecated pkg_resources
        import eco2ai

        tracker = eco2ai.Tracker(project_name=project, experiment_description=description, file_name=str(csv_path),
                                 alpha_2_code=country.upper(), measure_period=measure_period, ignore_warnings=True,
                                 timezone="UTC")
        tracker.start()
    return tracker


def stop_tracker(tracker) -> None:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        tracker.stop()
