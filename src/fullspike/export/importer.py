"""``from_nir``: run a NIR graph as a time-first PyTorch module (docs/deploy.md).

Every node processes the whole sequence ``[T, B, ...]`` at once: stateless nodes with T folded
into the batch, neurons with :func:`fullspike.functional.neuron_sequence` (the same recurrence
the models use). A node's input is the sum of its incoming edges. Continuous-time neurons are
discretised with forward Euler at step ``dt``::

    IF:   h_t = v_{t-1} + dt r x_t
    LIF:  h_t = v_{t-1} + (dt / tau) (v_leak - v_{t-1} + r x_t)
    fire: s_t = [h_t >= v_th] (or ``>``), hard reset v_t = v_reset where s_t = 1
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import functional as SF
from ..engine import BACKENDS
from ..errors import ExportError
from ..nn import TimeFolded
from ..optional import require
from .validate import POOL_FIELDS, SUPPORTED, check_dt, check_graph, geometry


def _t(a, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=dtype)


def _scalar_or_tensor(a: torch.Tensor):
    """A Python float when every entry is equal (the models' own arithmetic), else the tensor."""
    flat = a.flatten()
    return float(flat[0]) if flat.numel() and bool((flat == flat[0]).all()) else a


def neuron_coefficients(tau, r, v_leak, dt: float, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """``(decay, scale, bias)`` of ``h_t = decay v_{t-1} + scale x_t + bias``, computed in ``dtype``
    from a NIR LIF node's ``tau`` (seconds), ``r`` and ``v_leak`` at step ``dt`` (seconds):
    ``k = dt / tau``, ``(1 - k, k r, k v_leak)``; for an IF node (``tau`` and ``v_leak`` None),
    ``(1, dt r, 0)``. The one place both the importer and the exporter's choice of exact parameters
    (:mod:`.graph`) do this arithmetic."""
    r = _t(r, dtype)
    if tau is None:
        return torch.ones((), dtype=dtype), dt * r, torch.zeros((), dtype=dtype)
    k = dt / _t(tau, dtype)
    return 1.0 - k, k * r, k * _t(v_leak, dtype)


def _uniform(a, what: str, name: str) -> float:
    v = np.unique(np.asarray(a))
    if v.size != 1:
        raise ExportError(f"NIR node '{name}': per-neuron {what} values are not supported by from_nir")
    return float(v[0])


class Neuron(nn.Module):
    """A NIR IF or LIF node: ``h_t = decay v_{t-1} + scale x_t + bias``, fire, hard reset."""

    def __init__(
        self, decay, scale, bias, v_threshold: float, v_reset: float, strict: bool, backend: str = "auto"
    ) -> None:
        super().__init__()
        self.decay, self.scale, self.bias = decay, scale, bias
        self.v_threshold, self.v_reset, self.strict, self.backend = v_threshold, v_reset, strict, backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SF.neuron_sequence(
            x,
            decay=self.decay,
            scale=self.scale,
            bias=self.bias,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            strict=self.strict,
            backend=self.backend,
        )


class Threshold(nn.Module):
    """NIR Threshold: ``[x > theta]`` (``>=`` with ``strict=False``), stateless."""

    def __init__(self, theta: torch.Tensor, strict: bool) -> None:
        super().__init__()
        self.register_buffer("theta", theta)
        self.strict = strict

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.theta if self.strict else x >= self.theta).to(x.dtype)


class Scale(nn.Module):
    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class SumPool2d(nn.Module):
    def __init__(self, kernel, stride, padding) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel, self.stride, self.padding, divisor_override=1)


class Flatten(nn.Module):
    """NIR Flatten (dimensions count from the first per-sample axis) on ``[T, B, ...]``."""

    def __init__(self, start_dim: int, end_dim: int) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.start_dim + 2 if self.start_dim >= 0 else self.start_dim
        e = self.end_dim + 2 if self.end_dim >= 0 else self.end_dim
        return torch.flatten(x, s, e)


def _module(nir, name: str, node, dt: float, strict: bool, dtype: torch.dtype, backend: str) -> nn.Module:
    """The PyTorch module of one NIR node (sequence in, sequence out)."""
    if isinstance(node, (nir.Input, nir.Output)):
        return nn.Identity()
    if isinstance(node, nir.Conv2d):
        w = _t(node.weight, dtype)
        conv = nn.Conv2d(
            w.shape[1] * int(node.groups),
            w.shape[0],
            tuple(w.shape[2:]),
            stride=geometry(name, node, "stride"),
            padding=geometry(name, node, "padding"),
            dilation=geometry(name, node, "dilation"),
            groups=int(node.groups),
            bias=True,
            dtype=dtype,
        )
        conv.weight.data.copy_(w)
        conv.bias.data.copy_(_t(node.bias, dtype))
        return TimeFolded(conv)
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = _t(node.weight, dtype)
        lin = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine), dtype=dtype)
        lin.weight.data.copy_(w)
        if isinstance(node, nir.Affine):
            lin.bias.data.copy_(_t(node.bias, dtype))
        return lin  # nn.Linear acts on the last axis: no folding needed
    if isinstance(node, nir.Flatten):
        return Flatten(int(node.start_dim), int(node.end_dim))
    if isinstance(node, nir.SumPool2d):
        return TimeFolded(SumPool2d(*(geometry(name, node, f) for f in POOL_FIELDS)))
    if isinstance(node, nir.AvgPool2d):
        return TimeFolded(nn.AvgPool2d(*(geometry(name, node, f) for f in POOL_FIELDS)))
    if isinstance(node, nir.Scale):
        return Scale(_t(node.scale, dtype))
    if isinstance(node, nir.Threshold):
        return Threshold(_t(node.threshold, dtype), strict)
    if isinstance(node, (nir.IF, nir.LIF)):
        vth = _uniform(node.v_threshold, "v_threshold", name)
        vr = _uniform(node.v_reset, "v_reset", name)
        tau = None if isinstance(node, nir.IF) else node.tau
        v_leak = None if isinstance(node, nir.IF) else node.v_leak
        decay, scale, bias = (_scalar_or_tensor(c) for c in neuron_coefficients(tau, node.r, v_leak, dt, dtype))
        return Neuron(decay, scale, bias, vth, vr, strict, backend)
    raise ExportError(
        f"NIR node '{name}' of type {type(node).__name__} is not supported by from_nir "
        f"(supported: {', '.join(SUPPORTED)})"
    )


