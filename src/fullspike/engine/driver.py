"""One autograd node per neuron sequence: forward without a graph, backward through time by hand.

The eager reference (:func:`fullspike.functional.neuron.neuron_sequence` with
``backend="eager"``) records about a dozen autograd nodes and saved tensors per time step. Here
the whole sequence is a single :class:`torch.autograd.Function`:

* forward runs the recurrence without a graph and saves only the charged membrane ``h_t``
  (one value per neuron and step; spikes and post-reset membranes are recomputed from it),
  plus the input ``x`` when the input scale needs a gradient. Kernels that recompute ``h``
  (``Kernels.recompute``: the Inductor ones, which do it in registers) save only the input;
* backward runs the reverse-time recurrence (docs/methods.md, "Neurons", ``dv = dL/dv_t``)::

      g_h[t]  = g_s[t] * sg(h_t - v_th) + (g_v[t] + dv) * dv_t/dh_t
      g_x[t]  = scale * g_h[t]
      dv      = decay * g_h[t]                       (carried to step t - 1)
      dv_t/dh_t = 1 - v_th * sg   (soft)    (1 - s_t) + (v_reset - h_t) * sg   (hard)
                  with the ``sg`` terms dropped when the reset is detached

  and the gradients of tensor ``decay``/``scale``/``bias`` (PLIF) are the sums over time and
  neurons of ``g_h * v_{t-1}``, ``g_h * x_t`` and ``g_h``;
* ``checkpoint``: save the input and the membrane every ``k`` steps instead of ``h``; backward
  recomputes ``h`` one segment at a time (one more forward; peak extra memory ``k`` steps);
* an input that the caller's lookup (``norm_input_of``, passed in by the neuron modules inside a
  compact-saving forward) knows as a batch norm's output is saved as that norm's input and
  terms (:class:`~.norm_input.NormInput`) when the kernels read that form
  (``Kernels.reads_norm_input``), so backward neither keeps nor rebuilds it.

The step kernels come from a :class:`Kernels` object, so the same driver serves every fused
backend: plain torch ops (``"loop"``, :mod:`.loop`), their :func:`torch.compile` form
(``"inductor"``, :mod:`.inductor`) and hand-written Triton kernels (``"triton"``,
:mod:`.triton_kernels`). Spikes are bit-identical to the eager reference in float32/float64:
the charge is computed with the same operations in the same order.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch

from .buffers import empty_like_steps, empty_steps
from .norm_input import NormInput
from .spec import NeuronSpec

Scalar = Union[float, torch.Tensor]
#: how to find an input as a batch norm's output: ``lookup(x)`` -> its :class:`NormInput` or None
NormInputLookup = Callable[[torch.Tensor], Optional[NormInput]]


class Kernels:
    """The segment kernels one backend provides (subclasses: :class:`~.loop.LoopKernels`, ...).

    ``forward(x, v, decay, scale, bias, spec, keep_h, keep_v) -> (spikes, h, v or None, v_last)``
    and ``backward(g_s, g_v, h, x, v0, carry, decay, scale, bias, spec, need_decay, need_scale,
    need_bias) -> (g_x, carry_out, acc_decay, acc_scale, acc_bias)`` walk one segment
    ``[K, ...]`` of time (``decay``/``scale``/``bias``: the charge coefficients, ``h = decay * v
    + scale * x + bias``; ``need_*``: which coefficient gradients to sum); their
    arguments are those of :func:`~.loop.forward_loop` / :func:`~.loop.backward_loop`.
    ``recompute``: forward saves the input instead of ``h`` and backward recomputes ``h`` (a
    fused kernel does that in registers, so it costs no memory and little time). ``writes_into``:
    forward and backward also take ``out=`` (the segment's slice of one ``[T, ...]`` spike /
    input-gradient buffer the driver allocates once per call) and write there instead of
    allocating per segment; ``uses_work``: backward also takes ``work=`` (a
    ``[max_steps, ...]`` scratch buffer, shared by the segments). ``max_steps``:
    the longest segment one kernel call should walk (None: any); longer sequences are cut into
    near-equal segments, chained through the membrane (forward) and dL/dv (backward).
    """

    name: str = ""
    recompute = False
    writes_into = False
    uses_work = False
    max_steps: Optional[int] = None

    def forward(self, x, v, decay, scale, bias, spec: NeuronSpec, keep_h: bool, keep_v: bool):
        """Walk one segment forward; see the class docstring for the arguments and results."""
        raise NotImplementedError

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
        spec: NeuronSpec,
        need_decay: bool,
        need_scale: bool,
        need_bias: bool,
    ):
        """Walk one segment backward; see the class docstring for the arguments and results."""
        raise NotImplementedError

    def reads_norm_input(self, spec: NeuronSpec) -> bool:
        """Whether these kernels can be saved a compact-saving BN's input and terms instead of
        its output ``x`` (for neuron ``spec``); False unless the backend reads that form."""
        return False


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


class _SequenceNode(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx,
        x,
        decay,
        scale,
        bias,
        kernels: Kernels,
        spec: NeuronSpec,
        checkpoint,
        return_membrane,
        norm_input_of: Optional[NormInputLookup],
    ):
        need_x, need_decay, need_scale, need_bias = ctx.needs_input_grad[:4]
        training = any((need_x, need_decay, need_scale, need_bias))
        segments = _split(_segments(x.shape[0], checkpoint) if training else [(0, x.shape[0])], kernels.max_steps)
        save_h = training and not (checkpoint or kernels.recompute)
        v = None  # at rest
        spikes, hs, vs, starts = [], [], [], []
        out = empty_steps(x) if kernels.writes_into else None
        for s0, s1 in segments:
            starts.append(v)
            into = {} if out is None else {"out": out[s0:s1]}
            s, h, vm, v = kernels.forward(x[s0:s1], v, decay, scale, bias, spec, save_h, return_membrane, **into)
            spikes.append(s)
            hs.append(h)
            vs.append(vm)
        ctx.set_materialize_grads(False)
        ctx.kernels, ctx.spec, ctx.segments = kernels, spec, segments
        ctx.coeffs = (decay, scale, bias)
        if training:
            save_x = not save_h or need_scale
            h = hs[0] if save_h else None  # a [T, ...] tensor or a list of steps
            ctx.h_is_list = isinstance(h, list)
            coefs = [t for t in (decay, scale, bias) if isinstance(t, torch.Tensor)]
            ctx.n_coefs = len(coefs)
            norm = norm_input_of(x) if norm_input_of is not None and save_x and kernels.reads_norm_input(spec) else None
            # (the norm's tensors are saved, not kept on ctx, so that autograd frees them
            # after this node's backward, as it frees x)
            ctx.x_geometry = None if norm is None else (x.size(), x.stride(), x.storage_offset())
            ctx.save_for_backward(
                x if save_x and norm is None else None,
                torch.stack(starts[1:]) if len(starts) > 1 else None,
                *((None,) * 4 if norm is None else (norm.base, norm.scale, norm.mean, norm.bias)),
                *coefs,
                *(h if ctx.h_is_list else [] if h is None else [h]),
            )
        if out is None:
            out = spikes[0] if len(spikes) == 1 else torch.cat(spikes, out=empty_steps(x))
        if not return_membrane:
            return out
        return out, (vs[0] if len(vs) == 1 else torch.cat(vs))

    @staticmethod
    def backward(ctx, g_s, g_v=None):
        x, starts, base, norm_scale, norm_mean, norm_bias, *rest = ctx.saved_tensors
        if ctx.x_geometry is not None:
            x = NormInput(base.as_strided(*ctx.x_geometry), base, norm_scale, norm_mean, norm_bias)
        it, h = iter(rest[: ctx.n_coefs]), rest[ctx.n_coefs :]
        h = (list(h) if ctx.h_is_list else h[0]) if h else None
        decay, scale, bias = (next(it) if isinstance(t, torch.Tensor) else t for t in ctx.coeffs)
        need_x, need_decay, need_scale, need_bias = ctx.needs_input_grad[:4]
        g_x = [None] * len(ctx.segments)
        totals = [None, None, None]
        carry = None
        ref = x.z if isinstance(x, NormInput) else x if x is not None else h
        out = work = None
        if ctx.kernels.writes_into:
            out = empty_like_steps(ref)  # the input gradient in the input's layout
            if ctx.kernels.uses_work:
                work = empty_steps(ref, max(s1 - s0 for s0, s1 in ctx.segments))
        with torch.no_grad():
            for i in range(len(ctx.segments) - 1, -1, -1):
                s0, s1 = ctx.segments[i]
                into = {} if out is None else {"out": out[s0:s1]}
                if work is not None:
                    into["work"] = work[: s1 - s0]
                gx, carry, *accs = ctx.kernels.backward(
                    None if g_s is None else g_s[s0:s1],
                    None if g_v is None else g_v[s0:s1],
                    None if h is None else h[s0:s1],
                    None if x is None else x[s0:s1],
                    None if i == 0 else starts[i - 1],
                    carry,
                    decay,
                    scale,
                    bias,
                    ctx.spec,
                    need_decay,
                    need_scale,
                    need_bias,
                    **into,
                )
                g_x[i] = gx
                totals = [acc if tot is None else (tot if acc is None else tot + acc) for tot, acc in zip(totals, accs)]
        if not need_x:
            grad_x = None
        else:
            grad_x = (
                out
                if out is not None
                else g_x[0]
                if len(g_x) == 1
                else torch.cat(g_x, out=empty_steps(g_x[0], sum(g.shape[0] for g in g_x)))
            )
        g_decay, g_scale, g_bias = (_reduce(acc, coef) for acc, coef in zip(totals, (decay, scale, bias)))
        return grad_x, g_decay, g_scale, g_bias, None, None, None, None, None


def run_sequence(
    x: torch.Tensor,
    decay: Scalar,
    scale: Scalar,
    bias: Scalar,
    spec: NeuronSpec,
    kernels: Kernels,
    checkpoint: Union[bool, int] = False,
    return_membrane: bool = False,
    norm_input_of: Optional[NormInputLookup] = None,
):
    """Run the neuron over ``x: [T, ...]`` as one autograd node with ``kernels``.

    ``decay``/``scale``/``bias``: the charge coefficients (Python numbers or tensors
    broadcastable to ``x.shape[1:]``). Returns spikes ``[T, ...]``, or ``(spikes, v)`` with
    ``return_membrane``. ``norm_input_of``: the caller's lookup of ``x`` as a batch norm's output
    (inside a compact-saving forward, :meth:`fullspike.nn.memory.CompactSaver.norm_input`); with
    it, kernels that read that form save the norm's input instead of ``x`` (None: never).
    """
    return _SequenceNode.apply(x, decay, scale, bias, kernels, spec, checkpoint, return_membrane, norm_input_of)
