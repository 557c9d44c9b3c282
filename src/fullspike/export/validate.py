"""Checking a NIR graph before :func:`~fullspike.export.from_nir` builds anything (docs/deploy.md,
"Import"): every edge joins known nodes, every node's type is supported and its numbers are finite
(time constants, ``r`` and ``dt`` positive), and the per-sample shapes flow from the Input node to
the Output node, every node getting inputs of one shape that it accepts. Each failure is one
:class:`~fullspike.errors.ExportError` line naming the node or edge. Shapes are inferred on
PyTorch's ``meta`` device (no memory, no arithmetic).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ExportError

#: the node types from_nir runs
SUPPORTED = (
    "Input",
    "Output",
    "Conv2d",
    "Affine",
    "Linear",
    "Flatten",
    "SumPool2d",
    "AvgPool2d",
    "Scale",
    "Threshold",
    "IF",
    "LIF",
)
#: per-node-type array fields that must be finite
_NUMBERS = {
    "Conv2d": ("weight", "bias"),
    "Affine": ("weight", "bias"),
    "Linear": ("weight",),
    "Scale": ("scale",),
    "Threshold": ("threshold",),
    "IF": ("r", "v_threshold", "v_reset"),
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
}
#: the largest kernel size, stride, padding or dilation a node may state (PyTorch's int32 sizes)
GEOMETRY_MAX = 2**31 - 1
#: a pooling node's geometry, in the order ``avg_pool2d`` takes it
POOL_FIELDS = ("kernel_size", "stride", "padding")
#: per-neuron or per-element parameters, which must broadcast to the node's input shape
_ELEMENTWISE = {
    "Scale": ("scale",),
    "Threshold": ("threshold",),
    "IF": ("r", "v_threshold", "v_reset"),
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
}


def _kind(node) -> str:
    return type(node).__name__


def _array(node, name: str, field: str) -> np.ndarray:
    raw = getattr(node, field)
    if np.iscomplexobj(raw):
        raise ExportError(f"NIR node '{name}' ({_kind(node)}): {field} holds complex numbers; from_nir runs real ones")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExportError(f"NIR node '{name}' ({_kind(node)}): {field} is not an array of numbers") from None


def check_dt(dt: float) -> float:
    """``dt`` if it is a positive finite number of seconds per step, else one ExportError line."""
    try:
        value = float(dt)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(dt, bool) or not (np.isfinite(value) and value > 0):
        raise ExportError(
            f"dt must be a positive number of seconds per time step, got {dt!r}; pass "
            "from_nir(..., dt=...) or fix the graph's metadata['dt']"
        )
    return value


def check_node(name: str, node) -> None:
    """Type and numbers of one node: supported, finite, tau > 0 and r > 0 for neurons."""
    kind = _kind(node)
    if kind not in SUPPORTED:
        raise ExportError(
            f"NIR node '{name}' of type {kind} is not supported by from_nir (supported: {', '.join(SUPPORTED)})"
        )
    for field in _NUMBERS.get(kind, ()):
        a = _array(node, name, field)
        bad = int((~np.isfinite(a)).sum())
        if bad:
            raise ExportError(f"NIR node '{name}' ({kind}): {field} has {bad} non-finite value(s) (NaN or inf)")
    for field in ("tau", "r") if kind in ("IF", "LIF") else ():
        if field == "tau" and kind == "IF":
            continue
        a = _array(node, name, field)
        if a.size and a.min() <= 0:
            raise ExportError(f"NIR node '{name}' ({kind}): {field} must be > 0, got {a.min():g}")


def _meta(shape) -> torch.Tensor:
    return torch.empty(1, *shape, device="meta")


def geometry(name: str, node, field: str) -> int | tuple[int, int] | str:
    """A Conv2d or pooling node's ``field`` (``kernel_size``, ``stride``, ``padding``,
    ``dilation``) as PyTorch's 2-D layers take it: one whole number or a pair (a Conv2d's
    ``padding`` may also be ``"same"`` / ``"valid"``). Anything else (three numbers, fractions,
    negatives) is one ExportError line."""
    v = getattr(node, field)
    if field == "padding" and _kind(node) == "Conv2d" and isinstance(v, str) and v in ("same", "valid"):
        return v
    a = np.atleast_1d(np.asarray(v)) if not isinstance(v, str) else np.asarray([])
    least = 0 if field == "padding" else 1
    whole = a.dtype.kind in "iuf" and a.ndim == 1 and a.size in (1, 2) and bool(np.all(np.isfinite(a)))
    if not (whole and np.all(a == np.round(a)) and least <= a.min() and a.max() <= GEOMETRY_MAX):
        raise ExportError(
            f"NIR node '{name}' ({_kind(node)}): {field} must be one or two whole numbers from {least} to "
            f"{GEOMETRY_MAX} (a 2-D layer), got {np.asarray(v).tolist()!r}"
        )
    return tuple(int(i) for i in a) if a.size == 2 else int(a[0])


def out_shape(name: str, node, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample output shape of ``node`` fed ``shape``; a shape it cannot take is one line."""
    kind = _kind(node)

    def refuse(why: str) -> ExportError:
        return ExportError(f"NIR node '{name}' ({kind}) gets input of shape {list(shape)}: {why}")

    if kind == "Conv2d":
        w = np.asarray(node.weight)
        groups = int(node.groups)
        if w.ndim != 4:
            raise refuse(f"its weight must be [out, in/groups, kh, kw], got shape {list(w.shape)}")
        if len(shape) != 3 or shape[0] != w.shape[1] * groups:
            raise refuse(f"it needs [{w.shape[1] * groups}, H, W]")
        if np.asarray(node.bias).shape not in ((w.shape[0],), ()):
            raise refuse(f"its bias has shape {list(np.shape(node.bias))}, not [{w.shape[0]}]")
        try:
            y = F.conv2d(
                _meta(shape),
                torch.empty(*w.shape, device="meta"),
                stride=geometry(name, node, "stride"),
                padding=geometry(name, node, "padding"),
                dilation=geometry(name, node, "dilation"),
                groups=groups,
            )
        except RuntimeError as e:
            raise refuse(str(e).splitlines()[0]) from None
        return tuple(y.shape[1:])
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight)
        if w.ndim != 2 or len(shape) != 1 or shape[0] != w.shape[1]:
            need = f"[{w.shape[1]}]" if w.ndim == 2 else "a 2-D weight"
            raise refuse(f"its weight {list(w.shape)} needs flat input {need}")
        if kind == "Affine" and np.asarray(node.bias).shape not in ((w.shape[0],), ()):
            raise refuse(f"its bias has shape {list(np.shape(node.bias))}, not [{w.shape[0]}]")
        return (int(w.shape[0]),)
    if kind == "Flatten":
        s, e = int(node.start_dim), int(node.end_dim)
        try:
            y = torch.flatten(_meta(shape), s + 1 if s >= 0 else s, e + 1 if e >= 0 else e)
        except (RuntimeError, IndexError) as err:
            raise refuse(str(err).splitlines()[0]) from None
        return tuple(y.shape[1:])
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(shape) != 3:
            raise refuse("pooling needs [C, H, W]")
        try:
            y = F.avg_pool2d(_meta(shape), *(geometry(name, node, f) for f in POOL_FIELDS))
        except RuntimeError as e:
            raise refuse(str(e).splitlines()[0]) from None
        return tuple(y.shape[1:])
    for field in _ELEMENTWISE.get(kind, ()):
        p = np.shape(getattr(node, field))
        try:
            fits = np.broadcast_shapes(p, shape) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise refuse(f"its {field} has shape {list(p)}")
    return tuple(shape)


