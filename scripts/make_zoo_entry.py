"""Add a finished ``fullspike reproduce`` run to the model zoo (src/fullspike/zoo/): its weights as
a float32 state dict ``<name>.pt`` and its card in cards.json, every number measured: test accuracy
(metrics.json), AC/MAC/energy per sample with firing rates (the run's energy.json), the accuracy of
the shipped weights on ``--check-samples`` evenly strided test samples (what tests/zoo checks), the
command (the experiment's results.json), date (when training finished) and machine. The card
holds no path of this machine: the config's ``data.root`` is dropped (users give theirs, or the
default location, ``fullspike.data.roots``) and the command's folders are placeholders.

    python scripts/make_zoo_entry.py --run runs/reproduce/nmnist/cpu/translate4_seed0 --name nmnist_bntt_convnet
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
from pathlib import Path

import torch
from torch.utils.data import Subset

from fullspike.data import make_loader
from fullspike.reproduce.runner import load_run, machine, measure_energy
from fullspike.train import evaluate, model_kwargs
from fullspike.zoo import ZOO_DIR, check_indices, load, sha256


def portable_command(command: str) -> str:
    """``command`` without this machine's folders: ``--out`` dropped (the default is used) and each
    ``--data-root`` folder written ``DATA`` (``DATASET=DIR`` as ``DATASET=DATA/<DIR's name>``)."""
    words, kept, data_root, skip = shlex.split(command), [], False, False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("--"):
            data_root = w == "--data-root"
            if w == "--out":
                skip = True
                continue
        elif data_root:
            key, sep, folder = w.rpartition("=")
            w = f"{key}=DATA/{Path(folder).name}" if sep else "DATA"
        kept.append(w)
    return " ".join(shlex.quote(w) for w in kept)


def portable_config(config: dict) -> dict:
    """The run's config without its machine's data folder (``data.root`` back to the default)."""
    return {**config, "data": {**config["data"], "root": None}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a finished run folder of `fullspike reproduce`")
    p.add_argument("--name", required=True, help="zoo entry name")
    p.add_argument("--check-samples", type=int, default=1000, help="test samples the zoo test re-evaluates")
    p.add_argument("--energy-samples", type=int, default=256)
    p.add_argument("--zoo", default=str(ZOO_DIR))
    args = p.parse_args(argv)
    run, zoo = Path(args.run), Path(args.zoo)
    metrics = json.loads((run / "metrics.json").read_text())
    results = json.loads((run.parent / "results.json").read_text()) if (run.parent / "results.json").is_file() else {}
    cfg, data, model, _ = load_run(run)
    weights = zoo / f"{args.name}.pt"
    torch.save({k: v.cpu().float() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()},
               weights)
    energy = measure_energy(run, args.energy_samples)
    entry = {
        "file": weights.name, "sha256": sha256(weights), "model": cfg.model_name,
        "model_kwargs": model_kwargs(cfg, data.info), "dataset": cfg.data.name,
        "data_options": cfg.data.options, "test_accuracy": metrics["test_accuracy"],
        "test_samples": len(data.test), "T": metrics.get("time_steps"),
        "params": sum(p.numel() for p in model.parameters()),
        "energy": {k: energy[k] for k in ("samples", "T", "ac", "mac", "energy_mj", "ann_energy_mj",
                                          "step_firing_rates", "firing_rates")},
        "epochs": metrics["epochs"], "train_cpu_seconds": metrics["train_cpu_seconds"],
        "command": portable_command(results.get("command", "")), "run": f"{run.parent.parent.name}/{run.parent.name}/{run.name}",
        "date": dt.datetime.fromtimestamp((run / "metrics.json").stat().st_mtime, dt.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "config": portable_config(cfg.to_dict()),
    }
    if "fsnn" in energy:
        entry["energy"]["fsnn"] = energy["fsnn"]
    heads = {k[len("test_accuracy_"):]: v for k, v in metrics.items() if k.startswith("test_accuracy_")}
    if heads:  # a dual-stream (DST) net: its spike stream is the FSNN, its accumulation stream the DSNN's
        entry["test_accuracy_heads"] = heads
    cards_path = zoo / "cards.json"
    cards = json.loads(cards_path.read_text()) if cards_path.is_file() else {}
    cards[args.name] = entry
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    shipped = load(args.name, zoo)  # the shipped weights, SHA-checked
    n = min(args.check_samples, len(data.test))
    loader = make_loader(Subset(data.test, check_indices(len(data.test), n)), data.info, 256, False)
    # evaluate draws rate-coded spikes from generators seeded with 0, as tests/zoo's evaluation does
    check = {k: v for k, v in evaluate(shipped, loader, torch.device("cpu")).items() if k.startswith("accuracy")}
    cards[args.name]["check"] = {"test_samples": n, **check}
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    print(f"{args.name}: test accuracy {metrics['test_accuracy']:.4f}, {n} strided test samples {check['accuracy']:.4f}, "
          f"{entry['params']} params, {weights.stat().st_size / 1e6:.2f} MB -> {cards_path}")


if __name__ == "__main__":
    main()
