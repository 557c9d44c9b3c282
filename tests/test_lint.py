"""The code passes ruff's lint rules and is formatted by ``ruff format`` (pyproject.toml, [tool.ruff])."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = ["src", "tests", "studies", "scripts", "tutorials", "benchmarks"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is missing: pip install -e '.[dev]' (ruff is in the dev extra)")
    return subprocess.run([exe, *args, "--no-cache", *CODE], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    r = _ruff("check")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_the_code_is_formatted():
    r = _ruff("format", "--check")
    assert r.returncode == 0, "run `ruff format " + " ".join(CODE) + "`:\n" + r.stdout[-4000:] + r.stderr[-2000:]
