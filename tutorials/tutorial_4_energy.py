"""
# 4. Energy: AC and MAC counts

An SNN saves energy because a layer whose inputs are spikes only *accumulates* (adds a weight
where a spike arrives: an AC) instead of multiplying and accumulating (a MAC), and only where
spikes arrive. `fullspike.energy.count_synaptic_ops` runs a network on real data and counts,
per layer and per time step, the operations it performs. This tutorial

- counts a trained BNTT network and reads the report;
- folds the batch norms into the weights (`fold_bn`), which changes neither the outputs nor the
  counts;
- plots the per-layer operations and the energy after each step;
- compares the two inference modes of a dual-stream ResNet (FSNN and DSNN).

The energy model is the usual 45 nm one: 0.9 pJ per AC and 4.6 pJ per MAC (both can be
changed), and every count is **per sample**, all time steps included.
"""

# %%
# ## A trained network to count
import matplotlib.pyplot as plt
import torch

import fullspike
from fullspike import data
from fullspike.energy import count_bn, count_synaptic_ops, fold_bn
from fullspike.models import classification_loss
from fullspike.train import Trainer

torch.manual_seed(0)
train_set, info = data.build_dataset("digits", None, train=True)
test_set, _ = data.build_dataset("digits", None, train=False)
train_loader = data.make_loader(train_set, info, batch_size=64, shuffle=True)
test_loader = data.make_loader(test_set, info, batch_size=128, shuffle=False)
model = fullspike.create_model("bntt_convnet", T=6, width=16, hidden=64)
Trainer(
    model,
    classification_loss,
    torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
    train_loader,
    epochs=3,
    progress=False,
).fit()

# %%
# ## The report
#
# Counting needs real inputs, because the ACs depend on the firing rates. Here: two test
# batches. A layer accumulates when its input is spikes: the first convolution reads the
# rate-coded input (-1, 0, +1) and the last linear layer reads LIF spikes. The second
# convolution and the first linear layer read the output of an average pooling (fractions of
# spikes, not spikes), so they multiply: that is where this small network spends its energy.
report = count_synaptic_ops(model, test_loader, max_batches=2, name="bntt_convnet")
print(report.table())

# %%
# The totals are attributes of the report (`total_ac`, `total_mac`, `energy_mj`, ...);
# `summary()` gathers them as a dict and `save_json(path)` writes everything, per layer.
summary = report.summary()
for key in (
    "T",
    "samples",
    "total_ops",
    "total_ac",
    "total_mac",
    "energy_mj",
    "ann_energy_mj",
):
    print(f"{key:<14} {summary[key]:.4g}")
ratio = summary["energy_mj"] / summary["ann_energy_mj"]
print(f"the SNN needs {ratio:.2f}x the energy of the same ANN")

# %%
# ## Folding the batch norms
#
# At inference a batch norm is an affine map that can be merged into the convolution or linear
# layer before it, so it costs nothing. A BNTT layer has one affine map per step: folding turns
# its layer into a `StepwiseSynapse` with one weight per step. The folded copy computes the same
# function (the rate encoder draws random spikes, so both runs use the same seed) and performs
# the same operations (the counts below differ only through the encoder's random draws).
folded = fold_bn(model)
print("batch norms left:", count_bn(model), "->", count_bn(folded))
x, _ = next(iter(test_loader))
model.eval()
with torch.no_grad():
    torch.manual_seed(1)
    before = model(x)
    torch.manual_seed(1)
    after = folded(x)
print("largest difference of the logits:", float((before - after).abs().max()))
report_folded = count_synaptic_ops(folded, test_loader, max_batches=2)
print(f"AC  {report.total_ac:.4g} -> {report_folded.total_ac:.4g}")
print(f"MAC {report.total_mac:.4g} -> {report_folded.total_mac:.4g}")

# %%
# ## Plots
#
# Per layer: the ACs and MACs. Per step: the firing rate of all neurons, and the energy spent
# after `t` steps (what an early exit after `t` steps would cost).
layers = report.layers
fig, axes = plt.subplots(
    1, 3, figsize=(12, 3.2), gridspec_kw={"width_ratios": [2, 1, 1]}
)
names = [r.name for r in layers]
axes[0].bar(names, [r.ac for r in layers], label="AC")
axes[0].bar(
    names, [r.mac for r in layers], bottom=[r.ac for r in layers], label="MAC"
)
axes[0].set(ylabel="operations per sample", yscale="log", title="per layer")
axes[0].tick_params(axis="x", rotation=45)
axes[0].legend()
steps = range(1, report.T + 1)
axes[1].plot(steps, report.step_firing_rates, marker="o")
axes[1].set(xlabel="time step", ylabel="firing rate", title="all neurons")
axes[2].plot(
    steps, [report.energy_mj_at(t) for t in steps], marker="o", label="SNN"
)
axes[2].axhline(report.ann_energy_mj, color="gray", ls="--", label="ANN")
axes[2].set(xlabel="steps run", ylabel="energy (mJ)", title="energy after t steps")
axes[2].legend()
fig.tight_layout()

# %%
# `report.plot(path)` draws the same three panels into a PNG (what `fullspike energy` writes).
#
# ## FSNN against DSNN
#
# A dual-stream ResNet (tutorial 3) can run with its accumulation stream (DSNN) or without it
# (FSNN). The accumulation stream's additions count as operations of their own (`accumulate`
# rows), and its downsampling convolutions read real values, so they are MACs. Counting an
# untrained network shows the structure of the cost (the rates of a trained one differ).
from fullspike.dst import remove_aap

torch.manual_seed(0)
dst = fullspike.create_model(
    "dst_resnet18", num_classes=10, in_channels=1, T=2, stem="cifar", width=8
)
images = next(iter(test_loader))[0][:32]
dsnn_report = count_synaptic_ops(dst, images)
fsnn_report = count_synaptic_ops(remove_aap(dst), images)
for label, r in (("DSNN", dsnn_report), ("FSNN", fsnn_report)):
    print(
        f"{label}: AC {r.total_ac:.4g}  MAC {r.total_mac:.4g}  energy {r.energy_mj:.4g} mJ"
    )
only_dsnn = {r.op for r in dsnn_report.layers} - {r.op for r in fsnn_report.layers}
print("rows only the DSNN has:", sorted(only_dsnn))

# %%
# The counting rules (what is an AC, what the first layer costs, why membrane updates are left
# out) are in [energy accounting](../energy.md).
