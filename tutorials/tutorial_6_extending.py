"""
# 6. Extending fullspike

Everything the configs and the command line name (neurons, surrogates, models, datasets) comes
from a registry you can add to, and the `Trainer` takes any model, loss and callbacks. This
tutorial adds one of each and trains with them:

- a **surrogate gradient** (`fullspike.surrogate.register`);
- a **neuron** (a `SpikingNeuron` subclass, registered in `fullspike.nn.NEURONS`);
- a **model** (`fullspike.register_model`), built by name with `fullspike.create_model`;
- a **dataset** (`fullspike.data.register_dataset`), built by name with `build_dataset`;
- a **loss** and a **callback** (`fullspike.train.Callback`).

Once registered (importing the module that registers them is enough), the names also work in
a YAML config, e.g. `model: {name: tiny_convnet, neuron: learned_leak}`.
"""

# %%
# ## A surrogate gradient
#
# A surrogate implements `grad(x)`, the derivative it stands for at `x = h - v_th`; the forward
# pass stays the Heaviside step. This one is the "fast sigmoid" derivative
# `1 / (1 + k|x|)^2`.
import matplotlib.pyplot as plt
import torch
from torch import nn

import fullspike
from fullspike import data, surrogate
from fullspike import functional as SF
from fullspike import nn as snn


@surrogate.register("fast_sigmoid")
class FastSigmoid(surrogate.Surrogate):
    """``1 / (1 + k |x|)^2``, the fast-sigmoid derivative (``k``: sharpness)."""

    def __init__(self, k: float = 5.0) -> None:
        self.k = float(k)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 / (1.0 + self.k * x.abs()) ** 2


print(surrogate.available())
x = torch.linspace(-2, 2, 201)
fig, ax = plt.subplots(figsize=(5, 2.6))
for name in ("sigmoid", "fast_sigmoid"):
    ax.plot(x, surrogate.make_surrogate(name).grad(x), label=name)
ax.set(xlabel="h - v_th", ylabel="derivative")
ax.legend()
fig.tight_layout()

# %%
# ## A neuron
#
# A neuron subclasses `SpikingNeuron` (threshold, reset, surrogate and backend come with it)
# and maps `[T, B, ...] -> [T, B, ...]`. The generic recurrence
# `fullspike.functional.neuron_sequence` runs `h_t = decay * v_{t-1} + scale * x_t + bias`,
# fires and resets; the gradients reach tensor coefficients. This neuron learns its leak factor
# `decay = sigmoid(w)`, one per layer.


