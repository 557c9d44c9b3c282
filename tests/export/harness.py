"""Running fullspike's NIR graphs in SpikingJelly, Norse and snnTorch's own NIR importers, with the
settings of docs/deploy.md, and comparing their outputs and spikes with fullspike's (shared by
test_importers.py and test_compat_matrix.py)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from fullspike.models.dvs_resnet import DVSResNet
from fullspike.nn import IF, LIF, PLIF, Connect, SeqSequential, SpikingNeuron

DT = 1e-4


def hook_outputs(module: nn.Module, names: list[str], pick) -> tuple[dict, list]:
    """Record ``pick(output)`` of the submodules named like the NIR nodes (dots -> underscores)."""
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    hooks = [
        module.get_submodule(n.replace(".", "_")).register_forward_hook(
            lambda m, a, out, n=n: seen[n].append(pick(out).detach().clone())
        )
        for n in names
    ]
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
    print(
        f"predictions {same}/{ref.shape[-2]}, identical spikes {100 * equal / total:.4f}% of {total}, "
        f"max |output diff| {diff:.3g}"
    )
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
    spikes = {n: torch.stack(v).reshape(B, x_seq.shape[0], *v[0].shape).transpose(0, 1) for n, v in seen.items()}
    return torch.stack(outs, 1), spikes


def run_norse(graph, x_seq, names, ignore_warnings: bool = True):
    import norse.torch as norse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        net = norse.from_nir(graph, dt=DT, ignore_warnings=ignore_warnings)
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
            nn.Conv2d(2, 12, 3, padding=1, bias=False),
            nn.BatchNorm2d(12),
            IF(),
            nn.MaxPool2d(2),
            nn.Conv2d(12, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            PLIF(tau=2.0),
            nn.MaxPool2d(2),
            nn.Flatten(1),
            nn.Linear(16 * 8 * 8, 64),
            nn.BatchNorm1d(64),
            LIF(tau=3.0),
            nn.Linear(64, 10),
        )
    return SeqSequential(
        nn.Conv2d(2, 12, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(12),
        LIF(tau=2.0),
        nn.Conv2d(12, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        PLIF(tau=2.0),
        nn.Flatten(1),
        nn.Linear(16 * 9 * 9, 64),
        nn.BatchNorm1d(64),
        LIF(tau=3.0),
        nn.Linear(64, 10),
    )


def plif_7bnet(widths: list[int], connect: str, T: int) -> DVSResNet:
    """A DST 7B-Net layout on 128x128 two-channel event frames (PLIF neurons, ATan surrogate,
    max-pooled accumulation, no zero-init of the residual BN): ``widths`` per block."""
    return DVSResNet(
        "dst",
        widths,
        num_classes=10,
        T=T,
        in_channels=2,
        image_size=128,
        connect=connect,
        neuron={"name": "plif", "tau": 2.0},
        surrogate="atan",
        zero_init_residual=False,
        accum_pool="max",
    )


def record_spikes(model: nn.Module, x: torch.Tensor, T: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(model(x), {name: spikes [T, B, ...]})`` for every neuron, connect function and max-pool."""
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, (SpikingNeuron, Connect, nn.MaxPool2d)):

            def hook(mod, args, out, name=name):
                seen[name] = out.reshape(T, -1, *out.shape[1 if out.shape[0] != T else 2 :])

            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return out, seen


def firing_rates(spikes: dict[str, torch.Tensor]) -> dict[str, float]:
    return {k: float(v.float().mean()) for k, v in spikes.items()}
