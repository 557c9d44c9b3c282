"""Saving for backward compactly (docs/performance.md, "Memory").

A spiking network's training step keeps, per layer, the convolution's input spikes, the norm's
input and the neuron's input until backward. Inside :func:`compact_saving` (which the
classifiers enter around their forward), autograd's saved tensors go through
:class:`CompactSaver`, which looks each one up among the tensors the layers marked during that
forward:

* spikes (:func:`mark_spikes`, a neuron's output, only 0 and 1): saved once as ``bool`` (one
  byte, a quarter of float32) and expanded again in backward (on CPU, float -> bool and
  bool-as-uint8 -> float are the fast conversions: 2-3 ms per 25 MiB against 10 ms for
  float -> uint8). A view of a marked tensor (time folded into the batch, a time slice)
  shares its storage and holds spikes too.
* recomputable (:func:`mark_recomputable`): a tensor that a function rebuilds bit for bit from
  tensors kept anyway, e.g. a batch norm's output from its input and statistics
  (:func:`fullspike.nn.batch_norm.batch_norm`), which the neuron after it saves. A training
  norm's output also carries its description as a
  :class:`~fullspike.engine.norm_input.NormInput` (:meth:`CompactSaver.norm_input`), which the
  native neuron kernel reads in backward without rebuilding the tensor.

Everything else is saved as autograd saves it. Values in backward are exactly those of forward,
so gradients are unchanged. The hooks are scoped to the ``with`` block on the current thread
(no process-wide state); a tensor modified in place after it was marked is saved normally.
Not for double backward (``create_graph=True``): the rebuilt tensors carry no graph, so turn
it off there (``model.compact_saving = False``).
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from typing import Callable, Iterator, Optional

import torch

from ..engine.norm_input import NormInput

_ACTIVE: contextvars.ContextVar[Optional["CompactSaver"]] = contextvars.ContextVar(
    "fullspike_compact_saver", default=None
)


class _Marked:
    """A marked tensor ``base`` (contiguous, covering its whole storage) and how to get its values
    back in backward: from bytes (spikes) or from ``rebuild``."""

    __slots__ = ("ref", "version", "rebuild", "packed", "dtype", "norm")

    def __init__(
        self, base: torch.Tensor, rebuild: Optional[Callable[[], torch.Tensor]], norm: Optional[NormInput] = None
    ) -> None:
        self.ref = weakref.ref(base)
        self.version = base._version
        self.rebuild = rebuild
        self.packed: Optional[torch.Tensor] = None
        self.dtype = base.dtype
        self.norm = norm

    def values(self) -> torch.Tensor:
        """The base tensor's values, as a new contiguous tensor."""
        if self.rebuild is not None:
            with torch.no_grad():
                return self.rebuild()
        return self.packed.view(torch.uint8).to(self.dtype)


class _Saved:
    """What autograd keeps instead of a saved view of a marked tensor: the mark and the view's
    geometry."""

    __slots__ = ("marked", "size", "stride", "offset")

    def __init__(self, marked: _Marked, t: torch.Tensor) -> None:
        self.marked = marked
        self.size, self.stride, self.offset = t.size(), t.stride(), t.storage_offset()

    def unpack(self) -> torch.Tensor:
        return self.marked.values().as_strided(self.size, self.stride, self.offset)


def _covers_storage(t: torch.Tensor) -> bool:
    return (
        t.layout == torch.strided
        and t.is_contiguous()
        and t.storage_offset() == 0
        and t.numel() > 0
        and t.numel() * t.element_size() == t.untyped_storage().nbytes()
    )


