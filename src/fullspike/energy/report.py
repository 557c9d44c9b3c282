"""The energy report: synaptic operations per layer and per time step, per sample.

Every count is **per sample, all time steps included** (means over the samples counted).
Energies are in millijoules: ``1 pJ = 1e-9 mJ``. See docs/methods.md, "Energy accounting".
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import checks
from ..optional import require
from ..params import Range

PJ_TO_MJ = 1e-9


def _steps(t: int, T: int) -> int:
    """``t`` unchanged if it is a number of steps of a ``T``-step report: an integer in ``[0, T]``."""
    return checks.check("t", t, Range(int, ge=0, le=T))


@dataclass
class LayerRow:
    """One synaptic layer (a conv, linear or matrix product, or an accumulation-stream addition).

    ``step_*`` lists hold one value per time step; ``once_*`` values belong to calls that run
    once per sample rather than once per step (a static image's stem, a head after the mean
    over time). ``ops`` are the dense operations an ANN layer would need; ``ac`` are accumulates
    (spike-driven, ``ops * firing_rate``), ``mac`` multiply-accumulates (non-spike input);
    ``ac_ops`` the dense operations of the spike-driven part (``ac`` at firing rate 1).
    ``step_rate``: fraction of non-zero values in the layer's input at each step (None where the
    layer did not run at that step); ``once_rate`` likewise for the once-per-sample part.
    """

    name: str
    op: str
    step_ops: list[float]
    step_ac: list[float]
    step_mac: list[float]
    step_ac_ops: list[float]
    step_rate: list[float | None]
    once_ops: float = 0.0
    once_ac: float = 0.0
    once_mac: float = 0.0
    once_ac_ops: float = 0.0
    once_rate: float | None = None

    @property
    def ops(self) -> float:
        """Dense operations per sample, all steps plus the once-per-sample part."""
        return sum(self.step_ops) + self.once_ops

    @property
    def ac(self) -> float:
        """Accumulates per sample, all steps plus the once-per-sample part."""
        return sum(self.step_ac) + self.once_ac

    @property
    def mac(self) -> float:
        """Multiply-accumulates per sample, all steps plus the once-per-sample part."""
        return sum(self.step_mac) + self.once_mac

    @property
    def ac_ops(self) -> float:
        """Dense operations of the spike-driven part (``ac`` at firing rate 1)."""
        return sum(self.step_ac_ops) + self.once_ac_ops

    @property
    def runs_once(self) -> bool:
        """True when the layer ran only once per sample (no per-step part)."""
        return not any(self.step_ops) and self.once_ops > 0

    @property
    def firing_rate(self) -> float | None:
        """Mean input firing rate over the spike-driven part: ``ac / ac_ops`` (None if no AC)."""
        return self.ac / self.ac_ops if self.ac_ops else None

    @property
    def input_rate(self) -> float | None:
        """Mean fraction of non-zero input values over the steps (and the once part) it ran."""
        rates = [r for r in [*self.step_rate, self.once_rate] if r is not None]
        return sum(rates) / len(rates) if rates else None

    @property
    def ann_ops(self) -> float:
        """Operations of the equivalent ANN layer: one time step, plus the once-per-sample part.
        Accumulation-stream additions are element-wise additions, which an ANN count leaves out."""
        if self.op == "accumulate":
            return 0.0
        n = sum(1 for o in self.step_ops if o)
        return (sum(self.step_ops) / n if n else 0.0) + self.once_ops

    def ac_at(self, t: int) -> float:
        """Accumulates per sample of the first ``t`` steps (plus the once-per-sample part), ``t``
        an integer in ``[0, T]``."""
        return sum(self.step_ac[: _steps(t, len(self.step_ac))]) + self.once_ac

    def mac_at(self, t: int) -> float:
        """Multiply-accumulates per sample of the first ``t`` steps (plus the once-per-sample
        part), ``t`` an integer in ``[0, T]``."""
        return sum(self.step_mac[: _steps(t, len(self.step_mac))]) + self.once_mac


@dataclass
class NeuronRow:
    """One spiking-neuron layer: ``size`` neurons per sample, firing rate per step."""

    name: str
    size: float
    step_rate: list[float]

    @property
    def updates(self) -> float:
        """Membrane updates per sample, all steps (``size * T``)."""
        return self.size * len(self.step_rate)

    @property
    def firing_rate(self) -> float:
        """Mean over the steps of the fraction of this layer's neurons that fired (0 with no steps)."""
        return sum(self.step_rate) / len(self.step_rate) if self.step_rate else 0.0


