"""Robustness to input noise and adversarial attacks, SNN vs ANN (docs/methods.md, "BNTT").

Perturbations are defined in **pixel space** (images in [0, 1]): Gaussian noise of standard
deviation ``sigma``, and L-infinity attacks of radius ``eps`` (FGSM; PGD with ``steps`` steps of
size ``alpha`` from a uniform random start). Models see normalised inputs ``(pixel - mean) / std``,
so a pixel-space perturbation ``d`` is ``d / std`` per channel in the model's input space, and
perturbed images are clipped to the valid pixel range ``[0, 1]`` (``[-mean/std, (1-mean)/std]``).

Gradients of the SNN are taken through its surrogate gradient (the model's own backward). A
rate-coded input (:class:`~fullspike.nn.RateEncoder`) is not differentiable: the attack uses the
straight-through estimate of its expectation, ``E[s] = x / 2`` (gradient 1/2 per step), while the
forward pass keeps the sampled spikes. Attacks target the model's reported prediction (for
dual-stream models, the combined head).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..models.outputs import prediction
from ..nn import RateEncoder
from ..optional import require
from ..progress import take_batches


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``mean`` and ``std`` of the inputs' normalisation (pixel values in [0, 1])."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def _view(self, values, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(values, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)

    def scale(self, like: torch.Tensor) -> torch.Tensor:
        """``1 / std`` as ``[1, C, 1, 1]``: multiply a pixel-space size to get the input-space one."""
        return 1.0 / self._view(self.std, like)

    def bounds(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Input-space images of the pixel values 0 and 1, ``[1, C, 1, 1]`` each."""
        mean, std = self._view(self.mean, like), self._view(self.std, like)
        return -mean / std, (1.0 - mean) / std


def find_normalization(dataset) -> Normalization:
    """The ``Normalize`` transform of a dataset (looking through ``Subset`` and ``Compose``)."""
    while hasattr(dataset, "dataset") and not hasattr(dataset, "transform"):
        dataset = dataset.dataset
    tf = getattr(dataset, "transform", None)
    for t in getattr(tf, "transforms", [tf]):
        if hasattr(t, "mean") and hasattr(t, "std"):
            return Normalization(tuple(map(float, t.mean)), tuple(map(float, t.std)))
    raise ConfigError(f"cannot find the input normalisation of {type(dataset).__name__}; "
                      "pass --mean and --std (per-channel, pixel values in [0, 1])")


def _differentiable_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What to feed the model so that gradients reach ``x`` (see the module docstring)."""
    enc = getattr(model, "encoder", None)
    if isinstance(enc, RateEncoder) and x.dim() == 4:
        spikes = enc(x.detach())
        half = x / 2
        return spikes + (half - half.detach()).unsqueeze(0)  # value: spikes; d/dx: 1/2 per step
    return x


def loss_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, d loss / d x)``: cross-entropy of the model's prediction, per batch mean."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(prediction(model(_differentiable_input(model, x))), y)
        (grad,) = torch.autograd.grad(loss, x)
    return loss.detach(), grad


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: Normalization) -> torch.Tensor:
    """One signed-gradient step of pixel size ``eps``, clipped to valid images."""
    if eps == 0:
        return x
    lo, hi = norm.bounds(x)
    _, grad = loss_gradient(model, x, y)
    return torch.max(torch.min(x + eps * norm.scale(x) * grad.sign(), hi), lo)


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: Normalization, *,
        steps: int = 7, alpha: float = 2 / 255, random_start: bool = True,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent in the pixel-space L-inf ball of radius ``eps``."""
    if eps == 0:
        return x
    lo, hi = norm.bounds(x)
    scale = norm.scale(x)
    lower, upper = torch.max(x - eps * scale, lo), torch.min(x + eps * scale, hi)
    adv = x
    if random_start:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        adv = torch.max(torch.min(x + (2 * u - 1) * eps * scale, upper), lower)
    for _ in range(steps):
        _, grad = loss_gradient(model, adv, y)
        adv = torch.max(torch.min(adv + alpha * scale * grad.sign(), upper), lower)
    return adv


