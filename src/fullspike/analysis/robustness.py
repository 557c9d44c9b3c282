"""Robustness to input noise and adversarial attacks, SNN vs ANN (docs/methods.md, "BNTT").

Perturbations are defined in **pixel space** (images in [0, 1]): Gaussian noise of standard
deviation ``sigma``, and L-infinity attacks of radius ``eps`` (FGSM; PGD with ``steps`` steps of
size ``alpha`` from a uniform random start). Models see normalised inputs ``(pixel - mean) / std``,
so a pixel-space perturbation ``d`` is ``d / std`` per channel in the model's input space, and
perturbed images are clipped to the valid pixel range ``[0, 1]`` (``[-mean/std, (1-mean)/std]``).

Gradients of the SNN are taken through its surrogate gradient (the model's own backward). A
rate-coded input (:class:`~fullspike.nn.RateEncoder`) is not differentiable: the attack uses the
straight-through estimate of its expectation, ``E[s] = x / 2`` (gradient 1/2 per step), while the
forward pass keeps the sampled spikes. Because each forward pass draws new spikes, the gradient of
one draw is noisy: ``draws > 1`` averages the gradient over that many draws of the encoding
(expectation over transformation, EOT), which a sound attack on a stochastic encoder needs.
Attacks target the model's reported prediction (for dual-stream models, the combined head).

Accuracies are measured with common random numbers: every evaluation pass over one batch (the
clean one and each perturbed one) runs on the same encoder draws, seeded per batch from the run's
``seed``. A zero-strength perturbation is then exactly the clean accuracy, and the differences
between attacks and strengths are the perturbations', not a new draw of a rate encoder's spikes.
The attacks' own gradient draws come from another stream (also seeded by ``seed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..errors import ConfigError, ShapeError
from ..models.outputs import prediction
from ..nn import RateEncoder
from ..progress import take_batches
from ..seeding import seeded_draws


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``mean`` (finite) and ``std`` (> 0) of the inputs' normalisation (pixel values
    in [0, 1]): one value per input channel, or one number (or one value) for every channel. A
    tensor or array of any shape (``[C, 1, 1]``) gives its values in order."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _channel_values("mean", self.mean, checks.FINITE))
        object.__setattr__(self, "std", _channel_values("std", self.std, checks.POSITIVE))
        if len(self.std) != len(self.mean) and 1 not in (len(self.mean), len(self.std)):
            raise ConfigError(
                f"mean and std must have one value per input channel (or one for all), got "
                f"{len(self.mean)} and {len(self.std)}: {checks.shown(self.mean)} and {checks.shown(self.std)}"
            )

    def _view(self, values, like: torch.Tensor) -> torch.Tensor:
        if like.dim() == 4 and len(values) not in (1, like.shape[1]):
            raise ShapeError(
                f"the normalisation has {len(values)} values per channel but the images [B, C, H, W] "
                f"have {like.shape[1]} channels; give one mean and one std per channel"
            )
        return torch.tensor(values, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)

    def scale(self, like: torch.Tensor) -> torch.Tensor:
        """``1 / std`` as ``[1, C, 1, 1]`` (``C`` 1 for one std for all channels): multiply a
        pixel-space size to get the input-space one. ``like``: the images, ``[B, C, H, W]``."""
        return 1.0 / self._view(self.std, like)

    def bounds(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Input-space images of the pixel values 0 and 1, ``[1, C, 1, 1]`` each."""
        mean, std = self._view(self.mean, like), self._view(self.std, like)
        return -mean / std, (1.0 - mean) / std


def _channel_values(name: str, values, rng) -> tuple:
    """``values`` as a tuple of checked numbers: one number, a sequence (a generator: its items),
    or a tensor or array of any shape (flattened)."""
    if checks.allows(checks.FINITE, values):  # one number for every channel
        values = (values,)
    elif isinstance(values, (torch.Tensor, np.ndarray)) and values.ndim > 1:
        values = values.flatten().tolist()
    return tuple(checks.each(name, values, rng))


def find_normalization(dataset) -> Normalization:
    """The ``Normalize`` transform of a dataset (looking through ``Subset`` and ``Compose``)."""
    while hasattr(dataset, "dataset") and not hasattr(dataset, "transform"):
        dataset = dataset.dataset
    tf = getattr(dataset, "transform", None)
    for t in getattr(tf, "transforms", [tf]):
        if hasattr(t, "mean") and hasattr(t, "std"):
            return Normalization(tuple(map(float, t.mean)), tuple(map(float, t.std)))
    raise ConfigError(
        f"cannot find the input normalisation of {type(dataset).__name__}; "
        "pass --mean and --std (per-channel, pixel values in [0, 1])"
    )


