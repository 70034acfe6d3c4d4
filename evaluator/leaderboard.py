"""A local leaderboard over several teams' outputs, with the sustainability nomination.

Each team directory holds `predictions.json`, its `images/`, optionally `emission.csv` (eco2AI)
and optionally `name.txt` (the team name; the directory name otherwise). Every file is read
through `evaluator.safe_read`: regular files only, inside the team folder, within size limits.

Each team is scored in isolation: whatever goes wrong with one team (an unreadable or hostile
file, a mix-up the sanity checks catch, even an evaluator bug) becomes that team's error row,
which is not ranked and is listed after the ranked teams. Teams sharing a name are told apart by
their folder and flagged.

Sustainability ("The Most Sustainable Solution"): M = the integral scores strictly above the
baseline (0.24 by default); nomination = mean(M) + std(M) (population std, numpy's default);
among submissions strictly above the nomination, the lowest CO2 (the last TargetValue row of
its emission.csv; it must be a finite number, not negative) wins.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
from collections import Counter

from evaluator import fbc2_files as files
from evaluator.co2 import target_value_co2
from evaluator.fbc2_files import InputError
from evaluator.report_text import fmt_grams, fmt_score, table
from evaluator.safe_read import MAX_NAME_BYTES, MAX_NAME_CHARS, clean_text, read_inside, shown
from evaluator.scoring import Reference, load_reference, score_predictions


def folder_label(directory: str) -> str:
    """The folder's last component, printable."""
    return clean_text(os.fsencode(os.path.basename(os.path.normpath(directory))).decode("utf-8", "replace"),
                      MAX_NAME_CHARS) or shown(directory)


def team_name(directory: str) -> tuple[str, str | None]:
    """(the first line of name.txt, cleaned, or the folder's name; a note when name.txt was not used)."""
    if not os.path.lexists(os.path.join(directory, "name.txt")):
        return folder_label(directory), None
    try:
        data = read_inside(directory, "name.txt", MAX_NAME_BYTES, "name.txt")
    except InputError as error:
        return folder_label(directory), f"name.txt ignored: {error}"
    first = data.decode("utf-8", "replace").split("\n", 1)[0]
    name = clean_text(first, MAX_NAME_CHARS).strip()
    note = "name.txt is not UTF-8 (undecodable bytes shown as \ufffd)" if "\ufffd" in name else None
    return (name, note) if name else (folder_label(directory), "name.txt is empty")


def folder_problem(directory: str) -> str | None:
    """Why `directory` is not a team folder, or None."""
    if "\x00" in directory:
        return "the path contains a NUL character"
    if not os.path.lexists(directory):
        return f"team folder not found: {shown(directory)}"
    if not os.path.isdir(directory):
        return f"{shown(directory)} is a file, not a team folder"
    return None


def nomination_threshold(integrals: list[float], baseline: float) -> tuple[float | None, list[float]]:
    """(mean + population std of the scores strictly above `baseline`, those scores); None if none."""
    above = [s for s in integrals if s is not None and s > baseline]
    if not above:
        return None, above
    return statistics.fmean(above) + statistics.pstdev(above), above


def sustainable_winner(entries: list[dict], nomination: float | None) -> dict | None:
    """The entry with the lowest CO2 among those strictly above the nomination with a known CO2."""
    if nomination is None:
        return None
    eligible = [e for e in entries if e["integral"] is not None and e["integral"] > nomination and e["co2_kg"] is not None]
    return min(eligible, key=lambda e: e["co2_kg"]) if eligible else None


def _new_entry(directory: str) -> dict:
    name, name_note = team_name(directory) if folder_problem(directory) is None else (folder_label(directory), None)
    return {"team": name, "name": name, "directory": shown(directory), "rank": None, "error": None,
            "integral": None, "integral_stderr": None, "partial": None, "tasks": {}, "task_stderr": {},
            "thresholds": {}, "thresholds_summary": None, "prize_eligible": None, "problems": None,
            "warnings": 0, "co2_kg": None, "co2_note": None, "duplicate_name": False, "notes": [name_note] if name_note else []}


def _score_team(entry: dict, directory: str, reference, registry, options) -> None:
    problem = folder_problem(directory)
    if problem is not None:
        raise InputError(problem)
    predictions = files.load_json("predictions.json", "predictions", root=directory)
    report = score_predictions(reference, predictions, os.path.realpath(directory), registry=registry, options=options)
    entry.update(integral=report["integral"], integral_stderr=report["integral_stderr"], partial=report["partial"],
                 tasks={name: t["score"] for name, t in report["tasks"].items()},
                 task_stderr={name: t["stderr"] for name, t in report["tasks"].items()},
                 thresholds=report["thresholds"], thresholds_summary=report["thresholds_summary"],
                 prize_eligible=report["prize_eligible"], warnings=len(report["warnings"]),
                 problems=report["problems"]["missing"] + report["problems"]["malformed"])