def _declared(node, key: str) -> tuple[int, ...] | None:
    types = getattr(node, key, None) or {}
    v = next(iter(types.values()), None) if isinstance(types, dict) else None
    return None if v is None or np.asarray(v).size == 0 else tuple(int(i) for i in np.atleast_1d(np.asarray(v)))


def check_graph(graph) -> tuple[list[str], dict[str, list[str]], dict[str, tuple[int, ...]]]:
    """Check ``graph`` (a ``nir.NIRGraph``) completely; ``(node order, inputs of each node, output
    shape of each node)``. Raises one :class:`ExportError` line on the first problem."""
    nodes = graph.nodes
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in graph.edges:
        if len(edge) != 2:
            raise ExportError(f"NIR edge {edge!r} is not a (source, target) pair")
        src, dst = edge
        for end in (src, dst):
            if end not in nodes:
                raise ExportError(
                    f"NIR edge ('{src}', '{dst}') names unknown node '{end}' "
                    f"(the graph has {len(nodes)} nodes; check the edge list)"
                )
        preds[dst].append(src)
    for name, node in nodes.items():
        check_node(name, node)
    inputs = [n for n, v in nodes.items() if _kind(v) == "Input"]
    outputs = [n for n, v in nodes.items() if _kind(v) == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ExportError(f"from_nir needs one Input and one Output node; got {len(inputs)} and {len(outputs)}")
    try:
        order = list(TopologicalSorter(preds).static_order())
    except CycleError:
        raise ExportError("from_nir runs feed-forward graphs only; this NIR graph has a cycle") from None
    shapes: dict[str, tuple[int, ...]] = {}
    for n in order:
        node = nodes[n]
        if n == inputs[0]:
            if preds[n]:
                raise ExportError(f"NIR Input node '{n}' has incoming edges from {preds[n]}")
            declared = _declared(node, "input_type")
            if declared is None:
                raise ExportError(f"NIR Input node '{n}' declares no input shape (input_type)")
            shapes[n] = declared
            continue
        if not preds[n]:
            raise ExportError(f"NIR node '{n}' ({_kind(node)}) has no input edge")
        got = {p: shapes[p] for p in preds[n]}
        if len(set(got.values())) > 1:
            raise ExportError(
                f"NIR node '{n}' ({_kind(node)}) sums inputs of different shapes: "
                + ", ".join(f"'{p}' {list(s)}" for p, s in got.items())
            )
        shapes[n] = out_shape(n, node, next(iter(got.values())))
        if n == outputs[0]:
            declared = _declared(node, "output_type")
            if declared is not None and declared != shapes[n]:
                raise ExportError(f"NIR Output node '{n}' declares shape {list(declared)} but gets {list(shapes[n])}")
    return order, preds, shapes
