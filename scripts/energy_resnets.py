"""AC and MAC of ImageNet spiking ResNets (224x224, T=4, randomly initialised), per family and depth.

Families: Spiking ResNet (``spiking_resnetD``), SEW ResNet with ADD (``sew_resnetD``), DSNN
(``dst_resnetD``, the dual-stream network with its AAP) and FSNN (the same network with the AAP
removed). For each model: BN statistics are estimated on ``--bn-batches`` training-mode batches,
then operations are counted on ``--batches`` batches in evaluation mode. Inputs are standard-normal
images (the scale of normalised pixels): the weights are random, so firing rates (and so ACs)
describe an untrained network; which inputs are spikes, and so which layers need MACs, is what
this table shows. The table goes into docs/energy.md between the markers, the raw numbers to
``--json``.

    python scripts/energy_resnets.py --depths 18 34 50 101
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import fullspike
from fullspike.dst import remove_aap
from fullspike.energy import EnergyReport, count_synaptic_ops, estimate_bn_stats

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- resnet-energy-table:start -->", "<!-- resnet-energy-table:end -->"
FAMILIES = {"Spiking ResNet": "spiking", "SEW ResNet (ADD)": "sew", "FSNN (DST)": "dst", "DSNN": "dst"}


def mac_sources(report: EnergyReport) -> dict[str, float]:
    """MACs grouped by where they happen: stem, classifier, AAP downsamplers, spike-stream convs."""
    groups: dict[str, float] = {}
    for r in report.layers:
        if not r.mac:
            continue
        if r.name.startswith("stem"):
            key = "stem"
        elif r.name.startswith("fc"):
            key = "fc"
        elif "accum_downsample" in r.name:
            key = "AAP downsamplers"
        else:
            key = "block convs"
        groups[key] = groups.get(key, 0.0) + r.mac
    return groups


def measure(depth: int, batch: int, bn_batches: int, batches: int, T: int, size: int) -> list[dict]:
    gen = torch.Generator().manual_seed(depth)
    images = [torch.randn(batch, 3, size, size, generator=gen) for _ in range(max(bn_batches, batches))]
    rows = []
    models = {}
    for label, family in FAMILIES.items():
        if family == "dst" and "dst" in models:
            model = models["dst"]
        else:
            torch.manual_seed(depth)
            model = fullspike.create_model(f"{family}_resnet{depth}", T=T)
            estimate_bn_stats(model, images, bn_batches)
            models[family] = model
        if label.startswith("FSNN"):
            model = remove_aap(model)
        t0 = time.time()
        r = count_synaptic_ops(model, images, max_batches=batches)
        rows.append(
            {
                "depth": depth,
                "model": label,
                "name": f"{family}_resnet{depth}",
                "ac": r.total_ac,
                "mac": r.total_mac,
                "ops": r.total_ops,
                "energy_mj": r.energy_mj,
                "ann_energy_mj": r.ann_energy_mj,
                "mac_sources": mac_sources(r),
                "samples": r.samples,
                "seconds": time.time() - t0,
            }
        )
        print(
            f"ResNet-{depth} {label}: AC {r.total_ac / 1e9:.3f}G MAC {r.total_mac / 1e9:.3f}G "
            f"({', '.join(f'{k} {v / 1e9:.3f}G' for k, v in rows[-1]['mac_sources'].items())}) "
            f"[{rows[-1]['seconds']:.0f}s]",
            flush=True,
        )
    return rows


def table(rows: list[dict], T: int, size: int, batch: int, batches: int, bn_batches: int) -> str:
    lines = [
        f"ImageNet, {size}x{size}, T = {T}, random initialisation, BN statistics estimated on "
        f"{bn_batches} batch(es) of {batch} standard-normal images, counted on {batches} batch(es) "
        f"of {batch}; per sample, all steps. Produced by `scripts/energy_resnets.py`.",
        "",
        "| depth | model | AC (G) | MAC (G) | energy (mJ) | where the MACs are (G) |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        src = ", ".join(f"{k} {v / 1e9:.3f}" for k, v in r["mac_sources"].items())
        lines.append(
            f"| {r['depth']} | {r['model']} | {r['ac'] / 1e9:.3f} | {r['mac'] / 1e9:.3f} | "
            f"{r['energy_mj']:.3f} | {src} |"
        )
    return "\n".join(lines)


def write_doc(doc: Path, text: str) -> None:
    body = doc.read_text() if doc.exists() else f"{START}\n{END}\n"
    if START not in body:
        body += f"\n{START}\n{END}\n"
    head, rest = body.split(START, 1)
    doc.write_text(f"{head}{START}\n{text}\n{END}{rest.split(END, 1)[1]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depths", type=int, nargs="+", default=[18, 34, 50, 101])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--bn-batches", type=int, default=1)
    p.add_argument("--batches", type=int, default=1)
    p.add_argument("--T", type=int, default=4)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--doc", default=str(REPO / "docs" / "energy.md"))
    p.add_argument("--json", default=str(REPO / "runs" / "energy_resnets.json"))
    args = p.parse_args()
    torch.set_grad_enabled(False)
    rows = []
    for d in args.depths:
        rows += measure(d, args.batch, args.bn_batches, args.batches, args.T, args.size)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    text = table(rows, args.T, args.size, args.batch, args.batches, args.bn_batches)
    print(text)
    write_doc(Path(args.doc), text)


if __name__ == "__main__":
    main()
