"""eco2AI tracking with the network never touched.

eco2AI looks the country up at ipinfo.io only when ``alpha_2_code`` is None, so the country is
always passed explicitly; the time zone too (tzlocal fails without /etc/localtime). Side effect of
eco2AI itself: every ``Tracker`` writes its defaults to ``eco2ai/data/config.txt`` inside the
installed package.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

DEFAULT_COUNTRY = "RU"


@contextlib.contextmanager
def _quiet():
    """eco2AI prints and warns (pkg_resources, missing GPU) on import, creation, start and stop."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def make_tracker(project: str, description: str, csv_path: str | Path, country: str = DEFAULT_COUNTRY,
                 measure_period: float = 10, **options):
    """An ``eco2ai.Tracker`` writing to ``csv_path`` (not started); ``options`` go to the Tracker."""
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code such as RU or DE, got {country!r} "
                         "(eco2AI asks ipinfo.io when it has none)")
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        import eco2ai

        return eco2ai.Tracker(project_name=project, experiment_description=description, file_name=str(csv_path),
                              alpha_2_code=country.upper(), measure_period=measure_period, ignore_warnings=True,
                              timezone="UTC", **options)


def start_tracker(project: str, description: str, csv_path: str | Path, country: str = DEFAULT_COUNTRY,
                  measure_period: float = 10):
    """A started tracker for a whole run (one CSV row at ``stop_tracker``)."""
    tracker = make_tracker(project, description, csv_path, country, measure_period)
    with _quiet():
        tracker.start()
    return tracker


def stop_tracker(tracker) -> None:
    with _quiet():
        tracker.stop()


def quiet():
    """The context in which to call other eco2AI methods (``start_training``, ``stop_training``)."""
    return _quiet()
