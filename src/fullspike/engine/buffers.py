"""Large output buffers that are cheap to fill for the first time.

With glibc's default settings, every CPU block above its mmap threshold (32 MiB at most) is a
fresh ``mmap`` that the kernel faults in one 4 KiB page at a time when it is first written,
and that is unmapped again when freed: a new 64 MiB tensor costs 16384 page faults, every
training step (docs/performance.md, "The CPU allocator"). :func:`empty_steps` (contiguous) and
:func:`empty_like_steps` (in a given tensor's layout) allocate such buffers once per call and
ask the kernel (``madvise(MADV_HUGEPAGE)``) to back them with 2 MiB pages where transparent huge
pages are enabled in ``madvise`` or ``always`` mode, 512 times fewer faults. The advice concerns
only the buffer's own pages, which are unmapped with it; it changes no setting of the process or of the allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Optional

import torch

#: blocks from this size on are always fresh mappings under glibc's defaults
HUGE_ADVICE_MIN = 32 << 20
_MADV_HUGEPAGE = 14
_PAGE = 4096


@functools.lru_cache(maxsize=None)
def _madvise():
    """libc's ``madvise`` on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def advise_huge_pages(t: torch.Tensor) -> bool:
    """Ask for transparent huge pages over the whole pages of a large CPU tensor ``t`` that has
    not been written yet; True when the advice was taken. Never raises."""
    nbytes = t.numel() * t.element_size()
    madvise = _madvise()
    if t.device.type != "cpu" or nbytes < HUGE_ADVICE_MIN or madvise is None:
        return False
    start = -(-t.data_ptr() // _PAGE) * _PAGE
    stop = (t.data_ptr() + nbytes) // _PAGE * _PAGE
    return madvise(start, stop - start, _MADV_HUGEPAGE) == 0


def empty_steps(like: torch.Tensor, steps: Optional[int] = None) -> torch.Tensor:
    """An uninitialised contiguous ``[steps, *like.shape[1:]]`` tensor (``steps`` None:
    ``like.shape[0]``) of ``like``'s dtype and device, advised to huge pages when large."""
    shape = like.shape if steps is None else (steps, *like.shape[1:])
    out = torch.empty(shape, dtype=like.dtype, device=like.device)
    advise_huge_pages(out)
    return out


def empty_like_steps(like: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor of ``like``'s shape, dtype and device, laid out in memory as
    ``like`` is when that layout is dense (BNTT's ``[T, B, ...]`` view of a contiguous
    ``[B, T, ...]`` tensor: a gradient in that layout flows back through the norm without a
    copy), else contiguous; advised to huge pages when large."""
    out = torch.empty_like(like, memory_format=torch.preserve_format)
    advise_huge_pages(out)
    return out
