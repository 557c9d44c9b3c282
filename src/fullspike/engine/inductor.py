"""``backend="inductor"``: the loop backend's segment kernels fused by :func:`torch.compile` (Inductor).

Inductor turns the time loop (unrolled) into one pass over the neurons: C++/OpenMP with vector
instructions on CPU, Triton on CUDA. Forward reads ``x`` and writes the spikes; backward
recomputes ``h`` in registers and writes the input gradient, so nothing but the input is saved
between the two. The loops are the same Python functions as the ``"loop"`` backend
(:func:`~.loop.forward_loop`, :func:`~.loop.backward_loop`), so any surrogate whose ``grad``
is written in torch ops compiles too.

Each variant (neuron settings, segment length, dtype, which gradients) is compiled once per
process, with the neuron count dynamic; Inductor's on-disk cache makes later processes faster
(seconds instead of tens of seconds, ``benchmarks/cold_start.py``). The first compile of a
process announces itself once (:class:`CompileNotice`), since it is the one step that is slow.
Coefficients must be scalars (Python numbers or one-element tensors). A variant that fails to
compile warns and runs the same loop uncompiled.
"""

from __future__ import annotations

import itertools
import types
import warnings
from typing import Callable

import torch

from .driver import Kernels
from .loop import backward_loop, forward_loop
from .spec import NeuronSpec
from .toolchain import import_cpp_extension

_ids = itertools.count()
# Inductor fuses at most ``max_fusion_size`` nodes into one kernel (64 by default); an unrolled
# segment has a few nodes per step, so past ~16 steps it would be cut into per-step kernels with
# a buffer between each (2-3x the memory and passes). One kernel per segment instead:
INDUCTOR_OPTIONS = {"max_fusion_size": 4096}
# Segments are at most this long: a kernel reads and writes one row per step, rows a
# power-of-two apart in memory conflict in the caches, and past 16 steps the cost per step
# doubles (2^20 neurons, 2-core EPYC: 0.5 ms/step forward up to 16 steps, 1.2 at 32).
MAX_STEPS = 16


def _own_code(fn: Callable) -> Callable:
    """``fn`` with a code object of its own.

    torch.compile keeps one cache of compiled graphs per code object (at most 8 entries); giving
    each kernel variant its own code object keeps variants from evicting each other.
    """
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_ids)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _forward_variant(spec: NeuronSpec, keep_v: bool) -> Callable:
    def sf_neuron_forward(x, v, decay, scale, bias):
        spikes, _, vs, v_last = forward_loop(x, v, decay, scale, bias, spec, False, keep_v)
        return spikes, vs, v_last

    return sf_neuron_forward


def _backward_variant(
    spec: NeuronSpec, has_gs: bool, has_gv: bool, has_carry: bool, need_decay: bool, need_scale: bool, need_bias: bool
) -> Callable:
    def sf_neuron_backward(g_s, g_v, x, v0, carry, decay, scale, bias):
        return backward_loop(
            g_s if has_gs else None,
            g_v if has_gv else None,
            None,
            x,
            v0,
            carry if has_carry else None,
            decay,
            scale,
            bias,
            spec,
            need_decay,
            need_scale,
            need_bias,
        )

    return sf_neuron_backward


class CompileNotice(UserWarning):
    """Says once per process that ``backend="inductor"`` is compiling (a one-off cost)."""


NOTICE = (
    "fullspike: backend='inductor' is compiling its neuron kernels with torch.compile; "
    "one-off per process: tens of seconds on a new machine, seconds once Inductor's disk "
    "cache has them; afterwards a CPU neuron step runs several times faster than "
    "backend='loop' (docs/performance.md)"
)


