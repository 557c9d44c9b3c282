"""One autograd node per neuron sequence: forward without a graph, backward through time by hand.

The eager reference (:func:`fullspike.functional.neuron.neuron_sequence` with
``backend="eager"``) records about a dozen autograd nodes and saved tensors per time step. Here
the whole sequence is a single :class:`torch.autograd.Function`:

* forward runs the recurrence without a graph and saves only the charged membrane ``h_t``
  (one value per neuron and step; spikes and post-reset membranes are recomputed from it),
  plus the input ``x`` when the input scale needs a gradient. Kernels that recompute ``h``
  (``Kernels.recompute``: the compiled ones, which do it in registers) save only the input;
* backward runs the reverse-time recurrence (docs/methods.md, "Neurons", ``dv = dL/dv_t``)::

      g_h[t]  = g_s[t] * sg(h_t - v_th) + (g_v[t] + dv) * dv_t/dh_t
      g_x[t]  = scale * g_h[t]
      dv      = decay * g_h[t]                       (carried to step t - 1)
      dv_t/dh_t = 1 - v_th * sg   (soft)    (1 - s_t) + (v_reset - h_t) * sg   (hard)
                  with the ``sg`` terms dropped when the reset is detached

  and the gradients of tensor ``decay``/``scale``/``bias`` (PLIF) are the sums over time and
  neurons of ``g_h * v_{t-1}``, ``g_h * x_t`` and ``g_h``;
* ``checkpoint``: save the input and the membrane every ``k`` steps instead of ``h``; backward
  recomputes ``h`` one segment at a time (one more forward; peak extra memory ``k`` steps).

The step kernels come from a :class:`Kernels` object, so the same driver serves the plain
torch-op loop (``"bptt"``), its :func:`torch.compile` form (``"compiled"``) and the Triton
kernels (``"triton"``). Spikes are bit-identical to the eager reference in float32/float64: the
charge is computed with the same operations in the same order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union

import torch

from ..surrogate import Surrogate

Scalar = Union[float, torch.Tensor]


@dataclass(frozen=True)
class NeuronSpec:
    """Everything about a neuron except its charge coefficients (hashable: a kernel cache key)."""

    v_threshold: float
    v_reset: Optional[float]  # None: soft reset
    detach_reset: bool
    strict: bool
    surrogate: Surrogate

    @property
    def v_init(self) -> float:
        return 0.0 if self.v_reset is None else self.v_reset


def _is_number(c: Scalar, value: float) -> bool:
    return not isinstance(c, torch.Tensor) and float(c) == value


def fire(h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """Spike mask (bool) of charged membranes ``h``."""
    return h > spec.v_threshold if spec.strict else h >= spec.v_threshold


def reset(h: torch.Tensor, m: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """Post-reset membrane from ``h`` and its spike mask ``m`` (equal to the eager arithmetic)."""
    if spec.v_reset is None:
        return torch.where(m, h - spec.v_threshold, h)
    return torch.where(m, spec.v_reset, h)


def charge_loop(x: torch.Tensor, v: Optional[torch.Tensor], a: Scalar, b: Scalar, c: Scalar,
                spec: NeuronSpec, keep_h: bool = True, keep_v: bool = False):
    """The recurrence over ``x: [K, ...]`` from the membrane ``v: [...]`` (None: at rest,
    ``spec.v_init``), with plain tensor ops.

    Returns per-step lists ``(h, spike masks, v)`` (``h``/``v`` empty unless kept) and the last
    membrane. ``h = (a * v + b * x_t) + c`` exactly as the eager reference computes it;
    multiplications by a Python 1.0 and additions of a Python 0.0 are skipped (they are exact).
    """
    bx = x if _is_number(b, 1.0) else b * x
    skip_a, skip_c = _is_number(a, 1.0), _is_number(c, 0.0)
    if v is None and spec.v_init != 0.0:
        v = torch.full_like(x[0], spec.v_init)
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
        if need_a and (t > 0 or v0 is not None or spec.v_init != 0.0):
            v_prev = (spec.v_init if v0 is None else v0) if t == 0 else reset(h[t - 1], fire(h[t - 1], spec), spec)
            acc_a = gh * v_prev if acc_a is None else acc_a + gh * v_prev
        if need_b:
            acc_b = gh * x[t] if acc_b is None else acc_b + gh * x[t]
        if need_c:
            acc_c = gh if acc_c is None else acc_c + gh
        carry = gh if skip_a else a * gh
    return torch.stack(g_x), carry, acc_a, acc_b, acc_c


class Kernels:
    """The segment kernels one backend provides; this class runs plain torch ops (``"bptt"``).

    ``recompute``: forward saves the input instead of ``h`` and backward recomputes ``h`` (a
    fused kernel does that in registers, so it costs no memory and little time). ``max_steps``:
    the longest segment one kernel call should walk (None: any); longer sequences are cut into
    near-equal segments, chained through the membrane (forward) and dL/dv (backward). Subclasses
    replace :meth:`forward` / :meth:`backward`, whose signatures are those of
    :func:`forward_loop` / :func:`backward_loop`.
    """

    name = "bptt"
    recompute = False
    max_steps: Optional[int] = None

    def forward(self, x, v, a, b, c, spec, keep_h, keep_v):
        return forward_loop(x, v, a, b, c, spec, keep_h, keep_v)

    def backward(self, g_s, g_v, h, x, v0, carry, a, b, c, spec, need_a, need_b, need_c):
        return backward_loop(g_s, g_v, h, x, v0, carry, a, b, c, spec, need_a, need_b, need_c)


def _segments(T: int, checkpoint: Union[bool, int]) -> list[tuple[int, int]]:
    """``[start, stop)`` time ranges: one for the whole sequence, or checkpoint segments."""
    if not checkpoint:
        return [(0, T)]
    k = max(1, math.ceil(math.sqrt(T))) if checkpoint is True else int(checkpoint)
    return [(s, min(s + k, T)) for s in range(0, T, k)]


def _split(segments: list[tuple[int, int]], max_steps: Optional[int]) -> list[tuple[int, int]]:
    """``segments`` with each one longer than ``max_steps`` cut into near-equal parts."""
    if not max_steps:
        return segments
    out = []
    for s0, s1 in segments:
        n = -(-(s1 - s0) // max_steps)
        bounds = [s0 + (s1 - s0) * i // n for i in range(n + 1)]
        out += list(zip(bounds[:-1], bounds[1:]))
    return out


def _reduce(acc: Optional[torch.Tensor], like: Scalar) -> Optional[torch.Tensor]:
    """Sum per-neuron accumulations down to a coefficient tensor's shape and dtype."""
    if acc is None or not isinstance(like, torch.Tensor):
        return None
    return acc.sum_to_size(like.shape).to(like.dtype) if like.dim() else acc.sum().to(like.dtype)