@snn.NEURONS.register("learned_leak")
class LearnedLeak(snn.SpikingNeuron):
    """Leak-factor LIF ``h_t = sigmoid(w) v_{t-1} + x_t`` with a learned ``w`` (one per layer)."""

    def __init__(self, init_leak: float = 0.9, **kwargs) -> None:
        super().__init__(**kwargs)
        self.w = nn.Parameter(torch.logit(torch.tensor(float(init_leak))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        decay = torch.sigmoid(self.w).to(x.dtype)
        return SF.neuron_sequence(x, decay=decay, **self._common())


neuron = snn.make_neuron({"name": "learned_leak", "surrogate": "fast_sigmoid"})
print(neuron)
print(neuron(torch.full((6, 1), 0.4)).flatten().tolist())

# %%
# ## A model
#
# A model factory is a function returning an `nn.Module`; `register_model` registers it under
# its function name. Its arguments are the `model:` keys of a config. A model takes images
# `[B, C, H, W]` and returns logits `[B, classes]`; inside, the sequence is `[T, B, ...]`.


@fullspike.register_model
def tiny_convnet(
    num_classes: int = 4,
    in_channels: int = 1,
    T: int = 4,
    neuron: str = "learned_leak",
    surrogate: str = "fast_sigmoid",
) -> nn.Module:
    """Direct-coded conv -> neuron -> linear, logits averaged over the ``T`` steps."""
    neuron_module = snn.make_neuron({"name": neuron, "surrogate": surrogate})
    return TinyConvNet(num_classes, in_channels, T, neuron_module)


class TinyConvNet(nn.Module):
    """Images ``[B, C, 8, 8]`` -> logits ``[B, num_classes]``."""

    def __init__(
        self, num_classes: int, in_channels: int, T: int, neuron: nn.Module
    ) -> None:
        super().__init__()
        self.encoder = snn.DirectEncoder(T)  # the image at every step: [T, B, ...]
        self.body = snn.SeqSequential(
            nn.Conv2d(in_channels, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            neuron,
            nn.Flatten(),
            nn.Linear(8 * 8 * 8, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.encoder(x)).mean(0)


print("registered:", fullspike.is_model("tiny_convnet"))
model = fullspike.create_model("tiny_convnet", T=4)
print(model)

# %%
# ## A dataset
#
# A dataset factory `fn(root, train, augment=False, **options)` returns a torch dataset of
# `(image, label)` pairs and a `DatasetInfo` (classes, channels, image size); `build_dataset`
# and `make_loader` then treat it like the built-in ones. This one draws noisy blobs in one of
# the four quadrants of an 8x8 image; the class is the quadrant.
from torch.utils.data import TensorDataset


@data.register_dataset("quadrant_blobs")
def quadrant_blobs(
    root: str | None, train: bool, augment: bool = False, n: int = 400
):
    """Noisy 8x8 blobs; the label is the quadrant (0..3) holding the blob. No files needed."""
    g = torch.Generator().manual_seed(0 if train else 1)
    labels = torch.randint(0, 4, (n,), generator=g)
    images = 0.6 * torch.randn(n, 1, 8, 8, generator=g)
    for i, q in enumerate(labels.tolist()):
        r, c = 4 * (q // 2), 4 * (q % 2)
        images[i, 0, r + 1 : r + 3, c + 1 : c + 3] += 1.0
    info = data.DatasetInfo(
        num_classes=4, in_channels=1, image_size=8, classes=["TL", "TR", "BL", "BR"]
    )
    return TensorDataset(images, labels), info


train_set, info = data.build_dataset("quadrant_blobs", None, train=True)
test_set, _ = data.build_dataset("quadrant_blobs", None, train=False)
print(info, len(train_set))

fig, axes = plt.subplots(1, 4, figsize=(6, 1.8))
for q, ax in enumerate(axes):
    index = int((train_set.tensors[1] == q).nonzero()[0])
    ax.imshow(train_set[index][0][0].numpy(), cmap="gray")
    ax.set(title=info.classes[q], xticks=[], yticks=[])
fig.tight_layout()

# %%
# ## A loss and a callback, and training
#
# The loss is any `loss_fn(output, target) -> scalar`. A callback overrides the hooks it needs
# (`on_fit_start`, `on_epoch_start`, `on_loss`, `on_step_end`, `on_evaluate`, `on_epoch_end`,
# `on_fit_end`); this one records each epoch's firing rate and learned leak into the history.
from fullspike.train import Callback, Trainer


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, target, label_smoothing=0.1)


class NeuronWatcher(Callback):
    """Adds ``firing_rate`` (mean over the epoch's batches) and ``leak`` to each epoch's row."""

    def on_fit_start(self, trainer: Trainer) -> None:
        self.rates: list[float] = []
        self.neuron = next(
            m for m in trainer.model.modules() if isinstance(m, LearnedLeak)
        )
        self.neuron.register_forward_hook(
            lambda module, inputs, out: self.rates.append(
                float(out.detach().mean())
            )
        )

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        row["firing_rate"] = sum(self.rates) / len(self.rates)
        row["leak"] = float(torch.sigmoid(self.neuron.w.detach()))
        self.rates.clear()


torch.manual_seed(0)
model = fullspike.create_model("tiny_convnet", T=4)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
trainer = Trainer(
    model,
    smoothed_cross_entropy,
    optimizer,
    data.make_loader(train_set, info, batch_size=32, shuffle=True),
    data.make_loader(test_set, info, batch_size=100, shuffle=False),
    callbacks=[NeuronWatcher()],
    epochs=5,
    progress=False,
)
trainer.fit()
for row in trainer.history:
    print(
        f"epoch {row['epoch']}: test accuracy {row['val_accuracy']:.3f}, "
        f"firing rate {row['firing_rate']:.3f}, leak {row['leak']:.3f}"
    )

fig, ax = plt.subplots(figsize=(6, 3))
epochs = [r["epoch"] for r in trainer.history]
for key in ("val_accuracy", "firing_rate", "leak"):
    ax.plot(epochs, [r[key] for r in trainer.history], marker="o", label=key)
ax.set(xlabel="epoch", title="tiny_convnet with a learned leak")
ax.legend()
fig.tight_layout()

# %%
# More on the trainer (resume, data parallel, the built-in callbacks) is in
# [extending](../extending.md).
