"""fullspike.viz: figures without pyplot state, error-bar series sorted by x, and one line naming the
plot extra when matplotlib is missing."""

import sys

import pytest

from fullspike import viz
from fullspike.errors import MissingDependencyError


def test_a_series_is_drawn_sorted_by_x_and_saved(tmp_path):
    fig = viz.figure(4, 3)
    ax = fig.add_subplot()
    bars = viz.errorbar_series(ax, [50, 18, 34], [30.0, 50.0, 40.0], [1.0, 2.0, 3.0], "DST", color="C1")
    assert list(bars.lines[0].get_xdata()) == [18, 34, 50] and list(bars.lines[0].get_ydata()) == [50.0, 40.0, 30.0]
    assert bars.get_label() == "DST"
    path = viz.save(fig, tmp_path / "sub" / "a.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_one_line_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"^plotting needs matplotlib.*pip install 'fullspike\[plot\]'$"):
        viz.figure()