class _FusedSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, a, b, c, kernels: Kernels, spec: NeuronSpec, checkpoint, return_membrane):
        need_x, need_a, need_b, need_c = ctx.needs_input_grad[:4]
        training = any((need_x, need_a, need_b, need_c))
        segments = _split(_segments(x.shape[0], checkpoint) if training else [(0, x.shape[0])],
                          kernels.max_steps)
        save_h = training and not (checkpoint or kernels.recompute)
        v = None  # at rest
        spikes, hs, vs, starts = [], [], [], []
        for s0, s1 in segments:
            starts.append(v)
            s, h, vm, v = kernels.forward(x[s0:s1], v, a, b, c, spec, save_h, return_membrane)
            spikes.append(s)
            hs.append(h)
            vs.append(vm)
        ctx.set_materialize_grads(False)
        ctx.kernels, ctx.spec, ctx.segments = kernels, spec, segments
        ctx.coeffs = (a, b, c)
        if training:
            save_x = not save_h or need_b
            h = hs[0] if save_h else None  # a [T, ...] tensor or a list of steps
            ctx.h_is_list = isinstance(h, list)
            coefs = [t for t in (a, b, c) if isinstance(t, torch.Tensor)]
            ctx.n_coefs = len(coefs)
            ctx.save_for_backward(x if save_x else None,
                                  torch.stack(starts[1:]) if len(starts) > 1 else None,
                                  *coefs, *(h if ctx.h_is_list else [] if h is None else [h]))
        out = spikes[0] if len(spikes) == 1 else torch.cat(spikes)
        if not return_membrane:
            return out
        return out, (vs[0] if len(vs) == 1 else torch.cat(vs))

    @staticmethod
    def backward(ctx, g_s, g_v=None):
        x, starts, *rest = ctx.saved_tensors
        it, h = iter(rest[:ctx.n_coefs]), rest[ctx.n_coefs:]
        h = (list(h) if ctx.h_is_list else h[0]) if h else None
        a, b, c = (next(it) if isinstance(t, torch.Tensor) else t for t in ctx.coeffs)
        need_x, need_a, need_b, need_c = ctx.needs_input_grad[:4]
        g_x = [None] * len(ctx.segments)
        totals = [None, None, None]
        carry = None
        with torch.no_grad():
            for i in range(len(ctx.segments) - 1, -1, -1):
                s0, s1 = ctx.segments[i]
                gx, carry, *accs = ctx.kernels.backward(
                    None if g_s is None else g_s[s0:s1], None if g_v is None else g_v[s0:s1],
                    None if h is None else h[s0:s1], None if x is None else x[s0:s1],
                    None if i == 0 else starts[i - 1], carry, a, b, c, ctx.spec,
                    need_a, need_b, need_c)
                g_x[i] = gx
                totals = [acc if tot is None else (tot if acc is None else tot + acc)
                          for tot, acc in zip(totals, accs)]
        grad_x = (g_x[0] if len(g_x) == 1 else torch.cat(g_x)) if need_x else None
        ga, gb, gc = (_reduce(acc, coef) for acc, coef in zip(totals, (a, b, c)))
        return grad_x, ga, gb, gc, None, None, None, None


def fused_sequence(x: torch.Tensor, a: Scalar, b: Scalar, c: Scalar, spec: NeuronSpec,
                   kernels: Kernels, checkpoint: Union[bool, int] = False,
                   return_membrane: bool = False):
    """Run the neuron over ``x: [T, ...]`` as one autograd node with ``kernels``.

    ``a``/``b``/``c``: decay, input scale, bias (Python numbers or tensors broadcastable to
    ``x.shape[1:]``). Returns spikes ``[T, ...]``, or ``(spikes, v)`` with ``return_membrane``.
    """
    return _FusedSequence.apply(x, a, b, c, kernels, spec, checkpoint, return_membrane)
