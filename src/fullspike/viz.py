"""Optional plotting helpers (matplotlib, the ``plot`` extra): figures without pyplot's global
state, and the error-bar series most result plots are made of. matplotlib is imported only when a
function here is called; without it, one :class:`~fullspike.errors.MissingDependencyError` line
says how to install it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .optional import require

if TYPE_CHECKING:
    import torch

    from .analysis.early_exit import EarlyExitResult
    from .analysis.robustness import RobustnessResult


def figure(width: float = 7.0, height: float = 4.2) -> Any:
    """A new ``matplotlib.figure.Figure`` of ``width`` x ``height`` inches (no pyplot state)."""
    return require("matplotlib.figure", extra="plot", purpose="plotting").Figure(figsize=(width, height))


def save(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Lay ``fig`` out tightly and write it to ``path`` (PNG by suffix); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path


def errorbar_series(
    ax: Any, x: Sequence[float], mean: Sequence[float], spread: Sequence[float], label: str, **style: Any
) -> Any:
    """One series of means with symmetric error bars ``spread`` at ``x`` (sorted by ``x``)."""
    order = sorted(range(len(x)), key=lambda i: x[i])
    return ax.errorbar(
        [x[i] for i in order],
        [mean[i] for i in order],
        yerr=[spread[i] for i in order],
        marker="o",
        capsize=4,
        label=label,
        **style,
    )


# ---------------------------------------------------------------- plots of the analyses (fullspike.analysis)
def plot_gamma(gammas: dict[str, torch.Tensor], path: str | Path, threshold: float | None = None) -> Path:
    """Gamma over time per layer: the mean over channels (line) and its 10-90% band."""
    require("matplotlib", extra="plot", purpose="drawing plots")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .analysis.early_exit import mean_gamma_per_step

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, g in gammas.items():
        t = range(1, g.shape[0] + 1)
        ax.plot(t, g.mean(1), marker=".", label=name)
        lo, hi = g.quantile(0.1, dim=1), g.quantile(0.9, dim=1)
        ax.fill_between(t, lo, hi, alpha=0.15)
    mean = mean_gamma_per_step(gammas)
    ax.plot(range(1, len(mean) + 1), mean, "k--", lw=2, label="mean over layers")
    if threshold is not None:
        ax.axhline(threshold, color="red", lw=1, ls=":", label=f"threshold {threshold}")
    ax.set(xlabel="time step", ylabel="BNTT gamma", title="BNTT gamma over time per layer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_accuracy_energy(result: EarlyExitResult, path: str | Path) -> Path:
    """Accuracy and energy per sample against the number of steps run."""
    require("matplotlib", extra="plot", purpose="drawing plots")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = range(1, result.T + 1)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot(t, [100 * a for a in result.accuracy], "o-", color="tab:blue", label="accuracy")
    ax.axvline(result.exit_step, color="gray", ls=":", label=f"exit step {result.exit_step}")
    ax.set(xlabel="time steps run (T')", ylabel="accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if result.energy_mj:
        ax2 = ax.twinx()
        ax2.plot(t, result.energy_mj, "s--", color="tab:orange", label="energy")
        ax2.set_ylabel("energy per sample (mJ)")
        ax2.legend(loc="lower right")
    ax.legend(loc="center right")
    ax.set_title("early exit: accuracy and energy vs time step")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_robustness(results: dict[str, RobustnessResult], path: str | Path) -> Path:
    """Accuracy vs strength, one panel per perturbation, one line per model."""
    require("matplotlib", extra="plot", purpose="drawing plots")
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attacks = list(next(iter(results.values())).accuracy)
    fig = Figure(figsize=(4.5 * len(attacks), 4))
    axes = fig.subplots(1, len(attacks), squeeze=False)
    for ax, attack in zip(axes[0], attacks):
        for name, r in results.items():
            s = list(r.accuracy[attack])
            xs = s if attack == "gaussian" else [v * 255 for v in s]
            ax.plot(xs, [100 * r.accuracy[attack][v] for v in s], "o-", label=name)
        ax.set(
            xlabel="noise std (pixels)" if attack == "gaussian" else "eps (/255)",
            ylabel="accuracy (%)",
            title=attack.upper() if attack != "gaussian" else "Gaussian noise",
        )
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
