"""The ``"loop"`` backend: the neuron recurrence and its reverse-time gradient as plain torch ops.

:class:`LoopKernels` walks one segment of time step by step with in-place torch ops: forward
writes the spikes straight into the driver's output buffer and keeps only two step-sized
membranes; backward recomputes the segment's charged membranes ``h`` from its input into the
driver's work buffer (so forward saves nothing but a reference to the input) and writes the
input gradient straight into the driver's gradient buffer. Nothing ``[T, ...]``-sized is
allocated per step (docs/performance.md, "The CPU allocator"). It runs on any device, dtype
and surrogate.

:func:`forward_loop` / :func:`backward_loop` are the same recurrences written functionally
(docs/methods.md, "Neurons"; the backward equations are in :mod:`.driver`): the form the
``"inductor"`` backend traces and compiles (:mod:`.inductor`).
"""
from __future__ import annotations

from typing import Optional, Union

import torch

from ..functional.spec import NeuronSpec, fire, reset
from .buffers import empty_steps
from .driver import Kernels

Scalar = Union[float, torch.Tensor]


def _is_number(c: Scalar, value: float) -> bool:
    return not isinstance(c, torch.Tensor) and float(c) == value


def charge_loop(x: torch.Tensor, v: Optional[torch.Tensor], a: Scalar, b: Scalar, c: Scalar,
                spec: NeuronSpec, keep_h: bool = True, keep_v: bool = False):
    """The recurrence over ``x: [K, ...]`` from the membrane ``v: [...]`` (None: at rest,
    ``spec.v_init``), with plain tensor ops.

    Returns per-step lists ``(h, spike masks, v)`` (``h``/``v`` empty unless kept) and the last
    membrane. ``h = (a * v + b * x_t) + c`` exactly as the eager reference computes it;
    multiplications by a Python 1.0 and additions of a Python 0.0 are skipped (they are exact).
    """
    skip_a, skip_b, skip_c = _skips(a, b, c)
    bx = x if skip_b else b * x
    v = _initial(x, v, spec)
    hs, masks, vs = [], [], []
    for t in range(x.shape[0]):
        if v is None:  # at rest at 0: the decay term is exactly zero
            h = bx[t]
        else:
            h = (v if skip_a else a * v) + bx[t]
        if not skip_c:
            h = h + c
        m = fire(h, spec)
        v = reset(h, m, spec)
        if keep_h:
            hs.append(h)
        masks.append(m)
        if keep_v:
            vs.append(v)
    return hs, masks, vs, v


def forward_loop(x: torch.Tensor, v: Optional[torch.Tensor], a: Scalar, b: Scalar, c: Scalar,
                 spec: NeuronSpec, keep_h: bool, keep_v: bool):
    """Forward over one segment: ``(spikes [K, ...] in x.dtype, h, v or None, v_last)``.

    ``h`` is the list of per-step charged membranes (None unless ``keep_h``): saving them
    unstacked keeps every allocation one step large, which is markedly faster on CPUs where
    large fresh allocations page-fault.
    """
    hs, masks, vs, v = charge_loop(x, v, a, b, c, spec, keep_h, keep_v)
    # converting per step lets a compiled kernel write the spikes directly (4x faster on CPU)
    spikes = torch.stack([m.to(x.dtype) for m in masks])
    return spikes, (hs if keep_h else None), (torch.stack(vs) if keep_v else None), v


