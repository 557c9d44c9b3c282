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

from .buffers import empty_steps
from .driver import Kernels
from .spec import NeuronSpec, fire, reset

Scalar = Union[float, torch.Tensor]


def _is_number(coef: Scalar, value: float) -> bool:
    return not isinstance(coef, torch.Tensor) and float(coef) == value


def charge_loop(
    x: torch.Tensor,
    v: Optional[torch.Tensor],
    decay: Scalar,
    scale: Scalar,
    bias: Scalar,
    spec: NeuronSpec,
    keep_h: bool = True,
    keep_v: bool = False,
):
    """The recurrence over ``x: [K, ...]`` from the membrane ``v: [...]`` (None: at rest,
    ``spec.v_init``), with plain tensor ops.

    Returns per-step lists ``(h, spike masks, v)`` (``h``/``v`` empty unless kept) and the last
    membrane. ``h = (decay * v + scale * x_t) + bias`` exactly as the eager reference computes it;
    multiplications by a Python 1.0 and additions of a Python 0.0 are skipped (they are exact).
    """
    skip_decay, skip_scale, skip_bias = _skips(decay, scale, bias)
    scaled_x = x if skip_scale else scale * x
    v = _initial(x, v, spec)
    hs, masks, vs = [], [], []
    for t in range(x.shape[0]):
        if v is None:  # at rest at 0: the decay term is exactly zero
            h = scaled_x[t]
        else:
            h = (v if skip_decay else decay * v) + scaled_x[t]
        if not skip_bias:
            h = h + bias
        m = fire(h, spec)
        v = reset(h, m, spec)
        if keep_h:
            hs.append(h)
        masks.append(m)
        if keep_v:
            vs.append(v)
    return hs, masks, vs, v


def forward_loop(
    x: torch.Tensor,
    v: Optional[torch.Tensor],
    decay: Scalar,
    scale: Scalar,
    bias: Scalar,
    spec: NeuronSpec,
    keep_h: bool,
    keep_v: bool,
):
    """Forward over one segment: ``(spikes [K, ...] in x.dtype, h, v or None, v_last)``.

    ``h`` is the list of per-step charged membranes (None unless ``keep_h``): saving them
    unstacked keeps every allocation one step large, which is markedly faster on CPUs where
    large fresh allocations page-fault.
    """
    hs, masks, vs, v = charge_loop(x, v, decay, scale, bias, spec, keep_h, keep_v)
    # converting per step lets a compiled kernel write the spikes directly (4x faster on CPU)
    spikes = torch.stack([m.to(x.dtype) for m in masks])
    return spikes, (hs if keep_h else None), (torch.stack(vs) if keep_v else None), v


def backward_loop(
    g_s: Optional[torch.Tensor],
    g_v: Optional[torch.Tensor],
    h: Optional[torch.Tensor],
    x: Optional[torch.Tensor],
    v0: Optional[torch.Tensor],
    carry: Optional[torch.Tensor],
    decay: Scalar,
    scale: Scalar,
    bias: Scalar,
    spec: NeuronSpec,
    need_decay: bool,
    need_scale: bool,
    need_bias: bool,
):
    """Reverse-time recurrence over one segment (see the module docstring).

    ``g_s``/``g_v``: gradients of the spikes / membranes ``[K, ...]`` (None: zero); ``h``: the
    segment's charged membranes, or None to recompute them from its input ``x`` (also read
    when ``need_scale``); ``v0``: membrane before the segment (None: at rest); ``carry``: dL/dv at
    the segment's last step from later steps (None: 0).
    Returns ``(g_x, carry_out, acc_decay, acc_scale, acc_bias)``: the input gradient, dL/dv before the
    segment, and per-neuron sums over the segment for the coefficient gradients (or None).

    ``h`` may be a ``[K, ...]`` tensor or a list of per-step tensors.
    """
    th, vr = spec.v_threshold, spec.v_reset
    if h is None:
        h = charge_loop(x, v0, decay, scale, bias, spec)[0]
    skip_decay, skip_scale = _is_number(decay, 1.0), _is_number(scale, 1.0)
    acc_decay = acc_scale = acc_bias = None
    g_x = [None] * len(h)
    for t in range(len(h) - 1, -1, -1):
        ht = h[t]
        sg = spec.surrogate.grad(ht - th)
        gh, gv = _arriving(g_s, g_v, carry, t, sg)
        if gv is not None:
            if vr is None:
                term = gv if spec.detach_reset else gv * (1.0 - th * sg)
            else:
                keep = (~fire(ht, spec)).to(ht.dtype)
                term = gv * (keep if spec.detach_reset else keep + (vr - ht) * sg)
            gh = term if gh is None else gh + term
        if gh is None:
            gh = torch.zeros_like(ht)
        g_x[t] = gh if skip_scale else scale * gh  # per step, so a compiled kernel writes g_x directly
        acc_decay, acc_scale, acc_bias = _coefficient_sums(
            acc_decay, acc_scale, acc_bias, gh, t, h, x, v0, spec, need_decay, need_scale, need_bias
        )
        carry = gh if skip_decay else decay * gh
    return torch.stack(g_x), carry, acc_decay, acc_scale, acc_bias


