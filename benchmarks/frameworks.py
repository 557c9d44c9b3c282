"""The benchmarked networks, built once in fullspike and mapped onto each framework.

Every case is a fullspike model; the peers get *the same model* with each fullspike neuron
swapped for that library's neuron (convs, norms, pooling, encoder and head are the same torch
modules), so the table compares neuron implementations inside identical networks. The ANN
floor swaps every neuron for a ReLU, so the network does the same work on ``T * B`` samples.

Neuron mapping (fullspike -> peer), as far as each library allows:

* SpikingJelly (2.x, multi-step ``step_mode="m"``): ``IF`` -> ``IFNode``; decay-input
  ``LIF(tau)`` -> ``LIFNode(tau, decay_input=True)``; leak-factor ``LIF(leak)`` (BNTT) ->
  ``LIFNode(tau=1/(1-leak), decay_input=False)`` (the same ``h = leak * v + x``); same
  threshold, reset (hard/soft) and ``detach_reset``. Surrogates: sigmoid/atan -> the same
  functions and alpha; BNTT's triangle ``gamma * max(0, 1 - |x|/w)`` -> ``PiecewiseQuadratic``
  with alpha = 1/w (the same triangle support, height 1/w instead of gamma; SpikingJelly's
  compiled kernels take only its built-in surrogates). SpikingJelly fires on ``h >= v_th``, so
  BNTT's strict ``h > v_th`` is not reproduced (a tie has probability zero with real inputs).
  ``spikingjelly`` is its default (fastest) multi-step path on the device (CPU: its fused
  forward/backward ops; CUDA: its CUDA/Triton kernels); ``spikingjelly-torch`` is its pure
  PyTorch autograd neuron (``SimpleIFNode``/``SimpleLIFNode``), the analogue of its former
  ``backend="torch"``.
* snnTorch (1.x): ``snn.Leaky`` stepped over time in a Python loop (its idiom), with
  ``beta = leak`` (BNTT), ``beta = 1 - 1/tau`` and the input scaled by ``1/tau`` (decay-input
  LIF), ``beta = 1`` (IF); ``reset_mechanism="zero"`` for a hard reset to 0, ``"subtract"`` for
  a soft one; ``reset_delay=False`` so the reset happens in the step that fires, as in
  fullspike. snnTorch always detaches its reset signal and fires on ``h > v_th``. Surrogates:
  ``surrogate.sigmoid(slope=alpha)``, ``surrogate.atan(alpha)``, and BNTT's triangle exactly
  through ``surrogate.custom_surrogate``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import fullspike
from fullspike.models.outputs import classification_loss
from fullspike.nn import IF, LIF, PLIF, SeqSequential, SpikingNeuron, set_backend
from fullspike.surrogate import ATan, Sigmoid, Triangle

FRAMEWORKS = (
    "fullspike",
    "fullspike-loop",
    "fullspike-inductor",
    "fullspike-eager",
    "spikingjelly",
    "spikingjelly-torch",
    "snntorch",
    "ann",
)


class SequenceModule(nn.Module):
    """Marks a replacement neuron as taking whole ``[T, B, ...]`` sequences."""

    sequence_aware = True


class ReLUSequence(SequenceModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


class SpikingJellyNeuron(SequenceModule):
    def __init__(self, node: nn.Module) -> None:
        super().__init__()
        self.node = node

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.node.reset()  # fullspike neurons start from rest on every call; so does this
        return self.node(x)


class SnnTorchNeuron(SequenceModule):
    def __init__(self, leaky: nn.Module, input_scale: float) -> None:
        super().__init__()
        self.leaky, self.input_scale = leaky, input_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            xt = x[t] if self.input_scale == 1.0 else x[t] * self.input_scale
            spk, mem = self.leaky(xt, mem)
            spikes.append(spk)
        return torch.stack(spikes)


def _leak_and_scale(n: SpikingNeuron) -> tuple[float, float, bool]:
    """(leak, input scale, decay_input) of a fullspike neuron."""
    if isinstance(n, PLIF):
        raise ValueError("the benchmark cases use IF and LIF neurons only")
    if isinstance(n, LIF):
        if n.leak is not None:
            return n.leak, 1.0, False
        return 1.0 - 1.0 / n.tau, 1.0 / n.tau, True
    return 1.0, 1.0, False


def _peer_surrogate(s, library: str, sigmoid, atan, triangle):
    """``library``'s counterpart of the fullspike surrogate ``s``, made by the matching maker."""
    make = {Sigmoid: sigmoid, ATan: atan, Triangle: triangle}.get(type(s))
    if make is None:
        raise ValueError(f"no {library} counterpart for {s!r}")
    return make(s)


