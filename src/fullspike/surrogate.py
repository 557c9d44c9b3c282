"""Surrogate gradients for the spike non-linearity.

The forward pass is a Heaviside step of ``x = h - v_th``; the backward pass replaces its
derivative by a smooth surrogate ``grad(x)``. Add a new one by subclassing :class:`Surrogate`
(implement :meth:`grad` in torch ops, which the ``"eager"``, ``"loop"`` and ``"inductor"``
neuron backends run; optionally :meth:`~Surrogate.c_grad` for the native CPU kernels and
:meth:`~Surrogate.triton_grad` for the Triton kernels) and, optionally, registering it with
:func:`register` so configs can name it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Callable, Optional

import torch

from .errors import ConfigError
from .params import Positive
from .registry import Registry

SURROGATES: Registry = Registry("surrogate")


class Surrogate:
    """Base class: ``grad(x)`` is the surrogate derivative of ``Heaviside(x)``."""

    name = "surrogate"

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate derivative at ``x = h - v_th`` (same shape as ``x``); the forward
        pass is always the Heaviside step."""
        raise NotImplementedError

    def triton_grad(self) -> Optional[tuple[Callable, float, float]]:
        """The Triton form of :meth:`grad`: ``(fn, p1, p2)`` with ``fn`` a ``triton.jit``
        function ``fn(u, p1, p2)`` computing the same formula, or None (the default) when there
        is none; the ``"triton"`` neuron backend runs only surrogates that have one."""
        return None

    def c_grad(self) -> Optional[tuple[str, float, float]]:
        """The C form of :meth:`grad` for the native CPU kernels: ``(body, p1, p2)``, ``body``
        the C source of the body of ``float fs_surrogate(float u, float p1, float p2)``
        computing the same formula in float (``<math.h>`` is included, and ``fs_exp(x)``, a
        float ``e^x`` that vectorises, is defined), or None (the default)
        when there is none; the ``"native"`` neuron backend runs only surrogates that have one,
        and ``auto`` takes ``"loop"`` for the others."""
        return None

    def spike(self, x: torch.Tensor, strict: bool = False) -> torch.Tensor:
        """Heaviside(x) with this surrogate's backward. ``strict``: fire on ``x > 0`` not ``>= 0``."""
        return _Spike.apply(x, self, strict)

    def __call__(self, x: torch.Tensor, strict: bool = False) -> torch.Tensor:
        return self.spike(x, strict)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate, strict: bool) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype) if strict else (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.grad(x), None, None


def register(name: str):
    """Class decorator: make a surrogate available by name (``surrogate="name"``)."""

    def deco(cls):
        cls.name = name
        SURROGATES.register(name)(cls)
        return cls

    return deco


@register("sigmoid")
class Sigmoid(Surrogate):
    """``alpha * sig(alpha x) * (1 - sig(alpha x))``; alpha = 4 as in DST / SpikingJelly."""

    def __init__(self, alpha: Positive = 4.0) -> None:
        self.alpha = float(alpha)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)

    def triton_grad(self):
        from .surrogate_triton import sigmoid_grad

        return sigmoid_grad, self.alpha, 0.0

    def c_grad(self):
        # s (1 - s) = e / (1 + e)^2 with e = exp(-|alpha x|), symmetric in x
        return ("const float e = fs_exp(-fabsf(p1 * u));\nreturn p1 * e / ((1.0f + e) * (1.0f + e));", self.alpha, 0.0)


@register("atan")
class ATan(Surrogate):
    """``alpha / 2 / (1 + (pi/2 * alpha * x)^2)``; alpha = 2 as in the SEW ResNet baselines."""

    def __init__(self, alpha: Positive = 2.0) -> None:
        self.alpha = float(alpha)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / 2.0 / (1.0 + (math.pi / 2.0 * self.alpha * x) ** 2)

    def triton_grad(self):
        from .surrogate_triton import atan_grad

        return atan_grad, self.alpha, 0.0

    def c_grad(self):
        return ("const float z = 1.5707963267948966f * p1 * u;\nreturn p1 / 2.0f / (1.0f + z * z);", self.alpha, 0.0)


@register("triangle")
class Triangle(Surrogate):
    """BNTT's ``gamma * max(0, 1 - |x / width|)``; gamma = 0.3, width = v_th (1.0)."""

    def __init__(self, gamma: Positive = 0.3, width: Positive = 1.0) -> None:
        self.gamma = float(gamma)
        self.width = float(width)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * torch.clamp(1.0 - torch.abs(x / self.width), min=0.0)

    def triton_grad(self):
        from .surrogate_triton import triangle_grad

        return triangle_grad, self.gamma, self.width

    def c_grad(self):
        return ("const float y = 1.0f - fabsf(u / p2);\nreturn p1 * (y > 0.0f ? y : 0.0f);", self.gamma, self.width)


#: the annotation of a ``surrogate`` argument: a name, ``{"name": ..., **kwargs}`` checked against
#: that surrogate's signature, or a :class:`Surrogate` instance
SurrogateSpec = SURROGATES.spec_type(Surrogate)


def make_surrogate(spec: "str | Surrogate | Mapping", **kwargs) -> Surrogate:
    """A surrogate from a name (``"sigmoid"``, ``"atan"``, ``"triangle"``) with ``kwargs``, a
    mapping ``{"name": "sigmoid", "alpha": 4}``, or an instance (returned as it is).

    Example:
        ```python
        import torch
        from fullspike.surrogate import make_surrogate

        atan = make_surrogate({"name": "atan", "alpha": 2.0})
        assert float(atan.grad(torch.zeros(1))) == 1.0  # alpha / 2 at the threshold
        ```
    """
    if isinstance(spec, Surrogate):
        if kwargs:
            raise ConfigError("pass keyword arguments only together with a surrogate name")
        return spec
    return SURROGATES.create(spec, **kwargs)


def available() -> list[str]:
    """Names of the registered surrogates."""
    return SURROGATES.names()


__all__ = [
    "Surrogate",
    "Sigmoid",
    "ATan",
    "Triangle",
    "register",
    "make_surrogate",
    "available",
    "SURROGATES",
    "SurrogateSpec",
]
