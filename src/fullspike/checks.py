"""The checks of a public function's (or a module constructor's) own numeric arguments.

Each is one call at the entry of a public function or constructor, before its work starts, and
costs a few microseconds: where such a function is itself called once per step, block or layer (an
encoder's forward, a residual block's builder, a report row's ``ac_at`` inside ``energy_mj_at``),
it checks at each call, while a function's own loop (PGD's steps) runs on arguments checked once
before it. A valid value comes back unchanged (no conversion, so valid input behaves exactly as
without the check), anything else is one :class:`~fullspike.errors.ConfigError` line naming the
argument, the value and what is allowed (``eps[1] must be a finite number >= 0, got -0.1``). A
number is one real scalar: a Python ``int`` or ``float``, a numpy scalar or 0-d array, a 0-d
tensor; never a bool (Python's, numpy's or torch's), a complex number, or an array or tensor with
a dimension (shown in the message by its shape). Real numbers are finite (an integer too large for
a float is refused too). The command line's options take the same ranges (:mod:`fullspike.cli`),
so each range is stated once, here; a factory's typed arguments (configs, ``create_model``) are
checked by :mod:`fullspike.params` instead.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch

from .errors import ConfigError
from .params import Count, NonNegative, Positive, Range, range_of

V = TypeVar("V")

#: a size, or a number of steps, batches, samples or draws
COUNT = range_of(Count)
#: a real number > 0 (an energy per operation, a step size, a threshold)
POSITIVE = range_of(Positive)
#: a real number >= 0 (a perturbation's strength)
NON_NEGATIVE = range_of(NonNegative)
#: a real number in [0, 1] (a probability margin, a momentum)
UNIT = Range(float, ge=0, le=1)
#: any finite real number
FINITE = Range(float)


def describe(rng: Range) -> str:
    """What ``rng`` allows, as the messages say it: ``an integer >= 1``, ``a finite number in [0, 1]``."""
    return str(rng).replace("a number", "a finite number") if rng.kind is float else str(rng)


def _is_scalar(value: Any) -> bool:
    """Whether ``value`` may be a real number: not a bool, string or complex number (Python's,
    numpy's or torch's), and no array or tensor with a dimension."""
    if isinstance(value, (bool, str, bytes, complex)):
        return False
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and value.dtype != torch.bool and not value.is_complex()
    if isinstance(value, (np.ndarray, np.generic)):
        return value.ndim == 0 and value.dtype.kind not in "bc"
    return True


def allows(rng: Range, value: Any) -> bool:
    """Whether ``value`` lies in ``rng``: an integer (``int``, numpy's, a 0-d integer array or
    tensor) for an integer range, a finite real number (a real scalar ``float()`` takes, but no
    string, and not too large for a float) for a real one; never a bool, a complex number or
    anything with a dimension."""
    if not _is_scalar(value):
        return False
    try:
        number = operator.index(value) if rng.kind is int else float(value)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return False
    return (
        (rng.kind is int or math.isfinite(number))
        and (rng.ge is None or number >= rng.ge)
        and (rng.gt is None or number > rng.gt)
        and (rng.le is None or number <= rng.le)
        and (rng.lt is None or number < rng.lt)
    )


def shown(value: Any) -> str:
    """``value`` as a message shows it, on one short line: an array or tensor with a dimension
    by its shape (``a tensor of shape (10, 10)``), anything else by its repr, lines joined and
    cut at 80 characters."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"an array of shape {value.shape}"
    text = " ".join(line.strip() for line in repr(value).splitlines())
    return text if len(text) <= 80 else text[:77] + "..."


def check(name: str, value: V, rng: Range, *, optional: bool = False) -> V:
    """``value`` unchanged if ``rng`` allows it (or it is None and ``optional``); else one
    :class:`ConfigError` line about the argument ``name``."""
    if (optional and value is None) or allows(rng, value):
        return value
    raise ConfigError(f"{name} must be {describe(rng)}{' or None' if optional else ''}, got {shown(value)}")


def count(name: str, value: V, *, least: int = 1, optional: bool = False) -> V:
    """``value`` unchanged if it is an integer ``>= least`` (default 1); see :func:`check`."""
    return check(name, value, COUNT if least == 1 else Range(int, ge=least), optional=optional)


def positive(name: str, value: V, *, optional: bool = False) -> V:
    """``value`` unchanged if it is a finite number ``> 0``; see :func:`check`."""
    return check(name, value, POSITIVE, optional=optional)


def non_negative(name: str, value: V) -> V:
    """``value`` unchanged if it is a finite number ``>= 0``; see :func:`check`."""
    return check(name, value, NON_NEGATIVE)


def unit(name: str, value: V) -> V:
    """``value`` unchanged if it is a finite number in ``[0, 1]``; see :func:`check`."""
    return check(name, value, UNIT)


def each(name: str, values: Iterable[V], rng: Range) -> Iterable[V]:
    """``values`` (a list, tuple or other collection) unchanged if ``rng`` allows every item,
    else one :class:`ConfigError` line naming the first item refused (``eps[1]``); a single
    number (a 0-d array or tensor too) is refused as a whole. An iterator (a generator) comes
    back as a tuple of its items, since checking it uses it up."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or getattr(values, "ndim", None) == 0:
        raise ConfigError(f"{name} must be a list of numbers, each {describe(rng)}, got {shown(values)}")
    if isinstance(values, Iterator):
        values = tuple(values)
    for i, value in enumerate(values):
        check(f"{name}[{i}]", value, rng)
    return values
