"""Element-wise connect functions ``g(O, S')`` joining a residual branch to its shortcut (SEW
ResNet's ADD and the full-spike functions DST needs).

``O`` is the branch output (spikes of the block's last neuron) and ``S'`` the shortcut spikes,
both ``[T, B, ...]`` of the same shape (docs/methods.md, "DST"):

======  ===================  =====================================================
name    formula              notes
======  ===================  =====================================================
add     ``O + S'``           SEW ResNet baseline; outputs 0, 1, 2: not full-spike
and     ``O * S'``           full-spike; zero-init cannot make it an identity
iand    ``S' * (1 - O)``     full-spike; the DST default
or      ``O + S' - O S'``    full-spike
xor     ``O + S' - 2 O S'``  full-spike
======  ===================  =====================================================

The formulas are differentiable, so surrogate gradients flow through both inputs.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import FullspikeError
from ..registry import Registry

ConnectFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: connect functions ``g(O, S')`` by name, case-insensitive
CONNECTS: Registry[ConnectFn] = Registry("connect function", lowercase=True)


class SpikeValueError(FullspikeError, ValueError):
    """A tensor that must hold binary spikes holds other values."""


@CONNECTS.register("add")
def _add(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return o + s


@CONNECTS.register("and")
def _and(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return o * s


@CONNECTS.register("iand")
def _iand(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return s * (1.0 - o)


@CONNECTS.register("or")
def _or(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return o + s - o * s


@CONNECTS.register("xor")
def _xor(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return o + s - 2.0 * o * s


#: connect functions whose output is binary when both inputs are (everything but ADD)
FULL_SPIKE = ("and", "iand", "or", "xor")


def check_binary(x: torch.Tensor, what: str = "tensor") -> None:
    """Raise :class:`SpikeValueError` unless every value of ``x`` is 0 or 1."""
    bad = (x != 0) & (x != 1)
    if bool(bad.any()):
        example = x[bad].flatten()[:3].tolist()
        raise SpikeValueError(
            f"{what} must hold binary spikes (0/1) but has {int(bad.sum())} other value(s), e.g. "
            f"{example}; logical connect functions need spike inputs (use connect='add' otherwise)"
        )


def connect_name(name: str) -> str:
    """Normalise and check a connect-function name (case-insensitive)."""
    key = str(name).lower()
    CONNECTS.get(key)  # unknown names: one RegistryError line with the closest names
    return key


def connect(name: str, validate: bool = False) -> ConnectFn:
    """The connect function ``g(O, S')`` called ``name``.

    With ``validate=True`` the returned function first checks that both inputs are binary
    spikes and raises :class:`SpikeValueError` otherwise.
    """
    key = connect_name(name)
    fn = CONNECTS.get(key)
    if not validate:
        return fn

    def checked(o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        check_binary(o, f"{key.upper()} branch input O")
        check_binary(s, f"{key.upper()} shortcut input S'")
        return fn(o, s)

    return checked


class Connect(nn.Module):
    """A connect function as a module (so it shows in ``repr`` and can carry forward hooks).

    ``forward(o, s) -> g(o, s)``; shapes ``[T, B, ...]``. ``validate`` checks binary inputs.
    """

    def __init__(self, name: str, validate: bool = False) -> None:
        super().__init__()
        self.name = connect_name(name)
        self.validate = validate

    @property
    def full_spike(self) -> bool:
        """Whether ``g`` maps spikes to spikes (AND, IAND, OR, XOR), so the block's output stays binary."""
        return self.name in FULL_SPIKE

    def forward(self, o: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Branch output ``o`` and shortcut ``s`` (both ``[T, B, ...]``) -> ``g(o, s)``, same shape."""
        if self.validate:
            return connect(self.name, validate=True)(o, s)
        return CONNECTS.get(self.name)(o, s)

    def extra_repr(self) -> str:
        """The connect function's name (and ``validate=True`` when set), for ``repr``."""
        return self.name + (", validate=True" if self.validate else "")
