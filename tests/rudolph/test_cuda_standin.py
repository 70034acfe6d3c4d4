"""The CPU stand-in for CUDA graphs behaves as a real graph does where it matters: replays recompute on the
captured tensors, Python numbers and replaced tensors are frozen at capture, host syncs are refused."""

import pytest
import torch
from helpers.cuda_standin import CaptureError

from solution.rudolph.generation import StaticStep


def capture(fn):
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return graph, out


def test_replay_recomputes_on_the_captured_tensors(cuda_standin):
    x = torch.tensor([1.0, 2.0])
    graph, y = capture(lambda: (x * 2 + 1).softmax(0))
    x.copy_(torch.tensor([5.0, -3.0]))
    graph.replay()
    torch.testing.assert_close(y, (x * 2 + 1).softmax(0))
    assert graph.replays == 1 and cuda_standin.replays == 1


def test_in_place_updates_repeat_at_every_replay(cuda_standin):
    pos = torch.tensor([3])
    cache = torch.zeros(8)
    graph, _ = capture(lambda: (cache.index_fill_(0, pos, 1.0), pos.add_(1)))
    assert pos.item() == 4  # the capture ran the step once
    graph.replay()
    graph.replay()
    assert pos.item() == 6 and cache.tolist() == [0, 0, 0, 1, 1, 1, 0, 0]


def test_a_python_number_is_frozen_at_capture(cuda_standin):
    """A step that reads a Python number that changes gives stale results, as on a GPU: the stand-in
    catches such a step."""
    x = torch.ones(3)
    state = {"scale": 2.0}
    graph, y = capture(lambda: x * state["scale"])
    state["scale"] = 5.0
    graph.replay()
    assert y.tolist() == [2.0, 2.0, 2.0]  # not 5: the number the capture saw


def test_a_tensor_replaced_after_capture_is_not_seen(cuda_standin):
    class Holder:
        x = torch.ones(2)

    graph, y = capture(lambda: Holder.x + 1)
    Holder.x = torch.full((2,), 10.0)  # a new tensor, not new values in the captured one
    graph.replay()
    assert y.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("sync", [lambda t: t.sum().item(), lambda t: t.nonzero(), lambda t: bool(t.any())])
def test_a_host_sync_inside_a_capture_fails(cuda_standin, sync):
    t = torch.tensor([0.0, 1.0])
    with pytest.raises(CaptureError, match="not permitted"):
        capture(lambda: sync(t))


def test_a_step_reading_a_python_position_would_be_caught(tiny_model, tiny_config, cuda_standin):
    """A decode step whose position is a Python number (as the cached path's ``forward`` is) replays
    the captured position forever: the graph's logits differ from an eager step's at the next position.
    The static step reads ``pos`` from a device tensor and replays correctly."""
    from helpers.rudolph_data import random_sequence

    c = tiny_config
    ids = random_sequence(c, batch=1, seed=3)
    p = c.l_text_seq_length + 2
    with torch.no_grad():
        full = tiny_model(ids)
        cache = tiny_model.new_cache(1)
        tiny_model(ids[:, :p], cache)
        state = {"position": p}
        graph, logits = capture(lambda: tiny_model.step(ids[:, state["position"]], torch.tensor([state["position"]]),
                                                        cache, "image"))
        state["position"] = p + 1
        graph.replay()
        assert not torch.allclose(logits[0], full[0, p + 1], atol=1e-3)

        tokens, pos = torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)
        from solution.rudolph.generation import Shape

        step = StaticStep(tiny_model, cache, Shape("image", 1, c.seq_length), tokens, pos)
        step.install(*step.capture())
        pos.fill_(p)
        for q in (p, p + 1, p + 2):
            torch.testing.assert_close(step(ids[:, q]), full[:, q], rtol=1e-5, atol=1e-5)
        assert step.graph.replays == 3