def _arriving(
    g_s: Optional[torch.Tensor], g_v: Optional[torch.Tensor], carry: Optional[torch.Tensor], t: int, sg: torch.Tensor
) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The gradients arriving at step ``t``: through its spike, ``g_s[t] * sg`` (dL/dh so far),
    and at its membrane, ``carry + g_v[t]`` (dL/dv); None where they are zero."""
    gh = None if g_s is None else g_s[t] * sg
    gv = carry if g_v is None else (g_v[t] if carry is None else carry + g_v[t])
    return gh, gv


def _coefficient_sums(
    acc_decay,
    acc_scale,
    acc_bias,
    gh: torch.Tensor,
    t: int,
    h,
    x: torch.Tensor,
    v0: Optional[torch.Tensor],
    spec: NeuronSpec,
    need_decay: bool,
    need_scale: bool,
    need_bias: bool,
):
    """Add step ``t``'s terms to the per-neuron sums of the coefficient gradients (None: not yet
    started): ``dL/ddecay += gh * v_{t-1}``, ``dL/dscale += gh * x_t``, ``dL/dbias += gh``; ``h``: the
    charged membranes (list or ``[K, ...]``), from which ``v_{t-1}`` is reset."""
    if need_decay and (t > 0 or v0 is not None or spec.v_init != 0.0):
        v_prev = (spec.v_init if v0 is None else v0) if t == 0 else reset(h[t - 1], fire(h[t - 1], spec), spec)
        acc_decay = gh * v_prev if acc_decay is None else acc_decay + gh * v_prev
    if need_scale:
        acc_scale = gh * x[t] if acc_scale is None else acc_scale + gh * x[t]
    if need_bias:
        acc_bias = gh if acc_bias is None else acc_bias + gh
    return acc_decay, acc_scale, acc_bias


def _skips(decay: Scalar, scale: Scalar, bias: Scalar) -> tuple[bool, bool, bool]:
    """Which of ``decay * v``, ``scale * x``, ``+ bias`` are exact no-ops (Python 1.0, 1.0, 0.0)."""
    return _is_number(decay, 1.0), _is_number(scale, 1.0), _is_number(bias, 0.0)


def _charge_into(
    h: torch.Tensor,
    v: Optional[torch.Tensor],
    xt: torch.Tensor,
    decay: Scalar,
    scale: Scalar,
    bias: Scalar,
    skips: tuple[bool, bool, bool],
    tmp: torch.Tensor,
) -> None:
    """``h <- (decay * v + scale * x_t) + bias`` in place, with the eager reference's operations in its
    order (``v`` None: at rest at 0, where the decay term is exactly zero); ``h`` must not alias
    ``v``; ``tmp``: a step-sized scratch buffer."""
    skip_decay, skip_scale, skip_bias = skips
    if v is None:
        torch.mul(xt, scale, out=h) if not skip_scale else h.copy_(xt)
    else:
        scaled_x = xt if skip_scale else torch.mul(xt, scale, out=tmp)
        if skip_decay:
            torch.add(v, scaled_x, out=h)
        else:
            torch.mul(v, decay, out=h)
            h.add_(scaled_x)
    if not skip_bias:
        h.add_(bias)


def _fire_into(s: torch.Tensor, h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """``s <- fire(h)`` as 0/1 in ``s``'s float dtype (comparisons writing floats are several
    times faster on CPU than those writing bool masks)."""
    return (torch.gt if spec.strict else torch.ge)(h, spec.v_threshold, out=s)


def _keep_into(k: torch.Tensor, h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """``k <- 1 - fire(h)`` as 0/1 floats."""
    return (torch.le if spec.strict else torch.lt)(h, spec.v_threshold, out=k)


def _reset_into(v: torch.Tensor, h: torch.Tensor, s: torch.Tensor, spec: NeuronSpec, tmp: torch.Tensor) -> torch.Tensor:
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

    def forward(self, x, v, decay, scale, bias, spec, keep_h, keep_v, out=None):
        if keep_h:
            raise AssertionError("the loop kernels recompute h; the driver never asks to keep it")
        out = empty_steps(x) if out is None else out
        skips = _skips(decay, scale, bias)
        step = x[0]
        bufs = [torch.empty_like(step, memory_format=torch.contiguous_format) for _ in range(2)]
        tmp = torch.empty_like(bufs[0])
        vs = empty_steps(x) if keep_v else None
        v = _initial(x, v, spec)
        for t in range(x.shape[0]):
            h = bufs[t % 2]
            _charge_into(h, v, x[t], decay, scale, bias, skips, tmp)
            v = _reset_into(h, h, _fire_into(out[t], h, spec), spec, tmp)
            if keep_v:
                vs[t].copy_(v)
        return out, None, vs, v

    def backward(
        self,
        g_s,
        g_v,
        h,
        x,
        v0,
        carry,
        decay,
        scale,
        bias,
        spec,
        need_decay,
        need_scale,
        need_bias,
        out=None,
        work=None,
    ):
        K = x.shape[0]
        out = empty_steps(x) if out is None else out
        work = empty_steps(x, K) if work is None else work
        skips = _skips(decay, scale, bias)
        tmp, st = torch.empty_like(work[0]), torch.empty_like(work[0])
        v = _initial(x, v0, spec)
        v_bufs = [torch.empty_like(work[0]) for _ in range(2)]
        for t in range(K):  # the segment's charged membranes, recomputed
            _charge_into(work[t], v, x[t], decay, scale, bias, skips, tmp)
            v = _reset_into(v_bufs[t % 2], work[t], _fire_into(st, work[t], spec), spec, tmp)
        th, vr = spec.v_threshold, spec.v_reset
        acc_decay = acc_scale = acc_bias = None
        for t in range(K - 1, -1, -1):
            ht = work[t]
            sg = spec.surrogate.grad(ht - th)
            gh, gv = _arriving(g_s, g_v, carry, t, sg)
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
            torch.mul(gh, scale, out=out[t]) if not skips[1] else out[t].copy_(gh)
            acc_decay, acc_scale, acc_bias = _coefficient_sums(
                acc_decay, acc_scale, acc_bias, gh, t, work, x, v0, spec, need_decay, need_scale, need_bias
            )
            carry = gh if skips[0] else decay * gh
        return out, carry, acc_decay, acc_scale, acc_bias