def backward_loop(g_s: Optional[torch.Tensor], g_v: Optional[torch.Tensor],
                  h: Optional[torch.Tensor], x: Optional[torch.Tensor], v0: Optional[torch.Tensor],
                  carry: Optional[torch.Tensor], a: Scalar, b: Scalar, c: Scalar,
                  spec: NeuronSpec, need_a: bool, need_b: bool, need_c: bool):
    """Reverse-time recurrence over one segment (see the module docstring).

    ``g_s``/``g_v``: gradients of the spikes / membranes ``[K, ...]`` (None: zero); ``h``: the
    segment's charged membranes, or None to recompute them from its input ``x`` (also read
    when ``need_b``); ``v0``: membrane before the segment (None: at rest); ``carry``: dL/dv at
    the segment's last step from later steps (None: 0).
    Returns ``(g_x, carry_out, acc_a, acc_b, acc_c)``: the input gradient, dL/dv before the
    segment, and per-neuron sums over the segment for the coefficient gradients (or None).

    ``h`` may be a ``[K, ...]`` tensor or a list of per-step tensors.
    """
    th, vr = spec.v_threshold, spec.v_reset
    if h is None:
        h = charge_loop(x, v0, a, b, c, spec)[0]
    skip_a, skip_b = _is_number(a, 1.0), _is_number(b, 1.0)
    acc_a = acc_b = acc_c = None
    g_x = [None] * len(h)
    for t in range(len(h) - 1, -1, -1):
        ht = h[t]
        sg = spec.surrogate.grad(ht - th)
        gh = None if g_s is None else g_s[t] * sg
        gv = carry if g_v is None else (g_v[t] if carry is None else carry + g_v[t])
        if gv is not None:
            if vr is None:
                term = gv if spec.detach_reset else gv * (1.0 - th * sg)
            else:
                keep = (~fire(ht, spec)).to(ht.dtype)
                term = gv * (keep if spec.detach_reset else keep + (vr - ht) * sg)
            gh = term if gh is None else gh + term
        if gh is None:
            gh = torch.zeros_like(ht)
        g_x[t] = gh if skip_b else b * gh  # per step, so a compiled kernel writes g_x directly
        acc_a, acc_b, acc_c = _coefficient_sums(acc_a, acc_b, acc_c, gh, t, h, x, v0, spec, need_a, need_b, need_c)
        carry = gh if skip_a else a * gh
    return torch.stack(g_x), carry, acc_a, acc_b, acc_c


def _coefficient_sums(acc_a, acc_b, acc_c, gh: torch.Tensor, t: int, h, x: torch.Tensor,
                      v0: Optional[torch.Tensor], spec: NeuronSpec, need_a: bool, need_b: bool, need_c: bool):
    """Add step ``t``'s terms to the per-neuron sums of the coefficient gradients (None: not yet
    started): ``dL/da += gh * v_{t-1}``, ``dL/db += gh * x_t``, ``dL/dc += gh``; ``h``: the
    charged membranes (list or ``[K, ...]``), from which ``v_{t-1}`` is reset."""
    if need_a and (t > 0 or v0 is not None or spec.v_init != 0.0):
        v_prev = (spec.v_init if v0 is None else v0) if t == 0 else reset(h[t - 1], fire(h[t - 1], spec), spec)
        acc_a = gh * v_prev if acc_a is None else acc_a + gh * v_prev
    if need_b:
        acc_b = gh * x[t] if acc_b is None else acc_b + gh * x[t]
    if need_c:
        acc_c = gh if acc_c is None else acc_c + gh
    return acc_a, acc_b, acc_c


def _skips(a: Scalar, b: Scalar, c: Scalar) -> tuple[bool, bool, bool]:
    """Which of ``a * v``, ``b * x``, ``+ c`` are exact no-ops (Python 1.0, 1.0, 0.0)."""
    return _is_number(a, 1.0), _is_number(b, 1.0), _is_number(c, 0.0)


def _charge_into(h: torch.Tensor, v: Optional[torch.Tensor], xt: torch.Tensor, a: Scalar, b: Scalar,
                 c: Scalar, skips: tuple[bool, bool, bool], tmp: torch.Tensor) -> None:
    """``h <- (a * v + b * x_t) + c`` in place, with the eager reference's operations in its
    order (``v`` None: at rest at 0, where the decay term is exactly zero); ``h`` must not alias
    ``v``; ``tmp``: a step-sized scratch buffer."""
    skip_a, skip_b, skip_c = skips
    if v is None:
        torch.mul(xt, b, out=h) if not skip_b else h.copy_(xt)
    else:
        bx = xt if skip_b else torch.mul(xt, b, out=tmp)
        if skip_a:
            torch.add(v, bx, out=h)
        else:
            torch.mul(v, a, out=h)
            h.add_(bx)
    if not skip_c:
        h.add_(c)


