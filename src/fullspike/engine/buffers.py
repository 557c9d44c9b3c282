"""Large output buffers that are cheap to fill for the first time.

With glibc's default settings, every CPU block above its mmap threshold (32 MiB at most) is a
fresh ``mmap`` that the kernel faults in one 4 KiB page at a time when it is first written,
and that is unmapped again when freed: a new 64 MiB tensor costs 16384 page faults, every
training step (docs/performance.md, "The CPU allocator"). :func:`empty_steps` (contiguous) and
:func:`empty_like_steps` (in a given tensor's layout) allocate such buffers once per call and
ask the kernel (``madvise(MADV_HUGEPAGE)``) to back them with 2 MiB pages where transparent huge
pages are enabled in ``madvise`` or ``always`` mode, 512 times fewer faults. The advice concerns only the buffer's own pages, which are unmapped with it; it
changes no setting of the process or of the allocator.

Inside :func:`lending` (which a classifier enters around its forward, and the neuron's backward
again), these buffers come from a :class:`BufferPool` instead: storages that the pool keeps
between training steps and lends again once nothing else holds them, so that a step writes
into memory that is already mapped rather than into fresh pages (docs/performance.md, "The
buffer pool"). The pool belongs to one model; its memory is the model's to report
(:attr:`BufferPool.nbytes`) and to give back (:meth:`BufferPool.clear`).
"""
from __future__ import annotations

import contextlib
import contextvars
import ctypes
import ctypes.util
import functools
import math
import sys
import threading
from typing import Iterator, Optional, Sequence

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


class BufferPool:
    """CPU storages lent out for a model's large per-step buffers and lent again once nothing
    but the pool refers to them.

    A request is served by the smallest free storage that holds it and is at most
    :attr:`MAX_WASTE` times its size; otherwise a new storage is allocated and kept. The pool
    holds at most as much as the most that its buffers were ever in use at once, plus what
    that rounding leaves, and holds it between steps: :attr:`nbytes` says how much, and
    :meth:`clear` gives it back (the pool refills on the next step). Copying or pickling a
    pool gives an empty one. Thread-safe.
    """

    #: requests below this size are left to the C allocator (bytes)
    MIN_BYTES = 1 << 20
    #: a free storage serves requests down to 1/MAX_WASTE of its size
    MAX_WASTE = 2

    def __init__(self) -> None:
        self._storages: list[torch.UntypedStorage] = []
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes the pool holds, lent out or not."""
        with self._lock:
            return sum(s.nbytes() for s in self._storages)

    def clear(self) -> None:
        """Forget every storage (those still lent out live on with their tensors)."""
        with self._lock:
            self._storages.clear()

    def empty(self, shape: Sequence[int], dtype: torch.dtype,
              stride: Optional[Sequence[int]] = None) -> torch.Tensor:
        """An uninitialised CPU tensor of ``shape`` and ``dtype`` (contiguous, or with
        ``stride``, which must describe a dense layout) on a storage of the pool."""
        shape = tuple(shape)
        nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        if nbytes < self.MIN_BYTES:
            return torch.empty(shape, dtype=dtype) if stride is None else torch.empty_strided(
                shape, stride, dtype=dtype)
        with self._lock:
            free = [s for s in self._storages if nbytes <= s.nbytes() <= self.MAX_WASTE * nbytes
                    and _only_pool_holds(s)]
            storage = min(free, key=lambda s: s.nbytes()) if free else None
            fresh = storage is None
            if fresh:
                storage = torch.UntypedStorage(nbytes)
                self._storages.append(storage)
            out = torch.empty(0, dtype=dtype).set_(
                storage, 0, shape, stride if stride is not None else _contiguous_strides(shape))
        if fresh:
            advise_huge_pages(out)
        return out

    def __deepcopy__(self, memo) -> "BufferPool":
        return BufferPool()

    def __reduce__(self):
        return (BufferPool, ())


def _only_pool_holds(storage: torch.UntypedStorage) -> bool:
    """Whether no tensor refers to ``storage`` (the pool's own reference is the only one)."""
    return torch._C._storage_Use_Count(storage._cdata) == 1


def _contiguous_strides(shape: tuple) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


_LENDING: contextvars.ContextVar[Optional[BufferPool]] = contextvars.ContextVar(
    "fullspike_buffer_pool", default=None)


@contextlib.contextmanager
def lending(pool: Optional[BufferPool]) -> Iterator[None]:
    """Inside the block (on the current thread), :func:`empty_steps` and
    :func:`empty_like_steps` lend CPU buffers from ``pool``; ``None`` lends nothing."""
    token = _LENDING.set(pool)
    try:
        yield
    finally:
        _LENDING.reset(token)


def current_pool() -> Optional[BufferPool]:
    """The pool of the enclosing :func:`lending` block, or None."""
    return _LENDING.get()


def empty_buffer(shape: Sequence[int], dtype: torch.dtype, device: torch.device,
                 stride: Optional[Sequence[int]] = None) -> torch.Tensor:
    """An uninitialised tensor (contiguous, or with ``stride``, a dense layout): from the
    lending pool on CPU (not while ``torch.compile`` traces), else a new tensor, advised to huge
    pages when large."""
    pool = _LENDING.get()
    if pool is not None and torch.device(device).type == "cpu" and not torch.compiler.is_compiling():
        return pool.empty(shape, dtype, stride)
    out = (torch.empty(tuple(shape), dtype=dtype, device=device) if stride is None
           else torch.empty_strided(tuple(shape), tuple(stride), dtype=dtype, device=device))
    advise_huge_pages(out)
    return out


def empty_steps(like: torch.Tensor, steps: Optional[int] = None) -> torch.Tensor:
    """An uninitialised contiguous ``[steps, *like.shape[1:]]`` tensor (``steps`` None:
    ``like.shape[0]``) of ``like``'s dtype and device (:func:`empty_buffer`)."""
    shape = like.shape if steps is None else (steps, *like.shape[1:])
    return empty_buffer(shape, like.dtype, like.device)


def empty_like_steps(like: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor of ``like``'s shape, dtype and device, laid out in memory as
    ``like`` is when that layout is dense (BNTT's ``[T, B, ...]`` view of a contiguous
    ``[B, T, ...]`` tensor: a gradient in that layout flows back through the norm without a
    copy), else contiguous (:func:`empty_buffer`)."""
    return empty_buffer(like.shape, like.dtype, like.device, like.stride() if _dense(like) else None)


def _dense(t: torch.Tensor) -> bool:
    """Whether ``t``'s elements fill its memory span without gaps or overlaps, in some order
    of its dimensions."""
    expect = 1
    for stride, n in sorted((st, n) for st, n in zip(t.stride(), t.shape) if n != 1):
        if stride != expect:
            return False
        expect *= n
    return True
