"""Cross-framework proof: fullspike's NIR files run in SpikingJelly, Norse and snnTorch's own NIR
importers, with the settings of docs/deploy.md, and give the same predictions on 100 real test
samples and >= 99.9% identical spikes in every spiking layer the importer lets us read.

Each importer takes a subset (docs/deploy.md, "Importers"): SpikingJelly everything exported with
``gates="if"``; Norse feed-forward chains (its executor runs residual graphs in depth-first
order), one sample at a time (its Flatten counts the batch axis); snnTorch LIF-only chains
(it rejects IF nodes with r != 1 and maps IF to a leaky neuron)."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record_spikes
from fullspike.dst import remove_aap
from fullspike.energy import estimate_bn_stats
from fullspike.models import create_model
from fullspike.models.dvs_resnet import DVSResNet
from fullspike.nn import IF, LIF, PLIF, SeqSequential, set_backend

nir = pytest.importorskip("nir")
from fullspike.export import to_nir, write_nir  # noqa: E402

T = 4
DT = 1e-4


def export(model: nn.Module, x: torch.Tensor, tmp_path) -> tuple:
    """Write ``model``'s graph (gates "if"); our logits and spikes of every neuron, gate and pool."""
    set_backend(model, "loop")
    path = write_nir(to_nir(model, x, dt=DT, gates="if"), tmp_path / "net.nir")
    ref, spikes = record_spikes(model, x, T)
    return nir.read(path), ref, spikes


def hook_outputs(module: nn.Module, names: list[str], pick) -> tuple[dict, list]:
    """Record ``pick(output)`` of the submodules named like the NIR nodes (dots -> underscores)."""
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    hooks = [module.get_submodule(n.replace(".", "_")).register_forward_hook(
        lambda m, a, out, n=n: seen[n].append(pick(out).detach().clone())) for n in names]
    return seen, hooks


def agreement(ref: torch.Tensor, steps: torch.Tensor, ours: dict, theirs: dict) -> tuple[int, float]:
    """(same predictions, fraction of identical spikes over all recorded layers). ``ref``: our
    logits ``[B, classes]`` or, for a bare sequence, per-step outputs ``[T, B, classes]``."""
    logits = ref.mean(0) if ref.dim() == 3 else ref
    same = int((steps.mean(0).argmax(-1) == logits.argmax(-1)).sum())
    equal = total = 0
    for name, s in ours.items():
        t = theirs[name].reshape(s.shape)
        equal += int((t == s).sum())
        total += s.numel()
    assert total > 0
    diff = (steps - ref if ref.dim() == 3 else steps.mean(0) - ref).abs().max().item()
    print(f"predictions {same}/{ref.shape[-2]}, identical spikes {100 * equal / total:.4f}% of {total}, "
          f"max |output diff| {diff:.3g}")
    return same, equal / total


def run_spikingjelly(graph, x_seq: torch.Tensor, names: list[str]):
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    net = import_from_nir(graph, dt=DT)
    seen, hooks = hook_outputs(net, names, lambda out: out[0] if isinstance(out, tuple) else out)
    state, outs = None, []
    with torch.no_grad():
        for t in range(x_seq.shape[0]):
            out, state = net(x_seq[t], state)
            outs.append(out)
    for h in hooks:
        h.remove()
    return torch.stack(outs), {n: torch.stack(v) for n, v in seen.items()}


def run_per_sample(net: nn.Module, x_seq: torch.Tensor, names: list[str], pick, reset=None):
    """Norse / snnTorch: one sample at a time, without a batch axis, T steps each."""
    seen, hooks = hook_outputs(net, names, pick)
    outs = []
    with torch.no_grad():
        for b in range(x_seq.shape[1]):
            if reset is not None:
                reset(net)
            state, steps = None, []
            for t in range(x_seq.shape[0]):
                out, state = net(x_seq[t, b], state)
                steps.append(out)
            outs.append(torch.stack(steps))
    for h in hooks:
        h.remove()
    B = x_seq.shape[1]
    spikes = {n: torch.stack(v).reshape(B, T, *v[0].shape).transpose(0, 1) for n, v in seen.items()}
    return torch.stack(outs, 1), spikes


def run_norse(graph, x_seq, names):
    import norse.torch as norse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        net = norse.from_nir(graph, dt=DT, ignore_warnings=True)
    return run_per_sample(net, x_seq, names, lambda out: out[0])


def run_snntorch(graph, x_seq, names):
    from snntorch import utils
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)
    return run_per_sample(net, x_seq, names, lambda out: out, reset=utils.reset)


def chain_net(pool: bool) -> SeqSequential:
    """Feed-forward conv nets for N-MNIST: with IF and spike max-pooling, or LIF-only with strided convs."""
    if pool:
        return SeqSequential(
            nn.Conv2d(2, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12), IF(), nn.MaxPool2d(2),
            nn.Conv2d(12, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), PLIF(tau=2.0), nn.MaxPool2d(2),
            nn.Flatten(1), nn.Linear(16 * 8 * 8, 64), nn.BatchNorm1d(64), LIF(tau=3.0), nn.Linear(64, 10))
    return SeqSequential(
        nn.Conv2d(2, 12, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(12), LIF(tau=2.0),
        nn.Conv2d(12, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), PLIF(tau=2.0),
        nn.Flatten(1), nn.Linear(16 * 9 * 9, 64), nn.BatchNorm1d(64), LIF(tau=3.0), nn.Linear(64, 10))


def spiking_names(graph, spikes) -> list[str]:
    names = [n for n in spikes if n in graph.nodes]
    assert len(names) == len(spikes)
    return names


@pytest.fixture(scope="module")
def chains(nmnist_test, tmp_path_factory):
    x = nmnist_test[0]
    out = {}
    for pool in (True, False):
        model = chain_net(pool)
        for m in model.modules():
            if isinstance(m, PLIF):
                m.w.data.fill_(0.4)  # a learned tau of 1.67 steps
        set_backend(model, "loop")
        estimate_bn_stats(model, x[:, :50])
        out[pool] = export(model.eval(), x, tmp_path_factory.mktemp(f"chain{pool}"))
    return x, out


@pytest.mark.parametrize("importer, pool", [("spikingjelly", True), ("norse", True), ("spikingjelly", False),
                                            ("norse", False), ("snntorch", False)])
def test_chain_conv_nets_in_other_frameworks(chains, importer, pool):
    pytest.importorskip(importer)
    x, nets = chains
    graph, ref, spikes = nets[pool]
    names = spiking_names(graph, spikes)
    run = {"spikingjelly": run_spikingjelly, "norse": run_norse, "snntorch": run_snntorch}[importer]
    steps, theirs = run(graph, x, names)
    same, spike_eq = agreement(ref, steps, spikes, theirs)
    assert x.shape[1] == 100 and same == 100 and spike_eq >= 0.999
    assert (steps - ref).abs().max().item() < 1e-4


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
    model = DVSResNet("dst", [4] * 7, num_classes=10, T=T, in_channels=2, image_size=128, connect="iand",
                      neuron={"name": "plif", "tau": 2.0}, surrogate="atan", zero_init_residual=False,
                      accum_pool="max")
    set_backend(model, "loop")
    estimate_bn_stats(model, x[:, :32])
    graph, ref, spikes = export(remove_aap(model).eval(), x, tmp_path)
    steps, theirs = run_spikingjelly(graph, x, spiking_names(graph, spikes))
    same, spike_eq = agreement(ref, steps, spikes, theirs)
    assert x.shape[1] == 100 and same == 100 and spike_eq >= 0.999
