"""run.py's command line, built from RunOptions and the pipeline's RunSettings: the flags, defaults and
the fingerprint --resume compares are those of the hand-written parser it replaced."""

import hashlib
import json
from pathlib import Path

from solution.pipeline import RunSettings
from solution.rudolph import BASELINE_TEXT_SAMPLING, DTYPES, GREEDY

# Every flag of the hand-written parser (issue 22), by group, with its default.
FLAGS = {
    "files": {"--input": "../input/input.json", "--output": "output", "--weights": None, "--resume": False,
              "--overwrite": False, "--save-every": 50},
    "running": {"--device": "auto", "--dtype": "auto", "--batch-size": 0, "--decoding": "auto",
                "--time-budget": 5 * 3600 - 20 * 60, "--seed": 0, "--no-progress": False, "--fail-on-error": False},
    "answer strategies": {"--options": "score", "--text-only-image": "zeros", "--no-images": False,
                          "--max-answer-tokens": 0, "--answer-sampling": "greedy",
                          "--image-candidates": 1, "--answer-candidates": 1},  # the two added since (issue 23)
    "eco2AI": {"--country": "RU", "--no-eco2ai": False},
}


def test_every_flag_keeps_its_group_and_default(run_module):
    parser = run_module.build_parser()
    found = {}
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.option_strings != ["-h", "--help"]:
                default = action.default if not isinstance(action.default, Path) else str(action.default)
                found.setdefault(group.title, {})[action.option_strings[0]] = default
    assert found == FLAGS


def test_no_flags_give_the_contract_defaults(run_module):
    options, settings = run_module.parse_args([])
    assert options == run_module.RunOptions()
    assert (options.input, options.output, options.weights, options.time_budget) == \
        (Path("../input/input.json"), Path("output"), None, 16800)
    assert settings == RunSettings(batch_size=0)  # 0: chosen from the device once the weights are loaded
    assert settings.answer_sampling == GREEDY and settings.generate_images and settings.progress


def test_each_flag_reaches_its_setting(run_module, tmp_path):
    (tmp_path / "input.json").write_text("{}", encoding="utf-8")
    options, settings = run_module.parse_args([
        "--input", str(tmp_path), "--output", "o", "--weights", "w", "--resume", "--save-every", "2",
        "--device", "cpu", "--dtype", "bf16", "--batch-size", "8", "--decoding", "static", "--time-budget", "60",
        "--seed", "3", "--no-progress", "--fail-on-error", "--options", "generate", "--text-only-image", "generated",
        "--no-images", "--max-answer-tokens", "5", "--answer-sampling", "baseline", "--country", "DE", "--no-eco2ai"])
    assert options == run_module.RunOptions(
        input=tmp_path / "input.json", output=Path("o"), weights=Path("w"), resume=True, save_every=2, device="cpu",
        dtype="bf16", time_budget=60.0, fail_on_error=True, country="DE", eco2ai=False)
    assert settings == RunSettings(batch_size=8, decoding="static", answer_mode="generate", text_only_image="generated",
                                   generate_images=False, max_answer_tokens=5, answer_sampling=BASELINE_TEXT_SAMPLING,
                                   seed=3, progress=False)


def test_choices_come_from_the_registries(run_module):
    choices = {a.option_strings[0]: a.choices for a in run_module.build_parser()._actions if a.choices}
    assert choices["--dtype"] == ["auto", *DTYPES]
    assert choices["--answer-sampling"] == ["greedy", "baseline"]
    assert choices["--options"] == ["score", "generate"] and choices["--text-only-image"] == ["zeros", "generated"]


def test_help_says_the_defaults_from_the_constants(run_module):
    text = " ".join(run_module.build_parser().format_help().split())
    for phrase in ("(default: ../input/input.json)", "default: weights/demo", "(default 50)",
                   "(default 16800, 20 min under the 5 h limit); 5% of it, between 1 and 60 s, is kept back",
                   "at most 64; 4 on CPU", "a line every 30 s in a log file", "top-k 32, top-p 0.8", "(default RU)"):
        assert phrase in text, phrase


def test_the_fingerprint_of_the_answer_options_is_the_one_earlier_runs_recorded(run_module, tmp_path):
    """--resume of a run made before the parser was rebuilt: the same hash for the same flags."""
    path = tmp_path / "input.json"
    path.write_bytes(b"{}")
    weights = tmp_path / "w"
    for argv, flags in (([], {"options": "score", "text_only_image": "zeros", "max_answer_tokens": "0",
                              "answer_sampling": "greedy", "seed": "0"}),
                        (["--options", "generate", "--answer-sampling", "baseline", "--seed", "7",
                          "--max-answer-tokens", "3", "--text-only-image", "generated", "--no-images"],
                         {"options": "generate", "text_only_image": "generated", "max_answer_tokens": "3",
                          "answer_sampling": "baseline", "seed": "7"})):
        _, settings = run_module.parse_args(argv)
        earlier = {"weights": str(weights.resolve()), **flags}
        assert run_module.fingerprint(path, settings, weights) == {
            "input.json": hashlib.sha256(b"{}").hexdigest()[:16],
            "answer options": hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest()[:16]}


def test_answer_candidates_enter_the_fingerprint_only_when_not_one(run_module, tmp_path):
    """Earlier runs (no such flag) still resume at the default; another count is another run."""
    path = tmp_path / "input.json"
    path.write_bytes(b"{}")
    weights = tmp_path / "w"
    default = run_module.fingerprint(path, run_module.parse_args([])[1], weights)
    assert run_module.fingerprint(path, run_module.parse_args(["--answer-candidates", "1"])[1], weights) == default
    three = run_module.fingerprint(path, run_module.parse_args(["--answer-candidates", "3"])[1], weights)
    flags = {"weights": str(weights.resolve()), "options": "score", "text_only_image": "zeros",
             "max_answer_tokens": "0", "answer_sampling": "greedy", "seed": "0", "answer_candidates": "3"}
    assert three["answer options"] == hashlib.sha256(json.dumps(flags, sort_keys=True).encode()).hexdigest()[:16]
    assert three["answer options"] != default["answer options"]
