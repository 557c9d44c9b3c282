"""Spikformer (Zhou et al. 2023) for 32x32 images, with ADD or full-spike (IAND) residuals and
optionally the DST accumulation stream (docs/methods.md, "DST", "Spikformer with DST").

Structure (``spikformer_4_384``: 4 encoder layers, dim 384, 12 heads, patch 4, MLP ratio 4, T 4):

- ``patch_embed`` (:class:`SpikingPatchSplitting`): ``stem`` conv3x3 -> BN -> LIF (computed once
  for a static image), then ``proj``: conv-BN-LIF at D/4, D/2 (+ MaxPool 3x3 s2), D (+ MaxPool),
  then ``rpe``, a residual block ``g(LIF(BN(conv3x3(x))), x)``. Output tokens ``[T, B, N, D]``
  (N = (H/4) * (W/4)).
- ``layers``: ``nn.ModuleList`` of :class:`EncoderLayer`, each holding two residual
  :class:`~fullspike.nn.residual.Block` s: ``attn`` (branch: :class:`SpikingSelfAttention`) and
  ``mlp`` (branch: linear-BN-LIF x 2). Both are SEW blocks, or dual-stream blocks with
  ``dst=True``; the network runs ``attn`` then ``mlp`` of each layer.
- ``fc``: mean over tokens, mean over T, linear; with ``dst=True`` the same ``fc`` reads the
  accumulation stream, which starts at the patch embedding's spikes and adds each block's
  branch output.

Neurons: LIF (tau 2, hard reset to 0, detached reset, sigmoid surrogate alpha 4); the neuron
after the attention product has threshold 0.5. Attention: ``(Q K^T * scale) V`` with no
softmax, scale 0.125; the two products are :class:`MatMul` modules (so hooks can see them).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..dst.blocks import DualStreamBlock
from ..errors import ConfigError
from ..nn import SeqSequential
from ..nn.connect import Connect
from ..nn.neurons import NeuronSpec
from ..nn.residual import NeuronFactory, SEWBlock
from ..params import Count, Positive
from ..surrogate import SurrogateSpec
from .common import ConnectName, Stem, check_connect, neurons
from .dual_stream import DualStreamClassifier
from .registry import register_model

LIF = {"name": "lif", "tau": 2.0}


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the last (feature) dimension of ``[..., D]`` token tensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).view(x.shape)


class MatMul(nn.Module):
    """``a @ b`` as a module (the attention's synaptic products)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


def _linear_bn_sn(d_in: int, d_out: int, make_sn: NeuronFactory, bias: bool = True) -> SeqSequential:
    return SeqSequential(OrderedDict(linear=nn.Linear(d_in, d_out, bias=bias), bn=TokenBatchNorm(d_out), sn=make_sn()))


def _conv_bn_sn(c_in: int, c_out: int, make_sn: NeuronFactory) -> list[tuple[str, nn.Module]]:
    return [
        ("conv", nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)),
        ("bn", nn.BatchNorm2d(c_out)),
        ("sn", make_sn()),
    ]