def _differentiable_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What to feed the model so that gradients reach ``x`` (see the module docstring)."""
    enc = getattr(model, "encoder", None)
    if isinstance(enc, RateEncoder) and x.dim() == 4:
        spikes = enc(x.detach())
        half = x / 2
        return spikes + (half - half.detach()).unsqueeze(0)  # value: spikes; d/dx: 1/2 per step
    return x


def stochastic_input(model: nn.Module) -> bool:
    """Whether ``model`` draws its input spikes at random (a rate encoder): only then do several
    gradient draws differ."""
    return isinstance(getattr(model, "encoder", None), RateEncoder)


def loss_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, draws: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, d loss / d x)``: cross-entropy of the model's prediction, per batch mean, each
    averaged over ``draws`` (>= 1) draws of a stochastic input encoding (one pass for a deterministic one)."""
    return _loss_gradient(model, x, y, checks.count("draws", draws))


def _loss_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, draws: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`loss_gradient` with ``draws`` already checked (by the attacks, once per call, not per PGD step)."""
    x = x.detach().requires_grad_(True)
    total_loss, total_grad = torch.zeros(()), torch.zeros_like(x)
    n = draws if stochastic_input(model) else 1
    with torch.enable_grad():
        for _ in range(n):
            loss = F.cross_entropy(prediction(model(_differentiable_input(model, x))), y)
            (grad,) = torch.autograd.grad(loss, x)
            total_loss, total_grad = total_loss + loss.detach().cpu(), total_grad + grad
    return total_loss / n, total_grad / n


def fgsm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: Normalization, draws: int = 1
) -> torch.Tensor:
    """One signed-gradient step of pixel size ``eps`` (>= 0; gradient averaged over ``draws``
    (>= 1) encoder draws), clipped to valid images."""
    checks.non_negative("eps", eps)
    checks.count("draws", draws)
    if eps == 0:
        return x
    lo, hi = norm.bounds(x)
    _, grad = _loss_gradient(model, x, y, draws)
    return torch.max(torch.min(x + eps * norm.scale(x) * grad.sign(), hi), lo)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: Normalization,
    *,
    steps: int = 7,
    alpha: float | None = 2 / 255,
    random_start: bool = True,
    generator: torch.Generator | None = None,
    draws: int = 1,
) -> torch.Tensor:
    """Projected gradient descent in the pixel-space L-inf ball of radius ``eps`` (>= 0): ``steps``
    (>= 1) signed-gradient steps of pixel size ``alpha`` (> 0; ``None``: ``2.5 * eps / steps``), each
    gradient averaged over ``draws`` (>= 1) encoder draws."""
    checks.non_negative("eps", eps)
    checks.count("steps", steps)
    checks.positive("alpha", alpha, optional=True)
    checks.count("draws", draws)
    if eps == 0:
        return x
    alpha = 2.5 * eps / steps if alpha is None else alpha
    lo, hi = norm.bounds(x)
    scale = norm.scale(x)
    lower, upper = torch.max(x - eps * scale, lo), torch.min(x + eps * scale, hi)
    adv = x
    if random_start:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        adv = torch.max(torch.min(x + (2 * u - 1) * eps * scale, upper), lower)
    for _ in range(steps):
        _, grad = _loss_gradient(model, adv, y, draws)
        adv = torch.max(torch.min(adv + alpha * scale * grad.sign(), upper), lower)
    return adv


def gaussian_noise(
    x: torch.Tensor, sigma: float, norm: Normalization, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x`` plus pixel-space Gaussian noise of std ``sigma`` (>= 0), clipped to valid images."""
    checks.non_negative("sigma", sigma)
    if sigma == 0:
        return x
    lo, hi = norm.bounds(x)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return torch.max(torch.min(x + sigma * norm.scale(x) * noise, hi), lo)


