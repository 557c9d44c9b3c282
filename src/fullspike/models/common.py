"""Pieces shared by the residual model families: neuron specs and the spiking stem."""
from __future__ import annotations

import functools
from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ConfigError
from ..functional import fold_time, unfold_time
from ..nn import make_neuron
from ..surrogate import Surrogate
from ..surrogate import get as get_surrogate


def _name_and_kwargs(spec, what: str) -> tuple[str, dict]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping) and "name" in spec:
        kw = dict(spec)
        return kw.pop("name"), kw
    raise ConfigError(f"{what} must be a name or a mapping with a 'name' key (e.g. "
                      f"{{name: sigmoid, alpha: 4}}); got {spec!r}")


def make_surrogate(spec: str | Surrogate | Mapping) -> Surrogate:
    """A surrogate from a name (``"sigmoid"``), an instance, or ``{"name": ..., **kwargs}``."""
    if isinstance(spec, Surrogate):
        return spec
    name, kw = _name_and_kwargs(spec, "surrogate")
    try:
        return get_surrogate(name, **kw)
    except TypeError as e:
        raise ConfigError(f"bad arguments for surrogate '{name}': {e}") from None


def neuron_maker(neuron: str | Mapping = "if", surrogate: str | Surrogate | Mapping = "sigmoid", *,
                 v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 detach_reset: bool = True) -> "functools.partial[nn.Module]":
    """A factory of fresh neurons. ``neuron`` is ``"if" | "lif" | "plif"`` or a mapping
    ``{"name": "plif", "tau": 2.0, ...}`` whose keys override the defaults given here (hard
    reset to 0, detached reset, threshold 1)."""
    name, kw = _name_and_kwargs(neuron, "neuron")
    opts = dict(v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset)
    opts.update(kw)
    opts["surrogate"] = make_surrogate(opts.get("surrogate", surrogate))
    factory = functools.partial(make_neuron, name, **opts)
    try:
        factory()
    except (TypeError, ValueError) as e:
        raise ConfigError(f"cannot build neuron {neuron!r}: {e}") from None
    return factory


class Stem(nn.Module):
    """``conv -> BN -> SN [-> pool]``. A static image ``[B, C, H, W]`` goes through conv and BN
    once and the result is repeated over ``T`` steps; frames ``[T, B, C, H, W]`` go step by step
    (T folded). Output: spikes ``[T, B, C_out, H', W']``. Children: ``conv``, ``bn``, ``sn``,
    ``pool`` (or ``None``)."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, sn: nn.Module, T: int,
                 pool: nn.Module | None = None) -> None:
        super().__init__()
        self.T = T
        self.conv, self.bn, self.sn, self.pool = conv, bn, sn, pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            y = self.bn(self.conv(x))
            y = y.unsqueeze(0).expand(self.T, *y.shape)
        else:
            y = unfold_time(self.bn(self.conv(fold_time(x))), x.shape[0])
        s = self.sn(y)
        if self.pool is not None:
            s = unfold_time(self.pool(fold_time(s)), s.shape[0])
        return s
