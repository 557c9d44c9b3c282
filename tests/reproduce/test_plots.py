"""reproduce/plots.py: which plots a results dict gets, drawn from its numbers."""
from fullspike.reproduce.plots import write_plots


def _results(x):
    def run(variant, seed, rates):
        return {"variant": variant, "label": variant.upper(), "seed": seed, "x": x, "curves": [],
                "energy": {"firing_rates": rates}}

    return {"experiment": "study", "scale": "cpu", "runs": [
        run("a18", 1, {"l1": 0.9, "l2": 0.8}), run("a18", 0, {"l1": 0.2, "l2": 0.1, "l3": 0.3}),
        run("b18", 0, {"l1": 0.5})], "summary": {"variants": {}}}


def test_a_study_over_depth_gets_a_firing_rate_plot_per_variant(tmp_path):
    assert write_plots(_results(18), tmp_path) == ["firing.png"]
    assert (tmp_path / "firing.png").stat().st_size > 1000


def test_other_experiments_get_no_firing_plot(tmp_path):
    assert write_plots(_results(None), tmp_path) == []
