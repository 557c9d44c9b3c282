"""SpikingJelly's NIR importer runs fullspike's residual graphs (gates "if") of untrained DST nets
with the same predictions on 100 real test samples and >= 99.9% identical spikes in every spiking
layer. The other importers and the zoo networks: test_compat_matrix.py."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from harness import DT, agreement, plif_7bnet, record_spikes, run_spikingjelly
from torch import nn

from fullspike.dst import remove_aap
from fullspike.energy import estimate_bn_stats
from fullspike.models import create_model
from fullspike.nn import set_backend

nir = pytest.importorskip("nir")
from fullspike.export import to_nir, write_nir  # noqa: E402

T = 4


def export(model: nn.Module, x: torch.Tensor, tmp_path) -> tuple:
    """Write ``model``'s graph (gates "if"); our logits and spikes of every neuron, gate and pool."""
    set_backend(model, "loop")
    path = write_nir(to_nir(model, x, dt=DT, gates="if"), tmp_path / "net.nir")
    ref, spikes = record_spikes(model, x, T)
    return nir.read(path), ref, spikes


def spiking_names(graph, spikes) -> list[str]:
    names = [n for n in spikes if n in graph.nodes]
    assert len(names) == len(spikes)
    return names


@pytest.mark.parametrize("stem, size, width", [("cifar", 32, 8), ("imagenet", 64, 4)])
def test_dst_resnet18_in_spikingjelly(cifar_test, tmp_path, stem, size, width):
    """Both stems; the ImageNet stem's padded max-pool goes out as a conv of ones (gates "if")."""
    pytest.importorskip("spikingjelly")
    x = F.interpolate(cifar_test[0], size=size)
    model = create_model("dst_resnet18", num_classes=10, T=T, stem=stem, width=width)
    set_backend(model, "loop")
    estimate_bn_stats(model, x[:64])
    graph, ref, spikes = export(remove_aap(model).eval(), x, tmp_path)
    steps, theirs = run_spikingjelly(graph, x.unsqueeze(0).expand(T, *x.shape), spiking_names(graph, spikes))
    same, spike_eq = agreement(ref, steps, spikes, theirs)
    assert x.shape[0] == 100 and same == 100 and spike_eq >= 0.999


@pytest.mark.slow
def test_dst_7bnet_in_spikingjelly(nmnist_test, tmp_path):
    pytest.importorskip("spikingjelly")
    x = F.pad(nmnist_test[0], (47, 47, 47, 47))
    model = plif_7bnet([4] * 7, "iand", T)
    set_backend(model, "loop")
    estimate_bn_stats(model, x[:, :32])
    graph, ref, spikes = export(remove_aap(model).eval(), x, tmp_path)
    steps, theirs = run_spikingjelly(graph, x, spiking_names(graph, spikes))
    same, spike_eq = agreement(ref, steps, spikes, theirs)
    assert x.shape[1] == 100 and same == 100 and spike_eq >= 0.999