@dataclass
class EnergyReport:
    """Synaptic operations and energy of a network, per sample.

    Totals (``total_ac``, ``total_mac``, ``energy_mj``, ``ec_range_mj``) cover synaptic layers and
    accumulation-stream additions; membrane updates are reported apart (``total_neuron_updates``)
    and are included in **no** energy total. BN is folded into the conv/linear before it, so it
    costs nothing.
    """

    T: int
    samples: int
    e_ac_pj: float
    e_mac_pj: float
    layers: list[LayerRow]
    neurons: list[NeuronRow] = field(default_factory=list)
    model: str = ""

    # ---- totals (per sample) ----
    @property
    def total_ops(self) -> float:
        """Dense synaptic operations per sample (what an ANN of the same shape would do), all steps."""
        return sum(r.ops for r in self.layers)

    @property
    def total_ac(self) -> float:
        """Accumulates (spike-driven operations) per sample, all steps."""
        return sum(r.ac for r in self.layers)

    @property
    def total_mac(self) -> float:
        """Multiply-accumulates (operations on non-spike inputs) per sample, all steps."""
        return sum(r.mac for r in self.layers)

    @property
    def total_ann_ops(self) -> float:
        """Operations per sample of the equivalent ANN: one time step of each layer plus the
        once-per-sample parts; accumulation-stream additions left out."""
        return sum(r.ann_ops for r in self.layers)

    @property
    def total_neuron_updates(self) -> float:
        """Membrane updates per sample, all steps (in no energy total)."""
        return sum(n.updates for n in self.neurons)

    def _mj(self, ac: float, mac: float) -> float:
        return (self.e_ac_pj * ac + self.e_mac_pj * mac) * PJ_TO_MJ

    @property
    def energy_mj(self) -> float:
        """Dynamic consumption ``E_AC * AC + E_MAC * MAC`` in mJ per sample."""
        return self._mj(self.total_ac, self.total_mac)

    @property
    def ann_energy_mj(self) -> float:
        """The equivalent ANN: ``E_MAC * ops`` with every step counted once, mJ per sample."""
        return self._mj(0.0, self.total_ann_ops)

    @property
    def ec_range_mj(self) -> tuple[float, float]:
        """Estimated consumption: (firing rate 0: ``E_MAC * MAC``, firing rate 1)."""
        ac_ops = sum(r.ac_ops for r in self.layers)
        return self._mj(0.0, self.total_mac), self._mj(ac_ops, self.total_mac)

    def energy_mj_at(self, t: int) -> float:
        """Energy of the first ``t`` steps (plus what runs once): an early exit at step ``t``, an
        integer in ``[0, T]``."""
        _steps(t, self.T)
        return self._mj(sum(r.ac_at(t) for r in self.layers), sum(r.mac_at(t) for r in self.layers))

    @property
    def step_firing_rates(self) -> list[float]:
        """Fraction of all neurons that fire, per time step."""
        size = sum(n.size for n in self.neurons)
        if not size:
            return []
        steps = max(len(n.step_rate) for n in self.neurons)
        return [sum(n.size * n.step_rate[t] for n in self.neurons if t < len(n.step_rate)) / size for t in range(steps)]

    # ---- output ----
    def summary(self) -> dict:
        """The totals as a JSON-ready dict: counts per sample, energies in mJ, the firing rate and
        energy after each step."""
        lo, hi = self.ec_range_mj
        return {
            "model": self.model,
            "T": self.T,
            "samples": self.samples,
            "e_ac_pj": self.e_ac_pj,
            "e_mac_pj": self.e_mac_pj,
            "total_ops": self.total_ops,
            "total_ac": self.total_ac,
            "total_mac": self.total_mac,
            "energy_mj": self.energy_mj,
            "ann_energy_mj": self.ann_energy_mj,
            "ec_range_mj": [lo, hi],
            "total_neuron_updates": self.total_neuron_updates,
            "step_firing_rates": self.step_firing_rates,
            "energy_mj_at_step": [self.energy_mj_at(t) for t in range(1, self.T + 1)],
        }

    def to_dict(self) -> dict:
        """``{"summary": ..., "layers": [...], "neurons": [...]}``, JSON-ready."""
        layers = []
        for r in self.layers:
            d = asdict(r)
            d.update(
                ops=r.ops,
                ac=r.ac,
                mac=r.mac,
                firing_rate=r.firing_rate,
                input_rate=r.input_rate,
                ann_ops=r.ann_ops,
                runs_once=r.runs_once,
            )
            layers.append(d)
        neurons = [dict(asdict(n), firing_rate=n.firing_rate) for n in self.neurons]
        return {"summary": self.summary(), "layers": layers, "neurons": neurons}

    def save_json(self, path: str | Path, **extra) -> Path:
        """Write :meth:`to_dict` to ``path`` (parents created), with the JSON-able ``extra`` keys
        beside it (what the counts ran on: ``analysis_set``); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.to_dict(), **extra}, indent=2))
        return path

    def table(self) -> str:
        """The per-layer table (counts per sample, all steps) and the totals, as text.
        ``in-rate``: fraction of non-zero input values (the firing rate for spike inputs)."""
        head = f"{'layer':<34} {'op':<11} {'ops':>9} {'in-rate':>7} {'AC':>9} {'MAC':>9}"
        lines = [head, "-" * len(head)]
        for r in self.layers:
            rate = "-" if r.input_rate is None else f"{r.input_rate:.3f}"
            name = r.name + (" (once)" if r.runs_once else "")
            lines.append(
                f"{name[-34:]:<34} {r.op:<11} {fmt_count(r.ops):>9} {rate:>7} "
                f"{fmt_count(r.ac):>9} {fmt_count(r.mac):>9}"
            )
        lo, hi = self.ec_range_mj
        lines += [
            "-" * len(head),
            f"{'total':<34} {'':<11} {fmt_count(self.total_ops):>9} {'':>7} "
            f"{fmt_count(self.total_ac):>9} {fmt_count(self.total_mac):>9}",
            f"T={self.T}, {self.samples} sample(s); per sample, all steps: "
            f"energy {self.energy_mj:.4g} mJ (E_AC={self.e_ac_pj} pJ, E_MAC={self.e_mac_pj} pJ); "
            f"ANN {self.ann_energy_mj:.4g} mJ; EC range [{lo:.4g}, {hi:.4g}] mJ",
        ]
        if self.neurons:
            rates = ", ".join(f"{r:.3f}" for r in self.step_firing_rates)
            lines.append(
                f"membrane updates {fmt_count(self.total_neuron_updates)} (not in the energy); "
                f"firing rate per step: [{rates}]"
            )
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Per-layer AC/MAC bars, and firing rate and cumulative energy per step (PNG)."""
        require("matplotlib", extra="plot", purpose="drawing plots")
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = Figure(figsize=(16, 4.5))
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3, 1, 1]})
        x = range(len(self.layers))
        axes[0].bar(x, [r.ac for r in self.layers], label="AC")
        axes[0].bar(x, [r.mac for r in self.layers], bottom=[r.ac for r in self.layers], label="MAC")
        axes[0].set_yscale("symlog")
        axes[0].set_xticks(list(x), [r.name for r in self.layers], rotation=90, fontsize=6)
        axes[0].set_ylabel("operations per sample")
        axes[0].legend()
        steps = list(range(1, self.T + 1))
        rates = self.step_firing_rates
        if rates:
            axes[1].plot(range(1, len(rates) + 1), rates, marker="o")
        axes[1].set(xlabel="time step", ylabel="firing rate (all neurons)")
        axes[2].plot(steps, [self.energy_mj_at(t) for t in steps], marker="o", label="SNN")
        axes[2].axhline(self.ann_energy_mj, color="gray", ls="--", label="ANN")
        axes[2].set(xlabel="time step", ylabel="energy up to step (mJ/sample)")
        for ax in axes[1:]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[2].legend()
        fig.suptitle(self.model or "energy")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        return path


def fmt_count(n: float) -> str:
    """``1234567 -> '1.23M'``."""
    if n == 0 or not math.isfinite(n):
        return f"{n:.0f}"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"
