"""Spiking neuron modules: thin wrappers around :mod:`fullspike.functional.neuron`.

Every module maps a whole sequence ``[T, B, ...] -> [T, B, ...]`` of spikes (0/1, input dtype).
State lives inside the call: nothing to reset between batches.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import functional as SF
from ..errors import ConfigError
from ..surrogate import Surrogate
from ..surrogate import get as get_surrogate


class SpikingNeuron(nn.Module):
    """Common arguments of all neurons.

    Args:
        v_threshold: firing threshold ``v_th``.
        v_reset: hard-reset potential, or ``None`` for a soft (subtractive) reset.
        detach_reset: the reset term carries no gradient.
        surrogate: a name (``"sigmoid"``, ``"atan"``, ``"triangle"``) or a :class:`Surrogate`.
        strict: fire on ``h > v_th`` instead of ``h >= v_th`` (BNTT).
        backend: how the recurrence runs: ``"auto"`` (default), ``"eager"``, ``"bptt"``,
            ``"compiled"``, ``"triton"`` (:mod:`fullspike.functional.backends`).
        checkpoint: recompute the membranes in backward from the input, ``k`` steps at a time
            (``True``: ``k = ceil(sqrt(T))``); fused backends only.
    """

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        detach_reset: bool = False,
        surrogate: "str | Surrogate" = "sigmoid",
        strict: bool = False,
        backend: str = "auto",
        checkpoint: "bool | int" = False,
    ) -> None:
        super().__init__()
        if backend not in SF.BACKENDS:
            raise ConfigError(f"unknown neuron backend '{backend}'; choose one of {list(SF.BACKENDS)}")
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.detach_reset = bool(detach_reset)
        self.surrogate = get_surrogate(surrogate)
        self.strict = bool(strict)
        self.backend = backend
        self.checkpoint = checkpoint

    def _common(self) -> dict:
        return dict(
            v_threshold=self.v_threshold, v_reset=self.v_reset, detach_reset=self.detach_reset,
            surrogate=self.surrogate, strict=self.strict, backend=self.backend,
            checkpoint=self.checkpoint,
        )

    def extra_repr(self) -> str:
        reset = "soft" if self.v_reset is None else f"hard({self.v_reset})"
        return (f"v_threshold={self.v_threshold}, reset={reset}, detach_reset={self.detach_reset}, "
                f"surrogate={self.surrogate!r}" + (", strict=True" if self.strict else "")
                + (f", backend={self.backend}" if self.backend != "auto" else "")
                + (f", checkpoint={self.checkpoint}" if self.checkpoint else ""))


class IF(SpikingNeuron):
    """Integrate-and-fire: ``h_t = v_{t-1} + x_t``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SF.if_sequence(x, **self._common())


class LIF(SpikingNeuron):
    """Leaky integrate-and-fire.

    Default (decay-input form, DST): ``h_t = v_{t-1} + (x_t - (v_{t-1} - v_reset)) / tau``.
    With ``leak=lambda`` (BNTT's leak-factor form): ``h_t = lambda * v_{t-1} + x_t``.
    """

    def __init__(self, tau: float = 2.0, leak: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if leak is None and tau <= 1.0:
            raise ValueError(f"LIF needs tau > 1, got tau={tau}")
        if leak is not None and not 0.0 < leak <= 1.0:
            raise ValueError(f"LIF leak must be in (0, 1], got leak={leak}")
        self.tau = float(tau)
        self.leak = None if leak is None else float(leak)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.leak is not None:
            return SF.leaky_sequence(x, self.leak, **self._common())
        return SF.lif_sequence(x, self.tau, **self._common())

    def extra_repr(self) -> str:
        form = f"leak={self.leak}" if self.leak is not None else f"tau={self.tau}"
        return f"{form}, {super().extra_repr()}"


class PLIF(SpikingNeuron):
    """Parametric LIF: ``1/tau = sigmoid(w)`` is one learnable scalar per layer (init ``tau``)."""

    def __init__(self, tau: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if tau <= 1.0:
            raise ValueError(f"PLIF needs an initial tau > 1, got tau={tau}")
        self.w = nn.Parameter(torch.tensor(-math.log(tau - 1.0)))

    @property
    def tau(self) -> float:
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = torch.sigmoid(self.w).to(x.dtype)
        vr = 0.0 if self.v_reset is None else self.v_reset
        return SF.neuron_sequence(x, decay=1.0 - k, scale=k, bias=k * vr, **self._common())

    def extra_repr(self) -> str:
        return f"tau={self.tau:.4g}, {super().extra_repr()}"


NEURONS = {"if": IF, "lif": LIF, "plif": PLIF}


def set_backend(model: nn.Module, backend: str, checkpoint: "bool | int | None" = None) -> int:
    """Set ``backend`` (and ``checkpoint``, unless None) on every spiking neuron inside ``model``.

    Returns how many neurons were changed. E.g. ``set_backend(model, "bptt")`` to avoid compiling.
    """
    if backend not in SF.BACKENDS:
        raise ConfigError(f"unknown neuron backend '{backend}'; choose one of {list(SF.BACKENDS)}")
    count = 0
    for m in model.modules():
        if isinstance(m, SpikingNeuron):
            m.backend = backend
            if checkpoint is not None:
                m.checkpoint = checkpoint
            count += 1
    return count


def make_neuron(kind: "str | type[SpikingNeuron]", **kwargs) -> SpikingNeuron:
    """A neuron from a name (``"if"``, ``"lif"``, ``"plif"``) or a class, with its kwargs."""
    if isinstance(kind, type):
        return kind(**kwargs)
    try:
        cls = NEURONS[kind.lower()]
    except KeyError:
        raise ValueError(f"unknown neuron '{kind}'; choose one of {sorted(NEURONS)}") from None
    if cls is IF:
        kwargs.pop("tau", None)
    return cls(**kwargs)