def _read_co2(entry: dict, directory: str) -> None:
    if folder_problem(directory) is not None:
        return
    if not os.path.lexists(os.path.join(directory, "emission.csv")):
        entry["co2_note"] = "no emission.csv"
        return
    try:
        entry["co2_kg"], entry["co2_note"] = target_value_co2("emission.csv", root=directory)
    except InputError as error:
        entry["co2_note"] = str(error)


def _failure(error: BaseException) -> str:
    if isinstance(error, InputError):
        return clean_text(str(error), 400)
    return clean_text(f"evaluator error while scoring this team: {type(error).__name__}: {error}", 400)


def _mark_duplicates(entries: list[dict]) -> None:
    """Teams sharing a name: shown as 'name (folder)', flagged; the folder path if folders match too."""
    counts = Counter(e["name"] for e in entries)
    for entry in entries:
        if counts[entry["name"]] > 1:
            entry["duplicate_name"] = True
            entry["notes"].append(f"{counts[entry['name']]} teams are named {entry['name']!r}")
            entry["team"] = f"{entry['name']} ({folder_label(entry['directory'])})"
    counts = Counter(e["team"] for e in entries)
    for entry in entries:
        if counts[entry["team"]] > 1:
            entry["team"] = f"{entry['name']} ({entry['directory']})"


def build_leaderboard(ground_truth: str, task_ids: str, directories: list[str], *, input_path: str | None = None,
                      registry=None, options=None, baseline: float | None = None) -> dict:
    """Score every directory and rank them. The shared files raise InputError; a team never does."""
    from evaluator.tasks import load_registry

    registry = registry or load_registry()
    reference = load_reference(ground_truth, task_ids, input_path, registry)
    return rank_teams(reference, directories, registry=registry, options=options, baseline=baseline)


def rank_teams(reference: Reference, directories: list[str], *, registry=None, options=None,
               baseline: float | None = None) -> dict:
    """Score every directory against the once-loaded ``reference`` and rank them; a team never raises."""
    from evaluator.tasks import load_registry

    registry = registry or load_registry()
    baseline = registry.baseline_integral if baseline is None else baseline
    entries = []
    show_progress = options is None or options.progress
    if show_progress and len(directories) > 1:
        from tqdm import tqdm

        directories = tqdm(directories, desc="teams", unit="team", leave=False, disable=None)
    for directory in directories:
        entry = _new_entry(directory)
        try:
            _score_team(entry, directory, reference, registry, options)
        except Exception as error:  # one team's failure is its row, never the whole run's
            entry["error"] = _failure(error)
        try:
            _read_co2(entry, directory)
        except Exception as error:
            entry["co2_note"] = _failure(error)
        entries.append(entry)
    _mark_duplicates(entries)
    ranked = sorted((e for e in entries if e["error"] is None), key=lambda e: (-e["integral"], e["team"]))
    failed = sorted((e for e in entries if e["error"] is not None), key=lambda e: e["team"])
    for rank, entry in enumerate(ranked, 1):
        entry["rank"] = rank
    nomination, above = nomination_threshold([e["integral"] for e in ranked], baseline)
    winner = sustainable_winner(ranked, nomination)
    return {
        "entries": ranked + failed,
        "task_names": [t.name for t in registry.tasks],
        "baseline": baseline,
        "above_baseline": above,
        "nomination": nomination,
        "sustainable_winner": None if winner is None else winner["team"],
        "rule": "nomination = mean + std (population) of integral scores above the baseline; "
                "lowest CO2 among submissions above the nomination wins",
        "stderr_method": "bootstrap over samples, seeded (see evaluator.stderr)",
    }


def ranked_entries(board: dict) -> list[dict]:
    return [e for e in board["entries"] if e["error"] is None]


def failed_entries(board: dict) -> list[dict]:
    return [e for e in board["entries"] if e["error"] is not None]


def co2_cell(entry: dict) -> str:
    """CO2 in grams, or why there is none."""
    if entry["co2_kg"] is not None:
        return fmt_grams(entry["co2_kg"])
    return f"- ({entry['co2_note']})" if entry["co2_note"] else "-"


