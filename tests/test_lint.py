"""The code passes ruff's lint rules (pyproject.toml, [tool.ruff])."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is missing: pip install -e '.[dev]' (ruff is in the dev extra)")
    r = subprocess.run([exe, "check", "--no-cache", "src", "tests"], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
