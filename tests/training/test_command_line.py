"""scripts/train.py's command line, built from TrainOptions: the flags and defaults of the hand-written
parser it replaced, each reaching its field."""

from pathlib import Path

import pytest

from training.cli import build_parser, options_from_args
from training.options import FINE_TUNE_LR, TrainOptions

# Every flag of the hand-written parser (issue 22), by group, with its default.
FLAGS = {
    "options": {"--no-progress": False, "--verbose": False},
    "model": {"--weights": None, "--config": None, "--bpe": None, "--vqgan": None, "--vqgan-config": None},
    "data": {"--train-dir": [], "--stage": "train", "--synthetic-per-task": 0, "--synthetic-seed": None,
             "--tasks": None, "--code-cache": None},
    "schedule and engine": {"--out": None, "--epochs": 1, "--max-steps": None, "--deepspeed-config": None,
                            "--micro-batch": None, "--grad-accum": None, "--lr": None, "--seed": 0, "--save-every": 0,
                            "--keep-checkpoints": 2, "--resume": False, "--device": None, "--threads": None,
                            "--overwrite": False, "--local_rank": None},
    "model options": {"--freeze": [], "--freeze-first-layers": 0, "--gradient-checkpointing": False, "--dropout": None,
                      "--loss-layout": "rudolph", "--task-weight": {}},
    "eco2AI": {"--no-eco2ai": False, "--final": False, "--country": "RU", "--region": None,
               "--project-name": "FBC2 RUDOLPH fine-tuning", "--eco2ai-cpu-processes": "current"},
}


def test_every_flag_keeps_its_group_and_default():
    found = {}
    for group in build_parser()._action_groups:
        for action in group._group_actions:
            if action.option_strings != ["-h", "--help"]:
                found.setdefault(group.title, {})[action.option_strings[0]] = action.default
    assert found == FLAGS


def test_only_out_is_required_and_the_rest_are_the_dataclass_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([])
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert options_from_args(build_parser().parse_args(["--out", "o"])) == TrainOptions(out_dir=Path("o"))


def test_each_flag_reaches_its_field():
    args = build_parser().parse_args([
        "--out", "o", "--weights", "w", "--train-dir", "a", "--train-dir", "b", "--stage", "val",
        "--synthetic-per-task", "5", "--synthetic-seed", "9", "--tasks", "TextQA", "MathQA", "--code-cache", "c.pt",
        "--epochs", "2", "--max-steps", "7", "--micro-batch", "3", "--grad-accum", "4", "--seed", "1",
        "--save-every", "6", "--keep-checkpoints", "0", "--resume", "--device", "cpu", "--threads", "2",
        "--freeze", "mlp", "head", "--freeze-first-layers", "1", "--gradient-checkpointing", "--dropout", "0.1",
        "--loss-layout", "fbc2-reference", "--task-weight", "TextQA=1", "--task-weight", "MathQA=2",
        "--task-weight", "TextQA=3", "--no-eco2ai", "--final", "--country", "DE", "--region", "Berlin",
        "--project-name", "p", "--eco2ai-cpu-processes", "all", "--no-progress", "--verbose"])
    assert options_from_args(args) == TrainOptions(
        out_dir=Path("o"), weights=Path("w"), train_dirs=[Path("a"), Path("b")], stage="val", synthetic_per_task=5,
        synthetic_seed=9, tasks=["TextQA", "MathQA"], code_cache=Path("c.pt"), epochs=2, max_steps=7, micro_batch=3,
        grad_accum=4, lr=FINE_TUNE_LR, seed=1, save_every=6, keep_checkpoints=0, resume=True, device="cpu", threads=2,
        freeze=["mlp", "head"], freeze_first_layers=1, gradient_checkpointing=True, dropout=0.1,
        loss_layout="fbc2-reference", task_weights={"TextQA": 3.0, "MathQA": 2.0}, eco2ai=False, final=True,
        country="DE", region="Berlin", project_name="p", cpu_processes="all", progress=False, verbose=True)


@pytest.mark.parametrize("argv", [["--task-weight", "Nope=1"], ["--task-weight", "TextQA"], ["--device", "mps"],
                                  ["--freeze", "everything"], ["--loss-layout", "other"]])
def test_bad_values_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--out", "o", *argv])
    assert info.value.code == 2


def test_help_says_the_defaults_from_the_configs_and_constants():
    text = " ".join(build_parser().format_help().split())
    for phrase in ("training/configs/deepspeed/cpu_fp32.json on CPU, gpu_bf16.json on GPU",
                   f"{FINE_TUNE_LR:g} when fine-tuning --weights, else the DeepSpeed config's: 0.0003 on CPU, 2e-05 on GPU",
                   "(default 0.5 each)", "a plain line every 30 s in a log", "add 'TargetValue' to the description",
                   "{fbc2-reference,rudolph}", "(default: RU)"):
        assert phrase in text, phrase
