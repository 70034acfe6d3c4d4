"""`python -m evaluator {score,leaderboard,co2,tasks}`: the offline FBC2 evaluator's command line.

Exit status: 0 on success; 1 when --strict finds missing or malformed predictions; 2 for a usage
error or an unreadable file (reported as one line, never a traceback), or predictions whose
run.py `run_state.json` records another input.json than `--input`.

Result files are written before anything is printed, and stdout/stderr replace what the console
cannot encode (`fbc2_io.console`), so a cp1251 or ASCII console never costs a result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields

from evaluator.co2 import (
    draw_plots,
    epoch_mismatch,
    power_model_note,
    read_emissions,
    read_loss_log,
    summarise,
    target_value,
)
from evaluator.errors import EvaluatorError, InputError, OutputError
from evaluator.io.display import clean_text
from evaluator.io.files import write_output
from evaluator.io.reference import load_reference
from evaluator.io.run_state import check_answers_input
from evaluator.leaderboard.rank import rank_teams
from evaluator.metrics.task_metrics import METRIC_OUTPUT, TASK_METRICS
from evaluator.options import ScoreOptions
from evaluator.provenance import provenance
from evaluator.report.board_csv import render_csv
from evaluator.report.format import fmt, fmt_grams, table
from evaluator.report.gallery import GALLERY_LIMIT, leaderboard_gallery, score_gallery
from evaluator.report.html import render_leaderboard_html, render_score_html
from evaluator.report.markdown import render_markdown
from evaluator.report.text import render_board, render_score
from evaluator.scoring.score import load_submission, score_predictions
from evaluator.tasks import BASELINE_INTEGRAL, load_registry, with_hidden_metrics
from fbc2_io.console import make_console_safe

EXIT_OK, EXIT_STRICT, EXIT_INPUT = 0, 1, 2


def warn(message: str) -> None:
    """Warnings go to stderr, one line each, control characters removed."""
    print(f"evaluator: warning: {clean_text(message)}", file=sys.stderr)


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False, default=str)


def _registry(args):
    registry = load_registry(args.tasks)
    if args.tasks:
        official = {t.name: t.metric for t in load_registry().tasks if t.kind == "open"}
        for task in registry.tasks:
            if task.name in official and task.metric != official[task.name]:
                warn(f"{args.tasks} sets open task {task.name}'s metric to {task.metric!r}; the official one is "
                     f"{official[task.name]!r}, so these scores are not FBC2 scores")
    assignments = {}
    for item in args.hidden_metric or []:
        name, sep, metric = item.partition("=")
        if not sep:
            raise InputError(f"--hidden-metric expects NAME=METRIC, got {item!r}")
        assignments[name.strip()] = metric.strip()
    return with_hidden_metrics(registry, assignments) if assignments else registry


def score_options(args) -> ScoreOptions:
    return ScoreOptions(**{option.name: getattr(args, option.name) for option in fields(ScoreOptions)})


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ground-truth", required=True, metavar="FILE",
                        help="ground_truth.json (also called output.json); image paths relative to its folder")
    parser.add_argument("--task-ids", required=True, metavar="FILE",
                        help="sample_ids.json mapping each sample id to its task id")
    parser.add_argument("--input", metavar="FILE",
                        help="input.json; needed for CLIP (captioning images, generation captions) and to check that "
                             "predictions made by run.py answer this input (their run_state.json records its hash)")
    parser.add_argument("--tasks", metavar="FILE", help="task registry JSON (default: the packaged evaluator/tasks.json)")
    parser.add_argument("--hidden-metric", action="append", metavar="NAME=METRIC",
                        help=f"set a hidden task's metric, e.g. Hidden1=vqa_meteor (repeatable; metrics: "
                             f"{', '.join(TASK_METRICS)})")
    for option in fields(ScoreOptions):
        meta = option.metadata
        help_text = meta["help"].format(default=option.default)
        if isinstance(option.default, bool):
            action = "store_false" if meta["invert"] else "store_true"
            parser.add_argument(meta["flag"], dest=option.name, action=action, help=help_text)
        else:
            parser.add_argument(meta["flag"], dest=option.name, default=option.default, metavar=meta["metavar"],
                                help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluator",
        description="Offline FBC2 (AI Journey 2022) evaluator: the official metrics, the integral score, "
                    "a local leaderboard and eco2AI CO2 reports.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
               "  python -m evaluator score --input in/input.json --ground-truth in/ground_truth.json \\\n"
               "      --predictions output/predictions.json --task-ids in/sample_ids.json --json report.json\n"
               "  python -m evaluator leaderboard --ground-truth gt.json --task-ids ids.json teamA teamB --html lb.html\n"
               "  python -m evaluator co2 emission.csv --loss-log loss.csv --out-dir co2_report\n"
               "  python -m evaluator tasks --write my_tasks.json")
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score one predictions.json",
                           description="Score one submission. Prints a table; CLIP/FID parts without weights are "
                                       "reported as not computed (never filled in) and the integral is marked partial.")
    _add_common(score)
    score.add_argument("--predictions", required=True, metavar="FILE",
                       help="predictions.json; image paths relative to its folder and must stay inside it")
    score.add_argument("--emissions", metavar="CSV", help="eco2AI emission.csv: adds the TargetValue CO2 to the report")
    score.add_argument("--json", metavar="OUT", help="write the full report as JSON")
    score.add_argument("--html", metavar="OUT", help="write a self-contained HTML report (every task's samples: "
                                                     "prompt, ground truth, prediction and its score)")
    score.add_argument("--log-samples", metavar="FILE",
                       help="write one JSON line per sample: task, id, prediction, golds, prompt, scores, problem")
    score.add_argument("--strict", action="store_true",
                       help="exit with status 1 if any prediction is missing or malformed")
    score.set_defaults(handler=run_score)

    board = sub.add_parser("leaderboard", help="rank several teams' outputs",
                           description="Score each DIR (predictions.json, images/, optional emission.csv and "
                                       "name.txt) and rank by integral score, with the sustainability nomination.")
    _add_common(board)
    board.add_argument("directories", nargs="+", metavar="DIR", help="a team's output folder")
    board.add_argument("--baseline", type=float,
                       help=f"baseline integral score for the nomination (default: the registry's baseline_integral, "
                            f"{BASELINE_INTEGRAL} in the packaged one; a full score: every task counted)")
    board.add_argument("--csv", metavar="OUT", help="write the leaderboard as CSV")
    board.add_argument("--markdown", metavar="OUT", help="write the leaderboard as Markdown")
    board.add_argument("--html", metavar="OUT",
                       help="write a self-contained HTML page (ranked table, failed submissions, a gallery)")
    board.add_argument("--json", metavar="OUT", help="write the leaderboard as JSON")
    for command in (score, board):
        command.add_argument("--gallery-limit", type=int, default=GALLERY_LIMIT, metavar="N",
                             help=f"samples per task in the HTML gallery (default {GALLERY_LIMIT}; 0: all)")
    board.set_defaults(handler=run_leaderboard)

    co2 = sub.add_parser("co2", help="summarise an eco2AI emission.csv and draw its plots",
                         description="Totals, devices, region and the TargetValue row of an eco2AI CSV; draws "
                                     "co2_per_epoch.png and loss_vs_co2.png (Pillow).")
    co2.add_argument("emissions", metavar="emission.csv")
    co2.add_argument("--loss-log", metavar="FILE",
                     help="lines 'epoch,loss' (optional header); otherwise the 'loss' given to new_epoch() is used")
    co2.add_argument("--out-dir", default=".", metavar="DIR", help="where the PNG plots go (default: .)")
    co2.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    co2.set_defaults(handler=run_co2)

    tasks = sub.add_parser("tasks", help="show the task registry or write a copy to edit",
                           description="Show the task registry; --write copies it so hidden metrics can be set.")
    tasks.add_argument("--tasks", metavar="FILE", help="registry to show (default: the packaged one)")
    tasks.add_argument("--write", metavar="OUT", help="write the registry JSON to OUT")
    tasks.set_defaults(handler=run_tasks)
    return parser


def _co2_of(path: str) -> dict:
    """The score report's CO2 entry: the TargetValue value (checked), its text in grams, the summary."""
    summary = summarise(read_emissions(path))
    value, note, notes = target_value(path)
    text = fmt_grams(value) if value is not None else f"none ({note})"
    return {"target_value_co2_kg": value, "note": note, "notes": notes,
            "text": "; ".join([text, *notes, power_model_note(summary)]), "summary": summary}