class InductorKernels(Kernels):
    """Segment kernels compiled with :func:`torch.compile` (Inductor), cached per variant."""

    name = "inductor"
    recompute = True
    max_steps = MAX_STEPS

    def __init__(self) -> None:
        self._cache: dict = {}  # variant key -> kernel (compiled once per process)
        self._announced = False

    def _get(self, key: tuple, make: Callable[[], Callable]) -> Callable:
        fn = self._cache.get(key)
        if fn is None:
            if not self._announced:
                warnings.warn(NOTICE, CompileNotice, stacklevel=2)
                self._announced = True
            plain = make()
            import_cpp_extension()  # Inductor loads it; without a GPU it would warn about CUDA
            compiled = torch.compile(_own_code(plain), fullgraph=True, options=INDUCTOR_OPTIONS)

            def fn(*args):
                try:
                    return compiled(*args)
                except Exception as err:  # a compile failure: run the same loop uncompiled
                    warnings.warn(
                        f"fullspike: compiling a neuron kernel failed ({type(err).__name__}: "
                        f"{str(err).strip()[:200]}); running it uncompiled",
                        RuntimeWarning,
                    )
                    self._cache[key] = plain
                    return plain(*args)

            self._cache[key] = fn
        return fn

    @staticmethod
    def _scalars(x: torch.Tensor, *coeffs):
        return tuple(
            coef.detach().reshape(()).to(x.device, x.dtype)
            if isinstance(coef, torch.Tensor)
            else torch.full((), float(coef), dtype=x.dtype, device=x.device)
            for coef in coeffs
        )

    @staticmethod
    def _layout(x: torch.Tensor) -> tuple:
        """The ``[K, ...]`` view the kernels get: ``(K, N)``, or ``(K, B, M)`` when x is a
        time-transposed view of a contiguous ``[B, T, ...]`` tensor (BNTT's output) or a time
        slice of one, so it is read in place instead of being copied."""
        K = x.shape[0]
        if x.dim() >= 3 and not x.is_contiguous() and x[0, 0].is_contiguous() and x.stride(0) == x[0, 0].numel():
            return K, x.shape[1], x[0, 0].numel()
        return K, x[0].numel()

    @staticmethod
    def _variant(x: torch.Tensor) -> tuple:
        # the size class: Inductor decides on threading from the first call's sizes
        return x.dtype, x.device.type, x.shape[0], x[0].numel() >= 4096

    @staticmethod
    def _views(layout: tuple, seqs, steps):
        """``[K, ...]`` tensors and per-step ``[...]`` tensors as views in ``layout``, marked
        dynamic in every dimension but time."""

        def view(t, dims):
            if t is None:
                return None
            t = t.reshape(dims)
            for d in range(len(dims) - (len(layout) - 1), len(dims)):
                torch._dynamo.maybe_mark_dynamic(t, d)
            return t

        return ([view(t, layout) for t in seqs], [view(t, layout[1:]) for t in steps])

    def forward(self, x, v, decay, scale, bias, spec, keep_h, keep_v):
        if keep_h:
            raise AssertionError("compiled kernels recompute h; the driver never asks to keep it")
        shape, layout, variant = x.shape, self._layout(x), self._variant(x)
        fn = self._get(("fwd", spec, keep_v, v is None, len(layout), variant), lambda: _forward_variant(spec, keep_v))
        (xs,), (vs0,) = self._views(layout, [x], [v])
        spikes, vs, v_last = fn(xs, vs0, *self._scalars(x, decay, scale, bias))
        return (spikes.reshape(shape), None, None if vs is None else vs.reshape(shape), v_last.reshape(shape[1:]))

    def backward(self, g_s, g_v, h, x, v0, carry, decay, scale, bias, spec, need_decay, need_scale, need_bias):
        shape, layout = x.shape, self._layout(x)
        flags = (g_s is not None, g_v is not None, carry is not None, need_decay, need_scale, need_bias)
        fn = self._get(
            ("bwd", spec, flags, v0 is None, len(layout), self._variant(x)), lambda: _backward_variant(spec, *flags)
        )
        (gs, gv, xs), (v0s, cs) = self._views(layout, [g_s, g_v, x], [v0, carry])
        g_x, carry, *accs = fn(gs, gv, xs, v0s, cs, *self._scalars(x, decay, scale, bias))
        return (
            g_x.reshape(shape),
            carry.reshape(shape[1:]),
            *(None if acc is None else acc.reshape(shape[1:]) for acc in accs),
        )
