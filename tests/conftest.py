"""Shared fixtures. Real datasets are read from ../shared/data beside the repository; tests that
need them skip with a clear reason when it is absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)``: ``scripts/<name>.py`` imported as a module (scripts are not in the package)."""
    return _load_script


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (../shared/data beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _own_cache_dir(tmp_path_factory):
    """The whole session (and the processes it starts) compiles kernels into a temporary
    FULLSPIKE_CACHE_DIR, never the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FULLSPIKE_CACHE_DIR", str(tmp_path_factory.mktemp("fullspike-cache")))
        yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _allocations(fn):
    """``(sizes, result)``: the profiler's CPU allocation events of ``fn()`` in time order
    (frees negative)."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    events, stack = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        event = stack.pop()
        if event.tag == _EventType.Allocation:
            events.append((event.start_time_ns, event.extra_fields.alloc_size))
        stack.extend(event.children)
    return [size for _, size in sorted(events)], result


def _kept_bytes(fn):
    """``(bytes, result)``: the tensor memory ``fn()`` allocated and had not freed when it returned
    (for a forward: its output plus what autograd keeps for backward)."""
    sizes, result = _allocations(fn)
    return sum(sizes), result


def _peak_bytes(fn):
    """``(bytes, result)``: the most tensor memory ``fn()`` held at once beyond what was alive
    before it (benchmarks/measure.py's peak)."""
    sizes, result = _allocations(fn)
    live = peak = 0
    for size in sizes:
        live += size
        peak = max(peak, live)
    return peak, result


@pytest.fixture(scope="session")
def kept_bytes():
    """``kept_bytes(fn) -> (bytes, result)``: memory a call left allocated (CPU)."""
    return _kept_bytes


@pytest.fixture(scope="session")
def peak_bytes():
    """``peak_bytes(fn) -> (bytes, result)``: the peak memory of a call above its start (CPU)."""
    return _peak_bytes
