"""A local leaderboard over several teams' outputs, with the sustainability nomination.

Each team directory holds `predictions.json`, its `images/`, optionally `emission.csv` (eco2AI)
and optionally `name.txt` (the team name; the directory name otherwise).

Sustainability ("The Most Sustainable Solution"): M = the integral scores strictly above the
baseline (0.24 by default); nomination = mean(M) + std(M) (population std, numpy's default);
among submissions strictly above the nomination, the lowest CO2 (the last TargetValue row of
its emission.csv) wins.
"""

from __future__ import annotations

import csv
import io
import os
import statistics

from evaluator.co2 import target_value_co2
from evaluator.fbc2_files import InputError
from evaluator.report_text import fmt, table
from evaluator.scoring import score_files


def team_name(directory: str) -> str:
    name_file = os.path.join(directory, "name.txt")
    if os.path.isfile(name_file):
        with open(name_file, encoding="utf-8") as handle:
            first = handle.readline().strip()
        if first:
            return first
    return os.path.basename(os.path.normpath(directory))


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


def build_leaderboard(ground_truth: str, task_ids: str, directories: list[str], *, input_path: str | None = None,
                      registry=None, options=None, baseline: float | None = None) -> dict:
    """Score every directory and rank them; never raises for one team's broken files."""
    from evaluator.tasks import load_registry

    registry = registry or load_registry()
    baseline = registry.baseline_integral if baseline is None else baseline
    entries = []
    show_progress = options is None or options.progress
    if show_progress and len(directories) > 1:
        from tqdm import tqdm

        directories = tqdm(directories, desc="teams", unit="team", leave=False, disable=None)
    for directory in directories:
        entry = {"team": team_name(directory), "directory": directory, "integral": None, "partial": None,
                 "tasks": {}, "thresholds": {}, "prize_eligible": None, "co2_kg": None, "error": None,
                 "co2_note": None}
        try:
            report = score_files(ground_truth, os.path.join(directory, "predictions.json"), task_ids,
                                 input_path=input_path, registry=registry, options=options)
            entry.update(integral=report["integral"], partial=report["partial"],
                         tasks={name: t["score"] for name, t in report["tasks"].items()},
                         thresholds=report["thresholds"], prize_eligible=report["prize_eligible"],
                         problems=report["problems"]["missing"] + report["problems"]["malformed"])
        except InputError as error:
            entry["error"] = str(error)
        emission = os.path.join(directory, "emission.csv")
        if os.path.isfile(emission):
            try:
                entry["co2_kg"] = target_value_co2(emission)
                if entry["co2_kg"] is None:
                    entry["co2_note"] = "no TargetValue row"
            except InputError as error:
                entry["co2_note"] = str(error)
        else:
            entry["co2_note"] = "no emission.csv"
        entries.append(entry)
    entries.sort(key=lambda e: (e["integral"] is None, -(e["integral"] or 0.0), e["team"]))
    for rank, entry in enumerate(entries, 1):
        entry["rank"] = rank
    nomination, above = nomination_threshold([e["integral"] for e in entries], baseline)
    winner = sustainable_winner(entries, nomination)
    return {
        "entries": entries,
        "task_names": [t.name for t in registry.tasks],
        "baseline": baseline,
        "above_baseline": above,
        "nomination": nomination,
        "sustainable_winner": None if winner is None else winner["team"],
        "rule": "nomination = mean + std (population) of integral scores above the baseline; "
                "lowest CO2 among submissions above the nomination wins",
    }


def _rows(board: dict, task_names: list[str]) -> tuple[list[str], list[list[str]]]:
    headers = ["rank", "team", "integral", "partial", "thresholds"] + task_names + ["CO2 kg", "sustainable"]
    rows = []
    for e in board["entries"]:
        if e["error"]:
            rows.append([str(e["rank"]), e["team"], "error", "", e["error"]] + [""] * len(task_names) + ["", ""])
            continue
        thresholds = {True: "pass", False: "fail", None: "unknown"}[e["prize_eligible"]]
        above = board["nomination"] is not None and e["integral"] > board["nomination"]
        sustainable = "WINNER" if board["sustainable_winner"] == e["team"] else ("eligible" if above else "")
        rows.append([str(e["rank"]), e["team"], fmt(e["integral"]), "yes" if e["partial"] else "no", thresholds]
                    + [fmt(e["tasks"].get(name)) for name in task_names]
                    + [fmt(e["co2_kg"], 6) if e["co2_kg"] is not None else "-", sustainable])
    return headers, rows


def _shown_tasks(board: dict) -> list[str]:
    """Task columns worth showing: those any team has a score or a sample for."""
    return [n for n in board["task_names"] if any(e["tasks"].get(n) is not None for e in board["entries"])] or \
        board["task_names"][:6]


def render_terminal(board: dict) -> str:
    headers, rows = _rows(board, _shown_tasks(board))
    lines = [table(headers, rows), "", _nomination_line(board)]
    return "\n".join(lines)


def _nomination_line(board: dict) -> str:
    if board["nomination"] is None:
        return f"Sustainability: no submission beats the baseline {board['baseline']:.2f}; no nomination."
    winner = board["sustainable_winner"] or "none (no submission above it has a TargetValue CO2)"
    return (f"Sustainability: nomination = mean + std of {len(board['above_baseline'])} scores above baseline "
            f"{board['baseline']:.2f} = {board['nomination']:.4f}; lowest-CO2 submission above it: {winner}")


def render_csv(board: dict) -> str:
    headers, rows = _rows(board, board["task_names"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def render_markdown(board: dict) -> str:
    headers, rows = _rows(board, _shown_tasks(board))
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + _nomination_line(board) + "\n"
