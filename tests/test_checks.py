"""The checks of a public function's own numbers: a valid value comes back unchanged, anything else is
one ConfigError line naming the argument, the value and the range; the CLI's options take the same ranges."""

import argparse
import math

import numpy as np
import pytest
import torch

from fullspike import checks
from fullspike.cli import COUNT, FINITE, NON_NEGATIVE, POSITIVE, UNIT
from fullspike.errors import ConfigError


@pytest.mark.parametrize(
    "value", [3, np.int64(3), np.array(3), torch.tensor(3), 10**30], ids=["int", "numpy", "numpy-0d", "tensor", "big"]
)
def test_an_integer_in_range_comes_back_unchanged(value):
    assert checks.count("n", value) is value


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), torch.tensor(0.5)], ids=["float", "int", "numpy", "tensor"])
def test_a_real_in_range_comes_back_unchanged(value):
    assert checks.positive("x", value) is value
    assert checks.unit("x", value) is value


@pytest.mark.parametrize(
    "value",
    [0, -1, 2.0, True, np.True_, torch.tensor(True), "3", None, torch.tensor([1, 2]), torch.tensor([3]), np.array([3])],
)
def test_a_count_refuses_what_is_not_an_integer_of_at_least_one(value):
    with pytest.raises(ConfigError, match=r"^n must be an integer >= 1, got "):
        checks.count("n", value)


@pytest.mark.parametrize(
    "value",
    [0, -0.5, math.nan, math.inf, 10**400, True, np.True_, torch.tensor(True), "1.5", None, np.array([0.5])],
    ids=["0", "negative", "nan", "inf", "huge", "bool", "numpy-bool", "tensor-bool", "str", "None", "array"],
)
@pytest.mark.filterwarnings("error")  # no overflow, no deprecation of an array's float()
def test_a_positive_real_is_finite_and_never_a_bool(value):
    with pytest.raises(ConfigError, match=r"^x must be a finite number > 0, got "):
        checks.positive("x", value)


@pytest.mark.parametrize(
    "value", [1j, np.complex128(1), np.complex64(1), torch.tensor(1 + 0j)], ids=["python", "numpy", "numpy64", "tensor"]
)
@pytest.mark.filterwarnings("error")  # no ComplexWarning: refused before float() drops the imaginary part
def test_a_real_is_never_a_complex_number(value):
    with pytest.raises(ConfigError, match=r"^x must be a finite number > 0, got "):
        checks.positive("x", value)


@pytest.mark.parametrize(
    "value, shown",
    [
        (torch.ones(10, 10), "a tensor of shape (10, 10)"),
        (np.ones((3, 3)), "an array of shape (3, 3)"),
        (list(range(100)), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21..."),
    ],
    ids=["tensor", "array", "long"],
)
def test_a_refused_value_is_shown_on_one_short_line(value, shown):
    with pytest.raises(ConfigError) as err:
        checks.positive("x", value)
    assert str(err.value) == f"x must be a finite number > 0, got {shown}"


class _Lines:
    def __repr__(self) -> str:
        return "first\n    second"


def test_a_repr_of_several_lines_is_joined_into_one():
    with pytest.raises(ConfigError, match=r"^x must be an integer >= 1, got first second$"):
        checks.count("x", _Lines())


def test_an_optional_argument_may_be_none_and_says_so():
    assert checks.count("max_batches", None, optional=True) is None
    with pytest.raises(ConfigError, match=r"^max_batches must be an integer >= 1 or None, got 0$"):
        checks.count("max_batches", 0, optional=True)


def test_each_item_of_a_list_is_checked_and_named_by_its_index():
    values = [0, 0.1]
    assert checks.each("eps", values, checks.NON_NEGATIVE) is values
    assert checks.each("eps", (e for e in values), checks.NON_NEGATIVE) == (0, 0.1)  # a generator, kept
    with pytest.raises(ConfigError, match=r"^eps\[1\] must be a finite number >= 0, got -0.1$"):
        checks.each("eps", [0, -0.1], checks.NON_NEGATIVE)
    for single in (0.1, "0.1", torch.tensor(0.1), np.array(0.1)):
        with pytest.raises(ConfigError, match=r"^eps must be a list of numbers, each a finite number >= 0"):
            checks.each("eps", single, checks.NON_NEGATIVE)


@pytest.mark.parametrize(
    "option, rng, text",
    [
        (COUNT, checks.COUNT, "0"),
        (POSITIVE, checks.POSITIVE, "0"),
        (NON_NEGATIVE, checks.NON_NEGATIVE, "-1"),
        (UNIT, checks.UNIT, "1.5"),
        (FINITE, checks.FINITE, "nan"),
    ],
)
def test_the_command_line_options_take_the_library_ranges(option, rng, text):
    with pytest.raises(argparse.ArgumentTypeError) as cli:
        option(text)
    with pytest.raises(ConfigError) as library:
        checks.check("x", rng.kind(text), rng)
    assert str(cli.value) == f"must be {checks.describe(rng)}, got {text!r}"
    assert str(library.value).startswith(f"x must be {checks.describe(rng)}, got ")


@pytest.mark.parametrize("tau", [1.0, 0.5, float("nan")])
def test_a_constructor_and_a_config_refuse_a_time_constant_with_the_same_range(tau):
    """LIF's own check and the typed argument a config or create_model goes through state one range."""
    from fullspike.models import create_model
    from fullspike.nn import LIF

    with pytest.raises(ConfigError) as direct:
        LIF(tau=tau)
    with pytest.raises(ConfigError) as configured:
        create_model("spiking_resnet18", neuron={"name": "lif", "tau": tau})
    assert "> 1" in str(direct.value) and "> 1" in str(configured.value)
