#!/usr/bin/env python3
"""Build the evaluator's demo reports (the screenshots in docs/evaluator.md) from sample_input/.

Four synthetic teams answer sample_input/ (no model is run): "Oracle" copies the ground truth,
"Half right" and "Guesser" replace a seeded share of the answers and images with wrong ones, and
"Broken JSON" has an unreadable predictions.json (it becomes an unranked error row). Each scored
team gets an eco2AI emission.csv with per-epoch rows; then the leaderboard (HTML, CSV, Markdown,
JSON), the score report of "Half right" (HTML, JSON) and its CO2 plots are written to OUT.

  python scripts/demo_reports.py --out /tmp/fbc2-demo
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaluator.cli import main as evaluator  # noqa: E402 (after the repository is on sys.path)

HEADER = ("id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh),"
          "CO2_emissions(kg),CPU_name,GPU_name,OS,region/country,cost\n")
TEAMS = {"oracle": ("Oracle", 1.0, 0.05), "half": ("Half right", 0.5, 0.02), "guess": ("Guesser", 0.2, 0.004)}


def emission_csv(co2_per_epoch: float, epochs: int = 4) -> str:
    """eco2AI rows: one per epoch of a TargetValue run (A100 measured, Xeon at TDP 200 W)."""
    rows = []
    for epoch in range(1, epochs + 1):
        co2 = co2_per_epoch * (1.0 + 0.1 * epoch)
        kwh = co2 / 0.31  # eco2AI's emission factor for the RU region, about 0.31 kg/kWh
        rows.append(f"run1,FBC2,RUDOLPH TargetValue,\"epoch: {epoch}, loss: {2.4 / epoch:.3f}, \",2022-11-01 10:00:00,"
                    f"{600},{kwh:.9f},{co2:.9f},\"Intel(R) Xeon(R) Gold 6248/2 device(s), TDP:200.0\","
                    f"NVIDIA A100-SXM4-80GB 1 device(s),Linux,Russia,0\n")
    return HEADER + "".join(rows)


def _first(value) -> dict:
    return value[0] if isinstance(value, list) else value


def make_team(folder: Path, ground_truth: dict, share: float, rng: random.Random) -> None:
    """Predictions from the ground truth with a `share` of samples kept right: a wrong text sample
    answers "не знаю", a wrong image sample gets another sample's image."""
    (folder / "images").mkdir(parents=True)
    image_ids = [sid for sid, value in ground_truth.items() if _first(value)["type"] == "image"]
    predictions = {}
    for sid, value in ground_truth.items():
        item = _first(value)
        right = rng.random() < share
        if item["type"] == "image":
            picked = item if right else _first(ground_truth[rng.choice([i for i in image_ids if i != sid])])
            name = f"images/{sid}.jpg"
            shutil.copyfile(ROOT / "sample_input" / picked["content"], folder / name)
            predictions[sid] = [{"type": "image", "content": name}]
        else:
            answers = item["content"]
            answer = (answers[0] if isinstance(answers, list) else answers) if right else "не знаю"
            predictions[sid] = [{"type": "text", "content": answer}]
    (folder / "predictions.json").write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the teams and the reports")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sample = ROOT / "sample_input"
    ground_truth = json.loads((sample / "ground_truth.json").read_text(encoding="utf-8"))
    rng = random.Random(args.seed)
    teams = args.out / "teams"
    if teams.exists():
        shutil.rmtree(teams)
    for key, (name, share, co2) in TEAMS.items():
        make_team(teams / key, ground_truth, share, rng)
        (teams / key / "name.txt").write_text(name + "\n", encoding="utf-8")
        (teams / key / "emission.csv").write_text(emission_csv(co2), encoding="utf-8")
    (teams / "broken").mkdir()
    (teams / "broken" / "name.txt").write_text("Broken JSON\n", encoding="utf-8")
    (teams / "broken" / "predictions.json").write_text('{"1": [{"type": "text", "content": "a"}', encoding="utf-8")
    common = ["--ground-truth", str(sample / "ground_truth.json"), "--task-ids", str(sample / "sample_ids.json"),
              "--input", str(sample / "input.json"), "--quiet"]
    reports = args.out / "reports"
    status = evaluator(["leaderboard", *common, "--baseline", "0.05", *(str(p) for p in sorted(teams.iterdir())),
                        "--html", str(reports / "leaderboard.html"), "--csv", str(reports / "leaderboard.csv"),
                        "--markdown", str(reports / "leaderboard.md"), "--json", str(reports / "leaderboard.json")])
    status |= evaluator(["score", *common, "--predictions", str(teams / "half" / "predictions.json"),
                         "--emissions", str(teams / "half" / "emission.csv"), "--html", str(reports / "score.html"),
                         "--json", str(reports / "score.json")])
    status |= evaluator(["co2", str(teams / "half" / "emission.csv"), "--out-dir", str(reports)])
    print(f"reports in {reports}")
    return status


if __name__ == "__main__":
    sys.exit(main())
