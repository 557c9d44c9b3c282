"""The neuron modules' own arguments: a nonsense threshold or time constant is one line naming it
(the dynamics themselves are tested in tests/functional/test_neuron_dynamics.py)."""

import math

import pytest
import torch

from fullspike.errors import ConfigError
from fullspike.nn import IF, LIF, PLIF


@pytest.mark.parametrize("neuron", [IF, LIF, PLIF])
@pytest.mark.parametrize("v_threshold", [-1.0, 0.0, math.nan, True])
def test_the_threshold_is_a_positive_number(neuron, v_threshold):
    with pytest.raises(ConfigError, match=rf"^{neuron.__name__} v_threshold must be a finite number > 0, got "):
        neuron(v_threshold=v_threshold)


@pytest.mark.parametrize("neuron", [LIF, PLIF])
@pytest.mark.parametrize(
    "tau", [math.nan, math.inf, 10**400, torch.ones(3, 3) * 3], ids=["nan", "inf", "huge", "matrix"]
)
def test_the_time_constant_is_a_finite_number_above_one(neuron, tau):
    with pytest.raises(ConfigError, match=rf"^{neuron.__name__} tau must be a finite number > 1, got [^\n]*$"):
        neuron(tau=tau)


@pytest.mark.parametrize("neuron", [IF, LIF, PLIF])
@pytest.mark.parametrize("v_reset", [math.nan, math.inf, True])
def test_the_reset_potential_is_a_finite_number_or_none(neuron, v_reset):
    """As a config's ``neuron: {v_reset: .nan}`` is refused; None (a soft reset) is allowed."""
    with pytest.raises(ConfigError, match=rf"^{neuron.__name__} v_reset must be a finite number or None, got "):
        neuron(v_reset=v_reset)
    assert neuron(v_reset=None).v_reset is None and neuron(v_reset=-0.5).v_reset == -0.5


@pytest.mark.parametrize("leak", [-0.5, "0.9"])
def test_the_leak_factor_is_a_number_in_the_unit_interval(leak):
    with pytest.raises(ConfigError, match=r"^LIF leak must be a finite number in \(0, 1\], got "):
        LIF(leak=leak)
