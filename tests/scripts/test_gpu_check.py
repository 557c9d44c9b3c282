"""scripts/gpu_check.sh --dry-run: the GPU readiness script runs end to end on the CPU at tiny sizes
(the CUDA tests collected and skipped, one benchmark row, a few training steps), so it cannot rot."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_runs_every_step(tmp_path):
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "skipped" in (tmp_path / "pytest.txt").read_text()  # the CUDA tests, without CUDA
    assert "| fullspike |" in (tmp_path / "benchmarks.txt").read_text()
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert steps["model"] == "dst_resnet34" and steps["steps"] == 2 and steps["images_per_second"] > 0
    assert steps["device"] == "cpu" and steps["max_memory_allocated_mib"] is None


def test_gpu_check_refuses_unknown_arguments():
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_check.sh"), "--fast"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.strip() == (
        "error: unknown argument '--fast'; use --dry-run and/or --out DIR"
    )
