"""The GPU path on CPU: models kept on their device, per-shape capture fallback, the engine's status, the
attention-kernel choice, trimmed option scoring and the decoding modes run.py offers."""

import pytest
import torch
from helpers.rudolph_data import random_sequence

from solution.rudolph import DECODING_MODES, GREEDY, DecodeEngine, build_model, generation
from solution.rudolph.generation import (
    StaticStep,
    choose_kernel,
    cudnn_attention_is_default,
    format_status,
    generate_image_tokens,
    score_right_texts,
)


def split(config, ids):
    l, n = config.l_text_seq_length, config.image_seq_length
    return ids[:, :l], ids[:, l:l + n], ids[:, l + n:]


def test_a_model_built_on_a_device_keeps_every_parameter_and_buffer_there(tiny_params):
    model = build_model(tiny_params, device="meta")
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    assert {"transformer.row_mask", "transformer.col_mask", "transformer.conv_mask",
            "transformer.last_conv_mask"} <= set(tensors)
    assert {name for name, t in tensors.items() if t.device.type != "meta"} == set()


@pytest.fixture
def fast_kernel_timing(monkeypatch):
    monkeypatch.setattr(generation, "WARMUP_MS", 2.0)
    monkeypatch.setattr(generation, "TIMING_ROUNDS", 2)


def test_a_failed_capture_falls_back_for_that_shape_only_and_says_so_once(tiny_model, tiny_config, cuda_standin,
                                                                          fast_kernel_timing, monkeypatch, capsys):
    c = tiny_config
    image_start = c.parts["image"][0]
    broken = generation.key_end(image_start + 5, 4, c.seq_length)  # two buckets inside the image part
    original = StaticStep.capture

    def capture(self, backend=None):
        if self.shape.keys in (broken, broken + 4):
            raise RuntimeError("operation not permitted when stream is capturing")
        return original(self, backend)

    monkeypatch.setattr(StaticStep, "capture", capture)
    left, _, _ = split(c, random_sequence(c, batch=2, seed=90))
    engine = DecodeEngine(tiny_model, max_batch=2, use_graphs=True, key_bucket=4)
    ids = generate_image_tokens(tiny_model, left, GREEDY, decoding="graph", engine=engine)
    assert torch.equal(ids, generate_image_tokens(tiny_model, left, GREEDY, decoding="cached"))
    status = engine.status()
    assert set(status["fell_back"]) == {f"image x2 keys {broken}", f"image x2 keys {broken + 4}"}
    assert status["captured"] == len(engine.steps) - 2 > 0  # every other shape replays its graph
    assert cuda_standin.replays > 0
    err = capsys.readouterr().err
    assert err.count("capture failed") == 1 and f"image x2 keys {broken}" in err
    assert "2 shape(s) fell back" in format_status(status)


def test_status_names_the_kernel_chosen_per_part_and_row_count(tiny_model, tiny_config, cuda_standin,
                                                               fast_kernel_timing):
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=3, seed=91))
    engine = DecodeEngine(tiny_model, max_batch=3, use_graphs=True)
    generate_image_tokens(tiny_model, left, GREEDY, decoding="graph", engine=engine, steps=4)
    status = engine.status()
    assert status["graphs"] and status["captured"] == len(engine.steps) == 1
    assert status["kernels"] == {"image x3": status["kernels"]["image x3"]}
    assert status["kernels"]["image x3"] in ("math", "flash", "windows")  # the CPU's candidates for image steps
    assert set(status["kernel_ms"]["image x3"]) == {"math", "flash", "windows"}
    assert status["fell_back"] == {}
    assert "1 CUDA graphs" in format_status(status)


def test_kernel_choice_takes_the_fastest_median_among_matching_kernels():
    times = {"efficient": [2.0, 2.1, 9.0], "math": [3.0, 3.0, 3.1], "cudnn": [1.0, 1.0, 1.0]}
    assert choose_kernel(times, {"efficient": True, "math": True, "cudnn": False}) == "efficient"
    assert choose_kernel(times, {"efficient": True, "math": True, "cudnn": True}) == "cudnn"
    # One slow outlier does not decide: the median does.
    assert choose_kernel({"a": [1.0, 1.0, 50.0], "b": [2.0, 2.0, 2.0]}, {"a": True, "b": True}) == "a"
    with pytest.raises(RuntimeError, match="matched"):
        choose_kernel(times, {})


@pytest.mark.parametrize(("version", "capability", "cudnn", "expected"), [
    ("2.5.1+cu124", (9, 0), 90100, False),  # opt-in after the 2.5 wrong results
    ("2.8.0", (9, 0), 91600, False),
    ("2.11.0+cu130", (9, 0), 91600, True),  # H100/H200 with a cuDNN past 9.15.0
    ("2.11.0", (9, 0), 91500, False),
    ("2.11.0", (8, 0), 91600, False),  # A100: not where PyTorch prefers it
    ("2.11.0", (10, 0), 91700, True),
    ("2.11.0", None, None, False),
])
def test_cudnn_attention_is_a_candidate_only_where_pytorch_defaults_to_it(version, capability, cudnn, expected):
    assert cudnn_attention_is_default(version, capability, cudnn) is expected


def test_option_scoring_computes_up_to_the_longest_real_candidate_of_each_pass(tiny_model, tiny_config, monkeypatch):
    c = tiny_config
    left, image, right = split(c, random_sequence(c, batch=2, seed=92))
    candidates = right[[0, 1, 1]].clone()
    candidates[:, 6:] = 0  # sample 0's candidate: 6 real tokens
    candidates[1:, 4:] = 0  # sample 1's: 4 and 4
    candidates[0, 5] = 3
    candidates[1:, 3] = 3
    owner = torch.tensor([0, 1, 1])
    lengths = []
    forward = tiny_model.transformer.forward
    monkeypatch.setattr(tiny_model.transformer, "forward", lambda x, *a, **k: lengths.append(x.shape[1]) or forward(x, *a, **k))
    total, count = score_right_texts(tiny_model, left, image, candidates, owner, max_tokens=1)  # one sample a pass
    monkeypatch.undo()
    prefix = c.l_text_seq_length + c.image_seq_length
    assert lengths == [prefix, 2 * 6, 2 * 4]  # the prefill, then k=2 candidates of 6, then of 4 tokens
    total_ref, count_ref = score_right_texts(tiny_model, left, image, candidates, owner, decoding="full")
    torch.testing.assert_close(total, total_ref, rtol=1e-5, atol=1e-4)
    assert count.tolist() == count_ref.tolist() == [4, 2, 2]


def test_run_py_offers_every_decoding_mode_but_the_reference(monkeypatch):
    from helpers.run_entry import load_run_module

    run = load_run_module()
    seen = {}
    original = run.OneLineParser.parse_args

    def parse_args(self, *args, **kwargs):
        seen["choices"] = next(a.choices for a in self._actions if a.dest == "decoding")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(run.OneLineParser, "parse_args", parse_args)
    run.parse_args(["--input", "x.json"])
    assert seen["choices"] == ["auto", *(m for m in DECODING_MODES if m != "full")]
    assert "compile" not in DECODING_MODES
