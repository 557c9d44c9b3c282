"""Plots of an experiment's results (figures without pyplot state): per-epoch curves,
test accuracy with error bars (against ``x`` per series, or per variant), energy against accuracy,
firing rate per spiking layer (studies over ``x``), and the early-exit, robustness and per-step
statistics analyses. Each is a PNG beside results.json. Drawn through :mod:`fullspike.viz`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fullspike.viz import errorbar_series, figure, save


def _save(fig: Any, folder: Path, name: str) -> str:
    save(fig, folder / name)
    return name


def _finish(ax: Any, xlabel: str, ylabel: str, title: str, legend_size: int = 7) -> None:
    """Label a line plot's axes and title, with a light grid and a legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)


def _curves(results: dict, folder: Path) -> str | None:
    runs = [r for r in results["runs"] if r["curves"]]
    if not runs:
        return None
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    colours = {}
    for r in runs:
        c = colours.setdefault(r["variant"], f"C{len(colours) % 10}")
        key = "val_accuracy" if "val_accuracy" in r["curves"][0] else "train_accuracy"
        ep = [row["epoch"] for row in r["curves"] if key in row]
        acc = [100 * row[key] for row in r["curves"] if key in row]
        ax.plot(
            ep,
            acc,
            color=c,
            marker="o",
            ms=3,
            ls="-" if r["seed"] == runs[0]["seed"] else "--",
            label=f"{r['label']} (seed {r['seed']}, {key.split('_')[0]})",
        )
    _finish(ax, "epoch", "accuracy (%)", f"{results['experiment']} ({results['scale']}): per-epoch accuracy")
    return _save(fig, folder, "curves.png")


def _accuracy(results: dict, folder: Path) -> str | None:
    variants = {k: v for k, v in results["summary"]["variants"].items() if v["test_accuracy"]}
    if not variants:
        return None
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    if all(v["x"] is not None for v in variants.values()):
        for i, series in enumerate(dict.fromkeys(v["series"] for v in variants.values())):
            members = [v for v in variants.values() if v["series"] == series]
            # a dual-stream net's FSNN (the same net without its AAP) is a series of its own, dashed
            for key, label, style in (
                ("test_accuracy", series, "-"),
                ("fsnn_test_accuracy", f"{series} as FSNN", "--"),
            ):
                pts = sorted((v["x"], v[key]) for v in members if v.get(key))
                if pts:
                    errorbar_series(
                        ax,
                        [p[0] for p in pts],
                        [100 * p[1]["mean"] for p in pts],
                        [100 * p[1]["std"] for p in pts],
                        label,
                        ls=style,
                        color=f"C{i % 10}",
                    )
        ax.set_xlabel(results.get("x_label") or "x")
        ax.legend(fontsize=8)
    else:
        names = list(variants)
        ax.bar(
            range(len(names)),
            [100 * variants[n]["test_accuracy"]["mean"] for n in names],
            yerr=[100 * variants[n]["test_accuracy"]["std"] for n in names],
            capsize=5,
            color="C0",
        )
        ax.set_xticks(range(len(names)), [variants[n]["label"] for n in names], fontsize=8)
    if results.get("target"):
        ax.axhline(100 * results["target"], color="k", ls=":", label="target")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.set_title(f"{results['experiment']} ({results['scale']})")
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, folder, "accuracy.png")


def _energy(results: dict, folder: Path) -> str | None:
    variants = {k: v for k, v in results["summary"]["variants"].items() if v["energy_mj"] and v["test_accuracy"]}
    if len(variants) < 2:
        return None
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    for i, (name, v) in enumerate(variants.items()):
        acc = 100 * v["test_accuracy"]["mean"]
        ax.errorbar(
            v["energy_mj"]["mean"],
            acc,
            yerr=100 * v["test_accuracy"]["std"],
            marker="o",
            color=f"C{i % 10}",
            capsize=3,
            label=v["label"],
        )
        if v.get("fsnn_energy_mj") and v.get("fsnn_test_accuracy"):
            ax.scatter(
                v["fsnn_energy_mj"]["mean"], 100 * v["fsnn_test_accuracy"]["mean"], marker="x", color=f"C{i % 10}"
            )
    _finish(
        ax,
        "energy per sample (mJ; x: FSNN, the same net without its AAP)",
        "test accuracy (%)",
        f"{results['experiment']} ({results['scale']}): energy vs accuracy",
    )
    return _save(fig, folder, "energy.png")


def _firing(results: dict, folder: Path) -> str | None:
    """Firing rate of every spiking layer, in network order, per variant (its lowest finished seed),
    for studies over ``x`` (the depth study)."""
    runs: dict = {}
    for r in sorted(results["runs"], key=lambda r: r["seed"]):
        rates = (r.get("energy") or {}).get("firing_rates")
        if r.get("x") is not None and rates and r["variant"] not in runs:
            runs[r["variant"]] = (r, rates)
    if not runs:
        return None
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    for i, (r, rates) in enumerate(runs.values()):
        ax.plot(
            range(1, len(rates) + 1),
            list(rates.values()),
            marker="o",
            ms=3,
            color=f"C{i % 10}",
            label=f"{r['label']} (seed {r['seed']})",
        )
    _finish(
        ax,
        "spiking layer, input to output",
        "firing rate (spikes per neuron and step)",
        f"{results['experiment']} ({results['scale']}): firing rate per layer",
    )
    return _save(fig, folder, "firing.png")


