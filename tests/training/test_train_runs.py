"""End-to-end training runs of scripts/train.py on the tiny config (subprocesses, CPU, DeepSpeed)."""

import csv
import json
from pathlib import Path

import pytest
import torch

from solution.weights import load_weights

TRAIN = Path(__file__).resolve().parents[2] / "scripts" / "train.py"


def read_log(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_single_process_run_lowers_the_loss_on_a_repeated_batch(tiny_weights, tmp_path, run_script):
    out = tmp_path / "run"
    # 3 examples and a micro-batch of 3: every step sees the same batch (only the task tokens vary).
    # layer 0 frozen and gradient checkpointing on: both must leave training intact.
    run_script([TRAIN, "--weights", tiny_weights, "--synthetic-per-task", "1", "--tasks", "TextQA", "VisualQA",
                "ImageGeneration", "--micro-batch", "3", "--max-steps", "30", "--lr", "3e-3", "--out", out,
                "--freeze-first-layers", "1", "--gradient-checkpointing", "--no-eco2ai", "--no-progress",
                "--threads", "1"], timeout=150)
    log = read_log(out)
    assert [r["step"] for r in log] == list(range(1, 31))
    first, last = sum(r["loss"] for r in log[:3]) / 3, sum(r["loss"] for r in log[-3:]) / 3
    assert last < 0.6 * first, (first, last)
    assert not (out / "emission.csv").exists()
    # the weights directory holds the trained model, not the initial one
    trained, initial = load_weights(out / "weights"), load_weights(tiny_weights)
    assert not torch.equal(trained.model.to_logits[1].weight, initial.model.to_logits[1].weight)
    frozen, moved = trained.model.transformer.layers[0], trained.model.transformer.layers[1]
    assert torch.equal(frozen.mlp.dense_h_to_4h.weight, initial.model.transformer.layers[0].mlp.dense_h_to_4h.weight)
    assert not torch.equal(moved.mlp.dense_h_to_4h.weight, initial.model.transformer.layers[1].mlp.dense_h_to_4h.weight)
    assert json.loads((out / "train_args.json").read_text())["frozen"]["frozen"] > 0
    assert torch.equal(trained.vqgan.quantize.embed.weight, initial.vqgan.quantize.embed.weight)


@pytest.mark.slow
def test_two_rank_gloo_run_checkpoints_resumes_and_tracks_emissions(tiny_weights, tmp_path, run_script, torchrun_2,
                                                                     deepspeed_2):
    """torchrun with 2 CPU ranks trains 4 steps; the deepspeed launcher resumes the run to step 6."""
    out = tmp_path / "run"
    args = [TRAIN, "--weights", tiny_weights, "--synthetic-per-task", "4", "--micro-batch", "2", "--out", out,
            "--save-every", "2", "--final", "--no-progress", "--threads", "1"]
    run_script(args + ["--max-steps", "4"], timeout=150, launcher=torchrun_2)
    args_record = json.loads((out / "train_args.json").read_text())
    assert args_record["world_size"] == 2 and args_record["steps_per_epoch"] == 6  # 24 examples / (2 x 2)
    assert (out / "checkpoints" / "latest").read_text().strip() == "step0000004"
    assert {p.name for p in (out / "checkpoints" / "step0000004").iterdir()} >= {
        "mp_rank_00_model_states.pt", "zero_pp_rank_0_mp_rank_00_optim_states.pt",
        "zero_pp_rank_1_mp_rank_00_optim_states.pt"}
    weights = load_weights(out / "weights")
    assert weights.model.config.num_layers == 8

    # resume under the other launcher: the step count continues from 4
    run_script(args + ["--max-steps", "6", "--resume"], timeout=150, launcher=deepspeed_2)
    assert [r["step"] for r in read_log(out)] == [1, 2, 3, 4, 5, 6]
    assert (out / "checkpoints" / "latest").read_text().strip() == "step0000006"
    assert json.loads((out / "train_args.json").read_text())["start_step"] == 4

    rows = list(csv.DictReader((out / "emission.csv").open()))
    assert len(rows) == 2  # one epoch row per run (rank 0 only), each run its own tracker id
    assert all("TargetValue" in r["experiment_description"] and "RUDOLPH tiny" in r["experiment_description"]
               for r in rows)
    assert rows[0]["id"] != rows[1]["id"] and rows[0]["region/country"] == "RU"
    assert rows[-1]["epoch"].startswith("epoch: 1, loss: ")
    from evaluator.co2 import read_emissions, target_value_row

    target = target_value_row(read_emissions(str(out / "emission.csv")))
    assert target is not None and target["co2_kg"] is not None and target["co2_kg"] >= 0
