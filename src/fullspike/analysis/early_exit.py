"""BNTT early exit (Kim & Panda 2021; docs/methods.md, "BNTT", "Early exit").

* **Exit step from the parameters alone.** BNTT's learnt per-step scales ``gamma_t`` shrink
  towards 0 at late steps. For each step t, ``gamma_t`` is averaged over channels within each
  BNTT layer, then over the layers (each layer weighs the same); the exit step is the first t
  after which that average stays below ``threshold`` (default 0.1): the number of steps to run.
* **Accuracy and energy at every T' <= T from one pass.** A BNTT network is causal (membranes
  run forward in time, each step has its own BN statistics, inputs are encoded per step), so
  its prediction after T' steps is the mean of the first T' per-step outputs of a T-step run:
  ``model.forward_steps(x) -> [T, B, K]`` gives every T' at once. Energy at T' is the synaptic
  energy of steps 1..T' (:meth:`~fullspike.energy.EnergyReport.energy_mj_at`).
* **Per-sample exit** (beyond the paper): a sample stops at the first step where the softmax of
  its running mean output has a top-1 minus top-2 probability margin of at least ``margin``
  (else at T). Reported: mean latency (steps), accuracy, and energy (the mean per-step energy
  profile at each sample's exit step). With a validation loader the margin is chosen there (the
  lowest mean latency whose validation accuracy is at least the full-T validation accuracy) and
  only the test number at that margin is reported as the result (:attr:`EarlyExitResult.chosen`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from .. import checks
from ..data.selection import balanced_selection
from ..errors import ConfigError
from ..models.base import StepwiseClassifier
from ..nn import BNTT1d, BNTT2d
from ..progress import take_batches


def gamma_statistics(model: nn.Module, name: str = "") -> dict[str, torch.Tensor]:
    """``{layer name: gamma [T, C]}`` of every BNTT layer (``BNTT1d/BNTT2d.gamma()``); a model
    without one is one :class:`ConfigError` line naming it as ``name`` (e.g. its checkpoint and
    registered model name)."""
    gammas = {n: m.gamma().float().cpu() for n, m in model.named_modules() if isinstance(m, (BNTT1d, BNTT2d))}
    if not gammas:
        raise ConfigError(
            f"{name or 'this network'} has no BNTT layers: early exit reads the BNTT scales (gammas) of each time "
            "step, so it needs a BNTT model (model.norm=bntt, e.g. bntt_convnet or vgg9_bntt)"
        )
    return gammas


def mean_gamma_per_step(gammas: dict[str, torch.Tensor]) -> torch.Tensor:
    """``[T]``: gamma averaged over channels in each layer, then over layers."""
    return torch.stack([g.mean(1) for g in gammas.values()]).mean(0)


def exit_step(mean_gamma: torch.Tensor, threshold: float = 0.1) -> int:
    """Steps to run: the first t (1-based) after which ``mean_gamma`` stays below ``threshold`` (> 0).

    ``T`` when the last step is still at or above the threshold; at least 1.
    """
    checks.positive("threshold", threshold)
    above = (mean_gamma >= threshold).nonzero()
    return max(1, int(above[-1]) + 1) if len(above) else 1


@torch.no_grad()
def step_outputs(
    model: nn.Module,
    loader,
    device: torch.device | str = "cpu",
    max_batches: int | None = None,
    progress: bool | None = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step outputs ``[T, N, K]`` and labels ``[N]`` over ``loader`` (model in eval mode), at
    most ``max_batches`` (>= 1) batches of it."""
    checks.count("max_batches", max_batches, optional=True)
    if not isinstance(model, StepwiseClassifier):
        raise ConfigError(
            f"{type(model).__name__} has no forward_steps(); early exit needs a BNTT "
            "network such as vgg9_bntt or bntt_convnet"
        )
    model.eval()
    outs, labels = [], []
    for x, y in take_batches(loader, max_batches, "early exit", progress):
        outs.append(model.forward_steps(x.to(device)).float().cpu())
        labels.append(y)
    return torch.cat(outs, 1), torch.cat(labels)


