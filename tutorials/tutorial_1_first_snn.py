"""
# 1. Your first spiking network

This tutorial builds a spiking neural network (SNN) from the parts `fullspike` provides and
trains a BNTT network on scikit-learn's bundled 8x8 digits (no download). You will see:

- how a spiking neuron turns input currents into spikes over time, and why every sequence
  tensor in `fullspike` is time-first, `[T, B, ...]`;
- why training needs a *surrogate gradient*, and what it looks like;
- how to create a registered model (`fullspike.create_model`) and train it with
  `fullspike.train.Trainer`.

It runs in well under a minute on one CPU core.
"""

# %%
# ## Spiking neurons work on whole sequences
#
# A leaky integrate-and-fire (LIF) neuron keeps a membrane potential `v`. At each time step it
# leaks towards rest, adds the input current, and fires a spike (1) when `v` crosses the
# threshold, after which it is reset. A `fullspike` neuron takes the whole sequence at once:
# input `[T, B, ...]`, output spikes `[T, B, ...]` of the same shape. There is no state to reset
# between batches: the membrane lives inside the call.
import matplotlib.pyplot as plt
import torch

import fullspike
from fullspike import nn as snn

torch.manual_seed(0)
T = 40
# three constant input currents, [T, B=3]
current = torch.tensor([0.8, 1.5, 3.0]).repeat(T, 1)
# h_t = v_{t-1} + (x_t - v_{t-1}) / tau; a spike when h_t >= 1, then v = 0
lif = snn.LIF(tau=2.0)
spikes = lif(current)
print("input", tuple(current.shape), "-> spikes", tuple(spikes.shape))
print("values:", spikes.unique().tolist())
print("spike counts per neuron:", spikes.sum(0).tolist())

# %%
# The plot shows each neuron's spikes over time: the stronger the current, the more often it
# fires. This *rate* is how an SNN carries a value.
fig, ax = plt.subplots(figsize=(7, 2.4))
for b in range(3):
    times = spikes[:, b].nonzero().flatten()
    ax.vlines(times, b - 0.4, b + 0.4)
ax.set(
    xlabel="time step",
    ylabel="neuron",
    yticks=range(3),
    yticklabels=[f"x = {c:.1f}" for c in current[0].tolist()],
    title="LIF spikes, three input currents",
)
fig.tight_layout()

# %%
# With `tau=2` the membrane only approaches the input from below, so the neuron fed
# `x = 0.8 < 1` never fires: the leak matters. An integrate-and-fire neuron (`snn.IF`) has no leak
# and fires for any positive current, given enough steps:
if_spikes = snn.IF()(current)
print("IF spike counts:", if_spikes.sum(0).tolist())

# %%
# ## Surrogate gradients
#
# A spike is a step function of the membrane, whose derivative is zero almost everywhere. To
# train with backpropagation, the backward pass replaces it with a smooth *surrogate*
# derivative of `h - v_th`. `fullspike.surrogate` has three; the forward pass is unchanged.
from fullspike import surrogate

x = torch.linspace(-2, 2, 201)
fig, ax = plt.subplots(figsize=(6, 3))
for name in surrogate.available():
    ax.plot(x, surrogate.make_surrogate(name).grad(x), label=name)
ax.set(
    xlabel="h - v_th", ylabel="surrogate derivative", title="surrogate gradients"
)
ax.legend()
fig.tight_layout()

# %%
# Gradients now flow through the spikes to the input:
inputs = torch.full((8, 1), 1.5, requires_grad=True)  # [T=8, B=1]
out = snn.LIF(tau=2.0, surrogate="atan")(inputs)
out.sum().backward()
print("spikes:", out.flatten().tolist())
print(
    "d(spike count)/d(input):",
    [round(g, 3) for g in inputs.grad.flatten().tolist()],
)

# %%
# ## Layers over time: `[T, B, ...]`
#
# Stateless layers (convolutions, linear layers, pooling) do not care about time, so
# `fullspike.nn.SeqSequential` folds `T` into the batch around them and hands neurons the whole
# sequence. A static image is turned into a sequence by an encoder: `RateEncoder` draws
# fresh random spikes at every step, each pixel firing with a probability set by its intensity.
from torch import nn

net = snn.SeqSequential(
    nn.Conv2d(1, 8, 3, padding=1),
    nn.BatchNorm2d(8),
    snn.LIF(tau=2.0),
    nn.Flatten(),
    nn.Linear(8 * 8 * 8, 10),
)
images = torch.rand(4, 1, 8, 8)  # [B, C, H, W]
seq = snn.RateEncoder(T=6)(images)
print("encoded", tuple(seq.shape), "-> logits per step", tuple(net(seq).shape))

# %%
# ## Training a BNTT network on the digits
#
# The registered `bntt_convnet` is such a network with *Batch Normalization Through Time*
# (BNTT): one set of batch-norm parameters per time step (tutorial 2 looks inside). The data
# come from `fullspike.data` (scikit-learn's digits, a fixed 80/20 split); the loss is the
# cross-entropy of the logits averaged over time.
from fullspike import data
from fullspike.models import classification_loss
from fullspike.train import Trainer

train_set, info = data.build_dataset("digits", None, train=True)
test_set, _ = data.build_dataset("digits", None, train=False)
print(info)
train_loader = data.make_loader(train_set, info, batch_size=64, shuffle=True)
test_loader = data.make_loader(test_set, info, batch_size=256, shuffle=False)

model = fullspike.create_model("bntt_convnet", T=6, width=16, hidden=64)
print(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
trainer = Trainer(
    model,
    classification_loss,
    optimizer,
    train_loader,
    test_loader,
    epochs=5,
    progress=False,
)
result = trainer.fit()
print(f"test accuracy after {result['epoch']} epochs: {result['val_accuracy']:.3f}")

# %%
# `trainer.history` has one row per epoch:
hist = trainer.history
fig, ax = plt.subplots(figsize=(6, 3))
epochs = [r["epoch"] for r in hist]
ax.plot(epochs, [r["train_loss"] for r in hist], marker="o", label="train loss")
ax.plot(
    epochs, [r["val_accuracy"] for r in hist], marker="o", label="test accuracy"
)
ax.set(xlabel="epoch", title="BNTT conv net on the digits")
ax.legend()
fig.tight_layout()

# %%
# ## Predicting
#
# The model takes images `[B, C, H, W]`, encodes them into `T` steps itself and returns the
# logits averaged over time, `[B, classes]`:
model.eval()
x, y = next(iter(test_loader))
with torch.no_grad():
    pred = model(x[:10]).argmax(1)
print("predicted:", pred.tolist())
print("true:     ", y[:10].tolist())

# %%
# Next: [BNTT, early exit and robustness](tutorial_2_bntt.md). The same training runs from the
# command line with `fullspike train` (the quick-start config).
