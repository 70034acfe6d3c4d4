"""An EvalAI challenge entry point: FBC2 hosted on an EvalAI instance with this scorer.

EvalAI's submission worker imports a challenge's evaluation script package and calls
``evaluate(test_annotation_file, user_submission_file, phase_codename, submission_metadata=...)``
with local file paths and stdout/stderr redirected to files it keeps. An exception fails the
submission. The returned dict must hold ``"result"``: a list of ``{split_codename: {label: number}}``
(one per dataset split of the phase; a leaderboard label missing from it is shown as "#", "partially
evaluated"); ``"error"`` (same shape) gives error bars; ``"submission_result"`` is stored as JSON.

To host FBC2, the challenge's ``evaluation_script/__init__.py`` is one line,
``from evaluator.evalai import evaluate``, with this project installed where the worker runs, and:

- the test annotation file of a phase is a ZIP (or a folder) holding ``ground_truth.json``
  (or ``output.json``), ``sample_ids.json``, optionally ``input.json`` (needed for CLIP and the
  check that predictions answer this input), the gold images, and optionally ``evalai.json``:
  ``{"splits": {"<phase codename>": "<split codename>"}, "hidden_metrics": {"Hidden1": "vqa_meteor"},
  "tasks": "tasks.json", "clip_weights": DIR, "inception_weights": FILE, "ruwordnet": DB,
  "device": "cpu"}`` (relative paths from the annotation's folder; without "splits" the split
  codename is the phase codename);
- a participant submits ``predictions.json``, or a ZIP holding it (at the top or in one folder)
  with its ``images/`` and, from run.py, ``run_state.json``.

Leaderboard labels: ``S`` (the integral score), one per task that could be computed, ``missing``,
``malformed`` and ``partial`` (1 when some part of S was not computed and counts 0).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile

from evaluator.errors import InputError
from evaluator.io.files import read_json_object
from evaluator.io.reference import load_reference
from evaluator.io.run_state import check_answers_input
from evaluator.options import ScoreOptions
from evaluator.scoring.score import score_predictions
from evaluator.scoring.types import ScoreReport
from evaluator.tasks import load_registry, with_hidden_metrics

GROUND_TRUTH_NAMES = ("ground_truth.json", "output.json")
SAMPLE_IDS = "sample_ids.json"
INPUT = "input.json"
PREDICTIONS = "predictions.json"
CONFIG = "evalai.json"
MAX_ENTRIES = 200_000
MAX_ENTRY_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024
CHUNK = 1024 * 1024

_ANNOTATIONS: dict[tuple, str] = {}  # (path, size, mtime) -> its extracted folder, kept for the worker's life


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if "\x00" in name or name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
        return f"entry {name!r} leaves the archive's folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"entry {name!r} is a symbolic link"
    if info.flag_bits & 0x1:
        return f"entry {name!r} is encrypted"
    if info.file_size > MAX_ENTRY_BYTES:
        return f"entry {name!r} is over {MAX_ENTRY_BYTES} bytes"
    return None


def extract_zip(path: str, folder: str, what: str) -> None:
    """Extract the regular files of a ZIP into `folder`: no entry outside it, no links, no duplicate
    names, at most MAX_ENTRIES entries and MAX_TOTAL_BYTES bytes (counted while writing)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise InputError(f"{what} {path}: {len(infos)} entries, over the {MAX_ENTRIES} limit")
            names = [info.filename.rstrip("/") for info in infos]
            if len(set(names)) != len(names):
                raise InputError(f"{what} {path}: an entry name appears twice")
            written = 0
            for info in infos:
                problem = _entry_problem(info)
                if problem:
                    raise InputError(f"{what} {path}: {problem}")
                target = os.path.join(folder, *info.filename.split("/"))
                if info.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as source, open(target, "xb") as sink:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > MAX_TOTAL_BYTES:
                            raise InputError(f"{what} {path}: over {MAX_TOTAL_BYTES} bytes once extracted")
                        sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError) as error:
        raise InputError(f"{what} {path} is not a readable ZIP archive ({error})") from None
    except OSError as error:
        raise InputError(f"{what} {path}: cannot extract ({error.strerror or error})") from None


def _folder_with(root: str, names: tuple[str, ...], what: str) -> str:
    """`root`, or its one sub-folder, that holds one of `names`."""
    candidates = [root] + sorted(os.path.join(root, entry) for entry in os.listdir(root)
                                 if os.path.isdir(os.path.join(root, entry)) and not os.path.islink(os.path.join(root, entry)))
    holding = [folder for folder in candidates if any(os.path.isfile(os.path.join(folder, n)) for n in names)]
    if not holding:
        raise InputError(f"the {what} holds no {' or '.join(names)} (at its top or in one folder)")
    if holding[0] != root and len(holding) > 1:
        raise InputError(f"the {what} holds {names[0]} in {len(holding)} folders; which one counts?")
    return holding[0]