def _fire_into(s: torch.Tensor, h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """``s <- fire(h)`` as 0/1 in ``s``'s float dtype (comparisons writing floats are several
    times faster on CPU than those writing bool masks)."""
    return (torch.gt if spec.strict else torch.ge)(h, spec.v_threshold, out=s)


def _keep_into(k: torch.Tensor, h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """``k <- 1 - fire(h)`` as 0/1 floats."""
    return (torch.le if spec.strict else torch.lt)(h, spec.v_threshold, out=k)


def _reset_into(v: torch.Tensor, h: torch.Tensor, s: torch.Tensor, spec: NeuronSpec,
                tmp: torch.Tensor) -> torch.Tensor:
    """``v <- reset(h)`` given the spikes ``s`` (0/1 floats; ``v`` may be ``h`` itself), equal
    to :func:`reset` for finite ``h``: soft ``h - v_th * s``, hard ``h * (1 - s) + v_reset * s``
    (the products by 0/1 are exact, so each value is ``h``, ``h - v_th`` or ``v_reset``)."""
    if spec.v_reset is None:
        return torch.sub(h, s, alpha=spec.v_threshold, out=v)
    torch.mul(h, _keep_into(tmp, h, spec), out=v)
    return v if spec.v_reset == 0.0 else v.add_(s, alpha=spec.v_reset)


def _initial(x: torch.Tensor, v: Optional[torch.Tensor], spec: NeuronSpec) -> Optional[torch.Tensor]:
    if v is None and spec.v_init != 0.0:
        return torch.full_like(x[0], spec.v_init, memory_format=torch.contiguous_format)
    return v


class LoopKernels(Kernels):
    """Segment kernels in plain in-place torch ops (``backend="loop"``, see the module
    docstring): forward saves nothing, backward recomputes ``h`` one segment at a time."""

    name = "loop"
    recompute = True
    writes_into = True
    uses_work = True
    # backward recomputes a segment's h into a [max_steps, ...] work buffer
    max_steps = 8

    def forward(self, x, v, a, b, c, spec, keep_h, keep_v, out=None):
        if keep_h:
            raise AssertionError("the loop kernels recompute h; the driver never asks to keep it")
        out = empty_steps(x) if out is None else out
        skips = _skips(a, b, c)
        step = x[0]
        bufs = [torch.empty_like(step, memory_format=torch.contiguous_format) for _ in range(2)]
        tmp = torch.empty_like(bufs[0])
        vs = empty_steps(x) if keep_v else None
        v = _initial(x, v, spec)
        for t in range(x.shape[0]):
            h = bufs[t % 2]
            _charge_into(h, v, x[t], a, b, c, skips, tmp)
            v = _reset_into(h, h, _fire_into(out[t], h, spec), spec, tmp)
            if keep_v:
                vs[t].copy_(v)
        return out, None, vs, v

    def backward(self, g_s, g_v, h, x, v0, carry, a, b, c, spec, need_a, need_b, need_c,
                 out=None, work=None):
        K = x.shape[0]
        out = empty_steps(x) if out is None else out
        work = empty_steps(x, K) if work is None else work
        skips = _skips(a, b, c)
        tmp, st = torch.empty_like(work[0]), torch.empty_like(work[0])
        v = _initial(x, v0, spec)
        v_bufs = [torch.empty_like(work[0]) for _ in range(2)]
        for t in range(K):  # the segment's charged membranes, recomputed
            _charge_into(work[t], v, x[t], a, b, c, skips, tmp)
            v = _reset_into(v_bufs[t % 2], work[t], _fire_into(st, work[t], spec), spec, tmp)
        th, vr = spec.v_threshold, spec.v_reset
        acc_a = acc_b = acc_c = None
        for t in range(K - 1, -1, -1):
            ht = work[t]
            sg = spec.surrogate.grad(ht - th)
            gh = None if g_s is None else g_s[t] * sg
            gv = carry if g_v is None else (g_v[t] if carry is None else carry + g_v[t])
            if gv is not None:
                if vr is None:
                    term = gv if spec.detach_reset else gv * (1.0 - th * sg)
                else:
                    keep = _keep_into(st, ht, spec)
                    if spec.detach_reset:
                        term = gv * keep
                    else:  # gv * ((1 - s) + (vr - h) * sg)
                        term = (vr - ht).mul_(sg).add_(keep).mul_(gv)
                gh = term if gh is None else gh.add_(term)
            if gh is None:
                gh = torch.zeros_like(ht)
            torch.mul(gh, b, out=out[t]) if not skips[1] else out[t].copy_(gh)
            acc_a, acc_b, acc_c = _coefficient_sums(acc_a, acc_b, acc_c, gh, t, work, x, v0, spec,
                                                    need_a, need_b, need_c)
            carry = gh if skips[0] else a * gh
        return out, carry, acc_a, acc_b, acc_c
