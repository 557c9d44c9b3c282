"""Optional plotting helpers (matplotlib, the ``plot`` extra): figures without pyplot's global
state, and the error-bar series most result plots are made of. matplotlib is imported only when a
function here is called; without it, one :class:`~fullspike.errors.MissingDependencyError` line
says how to install it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .optional import require


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


def errorbar_series(ax: Any, x: Sequence[float], mean: Sequence[float], spread: Sequence[float], label: str,
                    **style: Any) -> Any:
    """One series of means with symmetric error bars ``spread`` at ``x`` (sorted by ``x``)."""
    order = sorted(range(len(x)), key=lambda i: x[i])
    return ax.errorbar([x[i] for i in order], [mean[i] for i in order], yerr=[spread[i] for i in order],
                       marker="o", capsize=4, label=label, **style)