def run_score(args) -> int:
    registry = _registry(args)
    reference, predictions = load_submission(args.ground_truth, args.predictions, args.task_ids, args.input, registry)
    predictions_dir = os.path.dirname(os.path.abspath(args.predictions))
    unchecked = check_answers_input(predictions_dir, args.input)  # OtherInput: one error line, exit 2
    report = score_predictions(reference, predictions, predictions_dir, score_options(args))
    if unchecked:
        report.warnings.append(unchecked)
    if args.emissions:
        report.co2 = _co2_of(args.emissions)
    report.provenance = provenance({"ground_truth": args.ground_truth, "predictions": args.predictions,
                                    "task_ids": args.task_ids, "input": args.input, "tasks": args.tasks,
                                    "emissions": args.emissions})
    if args.json:
        write_output(args.json, _json(report.to_json()))
    if args.html:
        write_output(args.html, render_score_html(report, score_gallery(report, limit=args.gallery_limit)))
    if args.log_samples:
        write_output(args.log_samples, "".join(json.dumps(record.to_json(), ensure_ascii=False, allow_nan=False) + "\n"
                                               for record in report.samples))
    print(render_score(report))
    for warning in report.warnings:
        warn(warning)
    problems = report.problems.missing + report.problems.malformed
    if args.strict and problems:
        print(f"evaluator: --strict: {problems} missing or malformed predictions", file=sys.stderr)
        return EXIT_STRICT
    return EXIT_OK


