"""Whether predictions answer the input being scored, by the fingerprint run.py leaves beside them.

run.py writes `run_state.json` next to `predictions.json`; its "fingerprint" holds, under
"input.json", the first 16 hex digits of the SHA-256 of the input.json bytes it answered (run.py's
`fingerprint()`). A held-out set made with the same ids (`make_sample_input.py` gives every set
ids 0, 1, 2, ...) would otherwise be scored without a word.

- no run_state.json: nothing to check (predictions not written by run.py), silence;
- run_state.json but no input.json given, or a run_state.json without a readable fingerprint:
  a warning that the check was not made;
- a fingerprint of another input: `OtherInput`, an `InputError` (the CLI's one error line, exit 2).
"""

from __future__ import annotations

import hashlib
import json
import os

from evaluator.errors import InputError
from evaluator.io.display import shown
from evaluator.io.files import MAX_JSON_BYTES, read_inside, read_regular

STATE = "run_state.json"
INPUT_KEY = "input.json"
HASH_CHARS = 16
MAX_STATE_BYTES = MAX_JSON_BYTES


class OtherInput(InputError):
    """The predictions' run_state.json records the hash of another input.json than the one given."""


def input_fingerprint(input_path: str) -> str:
    """The SHA-256 of an input.json's bytes, in hex (run.py records its first 16 digits)."""
    data = read_regular(input_path, MAX_JSON_BYTES, "input file")
    return hashlib.sha256(data).hexdigest()


def recorded_fingerprint(predictions_dir: str) -> tuple[str | None, str | None]:
    """(the input hash run_state.json records, or None; why it cannot be used, or None).
    Both None: there is no run_state.json."""
    if not os.path.lexists(os.path.join(predictions_dir, STATE)):
        return None, None
    try:
        data = read_inside(predictions_dir, STATE, MAX_STATE_BYTES, STATE)
        state = json.loads(data.decode("utf-8"))
    except InputError as error:
        return None, str(error)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return None, f"{STATE} is not JSON ({type(error).__name__})"
    fingerprint = state.get("fingerprint") if isinstance(state, dict) else None
    recorded = fingerprint.get(INPUT_KEY) if isinstance(fingerprint, dict) else None
    if not isinstance(recorded, str) or not recorded:
        return None, f"{STATE} records no {INPUT_KEY} fingerprint"
    if len(recorded) < HASH_CHARS or len(recorded) > 64 or any(c not in "0123456789abcdef" for c in recorded):
        return None, f"{STATE} records an {INPUT_KEY} fingerprint that is not {HASH_CHARS} to 64 hex digits"
    return recorded, None


def check_answers_input(predictions_dir: str, input_path: str | None, *, what: str = "predictions",
                        input_hash: str | None = None) -> str | None:
    """Raise OtherInput when `predictions_dir`'s run_state.json names another input than `input_path`;
    return a warning when that cannot be checked; None when it matches or there is no run_state.json.
    `input_hash`: `input_fingerprint(input_path)` when already known (a leaderboard hashes it once)."""
    recorded, problem = recorded_fingerprint(predictions_dir)
    where = shown(os.path.join(predictions_dir, STATE))
    if problem is not None:
        return f"cannot check which input the {what} answer: {problem}"
    if recorded is None:
        return None
    if not input_path:
        return (f"cannot check which input the {what} answer: {where} records input.json {recorded[:HASH_CHARS]}... "
                "but no --input was given")
    actual = input_hash or input_fingerprint(input_path)
    if not actual.startswith(recorded):
        raise OtherInput(f"the {what} answer another input: {where} records input.json sha256 "
                         f"{recorded[:HASH_CHARS]}..., but --input {shown(input_path)} is "
                         f"{actual[:HASH_CHARS]}... (predictions of another set with the same ids?)")
    return None
