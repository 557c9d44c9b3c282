"""studies/plots.py: which plots a results dict gets, drawn from its numbers."""

from studies.plots import write_plots


def _results(x):
    def run(variant, seed, rates):
        return {
            "variant": variant,
            "label": variant.upper(),
            "seed": seed,
            "x": x,
            "curves": [],
            "energy": {"firing_rates": rates},
        }

    return {
        "experiment": "study",
        "scale": "cpu",
        "runs": [
            run("a18", 1, {"l1": 0.9, "l2": 0.8}),
            run("a18", 0, {"l1": 0.2, "l2": 0.1, "l3": 0.3}),
            run("b18", 0, {"l1": 0.5}),
        ],
        "summary": {"variants": {}},
    }


def test_a_study_over_depth_gets_a_firing_rate_plot_per_variant(tmp_path):
    assert write_plots(_results(18), tmp_path) == ["firing.png"]
    assert (tmp_path / "firing.png").stat().st_size > 1000


def test_other_experiments_get_no_firing_plot(tmp_path):
    assert write_plots(_results(None), tmp_path) == []


def test_accuracy_vs_depth_draws_a_dual_stream_nets_fsnn_as_its_own_series(tmp_path, monkeypatch):
    from studies import plots

    figures = {}
    monkeypatch.setattr(plots, "_save", lambda fig, folder, name: figures.setdefault(name, fig) and name)

    def acc(mean):
        return {"mean": mean, "std": 0.01, "n": 2}

    variants = {
        f"{s}{d}": {
            "x": d,
            "series": series,
            "label": f"{series}-{d}",
            "test_accuracy": acc(a),
            "energy_mj": None,
            **({"fsnn_test_accuracy": acc(f)} if f else {}),
        }
        for s, series, d, a, f in [
            ("s", "Spiking", 18, 0.4, None),
            ("s", "Spiking", 50, 0.3, None),
            ("d", "DST", 18, 0.5, 0.45),
            ("d", "DST", 50, 0.6, 0.35),
        ]
    }
    plots._accuracy(
        {"experiment": "dst_depth", "scale": "cpu", "x_label": "depth", "runs": [], "summary": {"variants": variants}},
        tmp_path,
    )
    ax = figures["accuracy.png"].axes[0]
    drawn = {
        c.get_label(): (list(c.lines[0].get_xdata()), [round(y, 6) for y in c.lines[0].get_ydata()])
        for c in ax.containers
    }
    assert drawn == {
        "Spiking": ([18, 50], [40.0, 30.0]),
        "DST": ([18, 50], [50.0, 60.0]),
        "DST as FSNN": ([18, 50], [45.0, 35.0]),
    }
