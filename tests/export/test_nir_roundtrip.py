"""NIR round trip on real data: to_nir -> write -> read -> from_nir reproduces the FSNN's outputs
(float64, within 1e-6) and every spike, for a DST ResNet-18 (CIFAR stem), a DST 7B-Net and a
BNTT-free conv net; logical residuals, spike max-pooling and both gate styles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from harness import firing_rates, plif_7bnet, record_spikes
from torch import nn

from fullspike.dst import remove_aap
from fullspike.energy import estimate_bn_stats
from fullspike.models import create_model
from fullspike.nn import IF, LIF, PLIF, SeqSequential, set_backend

nir = pytest.importorskip("nir")
from fullspike.export import from_nir, to_nir, write_nir  # noqa: E402

STANDARD = {"Input", "Output", "Conv2d", "Affine", "Flatten", "SumPool2d", "Threshold", "Scale", "IF", "LIF"}


def bn_stats(model: nn.Module, x: torch.Tensor) -> None:
    """BN statistics of real data (default statistics leave deep layers silent); no compile time."""
    set_backend(model, "loop")
    estimate_bn_stats(model, x)


def learned_plif(model: nn.Module, seed: int = 1) -> None:
    """Give every PLIF its own time constant, as training would (tau between 1.4 and 4.5)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, PLIF):
            m.w.data.fill_(float(torch.empty(()).uniform_(-1.2, 1.0, generator=g)))


def round_trip(model: nn.Module, x: torch.Tensor, T: int, tmp_path, gates: str = "threshold"):
    """Export, write, read, import; returns (reference logits, imported per-step output, our spikes,
    the imported network's node outputs, the graph read back)."""
    graph = to_nir(model, x, gates=gates)
    path = write_nir(graph, tmp_path / "net.nir")
    back = nir.read(path)
    net = from_nir(path, backend="loop")  # no compile time in CI; every backend gives the same spikes
    set_backend(model, "loop")
    ref, spikes = record_spikes(model, x, T)
    seq = x.unsqueeze(0).expand(T, *x.shape) if x.dim() == 4 else x
    with torch.no_grad():
        nodes = net.nodes(seq)
    return ref, nodes[net.output_name], spikes, nodes, back


def assert_same(ref, steps, spikes, nodes, per_step: bool = False) -> None:
    out = steps if per_step else steps.mean(0)
    assert out.shape == ref.shape
    diff = (out - ref).abs().max().item()
    print(
        f"max |output diff| {diff:.3g}; identical spikes in {len(spikes)} layers "
        f"({sum(s.numel() for s in spikes.values())} values)"
    )
    assert diff <= 1e-6
    assert spikes, "no spiking layers recorded"
    for name, s in spikes.items():
        assert torch.equal(nodes[name], s), f"spikes of {name} differ"
    rates = firing_rates(spikes)
    assert all(r > 0 for r in rates.values()), f"silent layers: {[k for k, r in rates.items() if r == 0]}"
    assert 0.02 < float(np.mean(list(rates.values()))) < 0.6


def test_dst_resnet18_cifar_stem_on_cifar10(cifar_test, tmp_path):
    x = cifar_test[0][::2].double()  # 5 images per class
    model = create_model("dst_resnet18", num_classes=10, T=4, stem="cifar", width=8).double()
    bn_stats(model, x)
    fsnn = remove_aap(model).eval()
    ref, steps, spikes, nodes, graph = round_trip(fsnn, x, 4, tmp_path)
    assert steps.shape == (4, 50, 10) and steps.dtype == torch.float64
    assert_same(ref, steps, spikes, nodes)
    assert {type(n).__name__ for n in graph.nodes.values()} <= STANDARD
    assert sum(isinstance(n, nir.Threshold) for n in graph.nodes.values()) == 8  # one IAND per block
    meta = graph.metadata
    assert meta["firing"] == ">=" and float(meta["dt"]) == 1e-4 and int(meta["time_steps"]) == 4
    assert float(graph.nodes["stem.sn"].r.flat[0]) == pytest.approx(1e4)


def test_dst_7bnet_on_nmnist_with_learned_plif(nmnist_test, tmp_path):
    """The 7B-Net (7 blocks + 2x2 max-pools, PLIF) needs 128x128 frames: N-MNIST's 34x34 frames
    are zero-padded; 8 channels instead of 32 keep it CI-sized."""
    frames, _ = nmnist_test
    x = F.pad(frames[:, :16], (47, 47, 47, 47)).double()
    model = plif_7bnet([8] * 7, "iand", 4).double()
    learned_plif(model)
    bn_stats(model, x)
    fsnn = remove_aap(model).eval()
    ref, steps, spikes, nodes, graph = round_trip(fsnn, x, 4, tmp_path)
    assert_same(ref, steps, spikes, nodes)
    assert sum(isinstance(n, nir.SumPool2d) for n in graph.nodes.values()) == 7
    taus = {name: float(n.tau.flat[0]) / 1e-4 for name, n in graph.nodes.items() if isinstance(n, nir.LIF)}
    plif = {name: m.tau for name, m in fsnn.named_modules() if isinstance(m, PLIF)}
    assert taus.keys() == plif.keys() and len(set(np.round(list(taus.values()), 6))) > 5
    assert all(taus[k] == pytest.approx(plif[k], rel=1e-12) for k in plif)


