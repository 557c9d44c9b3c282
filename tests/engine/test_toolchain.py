"""A CPU user sees no "No CUDA runtime is found" warning from torch's C++ toolchain helpers."""

import os
import subprocess
import sys

import pytest
import torch

from fullspike.engine.toolchain import NO_CUDA_RUNTIME

SCRIPT = """
import torch
from fullspike.nn import LIF
x = torch.linspace(0, 3, 24).reshape(3, 2, 4)
print(torch.equal(LIF(backend="inductor")(x), LIF(backend="eager")(x)))
"""


@pytest.mark.skipif(
    torch.version.cuda is None or torch.cuda.is_available(),
    reason="the warning comes only from a CUDA build of torch on a machine without a GPU",
)
def test_inductor_backend_on_cpu_prints_no_cuda_warning(tmp_path):
    env = dict(os.environ, CUDA_HOME=str(tmp_path), OMP_NUM_THREADS="1")  # a toolkit "is installed"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    probe = subprocess.run(
        [sys.executable, "-c", "import torch.utils.cpp_extension"], env=env, capture_output=True, text=True
    )
    assert NO_CUDA_RUNTIME in probe.stderr  # torch itself does warn here
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"  # it did run the compiled kernels
    assert NO_CUDA_RUNTIME not in run.stderr, run.stderr
