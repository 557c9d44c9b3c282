"""Keep freed CPU memory for reuse instead of returning it to the kernel (glibc only).

PyTorch allocates CPU tensors with the C library's ``malloc``. glibc serves every request above
its mmap threshold (32 MiB at most) with a fresh ``mmap`` and unmaps it on ``free``, so a
training step that creates a large activation (the spikes of a ``[T, B, C, H, W]`` layer, its
input gradient) page-faults all of it in again, every step. Measured on a 2-core AMD EPYC with
torch 2.14: a new 64 MiB tensor costs about 35 ms to allocate and fill, against 3 ms to fill one
that already exists; a whole LIF layer step on ``[16, 2^20]`` runs in 41 ms with the tuning and
117 ms without (``docs/performance.md``).

:func:`tune_cpu_allocator` sets glibc's ``M_MMAP_MAX`` to 0 (every block comes from the heap)
and ``M_TRIM_THRESHOLD`` to 2 GiB, the most ``mallopt`` takes (freed heap is kept). The cost: the
process keeps the memory of its peak step until it exits (resident size does not shrink), which
is what a training process wants anyway. It changes the allocator of the whole process, so every
library in it (torch and any peer framework) gets the same treatment. Elsewhere (macOS, musl,
Windows) it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_MAX = -4
KEEP_BYTES = 2**31 - 1  # trim threshold: keep up to 2 GiB of free heap top (mallopt takes an int)

_tuned = False


def _mallopt():
    """glibc's ``mallopt(int, int) -> int``, or None when this process does not run on glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return fn


def tune_cpu_allocator() -> bool:
    """Make glibc keep and reuse freed memory (see the module docstring).

    Idempotent. Returns True when the allocator is tuned (now or by an earlier call), False where
    it cannot be (not glibc, or ``mallopt`` refused).
    """
    global _tuned
    if _tuned:
        return True
    mallopt = _mallopt()
    if mallopt is None:
        return False
    _tuned = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    return _tuned
