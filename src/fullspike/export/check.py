"""The deployability check: which layers run on spike-only hardware through NIR, and why not.

Per layer: exportable (with its NIR mapping) or the reason it is not (soft reset, ADD residuals
producing integers, BNTT's per-step scales, attention products, layers fed non-spikes, ...).
The share of synaptic operations that are spike accumulates is measured with
:func:`fullspike.energy.count_synaptic_ops` on real inputs (docs/deploy.md).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import checks
from ..dst import has_aap, remove_aap
from ..energy import count_synaptic_ops, fold_bn
from ..errors import ConfigError
from ..progress import take_batches
from .convert import build, to_nir
from .graph import LayerStatus
from .peers import peer_warnings


@dataclass
class DeployReport:
    """Per-layer statuses and the spike-driven share of the synaptic operations (per sample, all
    steps): ``ops`` dense operations, ``ac_ops`` of them on spike inputs; ``ac`` accumulates and
    ``mac`` multiply-accumulates actually performed (ACs only where spikes arrive). ``peers``:
    what other frameworks' importers do with the graph (:func:`~fullspike.export.peers.peer_warnings`;
    empty without the ``nir`` package or when not exportable)."""

    model: str
    rows: list[LayerStatus]
    ac_ops: float
    ops: float
    ac: float
    mac: float
    samples: int
    input_kind: str
    peers: list[str] = field(default_factory=list)

    @property
    def exportable(self) -> bool:
        """Every layer can be exported to NIR."""
        return all(r.ok for r in self.rows)

    @property
    def spike_fraction(self) -> float:
        """Share of the dense synaptic operations whose input is spikes (accumulates)."""
        return self.ac_ops / self.ops if self.ops else 0.0

    @property
    def performed_ac_fraction(self) -> float:
        """Share of the operations performed (ACs + MACs) that are accumulates."""
        return self.ac / (self.ac + self.mac) if self.ac + self.mac else 0.0

    @property
    def refused(self) -> list[LayerStatus]:
        """The layers that cannot be exported, with why."""
        return [r for r in self.rows if not r.ok]

    def table(self) -> str:
        """The report as text: one line per layer, the spike-accumulate share and the verdict."""
        width = max([len(r.name) for r in self.rows] + [5])
        kind = max([len(r.kind) for r in self.rows] + [4])
        lines = [
            f"deployability of {self.model} (NIR, spike-only hardware); input: {self.input_kind}",
            f"{'layer':<{width}}  {'type':<{kind}}  status",
        ]
        for r in self.rows:
            status = f"ok: {r.detail}" if r.ok else f"NOT EXPORTABLE: {r.detail}"
            lines.append(f"{r.name:<{width}}  {r.kind:<{kind}}  {status}")
        n = len(self.refused)
        lines.append(
            f"spike accumulates: {100 * self.spike_fraction:.2f}% of synaptic operations have spike "
            f"inputs; performed per sample: {self.ac:.4g} AC, {self.mac:.4g} MAC "
            f"({100 * self.performed_ac_fraction:.2f}% AC; {self.samples} samples)"
        )
        lines.append(
            "verdict: exportable to NIR"
            if not n
            else f"verdict: not exportable ({n} layer{'s' if n > 1 else ''} above)"
        )
        lines += self.peers
        return "\n".join(lines)

    def status(self) -> str:
        """``"exportable"`` or ``"not exportable (N layers): <layer (type): why>; ..."`` naming the
        first refused layer of each layer type (zoo cards)."""
        if self.exportable:
            return "exportable"
        first: dict[str, LayerStatus] = {}
        for r in self.refused:
            first.setdefault(r.kind, r)
        n = len(self.refused)
        return f"not exportable ({n} layer{'s' if n > 1 else ''}): " + "; ".join(
            f"{r.name} ({r.kind}): {r.detail}" for r in first.values()
        )


def check_deployable(
    model: nn.Module,
    inputs,
    *,
    max_batches: int | None = 1,
    dt: float = 1e-4,
    gates: str = "threshold",
    progress: bool | None = False,
    name: str | None = None,
) -> DeployReport:
    """Check every layer of ``model`` for NIR export and count its spike-driven operations.

    ``inputs``: a batch (images ``[B, C, H, W]`` or frames ``[T, B, C, H, W]``) or an iterable
    of batches / ``(x, y)`` tuples, of real data (default BN statistics of an untrained network
    make deep layers silent); the first ``max_batches`` (>= 1, or None: all) are counted. ``name``: the model's name
    in the report (default: its class name). Needs no ``nir`` package; with it, an exportable
    model's graph (``gates``) is built and the report lists the importers that refuse it or run it
    silently wrong (:func:`~fullspike.export.peers.peer_warnings`).

    Example:
        ```python
        import torch
        import fullspike
        from fullspike.export import check_deployable

        report = check_deployable(fullspike.create_model("bntt_convnet", T=2), torch.rand(4, 1, 8, 8))
        print(report.table())  # one line per layer: ok, or why not
        assert not report.exportable  # BNTT's per-step norm and soft reset have no NIR form
        ```
    """
    checks.count("max_batches", max_batches, optional=True)
    batches = (
        [inputs]
        if isinstance(inputs, torch.Tensor)
        else [
            b if isinstance(b, torch.Tensor) else b[0] for b in take_batches(inputs, max_batches, "checking", progress)
        ]
    )
    if not batches:
        raise ConfigError("check_deployable got no input batches")
    b, _, _, kind = build(model, batches[0], dt=dt, gates=gates, graph=False)
    report = count_synaptic_ops(fold_bn(model), batches)
    layers = [r for r in report.layers if r.op != "accumulate"]
    peers = []
    if all(r.ok for r in b.rows) and importlib.util.find_spec("nir") is not None:
        peers = peer_warnings(to_nir(model, batches[0], dt=dt, gates=gates))
    return DeployReport(
        name or type(model).__name__,
        b.rows,
        sum(r.ac_ops for r in layers),
        sum(r.ops for r in layers),
        sum(r.ac for r in layers),
        sum(r.mac for r in layers),
        report.samples,
        kind,
        peers,
    )


def deployable(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """``(model, name)`` to export: a dual-stream model's FSNN (accumulation pathway removed,
    :func:`fullspike.dst.remove_aap`), any other model as it is."""
    if has_aap(model):
        return remove_aap(model), f"{name} (FSNN: accumulation pathway removed)"
    return model, name


def nir_status(model: nn.Module, inputs: torch.Tensor) -> str:
    """A zoo card's deployability line, from :func:`check_deployable` of :func:`deployable` ``(model)``
    on a real batch ``inputs``: ``"NIR: exportable"`` (``"... as its FSNN ..."`` for dual-stream
    models) or ``"NIR: not exportable: <first refused layer and why> (+N more layers)"``."""
    net, _ = deployable(model, "")
    status = check_deployable(net, inputs).status()
    fsnn = " as its FSNN (accumulation pathway removed)" if net is not model and status == "exportable" else ""
    return f"NIR: {status}{fsnn}"
