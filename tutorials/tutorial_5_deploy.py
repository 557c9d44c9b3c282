"""
# 5. Deploying to NIR

Neuromorphic hardware runs networks whose layers exchange spikes and whose neurons it knows.
[NIR](https://neuroir.org) (the Neuromorphic Intermediate Representation) is the common format
that simulators and chips read. This tutorial

- checks, layer by layer, whether a network can be deployed (`check_deployable`, the Python side
  of `fullspike export --check`);
- exports the full-spike network (FSNN) of a trained DST ResNet to a NIR graph (`to_nir`),
  writes it to a file and reads it back;
- runs the graph with `from_nir` and checks that it computes the model's logits.

It needs the `nir` extra (`pip install "fullspike[nir]"`).
"""

# %%
# ## A trained dual-stream network
#
# A small DST ResNet-18 (CIFAR stem, 4 channels, `T = 3`), trained for two epochs on the
# digits: enough to have real firing patterns to check and export.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import fullspike
from fullspike import data
from fullspike.dst import remove_aap
from fullspike.export import (
    check_deployable,
    from_nir,
    quantize_weights,
    read_nir,
    to_nir,
    write_nir,
)
from fullspike.models import classification_loss
from fullspike.train import Trainer

torch.manual_seed(0)
train_set, info = data.build_dataset("digits", None, train=True)
test_set, _ = data.build_dataset("digits", None, train=False)
train_loader = data.make_loader(train_set, info, batch_size=64, shuffle=True)
test_loader = data.make_loader(test_set, info, batch_size=64, shuffle=False)
model = fullspike.create_model(
    "dst_resnet18", num_classes=10, in_channels=1, T=3, stem="cifar", width=4
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
Trainer(
    model, classification_loss, optimizer, train_loader, epochs=2, progress=False
).fit()
model.eval()
images, labels = next(iter(test_loader))  # a real batch [B, C, H, W]

# %%
# ## Can it be deployed?
#
# With its accumulation pathway the network is not deployable: that stream carries real values.
report = check_deployable(model, images)
print("exportable:", report.exportable)
for row in report.refused[:3]:
    print(f"  {row.name}: {row.detail}")

# %%
# The FSNN (the AAP removed, tutorial 3) passes spikes between all its layers. The report lists
# every layer with its status, and the share of synaptic operations that are spike
# accumulates:
fsnn = remove_aap(model).eval()
report = check_deployable(fsnn, images)
print(report.table())

# %%
# For contrast, a SEW ResNet whose residual connect is an addition sends integers 0..2 into the
# next block:
sew = fullspike.create_model(
    "sew_resnet18", num_classes=10, in_channels=1, T=3, stem="cifar", width=4
).eval()
sew_report = check_deployable(sew, images)
print("SEW-ADD exportable:", sew_report.exportable)
print(len(sew_report.refused), "layers refused, e.g.")
print(" ", sew_report.refused[0].name, ":", sew_report.refused[0].detail)

# %%
# ## Export to NIR and read it back
#
# `to_nir` maps every layer onto standard NIR nodes (convolutions, affine maps, IF/LIF neurons,
# sum pooling, ...). The graph's input is one time step, `[C, H, W]`; a static image is presented
# at each of the `T` steps. `write_nir` stores it in NIR's HDF5 format.
graph = to_nir(fsnn, images)
print(f"{len(graph.nodes)} nodes, {len(graph.edges)} edges")
print("node types:", sorted({type(n).__name__ for n in graph.nodes.values()}))
out_dir = Path(tempfile.mkdtemp())
path = write_nir(graph, out_dir / "dst18_fsnn.nir")
print(f"file size: {path.stat().st_size / 1024:.0f} KiB")
graph_back = read_nir(path)

# %%
# ## Run the graph
#
# `from_nir` turns a NIR graph (or file) into a time-first PyTorch module,
# `[T, B, C, H, W] -> [T, B, classes]`. The mean of its outputs over the `T` steps is the
# model's logits.
net = from_nir(graph_back)
sequence = images.unsqueeze(0).expand(fsnn.T, *images.shape)  # [T, B, C, H, W]
with torch.no_grad():
    steps = net(sequence)
    logits = fsnn(images)
print("graph output", tuple(steps.shape))
print("max |logit difference|:", float((steps.mean(0) - logits).abs().max()))
same = int((steps.mean(0).argmax(1) == logits.argmax(1)).sum())
print("same predictions:", same, "of", len(images))

# %%
# `net.nodes(x)` returns every node's output sequence; here, the spikes of the neuron nodes,
# averaged over time and samples, for each layer of the graph:
with torch.no_grad():
    nodes = net.nodes(sequence)
rates = {
    name: float(out.mean())
    for name, out in nodes.items()
    if type(graph_back.nodes[name]).__name__ in ("IF", "LIF")
}
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar(range(len(rates)), list(rates.values()))
ax.set_xticks(range(len(rates)), list(rates), rotation=90, fontsize=6)
ax.set(ylabel="firing rate", title="spiking nodes of the exported graph")
fig.tight_layout()

# %%
# ## In other frameworks
#
# The same file opens in other NIR importers: SpikingJelly, Norse and snnTorch each have one,
# and [deploying](../deploy.md) gives the call for each, the settings that make them agree with
# `fullspike` (`dt`, the firing rule, the reset) and what was checked against them. From the
# command line, `fullspike export RUN --check` prints the report above and `fullspike export RUN
# --out net.nir` writes the graph and prints the round trip.

# %%
# ## Quantised weights
#
# Neuromorphic chips store integer weights. `quantize_weights(model, bits)` gives a BN-folded
# copy whose conv/linear layers hold integers `q` in `[-(2^(bits-1)-1), 2^(bits-1)-1]` and
# multiply their output by one scale `s` per layer; `to_nir(..., quantize=bits)` writes the integers into the graph
# with a scale node after each layer (`fullspike export RUN --quantize 8` from the command line,
# where `--check` also reports the quantised accuracy next to the float one).
print(
    f"float weights: accuracy {float((logits.argmax(1) == labels).float().mean()):.3f}"
)
for bits in (16, 8, 4):
    with torch.no_grad():
        predicted = quantize_weights(fsnn, bits)(images).argmax(1)
    print(
        f"{bits:2d}-bit weights: accuracy {float((predicted == labels).float().mean()):.3f}, "
        f"same prediction as float on {int((predicted == logits.argmax(1)).sum())} of {len(images)} images"
    )

# %%
# This two-epoch network is barely trained and near chance, so many of its predictions sit on a
# knife edge and flip with small weight changes; the trained zoo networks keep their accuracy at
# 8 bits (see [deploying](../deploy.md) for the measured table).
graph_q = to_nir(fsnn, images, quantize=8)
with torch.no_grad():
    steps_q = from_nir(graph_q)(sequence)
    same_q = int(
        (
            steps_q.mean(0).argmax(1) == quantize_weights(fsnn, 8)(images).argmax(1)
        ).sum()
    )
print("8-bit graph vs 8-bit model, same predictions:", same_q, "of", len(images))