def _first_per_variant(results: dict, key: str) -> list[dict]:
    """The finished run of the lowest seed of every variant that has analysis ``key``."""
    first: dict = {}
    for r in sorted((r for r in results["runs"] if r.get(key)), key=lambda r: r["seed"]):
        first.setdefault(r["variant"], r)
    return list(first.values())


def _early_exit(results: dict, folder: Path) -> list[str]:
    done = [r for r in results["runs"] if r.get("early_exit")]
    if not done:
        return []
    shown = _first_per_variant(results, "early_exit")
    fig = figure(7 * len(shown), 4.2)
    for i, r in enumerate(shown):
        ee = r["early_exit"]
        ax = fig.add_subplot(1, len(shown), i + 1)
        steps = range(1, ee["T"] + 1)
        for layer, g in ee["layer_gamma"].items():
            ax.plot(steps, g, lw=1, label=layer)
        ax.plot(steps, ee["mean_gamma"], "k", lw=2.5, label="mean")
        ax.axhline(ee["threshold"], color="k", ls=":")
        ax.set_xlabel("time step t")
        ax.set_ylabel("mean BNTT gamma_t")
        ax.set_title(f"{r['label']} (seed {r['seed']}): BNTT scales per layer; exit step {ee['exit_step']}", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    names = [_save(fig, folder, "gamma.png")]
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    for r in done:
        e = r["early_exit"]
        (line,) = ax.plot(
            range(1, e["T"] + 1),
            [100 * a for a in e["accuracy"]],
            marker="o",
            ms=3,
            label=f"{r['label']}, seed {r['seed']}",
        )
        ax.axvline(e["exit_step"], ls=":", color=line.get_color())
    _finish(ax, "exit step T'", "test accuracy (%)", "accuracy vs exit step (dotted: the step the gamma rule picks)", 8)
    names.append(_save(fig, folder, "exit_accuracy.png"))
    return names


def _time_statistics(results: dict, folder: Path) -> list[str]:
    """Per BNTT variant (lowest seed): each layer's per-step shift and scale against the pooled
    statistics (:mod:`fullspike.analysis.time_statistics`)."""
    shown = [r for r in _first_per_variant(results, "time_statistics") if r["time_statistics"]["layers"]]
    if not shown:
        return []
    fig = figure(11, 3.6 * len(shown))
    for i, r in enumerate(shown):
        st = r["time_statistics"]
        for j, (key, what) in enumerate(
            (("shift", "|mu_t - mu| / sigma (pooled)"), ("scale", "sigma_t / sigma (pooled)"))
        ):
            ax = fig.add_subplot(len(shown), 2, 2 * i + j + 1)
            steps = range(1, len(st[key]) + 1)
            for layer, v in st["layers"].items():
                ax.plot(steps, v[key], lw=1, label=layer)
            ax.plot(steps, st[key], "k", lw=2.5, label="mean")
            ax.axhline(0 if key == "shift" else 1, color="k", ls=":")
            ax.set_xlabel("time step t")
            ax.set_ylabel(what, fontsize=8)
            ax.set_title(f"{r['label']} (seed {r['seed']}): per-step {key}", fontsize=9)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.legend(fontsize=6, ncol=2)
    return [_save(fig, folder, "time_statistics.png")]


def _robustness(results: dict, folder: Path) -> list[str]:
    done = [r for r in results["runs"] if r.get("robustness")]
    if not done:
        return []
    attacks = list(done[0]["robustness"]["accuracy"])
    fig = figure(4 * len(attacks), 3.6)
    for i, attack in enumerate(attacks):
        ax = fig.add_subplot(1, len(attacks), i + 1)
        for r in done:
            acc = r["robustness"]["accuracy"][attack]
            xs = [float(s) * (1 if attack == "gaussian" else 255) for s in acc]
            ax.plot(
                xs,
                [100 * a for a in acc.values()],
                marker="o",
                ls="-" if r["seed"] == done[0]["seed"] else "--",
                label=f"{r['label']} s{r['seed']}",
            )
        ax.set_xlabel("sigma" if attack == "gaussian" else "eps (/255)")
        ax.set_title(attack)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.set_ylabel("accuracy (%)")
            ax.legend(fontsize=7)
    return [_save(fig, folder, "robustness.png")]


def write_plots(results: dict, folder: Path) -> list[str]:
    """Draw every plot the results support into ``folder``; returns the file names."""
    names = [_curves(results, folder), _accuracy(results, folder), _energy(results, folder), _firing(results, folder)]
    return (
        [n for n in names if n]
        + _early_exit(results, folder)
        + _robustness(results, folder)
        + _time_statistics(results, folder)
    )
