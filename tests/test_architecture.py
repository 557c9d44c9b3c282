"""The package is one stack (pyproject.toml, [tool.importlinter]): each layer imports only the
layers below it. `lint-imports` checks the contract; this test fails when an import breaks it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is missing: pip install -e '.[dev]' (import-linter is in the dev extra)")
    return [exe]


def test_nothing_imports_up_the_stack():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([*_lint_imports(), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in r.stdout


def test_the_contract_catches_an_upward_import(tmp_path):
    """The check is live: a copy of the package where the engine imports fullspike.nn breaks it."""
    shutil.copytree(
        REPO / "src" / "fullspike", tmp_path / "src" / "fullspike", ignore=shutil.ignore_patterns("__pycache__", "*.pt")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    loop = tmp_path / "src" / "fullspike" / "engine" / "loop.py"
    loop.write_text(loop.read_text() + "\nfrom ..nn import memory  # noqa: E402,F401\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    r = subprocess.run(
        [*_lint_imports(), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode != 0
    assert "fullspike.engine.loop -> fullspike.nn.memory" in r.stdout