def running_logits(steps: torch.Tensor) -> torch.Tensor:
    """``[T, N, K]`` per-step outputs -> ``[T, N, K]`` prediction after each T' (running mean)."""
    counts = torch.arange(1, steps.shape[0] + 1, dtype=steps.dtype).view(-1, 1, 1)
    return steps.cumsum(0) / counts


def accuracy_per_step(steps: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """Accuracy (0..1) of the prediction after T' = 1..T steps."""
    return (running_logits(steps).argmax(2) == labels).float().mean(1).tolist()


def per_sample_exit(steps: torch.Tensor, labels: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample: exit step (1-based) and whether the prediction there is right.

    A sample exits at the first step whose running softmax has top-1 minus top-2 probability
    ``>= margin`` (a margin in [0, 1]); samples that never reach it run all T steps.
    """
    checks.unit("margin", margin)
    probs = running_logits(steps).softmax(2)
    top2 = probs.topk(2, dim=2).values
    sure = (top2[..., 0] - top2[..., 1]) >= margin  # [T, N]
    sure[-1] = True
    exit_idx = sure.float().argmax(0)  # first True
    pred = running_logits(steps).argmax(2).gather(0, exit_idx.view(1, -1)).squeeze(0)
    return exit_idx + 1, pred == labels


def choose_margin(steps: torch.Tensor, labels: torch.Tensor, margins) -> float | None:
    """The margin of ``margins`` with the lowest mean exit step whose accuracy on ``steps [T, N, K]``
    is at least the full-T accuracy (ties: the larger margin); ``None`` when none keeps it."""
    full = accuracy_per_step(steps, labels)[-1]
    kept = []
    for m in margins:
        latency, correct = per_sample_exit(steps, labels, m)
        if float(correct.float().mean()) >= full:
            kept.append((float(latency.float().mean()), -m))
    return -min(kept)[1] if kept else None


@dataclass
class EarlyExitResult:
    """Everything the early-exit analysis measures (energies in mJ per sample)."""

    T: int
    threshold: float
    exit_step: int
    mean_gamma: list[float]
    layer_gamma: dict[str, list[float]]
    accuracy: list[float]  # at T' = 1..T
    samples: int
    energy_mj: list[float] = field(default_factory=list)  # at T' = 1..T (empty if not counted)
    # one entry per margin: test numbers, and with validation samples the validation ones ("val_...")
    per_sample: list[dict] = field(default_factory=list)
    chosen_margin: float | None = None  # chosen on the validation samples (None: none given, or none kept)
    val_samples: int = 0
    val_accuracy_full: float | None = None

    @property
    def chosen(self) -> dict | None:
        """The per-sample entry (test numbers) of the margin chosen on validation."""
        return next((p for p in self.per_sample if p["margin"] == self.chosen_margin), None)

    @property
    def accuracy_at_exit(self) -> float:
        """Accuracy (0..1) of the prediction after the exit step's ``exit_step`` steps."""
        return self.accuracy[self.exit_step - 1]

    @property
    def energy_saved(self) -> float | None:
        """Fraction of the full-T energy saved by exiting at :attr:`exit_step`."""
        if not self.energy_mj:
            return None
        return 1.0 - self.energy_mj[self.exit_step - 1] / self.energy_mj[-1]

    def to_dict(self) -> dict:
        """The result as a JSON-ready dict, with the accuracies at the exit step and at ``T`` and the
        energy saved."""
        return dict(
            asdict(self),
            accuracy_at_exit=self.accuracy_at_exit,
            accuracy_full=self.accuracy[-1],
            energy_saved=self.energy_saved,
        )

    def summary(self) -> str:
        """The result as text: the mean gamma per step, the exit step, the accuracy per step and
        the per-sample exits."""
        lines = [
            f"mean BNTT gamma per step: [{', '.join(f'{g:.3f}' for g in self.mean_gamma)}]",
            f"exit step (threshold {self.threshold}): {self.exit_step} of {self.T}",
            f"accuracy at the exit step: {self.accuracy_at_exit:.4f}; at T={self.T}: "
            f"{self.accuracy[-1]:.4f}  ({self.samples} samples)",
        ]
        if self.energy_mj:
            lines.append(
                f"energy per sample at the exit step: {self.energy_mj[self.exit_step - 1]:.4g} mJ; "
                f"at T={self.T}: {self.energy_mj[-1]:.4g} mJ (saved {100 * self.energy_saved:.1f}%)"
            )
        lines.append("T'  " + "  ".join(f"{t:>6d}" for t in range(1, self.T + 1)))
        lines.append("acc " + "  ".join(f"{a:6.4f}" for a in self.accuracy))
        for p in self.per_sample:
            e = f", energy {p['energy_mj']:.4g} mJ" if p.get("energy_mj") is not None else ""
            lines.append(
                f"per-sample exit, margin {p['margin']}: mean latency {p['mean_latency']:.2f} "
                f"steps, accuracy {p['accuracy']:.4f}{e}"
            )
        return "\n".join(lines)


def analyse_early_exit(
    model: nn.Module,
    loader,
    device: torch.device | str = "cpu",
    *,
    threshold: float = 0.1,
    margins=(0.5, 0.8, 0.9, 0.95),
    energy_batches: int = 2,
    max_batches: int | None = None,
    progress: bool | None = False,
    val_loader=None,
) -> EarlyExitResult:
    """Gamma statistics, exit step (``threshold`` > 0: :func:`exit_step`), accuracy at every T',
    per-sample exit at each of ``margins`` (each in [0, 1]), and (with ``energy_batches > 0``; 0
    skips it) energy at every T' counted on that many batches' worth of ``loader``'s
    samples, class-balanced (:func:`~fullspike.data.selection.balanced_selection`: the first
    batches of a data set stored class by class would be one class; a plain iterable of batches:
    its first ones). ``max_batches`` (>= 1): at most this many batches of ``loader``. With
    ``val_loader`` (validation samples, never the test set) the per-sample margin is chosen there
    (:func:`choose_margin`)."""
    from ..energy import count_synaptic_ops

    checks.positive("threshold", threshold)
    margins = checks.each("margins", margins, checks.UNIT)
    checks.count("energy_batches", energy_batches, least=0)
    checks.count("max_batches", max_batches, optional=True)

    gammas = gamma_statistics(model)
    mg = mean_gamma_per_step(gammas)
    steps, labels = step_outputs(model, loader, device, max_batches, progress)
    T = steps.shape[0]
    energy: list[float] = []
    if energy_batches > 0:
        if isinstance(loader, DataLoader) and loader.batch_size:
            chosen = balanced_selection(loader.dataset, energy_batches * loader.batch_size)
            counted = DataLoader(
                Subset(loader.dataset, chosen), batch_size=loader.batch_size, collate_fn=loader.collate_fn
            )
            report = count_synaptic_ops(model, counted)
        else:  # batches given as a plain iterable: its first ones
            report = count_synaptic_ops(model, loader, max_batches=energy_batches)
        energy = [report.energy_mj_at(t) for t in range(1, T + 1)]
    per_sample = []
    for m in margins:
        latency, correct = per_sample_exit(steps, labels, m)
        entry = {
            "margin": m,
            "mean_latency": float(latency.float().mean()),
            "accuracy": float(correct.float().mean()),
            "latency_histogram": torch.bincount(latency, minlength=T + 1)[1:].tolist(),
        }
        if energy:
            entry["energy_mj"] = float(torch.tensor(energy)[latency - 1].mean())
        per_sample.append(entry)
    chosen, val_n, val_full = None, 0, None
    if val_loader is not None:
        val_steps, val_labels = step_outputs(model, val_loader, device, None, progress)
        chosen, val_n = choose_margin(val_steps, val_labels, margins), len(val_labels)
        val_full = accuracy_per_step(val_steps, val_labels)[-1]
        for entry in per_sample:  # what the choice saw: each margin's validation numbers
            latency, correct = per_sample_exit(val_steps, val_labels, entry["margin"])
            entry["val_mean_latency"] = float(latency.float().mean())
            entry["val_accuracy"] = float(correct.float().mean())
    return EarlyExitResult(
        T,
        threshold,
        min(exit_step(mg, threshold), T),
        mg.tolist(),
        {k: g.mean(1).tolist() for k, g in gammas.items()},
        accuracy_per_step(steps, labels),
        len(labels),
        energy,
        per_sample,
        chosen,
        val_n,
        val_full,
    )
