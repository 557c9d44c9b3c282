"""The energy report's per-step accessors: the first ``t`` steps of a ``T``-step report, ``t`` in [0, T]."""

import pytest

from fullspike.energy.report import EnergyReport, LayerRow
from fullspike.errors import ConfigError

ROW = LayerRow("conv", "conv", [4.0, 4.0], [1.0, 2.0], [3.0, 0.0], [4.0, 4.0], [0.25, 0.5], once_ac=0.5, once_mac=5.0)


def test_the_first_t_steps_add_up_with_the_once_per_sample_part():
    assert [ROW.ac_at(t) for t in (0, 1, 2)] == [0.5, 1.5, 3.5]
    assert [ROW.mac_at(t) for t in (0, 1, 2)] == [5.0, 8.0, 8.0]


@pytest.mark.parametrize("t", [-1, 3, 1.5, True])
@pytest.mark.parametrize(
    "at",
    [LayerRow.ac_at, LayerRow.mac_at, lambda row, t: EnergyReport(2, 1, 0.9, 4.6, [row]).energy_mj_at(t)],
    ids=["ac_at", "mac_at", "energy_mj_at"],
)
def test_every_per_step_accessor_takes_a_step_count_of_the_report(at, t):
    with pytest.raises(ConfigError, match=r"^t must be an integer in \[0, 2\], got "):
        at(ROW, t)