def to_spikingjelly(n: SpikingNeuron, simple: bool) -> nn.Module:
    from spikingjelly.activation_based import neuron, surrogate

    sj_surrogate = _peer_surrogate(
        n.surrogate,
        "SpikingJelly",
        sigmoid=lambda s: surrogate.Sigmoid(alpha=s.alpha),
        atan=lambda s: surrogate.ATan(alpha=s.alpha),
        triangle=lambda s: surrogate.PiecewiseQuadratic(alpha=1.0 / s.width),
    )
    common = dict(
        v_threshold=n.v_threshold,
        v_reset=n.v_reset,
        surrogate_function=sj_surrogate,
        detach_reset=n.detach_reset,
        step_mode="m",
    )
    leak, _, decay_input = _leak_and_scale(n)
    if isinstance(n, IF):
        node = (neuron.SimpleIFNode if simple else neuron.IFNode)(**common)
    else:
        tau = 1.0 / (1.0 - leak)
        node = (neuron.SimpleLIFNode if simple else neuron.LIFNode)(tau=tau, decay_input=decay_input, **common)
    return SpikingJellyNeuron(node)


def to_snntorch(n: SpikingNeuron) -> nn.Module:
    import snntorch
    from snntorch import surrogate

    def triangle(s: Triangle):
        def grad_fn(input_, grad_input, spikes):
            return grad_input * s.gamma * torch.clamp(1.0 - torch.abs(input_ / s.width), min=0.0)

        return surrogate.custom_surrogate(grad_fn)

    grad = _peer_surrogate(
        n.surrogate,
        "snnTorch",
        sigmoid=lambda s: surrogate.sigmoid(slope=s.alpha),
        atan=lambda s: surrogate.atan(alpha=s.alpha),
        triangle=triangle,
    )
    if n.v_reset not in (None, 0.0):
        raise ValueError("snnTorch resets to zero or by subtraction only")
    leak, scale, _ = _leak_and_scale(n)
    leaky = snntorch.Leaky(
        beta=leak,
        threshold=n.v_threshold,
        spike_grad=grad,
        reset_mechanism="subtract" if n.v_reset is None else "zero",
        reset_delay=False,
    )
    return SnnTorchNeuron(leaky, scale)


def swap_neurons(model: nn.Module, make) -> nn.Module:
    """Replace every fullspike neuron ``n`` inside ``model`` by ``make(n)``."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, SpikingNeuron):
                setattr(module, name, make(child))
    return model


def for_framework(model: nn.Module, framework: str) -> nn.Module:
    """The fullspike ``model`` as run by ``framework`` (see the module docstring)."""
    if framework == "fullspike":
        return model
    if framework.startswith("fullspike-"):
        set_backend(model, framework.split("-", 1)[1])
        return model
    if framework == "spikingjelly":
        return swap_neurons(model, lambda n: to_spikingjelly(n, simple=False))
    if framework == "spikingjelly-torch":
        return swap_neurons(model, lambda n: to_spikingjelly(n, simple=True))
    if framework == "snntorch":
        return swap_neurons(model, to_snntorch)
    if framework == "ann":
        return swap_neurons(model, lambda n: ReLUSequence())
    raise ValueError(f"unknown framework '{framework}'; choose one of {FRAMEWORKS}")


def build_case(case: str, T: int, batch: int, device: torch.device):
    """``(model, inputs, loss_fn, has_parameters)`` of a benchmark case, in fullspike form.

    ``lif``: one LIF layer (tau 2, hard reset, sigmoid surrogate; DST's neuron) on ``batch``
    neurons, input ``[T, batch]``; ``vgg9``: BNTT VGG9, CIFAR-10 shapes; ``resnet18``: the
    CIFAR-stem DST ResNet-18.
    """
    gen = torch.Generator().manual_seed(0)
    if case == "lif":
        model = SeqSequential(LIF(tau=2.0))
        x = (torch.randn(T, batch, generator=gen) + 0.5).to(device).requires_grad_()
        return model, (x,), lambda out: out.sum(), False
    images = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    labels = torch.randint(0, 10, (batch,), generator=gen).to(device)
    if case == "vgg9":
        model = fullspike.create_model("vgg9_bntt", T=T, num_classes=10)
    elif case == "resnet18":
        try:
            model = fullspike.create_model("dst_resnet18", T=T, num_classes=10, stem="cifar")
        except Exception as err:  # the model may not exist yet in this checkout
            raise SkipCase(f"dst_resnet18 with stem='cifar' is not available ({err})") from None
    else:
        raise ValueError(f"unknown case '{case}'")
    return model.to(device), (images,), lambda out: classification_loss(out, labels), True


class SkipCase(Exception):
    """The case cannot run in this checkout (reason in the message)."""


def neuron_count(model: nn.Module) -> int:
    return sum(isinstance(m, SpikingNeuron) for m in model.modules())


def describe(case: str, T: int, batch: int) -> str:
    if case == "lif":
        return f"one LIF layer, {batch} = 2^{int(math.log2(batch))} neurons, T = {T}"
    names = {"vgg9": "BNTT VGG9 (CIFAR-10, 32x32)", "resnet18": "DST ResNet-18, CIFAR stem (32x32)"}
    return f"{names[case]}, T = {T}, batch {batch}"