def test_wide_7bnet_with_its_channel_transition(nmnist_test, tmp_path):
    """Wide-7B-Net layout (4 stages, a conv1x1-BN-PLIF transition, 3 wider stages), XOR connect."""
    x = F.pad(nmnist_test[0][:, :6], (47, 47, 47, 47)).double()
    model = plif_7bnet([4] * 4 + [8] * 3, "xor", 4).double()
    learned_plif(model, seed=2)
    bn_stats(model, x)
    ref, steps, spikes, nodes, graph = round_trip(remove_aap(model).eval(), x, 4, tmp_path)
    assert_same(ref, steps, spikes, nodes)
    assert isinstance(graph.nodes["layers.8.sn"], nir.LIF) and graph.nodes["layers.8.conv"].weight.shape[:2] == (8, 4)


def conv_net() -> SeqSequential:
    """A BNTT-free conv net on N-MNIST frames: conv-BN-IF, max-pool, conv-BN-PLIF, max-pool,
    FC-BN-LIF, FC."""
    return SeqSequential(
        nn.Conv2d(2, 12, 3, padding=1, bias=False),
        nn.BatchNorm2d(12),
        IF(),
        nn.MaxPool2d(2),
        nn.Conv2d(12, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        PLIF(tau=2.0),
        nn.MaxPool2d(2, padding=1),
        nn.Flatten(1),
        nn.Linear(16 * 9 * 9, 64),
        nn.BatchNorm1d(64),
        LIF(tau=3.0),
        nn.Linear(64, 10),
    )


@pytest.mark.parametrize("gates", ["threshold", "if"])
def test_bntt_free_conv_net_on_nmnist(nmnist_test, tmp_path, gates):
    """gates "if" writes the padded max-pool as a conv of ones (importers drop SumPool2d padding)."""
    frames, _ = nmnist_test
    x = frames.double()
    model = conv_net().double()
    learned_plif(model)
    bn_stats(model, x[:, :50])
    model.eval()
    ref, steps, spikes, nodes, graph = round_trip(model, x, 4, tmp_path, gates)
    assert_same(ref, steps, spikes, nodes, per_step=True)  # a bare sequence returns every step
    assert type(graph.nodes["7.sum"]).__name__ == ("SumPool2d" if gates == "threshold" else "Conv2d")
    assert [type(graph.nodes[k]).__name__ for k in ("2", "6", "11")] == ["IF", "LIF", "LIF"]


@pytest.mark.parametrize("connect", ["and", "or", "iand", "xor"])
@pytest.mark.parametrize("gates", ["threshold", "if"])
def test_every_logical_residual_in_both_gate_styles(cifar_test, tmp_path, connect, gates):
    """All four combinations of (O, S') reach the gates, and the exported gates match Connect."""
    x = cifar_test[0][:16].double()
    model = create_model("sew_resnet18", num_classes=10, T=3, stem="cifar", width=4, connect=connect).double()
    bn_stats(model, x)
    model.eval()
    ref, steps, spikes, nodes, graph = round_trip(model, x, 3, tmp_path, gates)
    assert_same(ref, steps, spikes, nodes)
    seen = set()
    for block in ("layer1.0", "layer2.1", "layer3.0"):
        o = spikes[f"{block}.branch.sn2"]
        s = spikes[f"{block}.downsample.sn"] if f"{block}.downsample.sn" in spikes else nodes[_block_input(block)]
        seen |= {(int(a), int(b)) for a, b in torch.stack([o.flatten(), s.flatten()], 1).unique(dim=0)}
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1)}
    kinds = {type(n).__name__ for n in graph.nodes.values()}
    assert ("Threshold" in kinds) == (gates == "threshold") and ("Scale" in kinds) <= (gates == "threshold")


def _block_input(block: str) -> str:
    layer, j = block.split(".")
    return f"{layer}.{int(j) - 1}.connect" if int(j) else "stem.sn"


@pytest.mark.parametrize(
    "name, stem, size",
    [("spiking_resnet18", "imagenet", 64), ("dst_resnet50", "cifar", 32), ("dst_resnet34", "imagenet", 64)],
)
def test_other_resnets_and_the_imagenet_stem(cifar_test, tmp_path, name, stem, size):
    """Plain Spiking ResNet (sum into the neuron), bottlenecks, and the ImageNet stem (7x7/2 conv,
    3x3/2 max-pool with padding 1 as a padded sum-pool)."""
    x = F.interpolate(cifar_test[0][:8], size=size).double()
    model = create_model(name, num_classes=10, T=2, stem=stem, width=4).double()
    bn_stats(model, x)
    model = (remove_aap(model) if name.startswith("dst") else model).eval()
    ref, steps, spikes, nodes, graph = round_trip(model, x, 2, tmp_path)
    out = steps.mean(0)
    assert (out - ref).abs().max().item() <= 1e-6
    assert all(torch.equal(nodes[k], v) for k, v in spikes.items())
    if stem == "imagenet":
        pool = graph.nodes["stem.pool.sum"]
        assert list(pool.padding) == [1, 1] and list(pool.stride) == [2, 2]
