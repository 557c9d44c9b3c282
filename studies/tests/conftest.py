"""Fixtures of the study's tests (collected with the package's: pyproject's testpaths)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def report():
    """``studies/report.py`` (the generator of REPRODUCTION.md) as a module."""
    import studies.report

    return studies.report