def gaussian_noise(x: torch.Tensor, sigma: float, norm: Normalization,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` plus pixel-space Gaussian noise of std ``sigma``, clipped to valid images."""
    if sigma == 0:
        return x
    lo, hi = norm.bounds(x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return torch.max(torch.min(x + sigma * norm.scale(x) * noise, hi), lo)


@dataclass
class RobustnessResult:
    """Accuracy (0..1) under each perturbation: ``{"gaussian": {sigma: acc}, "fgsm": {eps: acc},
    "pgd": {eps: acc}}``; strengths in pixel units (eps in [0, 1], not /255)."""

    clean: float
    accuracy: dict[str, dict[float, float]]
    samples: int

    def to_dict(self) -> dict:
        return {"clean": self.clean, "samples": self.samples,
                "accuracy": {k: {str(s): a for s, a in v.items()} for k, v in self.accuracy.items()}}


def evaluate_robustness(model: nn.Module, loader, norm: Normalization, *, device: torch.device | str = "cpu",
                        eps: Sequence[float] = (0, 2 / 255, 4 / 255, 8 / 255),
                        sigmas: Sequence[float] = (0, 0.05, 0.1, 0.2), pgd_steps: int = 7,
                        pgd_alpha: float = 2 / 255, attacks: Sequence[str] = ("gaussian", "fgsm", "pgd"),
                        max_batches: int | None = None, seed: int = 0,
                        progress: bool | None = False) -> RobustnessResult:
    """Accuracy of ``model`` (eval mode) on ``loader`` under every perturbation strength."""
    unknown = set(attacks) - {"gaussian", "fgsm", "pgd"}
    if unknown:
        raise ConfigError(f"unknown attack(s) {sorted(unknown)}; choose gaussian, fgsm, pgd")
    model.eval()
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:  # gradients are needed for the input only
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    strengths = {"gaussian": sigmas, "fgsm": eps, "pgd": eps}
    correct = {a: {float(s): 0 for s in strengths[a]} for a in attacks}
    clean, n = 0, 0
    try:
        for x, y in take_batches(loader, max_batches, "robustness", progress):
            x, y = x.to(device), y.to(device)

            def right(inp: torch.Tensor) -> int:
                with torch.no_grad():
                    return int((prediction(model(inp)).argmax(1) == y).sum())

            clean += right(x)
            n += len(y)
            for a in attacks:
                for s in strengths[a]:
                    if a == "gaussian":
                        xp = gaussian_noise(x, s, norm, gen)
                    elif a == "fgsm":
                        xp = fgsm(model, x, y, s, norm)
                    else:
                        xp = pgd(model, x, y, s, norm, steps=pgd_steps, alpha=pgd_alpha, generator=gen)
                    correct[a][float(s)] += right(xp)
    finally:
        for p in trainable:
            p.requires_grad_(True)
    if not n:
        raise ConfigError("evaluate_robustness got no batches")
    return RobustnessResult(clean / n, {a: {s: c / n for s, c in v.items()} for a, v in correct.items()}, n)


def _strength(attack: str, s: float) -> str:
    return f"sigma={s:g}" if attack == "gaussian" else f"eps={s * 255:g}/255"


def robustness_table(results: dict[str, RobustnessResult]) -> str:
    """A text (Markdown) table: one row per perturbation, one accuracy column per model."""
    names = list(results)
    first = results[names[0]]
    lines = ["| attack | strength | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names),
             "| none | - | " + " | ".join(f"{100 * results[k].clean:.2f}" for k in names) + " |"]
    for attack, accs in first.accuracy.items():
        for s in accs:
            row = [f"{100 * results[k].accuracy[attack][s]:.2f}" for k in names]
            lines.append(f"| {attack} | {_strength(attack, s)} | " + " | ".join(row) + " |")
    return "\n".join(lines)


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
        ax.set(xlabel="noise std (pixels)" if attack == "gaussian" else "eps (/255)", ylabel="accuracy (%)",
               title=attack.upper() if attack != "gaussian" else "Gaussian noise")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
