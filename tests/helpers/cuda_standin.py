"""A CPU stand-in for the CUDA stream, event and graph API, so that the project's own capture and replay
code runs where there is no GPU.

``torch.cuda.graph(g)`` runs its block with every ATen op executed *and* recorded (a
``TorchDispatchMode``); ``g.replay()`` runs the recorded ops again, with the same arguments: the same
tensor objects, the same Python numbers, and writes each result into the tensor the capture produced.
That is what a real graph does: its memory is static and its Python numbers are frozen at capture, so
a step that depends on a Python number that changes, or on a tensor replaced after the capture, gives
stale results here as it would on a GPU. An op that needs the host to wait for the device (``.item()``,
``nonzero``) raises inside a capture, as CUDA does.

Use it through the ``cuda_standin`` fixture (tests/conftest.py): ``standin.graphs`` lists every graph
made, each with its ``replays`` count, so a test can prove the graph path ran.
"""

from __future__ import annotations

import contextlib
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

aten = torch.ops.aten
# Ops that read a device value on the host: forbidden while a CUDA stream is capturing.
SYNCING_OPS = {aten._local_scalar_dense.default, aten.nonzero.default, aten.is_nonzero.default,
               aten.equal.default}


class CaptureError(RuntimeError):
    """What CUDA answers when a capture does something a graph cannot hold."""


class _Recorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in SYNCING_OPS:
            raise CaptureError(f"operation not permitted when stream is capturing: {func} synchronises with the host")
        out = func(*args, **kwargs)
        self.ops.append((func, args, kwargs, out))
        return out


class FakeGraph:
    """``torch.cuda.CUDAGraph``: the ops recorded at capture, replayed on the same tensors."""

    def __init__(self, standin: CudaStandin):
        self.ops: list[tuple] | None = None
        self.replays = 0
        standin.graphs.append(self)

    def replay(self) -> None:
        if self.ops is None:
            raise CaptureError("replay of a graph that was never captured")
        for func, args, kwargs, out in self.ops:
            new = func(*args, **kwargs)
            for old, fresh in zip(tree_leaves(out), tree_leaves(new), strict=True):
                if not isinstance(old, torch.Tensor) or old is fresh:
                    continue
                if old.data_ptr() == fresh.data_ptr() and old.stride() == fresh.stride():
                    continue  # a view of the same memory: already up to date
                old.copy_(fresh)
        self.replays += 1

    def reset(self) -> None:
        self.ops = None


class FakeStream:
    def wait_stream(self, other) -> None:
        pass

    def wait_event(self, event) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


class FakeEvent:
    """``torch.cuda.Event(enable_timing=True)`` on the host clock."""

    def __init__(self, enable_timing: bool = False, **_):
        self.time: float | None = None

    def record(self, stream=None) -> None:
        self.time = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end: FakeEvent) -> float:
        return (end.time - self.time) * 1000


class CudaStandin:
    def __init__(self):
        self.graphs: list[FakeGraph] = []
        self.capturing = False

    @property
    def replays(self) -> int:
        return sum(g.replays for g in self.graphs)

    @contextlib.contextmanager
    def graph(self, cuda_graph: FakeGraph, pool=None, stream=None, **_):
        if self.capturing:
            raise CaptureError("a capture is already under way")
        recorder = _Recorder()
        self.capturing = True
        try:
            with recorder:
                yield
        finally:
            self.capturing = False
        cuda_graph.ops = recorder.ops

    def install(self, monkeypatch) -> CudaStandin:
        stream = FakeStream()
        monkeypatch.setattr(torch.cuda, "Stream", lambda *a, **k: FakeStream())
        monkeypatch.setattr(torch.cuda, "stream", lambda s=None: contextlib.nullcontext(s))
        monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: stream)
        monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
        monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
        monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda *a, **k: FakeGraph(self))
        monkeypatch.setattr(torch.cuda, "graph", self.graph)
        return self
