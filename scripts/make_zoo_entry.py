"""Add a finished ``fullspike reproduce`` run to the model zoo (src/fullspike/zoo/): its weights as
a float32 state dict ``<name>.pt`` and its card in cards.json, every number measured: test accuracy
(metrics.json), AC/MAC/energy per sample with firing rates (the run's energy.json), the accuracy of
the shipped weights on ``--check-samples`` class-balanced test samples (what tests/zoo checks), the
command (the experiment's results.json), date (when training finished) and machine; and whether it
deploys (``"nir"``: ``fullspike export --check``'s verdict, :func:`fullspike.export.nir_status`).
The card holds no path of this machine: the config's ``data.root`` is dropped (users give theirs,
or the default location, ``fullspike.data.roots``) and the command's folders are placeholders.

    python scripts/make_zoo_entry.py --run runs/reproduce/nmnist/cpu/translate4_seed0 --name nmnist_bntt_convnet
    python scripts/make_zoo_entry.py --update-nir cifar10_bntt_vgg9_w16 --data-root data/cifar10
    python scripts/make_zoo_entry.py --update-energy cifar10_bntt_vgg9_w16 --data-root data/cifar10

``--run`` may also be a ``fullspike train`` run folder (config.json and checkpoint.pt). ``--update-nir``
recomputes the ``"nir"`` line of an entry already in the zoo on its test data; ``--update-energy``
its operation counts, energy and firing rates, on the class-balanced selection of
``--energy-samples`` test samples (recorded as ``analysis_set``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.utils.data import Subset

from fullspike.data import make_loader
from fullspike.export import nir_status
from fullspike.train import config_from_dict, evaluate, model_kwargs
from fullspike.train.builders import build_split
from fullspike.zoo import ZOO_DIR, card, check_indices, load, sha256

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's studies/ (a script, not the package)
from studies.report import store_command  # noqa: E402
from studies.runner import energy_analysis, load_run, machine, measure_energy  # noqa: E402

#: what a card keeps of an energy analysis (studies.runner.energy_analysis)
ENERGY_KEYS = (
    "samples",
    "T",
    "ac",
    "mac",
    "energy_mj",
    "ann_energy_mj",
    "step_firing_rates",
    "firing_rates",
    "analysis_set",
)


def card_energy(energy: dict) -> dict:
    """The card's ``energy`` record of an energy analysis (with the FSNN's, for a DST net)."""
    return {k: energy[k] for k in ENERGY_KEYS} | ({"fsnn": energy["fsnn"]} if "fsnn" in energy else {})


def portable_command(command: str) -> str:
    """``command`` without this machine's folders (:func:`studies.report.store_command`: each
    ``--data-root`` folder ``DATA``, ``DATASET=DIR`` as ``DATASET=DATA/<DIR's name>``), its
    ``--out`` dropped (the default is used)."""
    return store_command(command).replace(" --out OUT", "")


def portable_config(config: dict) -> dict:
    """The run's config without its machine's data folder (``data.root`` back to the default)."""
    return {**config, "data": {**config["data"], "root": None}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a finished run folder of `fullspike reproduce` or `fullspike train`")
    p.add_argument("--name", help="zoo entry name")
    p.add_argument("--command", help="the training command (default: the experiment's results.json)")
    p.add_argument("--update-nir", metavar="NAME", help="only recompute the NIR line of zoo entry NAME")
    p.add_argument(
        "--update-energy", metavar="NAME", help="only re-measure the energy record of zoo entry NAME (class-balanced)"
    )
    p.add_argument("--data-root", help="with --update-nir / --update-energy: where the entry's data set is")
    p.add_argument("--check-samples", type=int, default=1000, help="test samples the zoo test re-evaluates")
    p.add_argument("--energy-samples", type=int, default=256)
    p.add_argument("--zoo", default=str(ZOO_DIR))
    args = p.parse_args(argv)
    zoo = Path(args.zoo)
    if args.update_nir:
        update_nir(args.update_nir, zoo, args.data_root)
        return
    if args.update_energy:
        update_energy(args.update_energy, zoo, args.data_root, args.energy_samples)
        return
    if not (args.run and args.name):
        p.error("give --run and --name (or --update-nir NAME, or --update-energy NAME)")
    run = Path(args.run)
    metrics = json.loads((run / "metrics.json").read_text())
    results = json.loads((run.parent / "results.json").read_text()) if (run.parent / "results.json").is_file() else {}
    cfg, data, model, _ = load_run(run)
    weights = zoo / f"{args.name}.pt"
    torch.save(
        {k: v.cpu().float() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}, weights
    )
    energy = measure_energy(run, args.energy_samples)
    entry = {
        "file": weights.name,
        "sha256": sha256(weights),
        "model": cfg.model_name,
        "model_kwargs": model_kwargs(cfg, data.info),
        "dataset": cfg.data.name,
        "data_options": cfg.data.options,
        "test_accuracy": metrics["test_accuracy"],
        "test_samples": len(data.test),
        "T": metrics.get("time_steps"),
        "params": sum(p.numel() for p in model.parameters()),
        "energy": card_energy(energy),
        "epochs": metrics["epochs"],
        "train_cpu_seconds": metrics["train_cpu_seconds"],
        "command": portable_command(args.command or results.get("command", "")),
        "run": f"{run.parent.parent.name}/{run.parent.name}/{run.name}",
        "date": dt.datetime.fromtimestamp((run / "metrics.json").stat().st_mtime, dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "machine": machine(),
        "config": portable_config(cfg.to_dict()),
    }
    heads = {k[len("test_accuracy_") :]: v for k, v in metrics.items() if k.startswith("test_accuracy_")}
    if heads:  # a dual-stream (DST) net: its spike stream is the FSNN, its accumulation stream the DSNN's
        entry["test_accuracy_heads"] = heads
    cards_path = zoo / "cards.json"
    cards = json.loads(cards_path.read_text()) if cards_path.is_file() else {}
    cards[args.name] = entry
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    shipped = load(args.name, zoo)  # the shipped weights, SHA-checked
    n = min(args.check_samples, len(data.test))
    loader = make_loader(Subset(data.test, check_indices(data.test, n)), data.info, 256, False)
    # evaluate draws rate-coded spikes from generators seeded with 0, as tests/zoo's evaluation does
    check = {k: v for k, v in evaluate(shipped, loader, torch.device("cpu")).items() if k.startswith("accuracy")}
    cards[args.name]["check"] = {"test_samples": n, **check}
    cards[args.name]["nir"] = nir_status(shipped, next(iter(loader))[0])
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    print(
        f"{args.name}: test accuracy {metrics['test_accuracy']:.4f}, {n} class-balanced test samples "
        f"{check['accuracy']:.4f}, "
        f"{entry['params']} params, {weights.stat().st_size / 1e6:.2f} MB -> {cards_path}"
    )


def open_entry(name: str, zoo: Path, data_root: str | None):
    """``(model, config)`` of entry ``name`` of the zoo in folder ``zoo`` (its weights SHA-checked),
    the config reading its data from ``data_root`` (else the default location)."""
    config = card(name, zoo)["config"]
    return load(name, zoo), config_from_dict({**config, "data": {**config["data"], "root": data_root}})


def update_nir(name: str, zoo: Path, data_root: str | None) -> None:
    """Recompute the ``"nir"`` line of zoo entry ``name`` on a batch of its real test data
    (up to 32 evenly strided samples; the line depends on the input kind, e.g. event counts)."""
    model, cfg = open_entry(name, zoo, data_root)
    test, info = build_split(cfg, "test")
    batch = next(iter(make_loader(Subset(test, check_indices(test, min(32, len(test)))), info, 32, False)))[0]
    cards_path = zoo / "cards.json"
    cards = json.loads(cards_path.read_text())
    cards[name]["nir"] = nir_status(model, batch)
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    print(f"{name}: {cards[name]['nir']}")


def update_energy(name: str, zoo: Path, data_root: str | None, samples: int) -> None:
    """Re-measure the ``"energy"`` record of zoo entry ``name`` with its shipped weights, on the
    class-balanced selection of ``samples`` test samples (recorded in the card)."""
    model, cfg = open_entry(name, zoo, data_root)
    test, info = build_split(cfg, "test")
    energy = energy_analysis(cfg, SimpleNamespace(test=test, info=info), model, torch.device("cpu"), samples)
    cards_path = zoo / "cards.json"
    cards = json.loads(cards_path.read_text())
    before = cards[name]["energy"]["energy_mj"]
    cards[name]["energy"] = card_energy(energy)
    cards_path.write_text(json.dumps(cards, indent=2) + "\n")
    print(
        f"{name}: {energy['energy_mj']:.4g} mJ per sample (was {before:.4g}) on {energy['samples']} "
        f"class-balanced test samples {energy['analysis_set']['class_counts']}"
    )


if __name__ == "__main__":
    main()
