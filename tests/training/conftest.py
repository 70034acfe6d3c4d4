import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_script(args: list, timeout: float, launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run a script (optionally under a launcher) from the repository root in its own process group;
    on timeout the whole group (launcher and ranks) is killed. Fails the test with the output."""
    cmd = (launcher or [sys.executable]) + [str(a) for a in args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} timed out after {timeout}s\n--- stdout\n{stdout[-4000:]}\n--- stderr\n"
                    f"{stderr[-6000:]}")
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{stdout[-4000:]}\n--- stderr\n"
                    f"{stderr[-6000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def run_script():
    return _run_script


@pytest.fixture
def torchrun_2():
    """``torchrun --nproc_per_node 2`` (module form) on a free local port."""
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port())]


@pytest.fixture
def deepspeed_2():
    """The ``deepspeed`` launcher (module form) with 2 local processes on a free port (CPU: gloo)."""
    return [sys.executable, "-m", "deepspeed.launcher.runner", "--num_gpus", "2", "--master_port", str(free_port())]
