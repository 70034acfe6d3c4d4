"""eco2AI tracking: offline, confined to a private folder, stopped with a timeout.

Offline: eco2AI looks the country up at ipinfo.io only when ``alpha_2_code`` is None, so the country
is always passed explicitly; the time zone too (tzlocal fails without /etc/localtime).

Confined, because eco2AI 0.3.12 writes where it is told without looking first:

- its defaults go to ``config.txt``, found with ``pkg_resources.resource_stream('eco2ai',
  'data/config.txt').name`` (``eco2ai.utils.get_params`` / ``set_params``), i.e. inside the
  installed package: a read-only package folder made every Tracker fail, and tracking was silently
  off. :func:`make_tracker` points that one name at a private temporary folder.
- its CSV is opened with plain ``open(..., "w")``: a link planted at ``output/emission.csv`` made it
  write the file the link points to, a FIFO hung it, and another process holding the file open made
  its "is the file open" check loop forever. :func:`start_tracker` gives it a CSV in a private
  temporary folder; :func:`stop_tracker` stops it in a thread with a timeout and copies the result
  into place with ``fbc2_io.files.atomic_write_bytes`` (a link or FIFO there is replaced, never
  followed or opened).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from fbc2_io.errors import UnusableFile
from fbc2_io.files import atomic_write_bytes, read_bytes

DEFAULT_COUNTRY = "RU"
STOP_TIMEOUT = 30.0  # seconds eco2AI may take to stop and write its last row
MAX_CSV_BYTES = 16 << 20
_CONFIG_RESOURCE = "data/config.txt"
_config_folder: Path | None = None


@contextlib.contextmanager
def _quiet():
    """eco2AI prints and warns (pkg_resources, missing GPU) on import, creation, start and stop."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@dataclass(frozen=True)
class _NamedResource:
    """What eco2AI uses of ``resource_stream(...)``: its ``name``."""

    name: str


def confine_config() -> Path:
    """Make eco2AI keep its ``config.txt`` in a private temporary folder (once per process); returns
    the file's path. Other package resources (its CPU and carbon-index tables) are read as before."""
    global _config_folder
    with _quiet():
        import eco2ai.utils

    if _config_folder is None:
        _config_folder = Path(tempfile.mkdtemp(prefix="fbc2-eco2ai-config-"))
        original = eco2ai.utils.resource_stream
        config = str(_config_folder / "config.txt")

        def resource_stream(package, resource_name):
            if package == "eco2ai" and resource_name == _CONFIG_RESOURCE:
                return _NamedResource(config)
            return original(package, resource_name)

        eco2ai.utils.resource_stream = resource_stream
    return _config_folder / "config.txt"


def make_tracker(project: str, description: str, csv_path: str | Path, country: str = DEFAULT_COUNTRY,
                 measure_period: float = 10, **options):
    """An ``eco2ai.Tracker`` writing to ``csv_path`` (not started); ``options`` go to the Tracker.
    Its ``config.txt`` is private (:func:`confine_config`)."""
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code such as RU or DE, got {country!r} "
                         "(eco2AI asks ipinfo.io when it has none)")
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    confine_config()
    with _quiet():
        import eco2ai

        return eco2ai.Tracker(project_name=project, experiment_description=description, file_name=str(csv_path),
                              alpha_2_code=country.upper(), measure_period=measure_period, ignore_warnings=True,
                              timezone="UTC", **options)


@dataclass
class ConfinedTracker:
    """A started tracker writing into ``folder`` (private); ``target`` is where its CSV goes at the end."""

    tracker: object
    folder: Path
    target: Path

    @property
    def private_csv(self) -> Path:
        return self.folder / "emission.csv"


def start_tracker(project: str, description: str, csv_path: str | Path, country: str = DEFAULT_COUNTRY,
                  measure_period: float = 10) -> ConfinedTracker:
    """A started tracker for a whole run (one CSV row at :func:`stop_tracker`), writing into a private
    folder. The rows of a regular ``csv_path`` already there (a resumed run) are carried over; a link
    leading out of its folder, a FIFO or a device there is ignored (and replaced at the end)."""
    target = Path(csv_path)
    folder = Path(tempfile.mkdtemp(prefix="fbc2-eco2ai-"))
    confined = ConfinedTracker(None, folder, target)
    try:
        earlier = read_bytes(target, root=target.parent, max_bytes=MAX_CSV_BYTES, what="earlier emission file")
    except UnusableFile:
        earlier = b""
    try:
        if earlier:
            confined.private_csv.write_bytes(earlier)
        confined.tracker = make_tracker(project, description, confined.private_csv, country, measure_period)
        with _quiet():
            confined.tracker.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return confined


def stop_tracker(confined: ConfinedTracker, timeout: float = STOP_TIMEOUT) -> Path:
    """Stop the tracker (at most ``timeout`` seconds, in a daemon thread, so that a stuck eco2AI can
    neither hang the run nor keep it from exiting) and copy its CSV to the target atomically; returns
    the target. TimeoutError, UnusableFile or eco2AI's own exception when that fails."""
    finished = threading.Event()
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            confined.tracker.stop()
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)
        finally:
            finished.set()

    with _quiet():
        threading.Thread(target=stop, name="eco2ai-stop", daemon=True).start()
        stopped = finished.wait(timeout)
    if not stopped:
        raise TimeoutError(f"eco2AI did not stop within {timeout:g} s; {confined.target} not written")
    if errors:
        raise errors[0]
    data = read_bytes(confined.private_csv, max_bytes=MAX_CSV_BYTES, what="eco2AI's emission file")
    atomic_write_bytes(confined.target, data, root=confined.target.parent)
    shutil.rmtree(confined.folder, ignore_errors=True)
    return confined.target


def quiet():
    """The context in which to call other eco2AI methods (``start_training``, ``stop_training``)."""
    return _quiet()
