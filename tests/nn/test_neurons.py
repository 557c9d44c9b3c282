"""The neuron modules' own arguments: a nonsense threshold or time constant is one line naming it
(the dynamics themselves are tested in tests/functional/test_neuron_dynamics.py)."""

import math

import pytest

from fullspike.errors import ConfigError
from fullspike.nn import IF, LIF, PLIF


@pytest.mark.parametrize("neuron", [IF, LIF, PLIF])
@pytest.mark.parametrize("v_threshold", [-1.0, 0.0, math.nan, True])
def test_the_threshold_is_a_positive_number(neuron, v_threshold):
    with pytest.raises(ConfigError, match=rf"^{neuron.__name__} v_threshold must be a finite number > 0, got "):
        neuron(v_threshold=v_threshold)


@pytest.mark.parametrize("neuron", [LIF, PLIF])
@pytest.mark.parametrize("tau", [math.nan, math.inf])
def test_the_time_constant_is_a_finite_number_above_one(neuron, tau):
    with pytest.raises(ConfigError, match=rf"^{neuron.__name__} tau must be a finite number > 1, got "):
        neuron(tau=tau)


@pytest.mark.parametrize("leak", [-0.5, "0.9"])
def test_the_leak_factor_is_a_number_in_the_unit_interval(leak):
    with pytest.raises(ConfigError, match=r"^LIF leak must be a finite number in \(0, 1\], got "):
        LIF(leak=leak)
