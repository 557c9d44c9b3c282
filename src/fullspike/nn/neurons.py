"""Spiking neuron modules: thin wrappers around :mod:`fullspike.functional.neuron`.

Every module maps a whole sequence ``[T, B, ...] -> [T, B, ...]`` of spikes (0/1, input dtype).
State lives inside the call: nothing to reset between batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from .. import checks
from .. import functional as SF
from ..engine.backends import check_backend
from ..errors import ConfigError
from ..params import Fraction, Positive, check_arguments, number, range_of
from ..registry import Registry, split_spec
from ..surrogate import SurrogateSpec, make_surrogate
from .memory import active_saver, mark_spikes

#: neuron classes by name (``"if"``, ``"lif"``, ``"plif"``), case-insensitive
NEURONS: Registry = Registry("neuron", lowercase=True)

#: the range of a membrane time constant ``tau`` (in steps) and of a leak factor
#: a time constant in steps (> 1: the neuron keeps part of its membrane)
Tau = number(float, gt=1)
_TAU, _LEAK = range_of(Tau), range_of(Fraction)


class SpikingNeuron(nn.Module):
    """Common arguments of all neurons (typed on the arguments: configs check them from here).

    Args:
        v_threshold: firing threshold ``v_th``, a finite number > 0.
        v_reset: hard-reset potential, a finite number, or ``None`` for a soft (subtractive) reset.
        detach_reset: the reset term carries no gradient.
        surrogate: a name (``"sigmoid"``, ``"atan"``, ``"triangle"``), a mapping
            ``{"name": "sigmoid", "alpha": 4}`` or a :class:`Surrogate`.
        strict: fire on ``h > v_th`` instead of ``h >= v_th`` (BNTT).
        backend: how the recurrence runs: ``"auto"`` (default), ``"eager"``, ``"loop"``,
            ``"native"``, ``"inductor"``, ``"triton"`` (:mod:`fullspike.engine.backends`).
        checkpoint: recompute the membranes in backward from the input, ``k`` steps at a time
            (``True``: ``k = ceil(sqrt(T))``); fused backends only.
    """

    def __init__(
        self,
        v_threshold: Positive = 1.0,
        v_reset: float | None = 0.0,
        detach_reset: bool = False,
        surrogate: SurrogateSpec = "sigmoid",
        strict: bool = False,
        backend: str = "auto",
        checkpoint: "bool | int" = False,
    ) -> None:
        super().__init__()
        self.backend = check_backend(backend)
        self.v_threshold = float(checks.positive(f"{type(self).__name__} v_threshold", v_threshold))
        checks.check(f"{type(self).__name__} v_reset", v_reset, checks.FINITE, optional=True)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.detach_reset = bool(detach_reset)
        self.surrogate = make_surrogate(surrogate)
        self.strict = bool(strict)
        self.checkpoint = checkpoint

    def _common(self) -> dict:
        saver = active_saver()  # its lookup lets the engine save a batch norm's input instead
        return dict(
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate,
            strict=self.strict,
            backend=self.backend,
            checkpoint=self.checkpoint,
            norm_input_of=None if saver is None else saver.norm_input,
        )

    def extra_repr(self) -> str:
        """Threshold, reset, surrogate and the non-default options, for ``repr``."""
        reset = "soft" if self.v_reset is None else f"hard({self.v_reset})"
        return (
            f"v_threshold={self.v_threshold}, reset={reset}, detach_reset={self.detach_reset}, "
            f"surrogate={self.surrogate!r}"
            + (", strict=True" if self.strict else "")
            + (f", backend={self.backend}" if self.backend != "auto" else "")
            + (f", checkpoint={self.checkpoint}" if self.checkpoint else "")
        )


@NEURONS.register("if")
class IF(SpikingNeuron):
    """Integrate-and-fire: ``h_t = v_{t-1} + x_t``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Input currents ``[T, B, ...]`` -> spikes ``[T, B, ...]`` (0/1, the input's dtype)."""
        return mark_spikes(SF.if_sequence(x, **self._common()))


@NEURONS.register("lif")
class LIF(SpikingNeuron):
    """Leaky integrate-and-fire, in one of two forms (give ``tau`` or ``leak``, not both).

    Default (decay-input form, DST): ``h_t = v_{t-1} + (x_t - (v_{t-1} - v_reset)) / tau``,
    ``tau`` (a finite number > 1) 2 unless given. With ``leak=lambda`` (BNTT's leak-factor form,
    ``lambda`` in (0, 1]): ``h_t = lambda * v_{t-1} + x_t``; ``tau`` is then None.

    Example:
        ```python
        import torch
        from fullspike.nn import LIF

        spikes = LIF(tau=2.0)(torch.full((6, 3), 1.5))  # currents [T=6, B=3] -> spikes [6, 3]
        assert spikes[:, 0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
        ```
    """

    def __init__(self, tau: Tau | None = None, leak: Fraction | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if tau is not None and leak is not None:
            raise ConfigError(
                f"LIF takes tau (decay-input form) or leak (leak-factor form), not "
                f"both; got tau={tau} and leak={leak}: drop one"
            )
        if leak is None:
            tau = 2.0 if tau is None else checks.check("LIF tau", tau, _TAU)
        else:
            checks.check("LIF leak", leak, _LEAK)
        self.tau = None if tau is None else float(tau)
        self.leak = None if leak is None else float(leak)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Input currents ``[T, B, ...]`` -> spikes ``[T, B, ...]`` (0/1, the input's dtype)."""
        if self.leak is not None:
            return mark_spikes(SF.leaky_sequence(x, self.leak, **self._common()))
        return mark_spikes(SF.lif_sequence(x, self.tau, **self._common()))

    def extra_repr(self) -> str:
        """The leak (``leak`` or ``tau``) and the common neuron arguments, for ``repr``."""
        form = f"leak={self.leak}" if self.leak is not None else f"tau={self.tau}"
        return f"{form}, {super().extra_repr()}"


@NEURONS.register("plif")
class PLIF(SpikingNeuron):
    """Parametric LIF: ``1/tau = sigmoid(w)`` is one learnable scalar per layer (init ``tau``, a
    finite number > 1)."""

    def __init__(self, tau: Tau = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        checks.check("PLIF tau", tau, _TAU)
        self.w = nn.Parameter(torch.tensor(-math.log(tau - 1.0)))

    @property
    def tau(self) -> float:
        """The current membrane time constant ``1 / sigmoid(w)`` in time steps (a float, no gradient)."""
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Input currents ``[T, B, ...]`` -> spikes ``[T, B, ...]``, with the learned ``k = sigmoid(w)``."""
        k = torch.sigmoid(self.w).to(x.dtype)
        vr = 0.0 if self.v_reset is None else self.v_reset
        return mark_spikes(SF.neuron_sequence(x, decay=1.0 - k, scale=k, bias=k * vr, **self._common()))

    def extra_repr(self) -> str:
        """The current ``tau`` and the common neuron arguments, for ``repr``."""
        return f"tau={self.tau:.4g}, {super().extra_repr()}"


def set_backend(model: nn.Module, backend: str, checkpoint: "bool | int | None" = None) -> int:
    """Set ``backend`` (and ``checkpoint``, unless None) on every spiking neuron inside ``model``.

    Returns how many neurons were changed. E.g. ``set_backend(model, "loop")`` to avoid compiling.
    """
    backend = check_backend(backend)
    count = 0
    for m in model.modules():
        if isinstance(m, SpikingNeuron):
            m.backend = backend
            if checkpoint is not None:
                m.checkpoint = checkpoint
            count += 1
    return count


#: the annotation of a ``neuron`` argument: a name, ``{"name": ..., **kwargs}`` checked against
#: that neuron's signature (``surrogate`` included), or a :class:`SpikingNeuron` class
NeuronSpec = NEURONS.spec_type(SpikingNeuron)


def make_neuron(
    spec: "str | Mapping | type[SpikingNeuron]", *, defaults: Mapping | None = None, **kwargs
) -> SpikingNeuron:
    """A neuron from a name (``"if"``, ``"lif"``, ``"plif"``), a class, or a mapping such as
    ``{"name": "plif", "tau": 2.0}``.

    Arguments, weakest first: ``defaults``, the mapping's own keys, then ``kwargs``, checked
    against the neuron's signature: an argument it does not take (``tau`` for IF), a wrong type
    or a value out of range raises a :class:`~fullspike.errors.ConfigError` (one line); none is
    dropped. The surrogate may be a name, a mapping or an instance.
    """
    if isinstance(spec, type):
        opts = {**(defaults or {}), **kwargs}
        return spec(**check_arguments(spec, opts, what=f"neuron {spec.__name__}"))
    name, own = split_spec(spec, "neuron")
    return NEURONS.get(name)(**NEURONS.check_kwargs(name, {**(defaults or {}), **own, **kwargs}))