class CompactSaver:
    """The registry of marked tensors of one forward and the pack/unpack hooks that use it."""

    def __init__(self) -> None:
        self._marked: dict[int, _Marked] = {}

    def mark(
        self, t: torch.Tensor, rebuild: Optional[Callable[[], torch.Tensor]] = None, norm: Optional[NormInput] = None
    ) -> None:
        """Mark ``t`` as spikes (``rebuild`` None) or as rebuilt by ``rebuild()`` (and described
        by ``norm``, a batch norm's terms with its whole input as ``base``). Tensors that do
        not own their whole storage (views, slices) are left unmarked."""
        if t.is_floating_point() and _covers_storage(t):
            self._marked[t.untyped_storage().data_ptr()] = _Marked(t, rebuild, norm)

    def close(self) -> None:
        """Forget the marks (what was saved keeps its own): autograd holds the hooks, and so
        this saver, as long as the graph lives, but a mark's rebuild inputs must not outlive
        the forward unless a saved tensor needs them."""
        self._marked.clear()

    def is_spikes(self, t: torch.Tensor) -> bool:
        """Whether ``t`` is a marked spike tensor or a view of one (unmodified since)."""
        m = self._lookup(t)
        return m is not None and m.rebuild is None

    def norm_input(self, t: torch.Tensor) -> Optional[NormInput]:
        """``t`` (a marked norm output or a view of one, unmodified since) as a
        :class:`~fullspike.engine.norm_input.NormInput`, or None."""
        m = self._lookup(t)
        if m is None or m.norm is None:
            return None
        base = m.norm.base
        return NormInput(
            base.as_strided(t.size(), t.stride(), t.storage_offset()), base, m.norm.scale, m.norm.mean, m.norm.bias
        )

    def _lookup(self, t: torch.Tensor) -> Optional[_Marked]:
        if not t.is_floating_point() or t.layout != torch.strided or t.numel() == 0:
            return None
        ptr = t.untyped_storage().data_ptr()
        m = self._marked.get(ptr)
        if m is None:
            return None
        base = m.ref()
        # a freed tensor's memory may hold another tensor now; an in-place change voids the mark
        if base is None or base.untyped_storage().data_ptr() != ptr or t.dtype != m.dtype or t._version != m.version:
            return None
        return m

    def pack(self, t: torch.Tensor):
        m = self._lookup(t)
        if m is None:
            return t
        if m.rebuild is None and m.packed is None:
            m.packed = m.ref().to(torch.bool)
        return _Saved(m, t)

    @staticmethod
    def unpack(saved) -> torch.Tensor:
        return saved.unpack() if isinstance(saved, _Saved) else saved


def active_saver() -> Optional[CompactSaver]:
    """The saver of the enclosing :func:`compact_saving` block, or None (always None while
    ``torch.compile`` traces)."""
    return None if torch.compiler.is_compiling() else _ACTIVE.get()


def mark_spikes(t: torch.Tensor) -> torch.Tensor:
    """Declare ``t`` (0/1 values only) spikes, so backward keeps it as bytes; returns ``t``.
    Does nothing outside :func:`compact_saving`."""
    saver = active_saver()
    if saver is not None:
        saver.mark(t)
    return t


def mark_recomputable(
    t: torch.Tensor, rebuild: Callable[[], torch.Tensor], norm: Optional[NormInput] = None
) -> torch.Tensor:
    """Declare that ``rebuild()`` returns ``t``'s values bit for bit (a new contiguous tensor), so
    backward rebuilds ``t`` instead of keeping it; ``norm``: ``t`` described as a batch norm's
    output (its ``z`` the whole norm input); returns ``t``. Does nothing outside
    :func:`compact_saving`."""
    saver = active_saver()
    if saver is not None:
        saver.mark(t, rebuild, norm)
    return t


@contextlib.contextmanager
def compact_saving(enabled: bool = True) -> Iterator[Optional[CompactSaver]]:
    """Save tensors for backward compactly inside the block (see the module docstring).

    Yields the saver, or None when it does nothing: ``enabled`` false, grad mode off, inside
    ``torch.compile`` tracing, or inside another ``compact_saving`` block (whose saver stays in
    charge).
    """
    if not enabled or not torch.is_grad_enabled() or torch.compiler.is_compiling() or _ACTIVE.get() is not None:
        yield None
        return
    saver = CompactSaver()
    token = _ACTIVE.set(saver)
    try:
        with torch.autograd.graph.saved_tensors_hooks(saver.pack, saver.unpack):
            yield saver
    finally:
        _ACTIVE.reset(token)
        saver.close()