class NIRNetwork(nn.Module):
    """A feed-forward NIR graph run over time: ``forward(x: [T, B, *input]) -> [T, B, *output]``.

    ``nodes(x)`` returns every node's output sequence by name (spikes of neuron nodes included).
    The graph is checked completely before anything is built (:func:`.validate.check_graph`),
    and every call checks the input's per-sample shape.
    """

    def __init__(self, graph, dt: float, strict: bool, dtype: torch.dtype, backend: str = "auto") -> None:
        super().__init__()
        nir = require("nir", extra="nir", purpose="NIR export")
        self.order, preds, shapes = check_graph(graph)
        kinds = {n: type(v).__name__ for n, v in graph.nodes.items()}
        self.input_name = next(n for n in self.order if kinds[n] == "Input")
        self.output_name = next(n for n in self.order if kinds[n] == "Output")
        self.input_shape = shapes[self.input_name]
        self.preds = preds
        self.keys = {n: f"n{i}" for i, n in enumerate(self.order)}  # ModuleDict keys cannot hold '.'
        self.layers = nn.ModuleDict(
            {self.keys[n]: _module(nir, n, graph.nodes[n], dt, strict, dtype, backend) for n in self.order}
        )
        self.dt, self.strict = dt, strict

    def nodes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every node's output sequence by node name for input ``x: [T, B, *input]``."""
        out: dict[str, torch.Tensor] = {}
        for n in self.order:
            if n == self.input_name:
                inp = x
            else:
                srcs = self.preds[n]
                inp = out[srcs[0]]
                for s in srcs[1:]:
                    inp = inp + out[s]
            out[n] = self.layers[self.keys[n]](inp)
        return out

    def check_input(self, x: torch.Tensor) -> None:
        """One ExportError line unless ``x`` is ``[T, B, *input shape]``."""
        if x.dim() != len(self.input_shape) + 2 or tuple(x.shape[2:]) != self.input_shape:
            want = ", ".join(["T", "B", *map(str, self.input_shape)])
            raise ExportError(
                f"this NIR network takes time-first input [{want}]; got shape {list(x.shape)}"
                + (
                    " (add the time axis: x.unsqueeze(0) for one step, or repeat a static image over T)"
                    if tuple(x.shape[1:]) == self.input_shape
                    else ""
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, *input] -> [T, B, *output]``: the output node's sequence (the input shape is checked)."""
        self.check_input(x)
        return self.nodes(x)[self.output_name]


def read_nir(path: str | Path):
    """Read a ``.nir`` file; a missing or unreadable file is one clear error."""
    nir = require("nir", extra="nir", purpose="NIR export")
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"NIR file {path} not found")
    try:
        return nir.read(path)
    except Exception as e:  # h5py/nir raise many types for a corrupt file
        raise ExportError(
            f"cannot read NIR file {path} ({type(e).__name__}: {e}); is it a .nir file written by nir.write?"
        ) from None


def from_nir(
    graph_or_path,
    *,
    dt: float | None = None,
    firing: str | None = None,
    dtype: torch.dtype | None = None,
    backend: str = "auto",
) -> NIRNetwork:
    """A PyTorch module running a NIR graph (or ``.nir`` file) over time-first input.

    ``dt`` (seconds per step) and ``firing`` (``">="`` or ``">"``) default to the values the
    graph's metadata records (fullspike exports), else to 1e-4 s and NIR's ``">"``. ``dtype``
    defaults to that of the graph's weights; ``backend`` is the neurons' (:func:`fullspike.nn.set_backend`).
    Input ``[T, B, *input]`` (a static image repeated
    over T, or frames); output ``[T, B, *output]`` (per-step classifier output).
    """
    graph = read_nir(graph_or_path) if isinstance(graph_or_path, (str, Path)) else graph_or_path
    meta = getattr(graph, "metadata", None) or {}
    dt = check_dt(dt if dt is not None else meta.get("dt", 1e-4))
    firing = str(firing if firing is not None else meta.get("firing", ">"))
    if firing not in (">=", ">"):
        raise ExportError(f"firing must be '>=' or '>', got {firing!r}")
    if dtype is None:
        weights = [np.asarray(getattr(n, "weight")) for n in graph.nodes.values() if hasattr(n, "weight")]
        dtype = torch.float64 if weights and weights[0].dtype == np.float64 else torch.float32
    if backend not in BACKENDS:
        raise ExportError(f"unknown neuron backend '{backend}'; choose one of {list(BACKENDS)}")
    return NIRNetwork(graph, dt, firing == ">", dtype, backend)