@dataclass
class RobustnessResult:
    """Accuracy (0..1) under each perturbation: ``{"gaussian": {sigma: acc}, "fgsm": {eps: acc},
    "pgd": {eps: acc}}``; strengths in pixel units (eps in [0, 1], not /255). ``shared_draws``:
    the clean and every perturbed accuracy of a batch were measured on the same encoder draws
    (common random numbers; see the module docstring)."""

    clean: float
    accuracy: dict[str, dict[float, float]]
    samples: int
    shared_draws: bool = True

    def to_dict(self) -> dict:
        """The result as a JSON-ready dict (strengths as strings)."""
        return {
            "clean": self.clean,
            "samples": self.samples,
            "shared_draws": self.shared_draws,
            "accuracy": {k: {str(s): a for s, a in v.items()} for k, v in self.accuracy.items()},
        }


def evaluate_robustness(
    model: nn.Module,
    loader,
    norm: Normalization,
    *,
    device: torch.device | str = "cpu",
    eps: Sequence[float] = (0, 2 / 255, 4 / 255, 8 / 255),
    sigmas: Sequence[float] = (0, 0.05, 0.1, 0.2),
    pgd_steps: int = 7,
    pgd_alpha: float | None = 2 / 255,
    attacks: Sequence[str] = ("gaussian", "fgsm", "pgd"),
    max_batches: int | None = None,
    seed: int = 0,
    progress: bool | None = False,
    draws: int = 1,
) -> RobustnessResult:
    """Accuracy of ``model`` (eval mode) on ``loader`` under every perturbation strength (``eps``
    and ``sigmas``: lists of pixel-space strengths, each >= 0); FGSM and PGD average each gradient
    over ``draws`` (>= 1) draws of a stochastic input encoding; PGD takes ``pgd_steps`` (>= 1)
    steps of ``pgd_alpha`` (> 0, or None: see :func:`pgd`); ``max_batches``: at most this many
    (>= 1) batches of ``loader``.

    ``seed`` seeds every random draw: the noise and PGD's random starts, the attacks' encoder
    draws, and the per-batch seeds of the evaluation passes, which share their encoder draws
    (common random numbers: a zero strength gives exactly the clean accuracy). Torch's global
    generators are left as they were."""
    unknown = set(attacks) - {"gaussian", "fgsm", "pgd"}
    if unknown:
        raise ConfigError(f"unknown attack(s) {sorted(unknown)}; choose gaussian, fgsm, pgd")
    eps = checks.each("eps", eps, checks.NON_NEGATIVE)
    sigmas = checks.each("sigmas", sigmas, checks.NON_NEGATIVE)
    checks.count("pgd_steps", pgd_steps)
    checks.positive("pgd_alpha", pgd_alpha, optional=True)
    checks.count("max_batches", max_batches, optional=True)
    checks.count("draws", draws)
    model.eval()
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:  # gradients are needed for the input only
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    batch_seeds = torch.Generator().manual_seed(seed)  # one seed per batch for its evaluation passes
    strengths = {"gaussian": sigmas, "fgsm": eps, "pgd": eps}
    correct = {a: {float(s): 0 for s in strengths[a]} for a in attacks}
    clean, n = 0, 0
    try:
        with seeded_draws(seed, device):  # the attacks' gradient draws
            for x, y in take_batches(loader, max_batches, "robustness", progress):
                x, y = x.to(device), y.to(device)
                draw_seed = int(torch.randint(2**62, (), generator=batch_seeds))

                def right(inp: torch.Tensor) -> int:
                    with torch.no_grad(), seeded_draws(draw_seed, device):  # the batch's common draws
                        return int((prediction(model(inp)).argmax(1) == y).sum())

                clean += right(x)
                n += len(y)
                for a in attacks:
                    for s in strengths[a]:
                        if a == "gaussian":
                            xp = gaussian_noise(x, s, norm, gen)
                        elif a == "fgsm":
                            xp = fgsm(model, x, y, s, norm, draws)
                        else:
                            xp = pgd(model, x, y, s, norm, steps=pgd_steps, alpha=pgd_alpha, generator=gen, draws=draws)
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
    lines = [
        "| attack | strength | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
        "| none | - | " + " | ".join(f"{100 * results[k].clean:.2f}" for k in names) + " |",
    ]
    for attack, accs in first.accuracy.items():
        for s in accs:
            row = [f"{100 * results[k].accuracy[attack][s]:.2f}" for k in names]
            lines.append(f"| {attack} | {_strength(attack, s)} | " + " | ".join(row) + " |")
    return "\n".join(lines)