def run_leaderboard(args) -> int:
    registry = _registry(args)
    reference = load_reference(args.ground_truth, args.task_ids, args.input, registry)  # once for every team
    board = rank_teams(reference, args.directories, options=score_options(args), baseline=args.baseline,
                       input_path=args.input)
    board.provenance = provenance({"ground_truth": args.ground_truth, "task_ids": args.task_ids,
                                   "input": args.input, "tasks": args.tasks})
    board.provenance["teams"] = [{"team": e.team, "directory": e.directory} for e in board.entries]
    outputs = [(args.csv, render_csv), (args.markdown, render_markdown), (args.json, lambda b: _json(b.to_json())),
               (args.html, lambda b: render_leaderboard_html(b, leaderboard_gallery(b, args.gallery_limit)))]
    failures = []
    for path, render in outputs:
        if path:
            try:
                write_output(path, render(board))
            except OutputError as error:
                failures.append(str(error))
    print(render_board(board))
    for entry in board.entries:
        for note in entry.notes + entry.co2_notes:
            warn(f"{entry.team}: {note}")
        if entry.report and entry.report.warnings:
            warn(f"{entry.team}: {len(entry.report.warnings)} scoring warnings (run `score` on this team for them)")
    if failures:
        raise OutputError("; ".join(failures))
    return EXIT_OK


def run_co2(args) -> int:
    summary = summarise(read_emissions(args.emissions))
    losses = read_loss_log(args.loss_log) if args.loss_log else None
    mismatch = epoch_mismatch(summary, losses)
    written, skipped = draw_plots(summary, args.out_dir, losses)
    target = summary["target_value"]
    value, rejected, notes = target_value(args.emissions)
    lines = [
        f"rows: {summary['rows']}",
        f"total energy: {fmt(summary['total_kwh'], 6)} kWh",
        f"total CO2: {fmt_grams(summary['total_co2_kg'])}",
        f"total duration: {fmt(summary['total_duration_s'], 1)} s",
        f"projects: {', '.join(summary['projects']) or '-'}",
        f"CPU: {'; '.join(summary['cpus']) or '-'}",
        f"GPU: {'; '.join(summary['gpus']) or '-'}",
        f"region: {', '.join(summary['regions']) or '-'}",
        f"epoch rows: {len(summary['epochs'])}",
        power_model_note(summary),
    ]
    if target is None:
        lines.append("TargetValue row: none (no experiment_description contains 'TargetValue'; "
                     "the submission has no sustainability value)")
    else:
        lines.append(f"TargetValue row (category value): CO2 {fmt_grams(target['co2_kg'])}, "
                     f"{fmt(target['kwh'], 6)} kWh, {fmt(target['duration_s'], 1)} s - {target['experiment_description']}")
    if target is not None and rejected:
        lines.append(f"TargetValue row not usable for the nomination: {rejected}")
    lines += [f"note: {note}" for note in notes]
    lines += [f"plot: {path}" for path in written] + [f"plot skipped: {reason}" for reason in skipped]
    if args.json:
        write_output(args.json, _json({**summary, "plots": written, "plots_skipped": skipped, "epoch_mismatch": mismatch,
                                       "target_value_co2_kg": value, "target_value_rejected": rejected,
                                       "target_value_notes": notes}))
    for warning in ([mismatch] if mismatch else []) + summary["power_model"]["warnings"]:
        warn(warning)
    print("\n".join(lines))
    return EXIT_OK


def run_tasks(args) -> int:
    registry = load_registry(args.tasks)
    rows = [[t.id, t.name, t.kind, t.output or "-", t.metric or "(not set)", fmt(t.threshold, 2) if t.threshold else "-",
             fmt(t.baseline, 2) if t.baseline is not None else "-", f"1/{registry.open_divisor if t.kind == 'open' else registry.hidden_divisor}"]
            for t in registry.tasks]
    print(table(["id", "name", "kind", "output", "metric", "threshold", "baseline", "weight"], rows))
    print(f"\nmetrics: {', '.join(f'{m} ({o})' for m, o in METRIC_OUTPUT.items())}")
    if args.write:
        write_output(args.write, _json(registry.to_json()) + "\n")
        print(f"written: {args.write}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    make_console_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except EvaluatorError as error:
        print(f"evaluator: error: {error}", file=sys.stderr)
        return EXIT_INPUT
