"""Mapping a fullspike network onto a NIR graph, layer by layer (docs/deploy.md).

:func:`walk` visits a BN-folded network in forward order; every layer type is handled by one
entry of :data:`HANDLERS` (the only place that dispatches on module types). A handler either
emits standard NIR nodes and records the layer as exportable, or records why the layer cannot
run on spike-only hardware. :class:`GraphBuilder` with ``build=True`` (used by
:func:`~fullspike.export.to_nir`) stops at the first such layer with an
:class:`~fullspike.errors.ExportError`; with ``build=False`` (the deployability check) it
records the reason and walks on, without needing the ``nir`` package.

Values between nodes are described by :class:`Ref`: the node(s) whose outputs are **summed**
(a NIR node's input is the sum of its incoming edges), the per-sample shape, and whether the
values are binary spikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..dst import AccumulationPath, DualStreamBlock
from ..energy import StepwiseSynapse
from ..errors import ExportError
from ..models.common import Stem
from ..models.dvs_resnet import DVSResNet
from ..models.resnet import SpikingResNet
from ..models.spikformer import Spikformer
from ..models.vgg_bntt import BNTTVGG
from ..nn import IF, LIF, PLIF, BNTT1d, BNTT2d, RateEncoder, SEWBlock, SpikingBlock, SpikingNeuron, TimeFolded
from ..optional import require
from .importer import neuron_coefficients
from .quantize import check_bits, layer_scale, quantize_tensor

#: how logical residuals and spike max-pooling become standard nodes
GATES = ("threshold", "if")
SPIKES, INPUT, REAL = "spikes", "input", "real"
#: the Ref kind of event-count frames: non-negative integers (counts), not spikes
COUNTS = "counts"


@dataclass(frozen=True)
class Ref:
    """A value in the graph: the sum of the outputs of ``names``, per-sample ``shape``; ``kind``
    is ``"spikes"`` (binary), ``"input"`` (the graph input: a real image), ``"counts"`` (the graph
    input: event-count frames) or ``"real"``; ``origin`` names the layer that made a real value."""

    names: tuple[str, ...]
    shape: tuple[int, ...]
    kind: str = SPIKES
    origin: str = ""

    def plus(self, other: "Ref", kind: str = REAL, origin: str = "") -> "Ref":
        return Ref(self.names + other.names, self.shape, kind, origin)


@dataclass
class LayerStatus:
    """One layer of the deployability check: exportable (with its NIR mapping) or the reason not."""

    name: str
    kind: str
    ok: bool
    detail: str


@dataclass
class GraphBuilder:
    """Collects NIR nodes and edges (``build=True``) or only the per-layer statuses.

    ``dt``: seconds per time step of the exported continuous-time neurons; ``gates``:
    ``"threshold"`` (NIR Threshold and Scale nodes) or ``"if"`` (stateless IF neurons and 1x1
    convolutions, for importers without Threshold/Scale; docs/deploy.md). ``quantize``: weight
    bits (per-layer symmetric integers + a scale node, :mod:`.quantize`) or None (real weights).
    """

    dt: float = 1e-4
    gates: str = "threshold"
    build: bool = True
    dtype: torch.dtype = torch.float32
    original: dict[str, nn.Module] = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    rows: list[LayerStatus] = field(default_factory=list)
    firing: str | None = None
    quantize: int | None = None

    def __post_init__(self) -> None:
        if self.quantize is not None:
            check_bits(self.quantize)
        if self.gates not in GATES:
            raise ExportError(f"unknown gates '{self.gates}'; choose one of {list(GATES)}")
        # the graph stores dt and r = 1/dt in its dtype: neither may overflow to inf or round to 0
        with np.errstate(over="ignore", divide="ignore"):
            scaled = np.array([self.dt, 1.0 / self.dt if self.dt else np.inf], dtype=self.np_dtype)
        if not (self.dt > 0 and np.isfinite(scaled).all() and (scaled > 0).all()):
            raise ExportError(
                f"dt must be a positive number of seconds per time step whose reciprocal fits "
                f"{self.dtype} (about 1e-38..1e38 s in float32), got {self.dt}"
            )
        self.nir = require("nir", extra="nir", purpose="NIR export") if self.build else None

    # ---- nodes ----
    def node(self, name: str, make: Callable, *inputs: Ref) -> str:
        """Add node ``name`` = ``make(nir)`` fed by ``inputs`` (summed); returns ``name``."""
        if name in self.nodes:
            raise RuntimeError(f"duplicate NIR node name {name!r}")
        self.nodes[name] = make(self.nir) if self.build else None
        for ref in inputs:
            self.edges.extend((src, name) for src in ref.names)
        return name

    @property
    def np_dtype(self) -> np.dtype:
        return torch.empty((), dtype=self.dtype).numpy().dtype

    def array(self, value, shape: tuple[int, ...]) -> np.ndarray:
        return np.full(shape, value, dtype=self.np_dtype)

    def kind(self, name: str, module: nn.Module) -> str:
        """The layer's type in the model as given (before BN folding)."""
        return type(self.original.get(name, module)).__name__

    def ok(self, name: str, module: nn.Module, detail: str) -> None:
        self.rows.append(LayerStatus(name, self.kind(name, module), True, detail))

    def refuse(self, name: str, module: nn.Module, reason: str, out: Ref) -> Ref:
        """Record that ``name`` cannot be deployed; raise when building a graph."""
        if self.build:
            raise ExportError(
                f"cannot export layer '{name}' ({self.kind(name, module)}) to NIR: {reason} "
                "(`fullspike export --check` lists every such layer)"
            )
        self.rows.append(LayerStatus(name, self.kind(name, module), False, reason))
        return out


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _out_shape(module: nn.Module, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[int, ...]:
    """Per-sample output shape of a stateless layer, from one zero sample."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    with torch.no_grad():
        return tuple(module(torch.zeros(1, *shape, dtype=dtype, device=device)).shape[1:])


def walk(b: GraphBuilder, name: str, module: nn.Module, x: Ref) -> Ref:
    """Emit ``module`` (named ``name``) fed by ``x``; returns its output."""
    for types, handler in HANDLERS:
        if isinstance(module, types):
            return handler(b, name, module, x)
    return b.refuse(name, module, f"no NIR mapping for {type(module).__name__}", x)


# ------------------------------------------------------------------ containers and models
def _sequence(b: GraphBuilder, name: str, module: nn.Module, x: Ref) -> Ref:
    for child, m in module.named_children():
        x = walk(b, _join(name, child), m, x)
    return x


def _identity(b: GraphBuilder, name: str, module: nn.Module, x: Ref) -> Ref:
    was = b.original.get(name)
    was = was.module if isinstance(was, TimeFolded) else was
    if isinstance(was, (BNTT1d, BNTT2d)):
        return b.refuse(name, was, "BNTT: one scale per time step (folded per step into the layer before it)", x)
    if isinstance(was, _BatchNorm):
        b.ok(name, was, "folded into the conv/linear before it")
    return x


def _resnet(b: GraphBuilder, name: str, m: SpikingResNet, x: Ref) -> Ref:
    if m.dual_stream:
        b.refuse(
            _join(name, "head"),
            m,
            "dual-stream head reads the accumulation stream; export the FSNN: fullspike.dst.remove_aap(model)",
            x,
        )
    x = walk(b, _join(name, "stem"), m.stem, x)
    for i in range(1, 5):
        x = walk(b, _join(name, f"layer{i}"), getattr(m, f"layer{i}"), x)
    _, h, w = x.shape
    fc = m.fc
    weight = (
        (fc.weight.detach().double() / (h * w)).to(fc.weight.dtype).repeat_interleave(h * w, dim=1)
    )  # [classes, C*H*W]
    x = _flatten_node(
        b, _join(name, "avgpool"), m.avgpool, x, "global average pool per step, folded into fc (Flatten + Affine)"
    )
    return _affine(b, _join(name, "fc"), fc, x, weight, fc.bias)


def _dvs_resnet(b: GraphBuilder, name: str, m: DVSResNet, x: Ref) -> Ref:
    if m.accum_layers is not None:
        b.refuse(
            _join(name, "accum_layers"),
            m.accum_layers,
            "accumulation pathway (real-valued stream); export the FSNN: fullspike.dst.remove_aap(model)",
            x,
        )
    x = walk(b, _join(name, "stem"), m.stem, x)
    for i, layer in enumerate(m.layers):
        x = walk(b, _join(name, f"layers.{i}"), layer, x)
    x = _flatten_node(b, _join(name, "flatten"), nn.Flatten(), x, "Flatten per step")
    return _affine(b, _join(name, "fc"), m.fc, x, m.fc.weight, m.fc.bias)


def _vgg(b: GraphBuilder, name: str, m: BNTTVGG, x: Ref) -> Ref:
    if isinstance(m.encoder, RateEncoder) and x.kind == INPUT:  # images; frames bypass the encoder
        b.ok(
            _join(name, "encoder"),
            m.encoder,
            "rate coding is random and outside the graph: the graph takes the encoded spike frames as input",
        )
        x = Ref(x.names, x.shape, SPIKES)
    x = walk(b, _join(name, "features"), m.features, x)
    return walk(b, _join(name, "classifier"), m.classifier, x)


def _attention(b: GraphBuilder, name: str, m: nn.Module, x: Ref) -> Ref:
    return b.refuse(
        name or "model", m, "attention products (Q K^T V multiply two time-varying spike tensors) have no NIR node", x
    )


def _aap(b: GraphBuilder, name: str, m: nn.Module, x: Ref) -> Ref:
    return b.refuse(
        name, m, "accumulation pathway (real-valued stream A); export the FSNN: fullspike.dst.remove_aap(model)", x
    )


def _unwrap(b: GraphBuilder, name: str, m: TimeFolded, x: Ref) -> Ref:
    return walk(b, name, m.module, x)


# ------------------------------------------------------------------ residual blocks
def _spiking_block(b: GraphBuilder, name: str, m: SpikingBlock, x: Ref) -> Ref:
    o = walk(b, _join(name, "branch"), m.branch, x)
    short = x if m.downsample is None else walk(b, _join(name, "downsample"), m.downsample, x)
    b.ok(_join(name, "add"), m, "residual sum before the neuron: two edges into it")
    return walk(b, _join(name, "sn"), m.sn, o.plus(short, REAL, _join(name, "add")))


def _sew_block(b: GraphBuilder, name: str, m: SEWBlock, x: Ref) -> Ref:
    o = walk(b, _join(name, "branch"), m.branch, x)
    short = x if m.downsample is None else walk(b, _join(name, "downsample"), m.downsample, x)
    return _connect(b, _join(name, "connect"), m.connect, o, short)


def _weighted(b: GraphBuilder, name: str, ref: Ref, w: float) -> Ref:
    """``w * ref``: a NIR Scale node (gates "threshold") or a 1x1 diagonal conv / diagonal
    affine (gates "if")."""
    if w == 1:
        return ref
    shape = ref.shape
    if b.gates == "threshold":
        b.node(name, lambda nir: nir.Scale(scale=b.array(w, shape)), ref)
    elif len(shape) == 1:
        b.node(name, lambda nir: nir.Affine(weight=np.diag(b.array(w, shape)), bias=b.array(0, shape)), ref)
    else:
        c = shape[0]
        weight = np.zeros((c, c, 1, 1), dtype=b.np_dtype)
        weight[np.arange(c), np.arange(c)] = w
        b.node(
            name,
            lambda nir: nir.Conv2d(
                input_shape=tuple(shape[1:]),
                weight=weight,
                stride=1,
                padding=0,
                dilation=1,
                groups=1,
                bias=b.array(0, (c,)),
            ),
            ref,
        )
    return Ref((name,), shape, REAL)


def _gate(b: GraphBuilder, name: str, terms: list[tuple[Ref, float]], theta: float) -> Ref:
    """Spikes ``sum_i w_i x_i > theta`` (gates "threshold": a Threshold node), or a stateless IF
    neuron (gates "if", theta 0.5; the weighted sum is 0 wherever it must not fire, so the
    membrane never keeps a charge)."""
    shape = terms[0][0].shape
    inputs = [_weighted(b, f"{name}.w{i}", ref, w) for i, (ref, w) in enumerate(terms)]
    if b.gates == "threshold":
        b.node(name, lambda nir: nir.Threshold(threshold=b.array(theta, shape)), *inputs)
    else:
        b.node(
            name,
            lambda nir: nir.IF(
                r=b.array(1.0 / b.dt, shape), v_threshold=b.array(theta, shape), v_reset=b.array(0.0, shape)
            ),
            *inputs,
        )
    return Ref((name,), shape, SPIKES)


def _connect(b: GraphBuilder, name: str, m: nn.Module, o: Ref, s: Ref) -> Ref:
    """Logical residuals of spikes ``O`` (branch) and ``S'`` (shortcut) as gates of weighted sums."""
    fn = m.name
    if fn == "add":
        return b.refuse(
            name,
            m,
            "ADD residual outputs 0, 1 or 2 (integers, not spikes), so the next "
            "layer multiplies; use a full-spike connect (iand, and, or, xor)",
            o.plus(s, REAL, name),
        )
    if o.kind != SPIKES or s.kind != SPIKES:
        bad = o if o.kind != SPIKES else s
        return b.refuse(
            name, m, f"logical connect needs spikes, but its input from {bad.origin} is not", o.plus(s, REAL, name)
        )
    if b.gates == "threshold":
        if fn == "xor":  # O + S' - 2 AND(O, S') > 0.5
            both = _gate(b, f"{name}.and", [(o, 1), (s, 1)], 1.5)
            out = _gate(b, name, [(o, 1), (s, 1), (both, -2)], 0.5)
        else:
            terms = {"and": ([(o, 1), (s, 1)], 1.5), "or": ([(o, 1), (s, 1)], 0.5), "iand": ([(s, 1), (o, -1)], 0.5)}[
                fn
            ]
            out = _gate(b, name, *terms)
        detail = {
            "and": "Threshold(O + S' > 1.5)",
            "or": "Threshold(O + S' > 0.5)",
            "iand": "Threshold(S' - O > 0.5)",
            "xor": "Threshold(O + S' - 2 [O + S' > 1.5] > 0.5)",
        }[fn]
    else:  # every gate input is 0 where the gate must stay silent
        if fn == "or":
            out = _gate(b, name, [(o, 1), (s, 1)], 0.5)
        else:
            either = _gate(b, f"{name}.or", [(o, 1), (s, 1)], 0.5)
            terms = {
                "and": [(o, 1), (s, 1), (either, -1)],
                "iand": [(either, 1), (o, -1)],
                "xor": [(either, 2), (o, -1), (s, -1)],
            }[fn]
            out = _gate(b, name, terms, 0.5)
        detail = {"and": "IF(O + S' - OR)", "or": "IF(O + S')", "iand": "IF(OR - O)", "xor": "IF(2 OR - O - S')"}[
            fn
        ] + ", stateless IF gates (threshold 0.5)"
    b.ok(name, m, f"{fn.upper()}: {detail}")
    return out


# ------------------------------------------------------------------ layers
def _quantized(
    b: GraphBuilder, m: nn.Module, weight: torch.Tensor, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(weight, bias, scale)`` of layer ``m``'s node, the layer computing ``scale (weight x + bias)``:
    as they are with the scale ``m`` already multiplies its output by (1, or ``s`` for a layer of
    :func:`~fullspike.export.quantize_weights`), or with ``b.quantize`` the integers ``q`` and
    ``bias / s`` (in float64, cast once) and that scale times ``s``."""
    scale = layer_scale(m)
    if b.quantize is None:
        return weight, bias, scale
    q, s = quantize_tensor(weight, b.quantize)
    return q, (bias.detach().double() / s).to(bias.dtype), scale * s


def _scale_note(b: GraphBuilder, scale: float) -> str:
    if b.quantize is not None:
        return f", {b.quantize}-bit integer weights x scale {scale:.6g}"
    return "" if scale == 1 else f", weights x scale {scale:.6g}"


def _rescaled(b: GraphBuilder, name: str, ref: Ref, scale: float) -> Ref:
    """``scale * ref`` as a node after a layer whose output is scaled (nothing for scale 1)."""
    if scale == 1:
        return ref
    out = _weighted(b, f"{name}.scale", ref, scale)
    return Ref(out.names, out.shape, REAL, name)


def _conv(b: GraphBuilder, name: str, m: nn.Conv2d, x: Ref) -> Ref:
    if x.kind == REAL:
        return b.refuse(
            name,
            m,
            f"its input from {x.origin} is not spikes, so it multiplies (MAC)",
            Ref((name,), _out_shape(m, x.shape, b.dtype), REAL, name),
        )
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        return b.refuse(
            name,
            m,
            f"padding {m.padding!r} ({m.padding_mode}) has no NIR equivalent",
            Ref((name,), _out_shape(m, x.shape, b.dtype), REAL, name),
        )
    out = _out_shape(m, x.shape, b.dtype)
    bias = m.bias if m.bias is not None else torch.zeros(m.out_channels, dtype=m.weight.dtype)
    weight, bias, scale = _quantized(b, m, m.weight, bias)
    b.node(
        name,
        lambda nir: nir.Conv2d(
            input_shape=tuple(x.shape[1:]),
            weight=_np(weight),
            stride=tuple(m.stride),
            padding=tuple(m.padding),
            dilation=tuple(m.dilation),
            groups=m.groups,
            bias=_np(bias),
        ),
        x,
    )
    where = {
        INPUT: "the graph input (the static image at every step)",
        COUNTS: "the graph input (event counts per pixel, not spikes: multiply-accumulates)",
    }.get(x.kind, "spikes")
    b.ok(name, m, f"Conv2d on {where}{_scale_note(b, scale)}")
    return _rescaled(b, name, Ref((name,), out, REAL, name), scale)


def _affine(b: GraphBuilder, name: str, m: nn.Module, x: Ref, weight: torch.Tensor, bias: torch.Tensor | None) -> Ref:
    if x.kind == REAL:
        return b.refuse(
            name,
            m,
            f"its input from {x.origin} is not spikes, so it multiplies (MAC)",
            Ref((name,), (weight.shape[0],), REAL, name),
        )
    if len(x.shape) != 1:
        return b.refuse(
            name,
            m,
            f"a linear layer needs flat input, got shape {x.shape}",
            Ref((name,), (weight.shape[0],), REAL, name),
        )
    bias = bias if bias is not None else torch.zeros(weight.shape[0], dtype=weight.dtype)
    weight, bias, scale = _quantized(b, m, weight, bias)
    b.node(name, lambda nir: nir.Affine(weight=_np(weight), bias=_np(bias)), x)
    b.ok(name, m, f"Affine on spikes{_scale_note(b, scale)}")
    return _rescaled(b, name, Ref((name,), (weight.shape[0],), REAL, name), scale)


def _linear(b: GraphBuilder, name: str, m: nn.Linear, x: Ref) -> Ref:
    return _affine(b, name, m, x, m.weight, m.bias)


def _flatten_node(b: GraphBuilder, name: str, m: nn.Module, x: Ref, detail: str) -> Ref:
    shape = x.shape
    b.node(name, lambda nir: nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1), x)
    b.ok(name, m, detail)
    return Ref((name,), (int(np.prod(shape)),), x.kind, x.origin)


def _flatten(b: GraphBuilder, name: str, m: nn.Flatten, x: Ref) -> Ref:
    if m.start_dim != 1 or m.end_dim != -1:
        return b.refuse(name, m, "only Flatten(1, -1) (everything but the batch) is mapped", x)
    return _flatten_node(b, name, m, x, "Flatten per step")


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _maxpool(b: GraphBuilder, name: str, m: nn.MaxPool2d, x: Ref) -> Ref:
    out = _out_shape(m, x.shape, b.dtype)
    if x.kind != SPIKES:
        return b.refuse(
            name, m, f"max-pooling of non-spikes (from {x.origin or 'the input'})", Ref((name,), out, REAL, name)
        )
    if _pair(m.dilation) != (1, 1) or m.ceil_mode:
        return b.refuse(name, m, "dilated or ceil-mode max-pooling has no sum-pool equivalent", x)
    k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
    if b.gates == "if" and p != (0, 0):  # importers' SumPool2d drops padding: a conv of ones instead
        c = x.shape[0]
        ones = np.zeros((c, c, *k), dtype=b.np_dtype)
        ones[np.arange(c), np.arange(c)] = 1
        b.node(
            f"{name}.sum",
            lambda nir: nir.Conv2d(
                input_shape=tuple(x.shape[1:]),
                weight=ones,
                stride=s,
                padding=p,
                dilation=1,
                groups=1,
                bias=b.array(0, (c,)),
            ),
            x,
        )
        pool = f"Conv2d of ones {k} stride {s} padding {p}"
    else:
        b.node(
            f"{name}.sum",
            lambda nir: nir.SumPool2d(kernel_size=np.array(k), stride=np.array(s), padding=np.array(p)),
            x,
        )
        pool = f"SumPool2d {k} stride {s} padding {p}"
    summed = Ref((f"{name}.sum",), out, REAL, name)
    y = _gate(b, name, [(summed, 1)], 0.5)
    gate = "Threshold(0.5)" if b.gates == "threshold" else "stateless IF (threshold 0.5)"
    b.ok(name, m, f"max of spikes = {pool} + {gate}")
    return y


def _avgpool(b: GraphBuilder, name: str, m: nn.AvgPool2d, x: Ref) -> Ref:
    out = _out_shape(m, x.shape, b.dtype)
    padded = _pair(m.padding) != (0, 0)
    if m.ceil_mode or m.divisor_override is not None or (padded and not m.count_include_pad):
        return b.refuse(
            name,
            m,
            "NIR AvgPool2d divides every window by the kernel size over a zero-padded input: "
            "ceil_mode, divisor_override and count_include_pad=False (with padding) have no NIR form",
            Ref((name,), out, REAL, f"average pooling {name}"),
        )
    k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
    b.node(name, lambda nir: nir.AvgPool2d(kernel_size=np.array(k), stride=np.array(s), padding=np.array(p)), x)
    b.ok(name, m, "AvgPool2d (outputs fractions of spikes, not spikes)")
    return Ref((name,), out, REAL, f"average pooling {name}")


def _bntt(b: GraphBuilder, name: str, m: nn.Module, x: Ref) -> Ref:
    out = Ref((name,), x.shape, REAL, name)
    if isinstance(m, StepwiseSynapse):
        with torch.no_grad():
            y = m(torch.zeros(1, 1, *x.shape, dtype=m.weight.dtype, device=m.weight.device))
        out = Ref((name,), tuple(y.shape[2:]), REAL, name)
    fed = f"; and its input from {x.origin} is not spikes (MAC)" if x.kind == REAL else ""
    return b.refuse(
        name,
        m,
        "BNTT: per-time-step BN scales make the (folded) weights differ at every "
        f"step; NIR weights are constant in time{fed}",
        out,
    )


def _batchnorm(b: GraphBuilder, name: str, m: nn.Module, x: Ref) -> Ref:
    return b.refuse(name, m, "batch norm not directly after a conv/linear cannot be folded", x)


def _neuron(b: GraphBuilder, name: str, m: SpikingNeuron, x: Ref) -> Ref:
    out = Ref((name,), x.shape, SPIKES)
    if m.v_reset is None:
        return b.refuse(name, m, "soft (subtractive) reset: NIR neurons reset to v_reset", out)
    firing = ">" if m.strict else ">="
    if b.firing is None:
        b.firing = firing
    elif b.firing != firing:
        return b.refuse(
            name,
            m,
            f"fires on h {firing} v_th while earlier neurons fire on h {b.firing} v_th; "
            "a graph records one firing rule",
            out,
        )
    shape, dt, vth, vr = x.shape, b.dt, m.v_threshold, m.v_reset
    common = dict(v_threshold=b.array(vth, shape), v_reset=b.array(vr, shape))
    if isinstance(m, PLIF) or (isinstance(m, LIF) and m.leak is None):  # time-constant form
        form, k = "tau", torch.sigmoid(m.w.detach()).item() if isinstance(m, PLIF) else 1.0 / m.tau
    elif isinstance(m, LIF):  # leak-factor form h = lambda v + x
        form, k = "leak", 1.0 - m.leak
    elif isinstance(m, IF):
        form, k = "if", 0.0
    else:
        return b.refuse(name, m, f"no NIR neuron for {type(m).__name__}", out)
    with np.errstate(over="ignore", divide="ignore"):
        tau = np.asarray(dt / k if k else np.inf, dtype=b.np_dtype)  # seconds; tau_steps = tau / dt
    if k == 0 and form == "tau":  # 1/tau = 0 scales the input too: the membrane never moves
        return b.refuse(name, m, "an infinite time constant (1/tau is 0): the neuron ignores its input", out)
    if k == 0:  # IF, or an LIF with leak 1: h = v + x
        r = _exact(b, None, 1.0 / dt, None, (1.0, 1.0, 0.0))[1]
        b.node(name, lambda nir: nir.IF(r=b.array(r, shape), **common), x)
        detail = "IF, r=1/dt" if form == "if" else "IF (an LIF with leak 1 does not leak), r=1/dt"
    elif not np.isfinite(tau):
        return b.refuse(name, m, f"its time constant ({1 / k:.3g} steps) overflows {b.dtype}", out)
    elif form == "tau":
        # the model's own coefficients: PLIF computes them from sigmoid(w) in the tensor's dtype
        kt = torch.sigmoid(m.w.detach()).to(b.dtype) if isinstance(m, PLIF) else k
        tau, r, v_leak = _exact(b, float(tau), 1.0, vr, (1.0 - kt, kt, kt * vr))
        b.node(
            name,
            lambda nir: nir.LIF(tau=b.array(tau, shape), r=b.array(r, shape), v_leak=b.array(v_leak, shape), **common),
            x,
        )
        detail = f"LIF tau={1 / k:.6g} steps (x dt), r={r:.8g} (about 1), v_leak={v_leak:.8g} (about v_reset)"
    else:
        tau, r, _ = _exact(b, float(tau), 1.0 / k, 0.0, (m.leak, 1.0, 0.0))
        b.node(
            name,
            lambda nir: nir.LIF(tau=b.array(tau, shape), r=b.array(r, shape), v_leak=b.array(0.0, shape), **common),
            x,
        )
        detail = f"LIF tau={1 / k:.6g} steps, r={r:.8g} (about 1/(1-leak))"
    b.ok(name, m, f"{detail}, v_th={vth:g}, hard reset to {vr:g}, fires on h {firing} v_th")
    return out


#: how many values on either side of a neuron parameter :func:`_exact` tries (units in the last place)
_ULPS = 8


def _exact(b: GraphBuilder, tau: float | None, r: float, v_leak: float | None, target: tuple) -> tuple:
    """``(tau, r, v_leak)`` of a neuron node (``tau``, ``v_leak`` None for IF), each the value given
    or one within :data:`_ULPS` units in the last place of the graph's dtype, chosen so that the
    importer's arithmetic (:func:`.importer.neuron_coefficients`) gives the model's own
    ``target = (decay, scale, bias)`` in that dtype exactly. Written as they are, ``dt / k`` and
    ``1 / k`` come back one rounding off (a scale of 0.99999994 for 1 in float32), which flips a
    spike whose membrane lands exactly on the threshold, as integer weights on event counts do.
    Where no nearby values hit the target, the nearest that hit part of it (or the values given)
    are kept, and the round trip reports what differs."""
    want = [torch.as_tensor(t, dtype=b.dtype) for t in target]

    def hits(i: int, params: tuple) -> bool:
        return bool(neuron_coefficients(*params, b.dt, b.dtype)[i] == want[i])

    def near(value: float | None) -> list:
        if value is None:
            return [None]
        given = up = down = b.np_dtype.type(value)
        values = [given]
        for _ in range(_ULPS):
            up, down = np.nextafter(up, np.inf, dtype=b.np_dtype), np.nextafter(down, -np.inf, dtype=b.np_dtype)
            values += [up, down]
        return [float(v) for v in values]

    taus, rs, leaks = near(tau), near(r), near(v_leak)
    decaying = [t for t in taus if t is None or hits(0, (t, r, v_leak))]  # decay depends on tau alone
    for t in decaying:
        scale = next((x for x in rs if hits(1, (t, x, v_leak))), None)
        if scale is None:
            continue
        leak = next((v for v in leaks if t is None or hits(2, (t, scale, v))), leaks[0])
        return t, scale, leak
    return (decaying[0] if decaying else taus[0], rs[0], leaks[0])


def _relu(b: GraphBuilder, name: str, m: nn.Module, x: Ref) -> Ref:
    return b.refuse(name, m, "real-valued activation (not a spiking neuron)", Ref((name,), x.shape, REAL, name))


#: (types, handler) in match order: the one place that dispatches on module types
HANDLERS: list[tuple[type | tuple[type, ...], Callable[[GraphBuilder, str, nn.Module, Ref], Ref]]] = [
    (SpikingResNet, _resnet),
    (DVSResNet, _dvs_resnet),
    (BNTTVGG, _vgg),
    (Spikformer, _attention),
    ((DualStreamBlock, AccumulationPath), _aap),
    (SpikingBlock, _spiking_block),
    (SEWBlock, _sew_block),
    (Stem, _sequence),
    (TimeFolded, _unwrap),
    ((nn.Sequential, nn.ModuleList), _sequence),
    (nn.Identity, _identity),
    (nn.Conv2d, _conv),
    (nn.Linear, _linear),
    (nn.Flatten, _flatten),
    (nn.MaxPool2d, _maxpool),
    (nn.AvgPool2d, _avgpool),
    ((StepwiseSynapse, BNTT1d, BNTT2d), _bntt),
    (_BatchNorm, _batchnorm),
    (SpikingNeuron, _neuron),
    ((nn.ReLU, nn.GELU), _relu),
]