class SpikingSelfAttention(nn.Module):
    """Spiking self-attention ``[T, B, N, D] -> [T, B, N, D]``: Q, K, V = ``LIF(BN(Linear(x)))``
    without bias: the original's Q/K/V linears have one, but the BN right after each removes
    any constant offset, so dropping it changes no output; ``y = LIF_0.5((Q K^T * scale) V)``,
    output ``LIF(BN(Linear(y)))``.
    Children: ``q``, ``k``, ``v``, ``qk``, ``av``, ``attn_sn``, ``proj``."""

    def __init__(self, dim: int, heads: int, make_sn: NeuronFactory, scale: float = 0.125) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"dim={dim} is not divisible by heads={heads}")
        self.heads, self.scale = heads, scale
        self.q, self.k, self.v = (_linear_bn_sn(dim, dim, make_sn, bias=False) for _ in range(3))
        self.qk, self.av = MatMul(), MatMul()
        self.attn_sn = make_sn(v_threshold=0.5)
        self.proj = _linear_bn_sn(dim, dim, make_sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, N, D = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # [T, B, N, D] -> [T, B, H, N, D/H]
            return t.view(T, B, N, self.heads, D // self.heads).transpose(2, 3)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        y = self.av(self.qk(q, k.transpose(-2, -1)) * self.scale, v)
        y = self.attn_sn(y.transpose(2, 3).reshape(T, B, N, D))
        return self.proj(y)


class SpikingPatchSplitting(nn.Module):
    """Images ``[B, C, H, W]`` (or frames ``[T, B, C, H, W]``) -> spike tokens ``[T, B, H/4*W/4, D]``."""

    def __init__(self, in_channels: int, dim: int, T: int, connect: str, make_sn: NeuronFactory) -> None:
        super().__init__()
        c0 = dim // 8
        self.stem = Stem(nn.Conv2d(in_channels, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0), make_sn(), T)
        layers: list[tuple[str, nn.Module]] = []
        for i, (ci, co) in enumerate([(c0, dim // 4), (dim // 4, dim // 2), (dim // 2, dim)], 1):
            layers += [(f"{n}{i}", m) for n, m in _conv_bn_sn(ci, co, make_sn)]
            if i >= 2:
                layers.append((f"pool{i}", nn.MaxPool2d(3, 2, 1)))
        self.proj = SeqSequential(OrderedDict(layers))
        self.rpe = SEWBlock(SeqSequential(OrderedDict(_conv_bn_sn(dim, dim, make_sn))), None, Connect(connect))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.rpe(self.proj(self.stem(x)))
        return s.flatten(3).transpose(2, 3)  # [T, B, D, H', W'] -> [T, B, N, D]


class EncoderLayer(nn.Module):
    """Container of one encoder layer's two residual blocks, ``attn`` then ``mlp``."""

    def __init__(self, attn: nn.Module, mlp: nn.Module) -> None:
        super().__init__()
        self.attn, self.mlp = attn, mlp


class Spikformer(DualStreamClassifier):
    """Spikformer; returns logits ``[B, K]``, or ``DualStreamOutput`` with ``dst=True``."""

    def __init__(
        self,
        *,
        num_classes: int,
        T: int,
        in_channels: int,
        dim: int,
        depth: int,
        heads: int,
        mlp_ratio: float,
        connect: str,
        dst: bool,
        neuron,
        surrogate,
    ) -> None:
        super().__init__(T, in_channels, num_classes, encoding="direct")
        if dim % 8:
            raise ConfigError(f"Spikformer needs dim divisible by 8, got {dim}")
        self.dual_stream = dst
        self.connect_name = connect
        make_sn = neurons(neuron, surrogate)
        self.patch_embed = SpikingPatchSplitting(in_channels, dim, T, connect, make_sn)
        hidden = int(dim * mlp_ratio)

        def block(branch: nn.Module) -> nn.Module:
            if dst:
                return DualStreamBlock(branch, None, Connect(connect), None)
            return SEWBlock(branch, None, Connect(connect))

        self.layers = nn.ModuleList(
            EncoderLayer(
                block(SpikingSelfAttention(dim, heads, make_sn)),
                block(
                    SeqSequential(
                        OrderedDict(
                            fc1=nn.Linear(dim, hidden),
                            bn1=TokenBatchNorm(hidden),
                            sn1=make_sn(),
                            fc2=nn.Linear(hidden, dim),
                            bn2=TokenBatchNorm(dim),
                            sn2=make_sn(),
                        )
                    )
                ),
            )
            for _ in range(depth)
        )
        self.fc = nn.Linear(dim, num_classes)

    def blocks(self) -> list[nn.Module]:
        return [b for layer in self.layers for b in (layer.attn, layer.mlp)]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_embed(x)

    def stages(self) -> list[tuple[nn.Module, None]]:
        return [(b, None) for b in self.blocks()]

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, N, D] -> [B, K]``: mean over tokens and steps, linear."""
        return self.fc(x.mean(2).mean(0))


@register_model
def spikformer_4_384(
    num_classes: Count = 100,
    T: Count = 4,
    in_channels: Count = 3,
    connect: ConnectName = "add",
    dst: bool = False,
    dim: Count = 384,
    depth: Count = 4,
    heads: Count = 12,
    mlp_ratio: Positive = 4.0,
    neuron: NeuronSpec = LIF,
    surrogate: SurrogateSpec = "sigmoid",
) -> Spikformer:
    """Spikformer-4-384 for 32x32 images (patch 4: 64 tokens). ``connect`` 'add' (original) or a
    full-spike function such as 'iand'; ``dst=True`` adds the accumulation stream (needs a
    full-spike connect). ``dim``/``depth``/``heads`` shrink it for tests."""
    connect = check_connect("dst" if dst else "sew", connect)
    return Spikformer(
        num_classes=num_classes,
        T=T,
        in_channels=in_channels,
        dim=dim,
        depth=depth,
        heads=heads,
        mlp_ratio=mlp_ratio,
        connect=connect,
        dst=dst,
        neuron=neuron,
        surrogate=surrogate,
    )
