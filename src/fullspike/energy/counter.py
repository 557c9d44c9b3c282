"""Counting synaptic operations (ACs and MACs) of a spiking network from a real forward pass.

How it counts (docs/methods.md, "Energy accounting"):

* Every conv (``F.conv1d/2d/3d``), linear (``F.linear``) and matrix product (``torch.matmul``,
  ``@``, ``mm``, ``bmm``) is intercepted with a :class:`~torch.overrides.TorchFunctionMode`, so
  modules and functional calls (attention's ``Q @ K^T``) count alike. A call's dense operation
  count is what an ANN layer needs: output elements times the reduction length
  (conv ``C_in/groups * k_h * k_w``, linear ``in``, matmul ``K``).
* The decision is made per input tensor and per time step, from the values: a step whose input
  holds only {0, 1} (or BNTT's signed {-1, 0, 1}) is spike-driven, each operation an accumulate
  that happens when a spike arrives: ``AC += ops * firing_rate``. Any other step is
  ``MAC += ops``. For a product of two tensors, the product is spike-driven when either operand
  is; if both are, the sparser one (lower firing rate) triggers the accumulates.
* BN is not counted: it is folded into the conv/linear before it (:func:`~fullspike.energy.fold_bn`;
  counting a folded network gives the same numbers).
* Time steps. Stateless layers see T folded into the batch, so the counter must know T: from
  ``T=`` if given, else from frame inputs ``[T, B, C, H, W]``, else ``model.T``. A call whose
  output's first dimension is a multiple of ``T*B`` (or is ``[T, B, ...]``) is split into T equal,
  time-major chunks, one per step. A call on exactly B samples runs once per sample (a static
  image's stem computed once, a head after the mean over time); a
  :class:`~fullspike.energy.fold.StepwiseSynapse` (a BNTT-folded layer) calls its layer once per
  step on B samples, and those calls are steps 1..T in order.
* Accumulation-stream additions (DST's AAP, ``A_out = A' + O``) are ACs, one per incoming spike:
  every :class:`fullspike.dst.Accumulate` module (``forward(a, o)``, ``o`` the incoming spikes)
  is counted so.
* Membrane updates of spiking neurons (one per neuron per step) and their firing rates are
  recorded apart and are in no energy total.
* Counts are per sample (means over every sample passed), all time steps included.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import checks
from ..dst.blocks import Accumulate
from ..errors import ConfigError, ShapeError
from ..nn import SpikingNeuron, TimeFolded
from ..progress import take_batches
from .fold import StepwiseSynapse
from .report import EnergyReport, LayerRow, NeuronRow

ACCUMULATE = "accumulate"

_CONV = {F.conv1d: "conv1d", F.conv2d: "conv2d", F.conv3d: "conv3d"}
_MATMUL = {
    torch.matmul: "matmul",
    torch.Tensor.matmul: "matmul",
    torch.mm: "matmul",
    torch.Tensor.mm: "matmul",
    torch.bmm: "matmul",
    torch.Tensor.bmm: "matmul",
}


#: modules whose own calls are named after the module itself in the report
SYNAPTIC_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, StepwiseSynapse)


def spike_chunks(x: torch.Tensor) -> torch.Tensor:
    """For ``x: [n, m]``: per row, whether every value is in {-1, 0, 1} (binary or signed spikes)."""
    return ((x == 0) | (x == 1) | (x == -1)).all(1)


@dataclass
class _Call:
    kind: str  # "step" (split into T chunks), "batch" (B samples, one chunk), "other" (one chunk)
    ops: torch.Tensor  # [n] dense operations per chunk (whole batch)
    ac: torch.Tensor
    mac: torch.Tensor
    ac_ops: torch.Tensor
    nz: torch.Tensor  # [n] non-zeros of the layer's input
    numel: torch.Tensor  # [n] elements of the layer's input


class _Acc:
    """Sums over samples; index t < T is time step t, index T is 'runs once'."""

    FIELDS = ("ops", "ac", "mac", "ac_ops", "nz", "numel")

    def __init__(self, T: int) -> None:
        for f in self.FIELDS:
            setattr(self, f, torch.zeros(T + 1, dtype=torch.float64))

    def add(self, call: _Call, at: slice | int) -> None:
        for f in self.FIELDS:
            v = getattr(call, f)
            getattr(self, f)[at] += v if isinstance(at, slice) else v.sum()


class _Counter(TorchFunctionMode):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.T = self.B = 1
        self.stack: list[tuple[str, nn.Module, dict]] = []
        self.pending: dict[tuple, list[_Call]] = {}
        self.names: dict[tuple, tuple[str, str]] = {}
        self.stepwise: set[tuple] = set()  # keys of StepwiseSynapse calls (one call per step)
        self.acc: dict[tuple, _Acc] = {}
        self.neurons: dict[str, list[torch.Tensor]] = {}  # name -> [nz per step, numel per step]
        self.samples = 0
        self.handles = []
        modules = dict(model.named_modules())
        for path, m in modules.items():
            if isinstance(modules.get(path.rpartition(".")[0]), TimeFolded):
                path = path.rpartition(".")[0]  # a wrapped layer is named after its wrapper
            self.handles.append(m.register_forward_pre_hook(self._push(path)))
            self.handles.append(m.register_forward_hook(self._pop, always_call=True))
            if isinstance(m, Accumulate):
                self.handles.append(m.register_forward_hook(self._accumulate(path)))
            if isinstance(m, SpikingNeuron):
                self.handles.append(m.register_forward_hook(self._neuron(path)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    # ---- module stack, for naming the rows ----
    def _push(self, path: str):
        def hook(module, args):
            self.stack.append((path, module, {}))

        return hook

    def _pop(self, module, args, output):
        if self.stack and self.stack[-1][1] is module:
            self.stack.pop()

    def _key(self, op: str) -> tuple:
        path, module, seen = self.stack[-1] if self.stack else ("", None, {})
        if isinstance(module, SYNAPTIC_MODULES):
            key, name = (path, op), path
            if isinstance(module, StepwiseSynapse):
                self.stepwise.add(key)
        else:
            i = seen.get(op, 0)
            seen[op] = i + 1
            key, name = (path, op, i), f"{path}:{op}#{i}" if path else f"{op}#{i}"
        self.names.setdefault(key, (name, op))
        return key

    # ---- time steps ----
    def _split(self, out: torch.Tensor) -> tuple[int, str]:
        """How many time-step chunks the first dimension of ``out`` holds, and the call kind."""
        T, B = self.T, self.B
        if out.dim() == 0:
            return 1, "other"
        d0 = out.shape[0]
        if d0 % (T * B) == 0 or (out.dim() >= 2 and d0 == T and out.shape[1] == B):
            return T, "step"
        return 1, "batch" if d0 == B else "other"

    @staticmethod
    def _operand(t: torch.Tensor, n: int, aligned: bool):
        """Per-chunk (non-zeros, numel, is-spike) of an operand, ``[n]`` each."""
        k = n if aligned and t.dim() > 0 and t.shape[0] % n == 0 else 1
        v = t.detach().reshape(k, -1)
        nz = (v != 0).sum(1).double().cpu()
        spike = spike_chunks(v).cpu()
        numel = torch.full((k,), float(v.shape[1]), dtype=torch.float64)
        if k != n:
            nz, spike, numel = nz.expand(n), spike.expand(n), numel.expand(n)
        return nz, numel, spike

    def _record(self, op: str, out: torch.Tensor, ops: float, operands: list[tuple[torch.Tensor, bool]]) -> None:
        n, kind = self._split(out)
        stats = [self._operand(t, n, aligned) for t, aligned in operands]
        rates = torch.stack([nz / numel.clamp(min=1) for nz, numel, _ in stats])
        spikes = torch.stack([s for _, _, s in stats])
        driven = spikes.any(0)
        trigger = torch.where(spikes, rates, torch.full_like(rates, float("inf"))).min(0).values
        per = torch.full((n,), ops / n, dtype=torch.float64)
        zero = torch.zeros_like(per)
        call = _Call(
            kind,
            per,
            torch.where(driven, per * trigger, zero),
            torch.where(driven, zero, per),
            torch.where(driven, per, zero),
            stats[0][0].clone(),
            stats[0][1].clone(),
        )
        self.pending.setdefault(self._key(op), []).append(call)

    # ---- interception ----
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if isinstance(out, torch.Tensor):
            if func in _CONV:
                x, w = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
                batched = x.dim() == w.dim()
                self._record(
                    _CONV[func],
                    out if batched else out[None],
                    out.numel() * w[0].numel(),
                    [(x if batched else x[None], True)],
                )
            elif func is F.linear:
                x, w = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
                self._record("linear", out, out.numel() * w.shape[-1], [(x, x.dim() > 1)])
            elif func in _MATMUL or func is torch.Tensor.__rmatmul__:
                a, b = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "other")
                if func is torch.Tensor.__rmatmul__:
                    a, b = b, a
                self._record(
                    "matmul",
                    out,
                    out.numel() * a.shape[-1],
                    [(a, a.dim() == out.dim() and out.dim() >= 2), (b, b.dim() == out.dim() and b.dim() >= 3)],
                )
        return out

    def _accumulate(self, path: str):
        def hook(module, args, output):
            spikes = args[-1].detach()
            n, kind = self._split(spikes)
            v = spikes.reshape(n, -1)
            nz = (v != 0).sum(1).double().cpu()
            numel = torch.full((n,), float(v.shape[1]), dtype=torch.float64)
            key = (path, ACCUMULATE)
            self.names.setdefault(key, (path, ACCUMULATE))
            self.pending.setdefault(key, []).append(
                _Call(kind, numel, nz, torch.zeros_like(nz), numel.clone(), nz.clone(), numel.clone())
            )

        return hook

    def _neuron(self, path: str):
        def hook(module, args, output):
            s = output.detach()
            v = s.reshape(s.shape[0], -1)
            nz = torch.zeros(self.T, dtype=torch.float64)
            numel = torch.zeros(self.T, dtype=torch.float64)
            steps = min(s.shape[0], self.T)
            nz[:steps] = (v[:steps] != 0).sum(1).double().cpu()
            numel[:steps] = v.shape[1]
            acc = self.neurons.setdefault(path, [torch.zeros(self.T, dtype=torch.float64)] * 2)
            self.neurons[path] = [acc[0] + nz, acc[1] + numel]

        return hook

    # ---- one forward ----
    def run(self, x: torch.Tensor, T: int, B: int) -> None:
        if self.samples and T != self.T:
            raise ShapeError(f"all batches must have the same number of time steps; got {T} after {self.T}")
        self.T, self.B = T, B
        self.pending, self.stack = {}, []
        with self:
            self.model(x)
        for key, calls in self.pending.items():
            acc = self.acc.setdefault(key, _Acc(T))
            kinds = [c.kind for c in calls]
            as_steps = key in self.stepwise and kinds.count("batch") == T
            b = 0
            for c in calls:
                if c.kind == "step":
                    acc.add(c, slice(0, T))
                elif c.kind == "batch" and as_steps:
                    acc.add(c, b)
                    b += 1
                else:
                    acc.add(c, T)
        self.samples += B

    def report(self, e_ac_pj: float, e_mac_pj: float, model_name: str) -> EnergyReport:
        S, T = float(self.samples), self.T
        rows = []
        for key, a in self.acc.items():
            name, op = self.names[key]
            rate = (a.nz / a.numel.clamp(min=1)).tolist()
            rows.append(
                LayerRow(
                    name,
                    op,
                    *(((getattr(a, f)[:T]) / S).tolist() for f in ("ops", "ac", "mac", "ac_ops")),
                    step_rate=[r if a.numel[t] > 0 else None for t, r in enumerate(rate[:T])],
                    once_ops=float(a.ops[T] / S),
                    once_ac=float(a.ac[T] / S),
                    once_mac=float(a.mac[T] / S),
                    once_ac_ops=float(a.ac_ops[T] / S),
                    once_rate=rate[T] if a.numel[T] > 0 else None,
                )
            )
        neurons = [
            NeuronRow(name, float(numel[0] / S), (nz / numel.clamp(min=1)).tolist())
            for name, (nz, numel) in self.neurons.items()
        ]
        return EnergyReport(T, self.samples, e_ac_pj, e_mac_pj, rows, neurons, model_name)


def _arg(args, kwargs, i: int, name: str):
    return args[i] if len(args) > i else kwargs[name]


def infer_steps(
    model: nn.Module, x: torch.Tensor, T: int | None = None, batch_size: int | None = None
) -> tuple[int, int]:
    """``(T, B)`` of one input: frames ``[T, B, C, H, W]`` give both; images ``[B, ...]`` give B
    and take T from ``model.T``. Explicit ``T`` / ``batch_size`` override."""
    if x.dim() == 5:
        steps, B = x.shape[0], x.shape[1]
    else:
        steps, B = getattr(model, "T", None), x.shape[0]
    steps = T if T is not None else steps
    if steps is None:
        raise ConfigError(
            f"cannot tell the number of time steps: {type(model).__name__} has no `T` "
            "attribute and the input is not frames [T, B, C, H, W]; pass T=..."
        )
    return int(steps), int(batch_size if batch_size is not None else B)


@torch.no_grad()
def count_synaptic_ops(
    model: nn.Module,
    inputs,
    *,
    e_ac_pj: float = 0.9,
    e_mac_pj: float = 4.6,
    T: int | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    progress: bool | None = False,
    name: str | None = None,
) -> EnergyReport:
    """Count ACs and MACs of ``model`` on ``inputs``, per sample, all time steps included.

    Args:
        model: any network; it is run in evaluation mode (its mode is restored afterwards).
        inputs: one input batch (images ``[B, C, H, W]`` or frames ``[T, B, C, H, W]``), or an
            iterable of batches or of ``(x, y, ...)`` tuples (a data loader): the report is the
            mean per sample over all of them.
        e_ac_pj: energy per accumulate (AC) in pJ, > 0 (45 nm default).
        e_mac_pj: energy per multiply-accumulate (MAC) in pJ, > 0 (45 nm default).
        T: time steps, >= 1 (default: the frames' T, else ``model.T``); needed to split
            T-folded layers into steps.
        batch_size: samples per batch, >= 1, when the input's layout does not tell it.
        max_batches: stop after this many batches (>= 1) of an iterable.
        name: the model's name in the report (default: its class name).

    Example:
        ```python
        import torch
        import fullspike
        from fullspike.energy import count_synaptic_ops

        model = fullspike.create_model("bntt_convnet", T=4)
        report = count_synaptic_ops(model, torch.rand(8, 1, 8, 8))  # one batch [B, C, H, W]
        print(report.table())  # per layer: dense ops, input rate, AC, MAC; totals and energy (mJ)
        assert report.total_ac + report.total_mac <= report.total_ops  # per sample, all steps
        ```
    """
    checks.positive("e_ac_pj", e_ac_pj)
    checks.positive("e_mac_pj", e_mac_pj)
    checks.count("T", T, optional=True)
    checks.count("batch_size", batch_size, optional=True)
    checks.count("max_batches", max_batches, optional=True)
    was_training = model.training
    model.eval()
    counter = _Counter(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        for item in take_batches(inputs, max_batches, "counting", progress):
            x = (item if isinstance(item, torch.Tensor) else item[0]).to(device)
            counter.run(x, *infer_steps(model, x, T, batch_size))
    finally:
        counter.remove()
        model.train(was_training)
    if not counter.samples:
        raise ConfigError("count_synaptic_ops got no input batches")
    return counter.report(e_ac_pj, e_mac_pj, name or type(model).__name__)
