"""Pure functional spiking-neuron dynamics over a whole sequence.

All neurons share one affine charge rule and differ only in its coefficients
(see docs/methods.md, "Neurons")::

    h_t = decay * v_{t-1} + scale * x_t + bias        (charge)
    s_t = Heaviside(h_t - v_th)                        (fire; strict: h_t > v_th)
    v_t = h_t * (1 - s_t) + v_reset * s_t              (hard reset)
    v_t = h_t - v_th * s_t                             (soft reset, v_reset=None)

IF: decay=1, scale=1, bias=0. LIF (decay-input form, k = 1/tau): decay=1-k, scale=k,
bias=k*v_reset. Leak-factor LIF (BNTT): decay=lambda, scale=1, bias=0.

Inputs are ``[T, ...]`` (time first); outputs are spikes of the same shape and dtype.
The membrane starts at ``v_reset`` (0 for soft reset) on every call, so there is no state
to reset between batches.

``backend`` chooses how the recurrence runs (:mod:`fullspike.engine.backends`): the loop
below (``"eager"``, the reference, differentiated by autograd) or one autograd node per
sequence with a hand-written backward through time in plain torch ops (``"loop"``), in C
(``"native"``, CPU), fused by Inductor (``"inductor"``) or in Triton (``"triton"``); ``"auto"``
picks one from the input (and whether the native kernels can be built on this machine). All
give the same spikes; membranes and gradients agree to float rounding.
"""

from __future__ import annotations

from typing import Optional, Union

import torch

from ..engine import resolve, run_sequence
from ..engine.driver import NormInputLookup
from ..engine.spec import NeuronSpec
from ..errors import ConfigError, ShapeError
from ..surrogate import Sigmoid, Surrogate

Scalar = Union[float, torch.Tensor]


def neuron_sequence(
    x: torch.Tensor,
    *,
    decay: Scalar = 1.0,
    scale: Scalar = 1.0,
    bias: Scalar = 0.0,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    detach_reset: bool = False,
    surrogate: Surrogate | None = None,
    strict: bool = False,
    return_membrane: bool = False,
    backend: str = "auto",
    checkpoint: Union[bool, int] = False,
    norm_input_of: Optional[NormInputLookup] = None,
):
    """Run the generic integrate-and-fire recurrence over ``x: [T, ...]``.

    Returns spikes ``[T, ...]``, or ``(spikes, v)`` with the post-reset membrane ``v: [T, ...]``
    when ``return_membrane`` is set. ``decay``/``scale``/``bias`` may be tensors (broadcast to
    one step, ``x.shape[1:]``); gradients reach them. ``backend``: ``"auto"``, ``"eager"``,
    ``"loop"``, ``"native"``, ``"inductor"`` or ``"triton"`` (see :mod:`fullspike.engine.backends`).
    ``checkpoint`` (fused backends): keep the input and the membrane every ``k`` steps
    (``True``: ``k = ceil(sqrt(T))``) instead of the charged membranes, and recompute them in
    backward one segment at a time. ``norm_input_of`` (fused backends): a lookup of ``x`` as a
    batch norm's output (its :class:`~fullspike.engine.norm_input.NormInput`, or None); kernels
    that read that form then save the norm's input instead of ``x``. The neuron modules pass
    the enclosing compact-saving forward's.
    """
    if x.dim() < 2:
        raise ShapeError(f"spiking neurons expect a sequence [T, B, ...] with time first; got shape {tuple(x.shape)}")
    surrogate = surrogate if surrogate is not None else Sigmoid()
    if not isinstance(checkpoint, bool) and (not isinstance(checkpoint, int) or checkpoint < 1):
        raise ConfigError(f"checkpoint must be False, True or a segment length >= 1; got {checkpoint!r}")
    if checkpoint and backend == "eager":
        raise ConfigError("checkpoint needs a fused neuron backend; use backend='auto' or 'loop'")
    spec = NeuronSpec(
        float(v_threshold), None if v_reset is None else float(v_reset), bool(detach_reset), bool(strict), surrogate
    )
    kernels = resolve(backend, x, (decay, scale, bias), spec)
    if kernels is not None:
        return run_sequence(x, decay, scale, bias, spec, kernels, checkpoint, return_membrane, norm_input_of)
    return _eager_sequence(x, decay, scale, bias, spec, return_membrane)


def _eager_sequence(
    x: torch.Tensor, decay: Scalar, scale: Scalar, bias: Scalar, spec: NeuronSpec, return_membrane: bool
):
    """The reference: the recurrence step by step, differentiated by autograd."""
    v_threshold, v_reset, detach_reset = spec.v_threshold, spec.v_reset, spec.detach_reset
    surrogate, strict = spec.surrogate, spec.strict
    v = torch.full_like(x[0], 0.0 if v_reset is None else float(v_reset))
    spikes, membranes = [], []
    for t in range(x.shape[0]):
        h = decay * v + scale * x[t] + bias
        s = surrogate.spike(h - v_threshold, strict)
        s_reset = s.detach() if detach_reset else s
        if v_reset is None:
            v = h - v_threshold * s_reset
        else:
            v = h * (1.0 - s_reset) + v_reset * s_reset
        spikes.append(s)
        if return_membrane:
            membranes.append(v)
    out = torch.stack(spikes)
    return (out, torch.stack(membranes)) if return_membrane else out


def if_sequence(x: torch.Tensor, **kwargs):
    """Integrate-and-fire: ``h_t = v_{t-1} + x_t``. Keyword arguments as :func:`neuron_sequence`."""
    return neuron_sequence(x, **kwargs)


def lif_sequence(x: torch.Tensor, tau: Scalar = 2.0, *, v_reset: float | None = 0.0, **kwargs):
    """LIF, decay-input form: ``h_t = v_{t-1} + (x_t - (v_{t-1} - v_reset)) / tau``.

    ``tau`` may be a tensor (PLIF passes ``1 / sigmoid(w)``), so gradients reach it.
    """
    k = 1.0 / tau
    vr = 0.0 if v_reset is None else v_reset
    return neuron_sequence(x, decay=1.0 - k, scale=k, bias=k * vr, v_reset=v_reset, **kwargs)


def leaky_sequence(x: torch.Tensor, leak: Scalar = 0.95, **kwargs):
    """BNTT's leak-factor LIF: ``h_t = leak * v_{t-1} + x_t``."""
    return neuron_sequence(x, decay=leak, **kwargs)
