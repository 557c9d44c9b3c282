"""``to_nir``: a full-spike network as a NIR graph of standard nodes (docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._version import __version__
from ..energy import fold_bn
from ..errors import ExportError, ShapeError
from ..nn import RateEncoder, SpikingNeuron
from ..optional import require
from .graph import COUNTS, INPUT, SPIKES, GraphBuilder, Ref, walk


def frame_kind(frames: torch.Tensor) -> tuple[str, str]:
    """``(Ref kind, description)`` of input frames ``[T, B, C, H, W]``: binary spikes, event
    counts (non-negative integers, some above 1) or real values."""
    if bool(((frames == 0) | (frames == 1)).all()):
        return SPIKES, "spike frames (binary), one per step"
    if bool(((frames >= 0) & (frames == frames.round())).all()):
        return COUNTS, (
            f"event-count frames (integers 0..{int(frames.max())} per pixel, not spikes: "
            "the first layer multiplies), one per step"
        )
    return INPUT, "real-valued frames, one per step"


def require_spiking(model: nn.Module) -> None:
    """One ExportError line unless ``model`` has spiking neurons: an ANN has no NIR spiking graph."""
    if not any(isinstance(m, SpikingNeuron) for m in model.modules()):
        raise ExportError(
            f"{type(model).__name__} has no spiking neurons (an ANN?): only spiking networks are "
            "exported to NIR or checked for it"
        )


def input_info(model: nn.Module, example_input: torch.Tensor) -> tuple[tuple[int, ...], int, str, str]:
    """``(per-step input shape, T, input description, Ref kind)`` of ``example_input``: images
    ``[B, C, H, W]`` (repeated over ``model.T`` steps) or frames ``[T, B, C, H, W]``
    (:func:`frame_kind`)."""
    if example_input.dim() == 4:
        T = getattr(model, "T", None)
        if T is None:
            require_spiking(model)
            raise ShapeError(f"{type(model).__name__} has no `T`: pass frames [T, B, C, H, W] as example input")
        if isinstance(getattr(model, "encoder", None), RateEncoder):
            return tuple(example_input.shape[1:]), int(T), "images rate-coded into spikes over T steps", INPUT
        return tuple(example_input.shape[1:]), int(T), "static image repeated over T steps", INPUT
    if example_input.dim() == 5:
        kind, text = frame_kind(example_input)
        return tuple(example_input.shape[2:]), int(example_input.shape[0]), text, kind
    raise ShapeError(
        f"example input must be images [B, C, H, W] or frames [T, B, C, H, W]; got shape {tuple(example_input.shape)}"
    )


def build(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    dt: float = 1e-4,
    gates: str = "threshold",
    graph: bool = True,
    quantize: int | None = None,
) -> tuple[GraphBuilder, tuple[int, ...], int, str]:
    """Walk the BN-folded ``model``: ``(builder, input shape, T, input description)``."""
    shape, T, text, kind = input_info(model, example_input)
    dtype = next((p.dtype for p in model.parameters()), torch.get_default_dtype())
    b = GraphBuilder(
        dt=dt, gates=gates, build=graph, dtype=dtype, original=dict(model.named_modules()), quantize=quantize
    )
    b.node("input", lambda nir: nir.Input(input_type={"input": np.array(shape)}))
    out = walk(b, "", fold_bn(model), Ref(("input",), shape, kind))
    b.node("output", lambda nir: nir.Output(output_type={"output": np.array(out.shape)}), out)
    return b, shape, T, text


def to_nir(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    dt: float = 1e-4,
    gates: str = "threshold",
    name: str | None = None,
    quantize: int | None = None,
):
    """The NIR graph (``nir.NIRGraph``) of a full-spike network.

    Args:
        model: an FSNN (dual-stream models: after :func:`fullspike.dst.remove_aap`), in any mode;
            BN is folded (evaluation statistics). Its weights' dtype is the graph's.
        example_input: images ``[B, C, H, W]`` or frames ``[T, B, C, H, W]``; gives the input shape.
        dt: seconds per time step, written into the neurons' continuous-time constants
            (IF ``r = 1/dt``, LIF ``tau = tau_steps * dt``); importers must use the same dt.
        gates: ``"threshold"`` (logical residuals and spike max-pooling as NIR Threshold nodes of
            weighted sums, weights as Scale nodes) or ``"if"`` (stateless IF neurons and 1x1
            convolutions: for importers without Threshold/Scale).
        name: the model's name in ``graph.metadata`` (default: its class name).
        quantize: weight bits (4..16): every conv/linear node holds integers ``q`` (bias divided
            by the scale) and is followed by a node multiplying by its per-layer scale ``s``
            (:mod:`fullspike.export.quantize`; a Scale node, or a diagonal conv/affine with
            gates "if"); ``graph.metadata["weights"]`` lists the scales. The graph computes
            :func:`~fullspike.export.quantize_weights` ``(model, quantize)``. None: real weights.

    The graph's input is one step ``[C, H, W]``; its output the classifier's per-step output,
    whose mean over the T steps is the model's logits. ``graph.metadata`` records dt, the
    firing rule (``">="`` or ``">"``), T and the input kind. Raises
    :class:`~fullspike.errors.ExportError` naming the first layer that cannot be deployed.

    Example:
        ```python
        import torch
        import fullspike
        from fullspike.export import from_nir, to_nir

        net = fullspike.create_model("spiking_resnet18", num_classes=10, in_channels=1, T=2, stem="cifar", width=4)
        net.eval()
        images = torch.rand(4, 1, 8, 8)
        graph = to_nir(net, images)  # a nir.NIRGraph; write_nir(graph, "net.nir") saves it
        steps = from_nir(graph)(images.expand(2, *images.shape))  # [T, B, C, H, W] -> [T, B, 10]
        torch.testing.assert_close(steps.mean(0), net(images))
        ```
    """
    b, _, T, kind = build(model, example_input, dt=dt, gates=gates, quantize=quantize)
    meta = {
        "producer": f"fullspike {__version__}",
        "model": name or type(model).__name__,
        "dt": float(dt),
        "firing": b.firing or ">=",
        "time_steps": T,
        "input": kind,
        "gates": gates,
        "output": "classifier output per step; its mean over time_steps is the logits",
        "weights": "real"
        if quantize is None
        else f"{quantize}-bit signed integers; each conv/linear node '<name>' is followed by its "
        "per-layer scale node '<name>.scale' (bias stored divided by the scale)",
    }
    return b.nir.NIRGraph(nodes=b.nodes, edges=b.edges, metadata=meta, type_check=False)


def write_nir(graph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` (HDF5 ``.nir``); an unwritable path is one clear error."""
    nir = require("nir", extra="nir", purpose="NIR export")
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        nir.write(path, graph)
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    return path