def _annotation_folder(path: str) -> str:
    if os.path.isdir(path):
        return _folder_with(path, GROUND_TRUTH_NAMES, "test annotation folder")
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_size, status.st_mtime_ns)
    if key not in _ANNOTATIONS:
        folder = tempfile.mkdtemp(prefix="fbc2-evalai-annotation-")
        extract_zip(path, folder, "test annotation file")
        _ANNOTATIONS[key] = folder
    return _folder_with(_ANNOTATIONS[key], GROUND_TRUTH_NAMES, "test annotation file")


def _config(folder: str) -> dict:
    path = os.path.join(folder, CONFIG)
    if not os.path.exists(path):
        return {}
    config = read_json_object(path, "EvalAI configuration")
    for key in ("tasks", "clip_weights", "inception_weights", "ruwordnet"):
        if isinstance(config.get(key), str):
            config[key] = os.path.join(folder, config[key])
    return config


def split_of(config: dict, phase_codename: str) -> str:
    """The dataset split codename a phase's results go to."""
    splits = config.get("splits")
    if splits is None:
        return phase_codename
    if not isinstance(splits, dict) or not isinstance(splits.get(phase_codename), str):
        raise InputError(f"phase {phase_codename!r} has no split in {CONFIG}'s \"splits\"")
    return splits[phase_codename]


def evalai_result(report: ScoreReport, split: str) -> dict:
    """EvalAI's result shape for one scored submission."""
    scores = {"S": report.integral}
    errors = {"S": report.integral_stderr} if report.integral_stderr is not None else {}
    for name, task in report.tasks.items():
        if task.score is not None:
            scores[name] = task.score
            if task.stderr is not None:
                errors[name] = task.stderr
    scores.update(missing=report.problems.missing, malformed=report.problems.malformed, partial=int(report.partial))
    summary = {"integral_note": report.integral_note, "not_computed": report.not_computed,
               "thresholds": report.thresholds, "prize_eligible": report.prize_eligible,
               "warnings": report.warnings, "problems": report.problems.by_kind()}
    output = {"result": [{split: scores}], "submission_result": json.loads(json.dumps(summary, allow_nan=False))}
    if errors:
        output["error"] = [{split: errors}]
    return output


def _submission_folder(path: str, scratch: str) -> str:
    if os.path.isdir(path):
        return _folder_with(path, (PREDICTIONS,), "submission folder")
    if zipfile.is_zipfile(path):
        extract_zip(path, scratch, "submission")
        return _folder_with(scratch, (PREDICTIONS,), "submission")
    return ""  # a bare predictions.json: its folder is the file's own


def _score(annotation: str, submission_path: str, scratch: str, phase_codename: str) -> dict:
    config = _config(annotation)
    split = split_of(config, phase_codename)
    registry = load_registry(config.get("tasks"))
    if isinstance(config.get("hidden_metrics"), dict):
        registry = with_hidden_metrics(registry, config["hidden_metrics"])
    ground_truth = next(os.path.join(annotation, n) for n in GROUND_TRUTH_NAMES if os.path.isfile(os.path.join(annotation, n)))
    input_path = os.path.join(annotation, INPUT) if os.path.isfile(os.path.join(annotation, INPUT)) else None
    reference = load_reference(ground_truth, os.path.join(annotation, SAMPLE_IDS), input_path, registry)

    folder = _submission_folder(submission_path, scratch)
    predictions_path = os.path.join(folder, PREDICTIONS) if folder else submission_path
    predictions_dir = os.path.dirname(os.path.abspath(predictions_path))
    predictions = read_json_object(predictions_path, "predictions")
    warning = check_answers_input(predictions_dir, input_path) if folder else None
    options = ScoreOptions(clip_weights=config.get("clip_weights"), inception_weights=config.get("inception_weights"),
                           ruwordnet=config.get("ruwordnet"), device=str(config.get("device") or "cpu"),
                           extras=False, progress=False)
    report = score_predictions(reference, predictions, predictions_dir, options)
    if warning:
        report.warnings.append(warning)
    return evalai_result(report, split)


def evaluate(test_annotation_file, user_submission_file, phase_codename, **kwargs) -> dict:
    """Score one EvalAI submission (see the module's documentation for the files and the result).
    Raises InputError with one line when a file cannot be used (EvalAI then fails the submission)."""
    annotation = _annotation_folder(os.fspath(test_annotation_file))
    with tempfile.TemporaryDirectory(prefix="fbc2-evalai-submission-") as scratch:
        output = _score(annotation, os.fspath(user_submission_file), scratch, str(phase_codename))
    for warning in output["submission_result"]["warnings"]:  # ASCII: the worker's log file has the locale's encoding
        print(f"evaluator: warning: {warning}".encode("ascii", "backslashreplace").decode("ascii"))
    print(json.dumps(output["result"], ensure_ascii=True))
    return output