def sustainable_cell(board: dict, entry: dict) -> str:
    if board["sustainable_winner"] == entry["team"]:
        return "WINNER"
    above = board["nomination"] is not None and entry["integral"] > board["nomination"]
    return "eligible" if above else ""


RANKED_HEADERS = ["rank", "team", "integral", "partial", "thresholds"]
TAIL_HEADERS = ["CO2, g", "sustainable"]


def _rows(board: dict, task_names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The ranked teams' rows: scores as 'score ± stderr'."""
    headers = RANKED_HEADERS + task_names + TAIL_HEADERS
    rows = []
    for e in ranked_entries(board):
        team = e["team"] + (" [same name]" if e["duplicate_name"] else "")
        rows.append([str(e["rank"]), team, fmt_score(e["integral"], e["integral_stderr"]),
                     "yes" if e["partial"] else "no", e["thresholds_summary"] or "-"]
                    + [fmt_score(e["tasks"].get(name), e["task_stderr"].get(name)) for name in task_names]
                    + [co2_cell(e), sustainable_cell(board, e)])
    return headers, rows


def _failed_rows(board: dict) -> list[list[str]]:
    return [[e["team"], e["error"]] for e in failed_entries(board)]


def _shown_tasks(board: dict) -> list[str]:
    """Task columns worth showing: those any team has a score or a sample for."""
    return [n for n in board["task_names"] if any(e["tasks"].get(n) is not None for e in board["entries"])] or \
        board["task_names"][:6]


def render_terminal(board: dict) -> str:
    headers, rows = _rows(board, _shown_tasks(board))
    lines = [table(headers, rows), "", _nomination_line(board)]
    failed = _failed_rows(board)
    if failed:
        lines += ["", f"Not ranked ({len(failed)} failed):"] + [f"  {team}: {reason}" for team, reason in failed]
    return "\n".join(clean_text(line) for line in "\n".join(lines).split("\n"))


def _nomination_line(board: dict) -> str:
    if board["nomination"] is None:
        return f"Sustainability: no submission beats the baseline {board['baseline']:.2f}; no nomination."
    winner = board["sustainable_winner"] or "none (no submission above it has a usable TargetValue CO2)"
    return (f"Sustainability: nomination = mean + std of {len(board['above_baseline'])} scores above baseline "
            f"{board['baseline']:.2f} = {board['nomination']:.4f}; lowest-CO2 submission above it: {winner}")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with =, +, -, @, tab or CR gets a leading '."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)
            return text  # a plain negative number stays a number
        except ValueError:
            return "'" + text
    return text


def render_csv(board: dict) -> str:
    """Every team, ranked first, then the failed ones (rank empty, reason in 'error'); one
    column per task score and one per its stderr; CO2 in kg as a number."""
    names = board["task_names"]
    headers = (["rank", "team", "folder", "integral", "integral_stderr", "partial", "thresholds"]
               + [c for n in names for c in (n, f"{n}_stderr")] + ["co2_kg", "co2_note", "sustainable", "error"])

    def number(value):
        return "" if value is None else repr(float(value))

    rows = []
    for e in board["entries"]:
        ok = e["error"] is None
        rows.append([e["rank"] or "", e["team"], e["directory"], number(e["integral"]), number(e["integral_stderr"]),
                     ("yes" if e["partial"] else "no") if ok else "", e["thresholds_summary"] or ""]
                    + [c for n in names for c in (number(e["tasks"].get(n)), number(e["task_stderr"].get(n)))]
                    + [number(e["co2_kg"]), e["co2_note"] or "", sustainable_cell(board, e) if ok else "",
                       e["error"] or ""])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[csv_cell(cell) for cell in row] for row in rows])
    return buffer.getvalue()


MARKDOWN_SPECIALS = "\\`*_[]<>|&~"  # cells never start a line, so #, +, - and digits with . are safe


def markdown_cell(text: str) -> str:
    """Text shown literally in a Markdown table cell: no HTML, no links, no emphasis, one line."""
    text = clean_text(str(text))
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in text)


def render_markdown(board: dict) -> str:
    headers, rows = _rows(board, _shown_tasks(board))
    lines = ["| " + " | ".join(markdown_cell(h) for h in headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    out = "\n".join(lines) + "\n\n" + markdown_cell(_nomination_line(board)) + "\n"
    failed = _failed_rows(board)
    if failed:
        out += f"\nNot ranked ({len(failed)} failed):\n\n| team | reason |\n| --- | --- |\n"
        out += "".join(f"| {markdown_cell(team)} | {markdown_cell(reason)} |\n" for team, reason in failed)
    return out
