"""Run an experiment of :mod:`studies.definitions`: plan its runs, train the missing
ones (resuming partial ones), and write ``results.json`` (per run: config, seed, per-epoch curves,
final test accuracy, energy per sample, analyses) after every run, so a study can span sessions.

Layout: ``OUT/<experiment>/<scale>/<variant>_seed<k>/`` is a ``fullspike train`` run folder
(``config.json``, ``metrics.jsonl``, ``metrics.json``, ``checkpoint.pt``) plus ``energy.json`` and
the analysis JSON; ``OUT/<experiment>/<scale>/results.json`` and the plots sit beside them.
Training goes only through :func:`train_run` (the config path of ``fullspike train``); results are
read from the run folder's files. Every analysis runs on one class-balanced selection of the test
split (:func:`fullspike.data.selection.analysis_set`), recorded as ``analysis_set`` in its JSON;
settings (the early-exit margin) are chosen on the same-sized selection of the validation split.
The study uses fullspike's public API only.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fullspike
from fullspike.data.roots import DATA_ROOT_HELP, default_root
from fullspike.errors import ConfigError, MissingDependencyError
from fullspike.optional import require
from fullspike.registry import unknown_name
from fullspike.seeding import seeded_draws
from fullspike.train import Config, config_from_dict, load_config
from fullspike.train.callbacks import Callback
from fullspike.train.trainer import EVAL_SEED

from .definitions import Experiment, Scale, Variant, get_experiment

#: folder of each dataset under a plain ``--data-root DIR``
DATA_SUBDIRS = {"cifar10": "cifar10", "fashion_mnist": "fashion-mnist", "nmnist": ".", "imagenet": "imagenet"}

#: the attacks of the robustness analysis: PGD with expectation over the rate encoding
ATTACK = {"pgd_steps": 10, "pgd_alpha": "2.5 * eps / steps", "draws": 4}


def config_dirs() -> list[Path]:
    """Where config names are looked up: the configs shipped with the package."""
    return [Path(fullspike.__file__).resolve().parent / "configs"]


def config_path(name: str, configs_dir: Path | None = None) -> Path:
    """The YAML file of config ``name`` (with or without ``.yaml``): in ``configs_dir`` if given,
    else the first of :func:`config_dirs` that has it."""
    file = name if name.endswith(".yaml") else f"{name}.yaml"
    for folder in [configs_dir] if configs_dir else config_dirs():
        if (Path(folder) / file).is_file():
            return Path(folder) / file
    where = configs_dir or " or ".join(map(str, config_dirs()))
    raise ConfigError(f"config {file} not found in {where}: run from a source checkout or pass --configs DIR")


def parse_data_roots(entries: list[str] | None) -> dict[str, str]:
    """``["DIR", "nmnist=DIR2"]`` -> ``{"*": "DIR", "nmnist": "DIR2"}``."""
    roots: dict[str, str] = {}
    for e in entries or []:
        key, sep, path = e.partition("=")
        if sep and key not in DATA_SUBDIRS:
            raise ConfigError(
                f"--data-root {e}: unknown dataset '{key}'; use DIR or one of "
                f"{', '.join(f'{k}=DIR' for k in DATA_SUBDIRS)}"
            )
        roots[key if sep else "*"] = path if sep else e
    return roots


def data_root(dataset: str, roots: dict[str, str], experiment: str) -> str:
    """The absolute data folder of ``dataset`` (run folders record it, so it must not depend on
    the working directory)."""
    if dataset in roots:
        return os.path.abspath(roots[dataset])
    if "*" in roots:
        return os.path.abspath(default_root(roots["*"], DATA_SUBDIRS[dataset]))
    raise ConfigError(
        f"experiment '{experiment}' trains on real {dataset} data: pass --data-root DIR "
        f"({DATA_ROOT_HELP}) or --data-root {dataset}=DIR"
    )


@dataclass
class PlannedRun:
    experiment: str  # the experiment whose folder holds the run
    variant: Variant
    seed: int
    cfg: Config
    run_dir: Path

    @property
    def key(self) -> str:
        return f"{self.variant.name}_seed{self.seed}"


def _overrides(v: Variant, sc: Scale, configs_dir: Path | None) -> tuple[Path, list[str]]:
    """The config file and the overrides of variant ``v`` at scale ``sc`` (before seed and data
    root): a scale's ``configs`` replace the variant's; its ``epochs_factor`` scales the variant's
    own epochs."""
    if sc.configs is not None:
        return config_path(sc.configs[v.name], configs_dir), list(sc.overrides)
    path = config_path(v.config, configs_dir)
    overrides = [*v.overrides, *sc.overrides]
    if sc.epochs_factor is not None:
        epochs = load_config(path, list(v.overrides)).train.epochs
        overrides.append(f"train.epochs={max(1, round(epochs * sc.epochs_factor))}")
    return path, overrides


def plan(
    exp: Experiment,
    scale: str,
    out: Path,
    data_roots: dict[str, str],
    seeds: list[int] | None = None,
    configs_dir: Path | None = None,
) -> list[PlannedRun]:
    """The runs of ``exp`` at ``scale``, seed by seed (so error bars appear early); a scale with
    ``configs`` or ``variants`` plans only the variants it lists. Two runs training the same config are refused
    (:func:`check_distinct`)."""
    runs = []
    for seed in seeds if seeds is not None else exp.scale(scale).seeds:
        for v in exp.variants:
            home = get_experiment(v.home) if v.home else exp
            hv = next((h for h in home.variants if h.name == v.name), None) if v.home else v
            if hv is None:
                raise ConfigError(f"experiment '{exp.name}': variant '{v.name}' is not in '{home.name}'")
            hs: Scale = home.scale(scale)
            if (hs.configs is not None and v.name not in hs.configs) or (hs.variants and v.name not in hs.variants):
                continue
            path, overrides = _overrides(hv, hs, configs_dir)
            overrides.append(f"train.seed={seed}")
            if hs.uses_data:
                overrides.append(f"data.root={data_root(hs.dataset or home.dataset, data_roots, exp.name)}")
            runs.append(
                PlannedRun(
                    home.name,
                    v,
                    seed,
                    load_config(path, overrides),
                    Path(out) / home.name / scale / f"{v.name}_seed{seed}",
                )
            )
    check_distinct(runs)
    return runs


def check_distinct(runs: list[PlannedRun]) -> None:
    """Refuse a plan in which two runs train the same config (a scale collapsing two variants
    into one mislabelled pair); labels (:data:`DISPLAY_ONLY`) do not count as a difference."""
    seen: dict[str, str] = {}
    for r in runs:
        key = json.dumps(_plain(r.cfg.to_dict()), sort_keys=True)
        if key in seen:
            raise ConfigError(
                f"{r.key} and {seen[key]} would train the same config: the scale overrides what "
                "sets the variants apart; scale their budget (epochs_factor) instead"
            )
        seen[key] = r.key


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{where}{k}.")
    return f"{where.rstrip('.')}: {a!r} there, {b!r} planned"


#: keys that change only what a run shows or logs, never what it computes (section "": the
#: top level)
DISPLAY_ONLY = {"": ("name", "description"), "train": ("tensorboard", "progress")}


def _plain(cfg: dict) -> dict:
    """The config as JSON data, without the :data:`DISPLAY_ONLY` keys."""
    data = json.loads(json.dumps(cfg, default=str))
    for section, keys in DISPLAY_ONLY.items():
        for key in keys:
            (data if section == "" else data.get(section, {})).pop(key, None)
    return data


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: processes of one study may share a run or a folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (:func:`_write_text`)."""
    _write_text(path, json.dumps(data, indent=2, default=str))


#: written into a run folder when its training diverged (the loss became NaN or infinite)
DIVERGED = "diverged.json"


def run_status(run: PlannedRun) -> str:
    """``done`` (metrics.json written), ``diverged`` (:data:`DIVERGED` written: a result, not
    retried), ``partial`` (a checkpoint to resume) or ``new``; a folder holding another config is
    an error (never overwritten)."""
    stored = run.run_dir / "config.json"
    if stored.is_file():
        # read through today's schema: a key an older run folder lacks takes its default, which
        # is the behaviour that run had (a new config key always defaults to the old behaviour)
        there = _comparable(json.loads(stored.read_text()))
        planned = _plain(run.cfg.to_dict())
        if there != planned:
            raise ConfigError(
                f"{run.run_dir} holds a run of another config ({_first_difference(there, planned)}); "
                f"delete it or use another --out"
            )
    if (run.run_dir / "metrics.json").is_file():
        return "done"
    if (run.run_dir / DIVERGED).is_file():
        return "diverged"
    return "partial" if (run.run_dir / "checkpoint.pt").is_file() else "new"


#: written into a run folder brought back from the store (:func:`restore_runs`): it has no weights
RESTORED = "restored.json"
#: the machines that trained a run (:func:`machine`; :class:`MachineLog`), in a run folder:
#: ``{"trained_on": [...]}``
TRAINED_ON = "trained_on.json"


def _trained_on(run_dir: Path) -> list[str]:
    """The machines a run folder's :data:`TRAINED_ON` names ([] when it has none)."""
    path = run_dir / TRAINED_ON
    if not path.is_file():
        return []
    try:
        machines = json.loads(path.read_text())["trained_on"]
        if isinstance(machines, list) and all(isinstance(m, str) for m in machines):
            return machines
    except (ValueError, KeyError, TypeError):
        pass
    raise ConfigError(f'{path} is not a list of machines ({{"trained_on": [...]}}); delete it or train the run again')


def _comparable(config: dict) -> dict:
    """A config as JSON data read through today's schema (a key an older folder or store lacks
    takes its default, which is the behaviour that run had), without the :data:`DISPLAY_ONLY` keys."""
    return _plain(config_from_dict(config).to_dict())


def _stored_config(stored: dict, planned: Config) -> dict:
    """The config of a stored run as the runner would plan it here: the store keeps an absolute
    ``data.root`` as a placeholder (``DATA`` or ``DATA/<its name>``,
    ``report.without_machine_paths``), which stands for whatever root the plan has here."""
    stored = json.loads(json.dumps(stored))
    data = stored.get("data", {})
    root = str(data.get("root", ""))
    if root == "DATA" or root.startswith("DATA/"):
        data["root"] = planned.data.root
    return _comparable(stored)


def _current(data: dict | None, samples: int) -> bool:
    """Whether a stored analysis is what measuring again gives: the samples asked for, the
    class-balanced selection (``analysis_set``) and the seeded draws (``draws_seed``)."""
    return (
        data is not None
        and data.get("samples_requested") == samples
        and "analysis_set" in data
        and data.get("draws_seed") == EVAL_SEED
    )


def _restored_files(exp: Experiment, rec: dict, run: PlannedRun, machine_there: str | None) -> dict[str, Any]:
    """The JSON files :func:`restore_runs` writes from a stored record ``rec`` (besides
    ``metrics.jsonl`` and :data:`RESTORED`); None: not stored."""
    return {
        TRAINED_ON: {"trained_on": rec.get("trained_on") or [machine_there]},
        "config.json": run.cfg.to_dict(),
        "metrics.json": rec.get("metrics"),
        DIVERGED: rec.get("diverged"),
        "energy.json": rec.get("energy"),
        **({f"{exp.analysis}.json": rec.get(exp.analysis)} if exp.analysis else {}),
    }


def _read_store(path: Path) -> dict:
    """A stored ``results.json``, checked for what a restore reads of each run."""
    try:
        stored = json.loads(path.read_text())
        runs = stored["runs"]
        missing = sorted({k for r in runs for k in ("run_dir", "config", "status", "curves") if k not in r})
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} is not a results store of `fullspike reproduce` ({type(e).__name__}: {e})") from e
    if missing:
        raise ConfigError(f"{path} is not a results store of `fullspike reproduce`: runs without {missing}")
    return stored


def restore_runs(exp: Experiment, scale: str, runs: list[PlannedRun], store: Path, log=print) -> None:
    """Bring back into their run folders the finished (or diverged) runs of ``runs`` that a
    results store (``store/<experiment>/<scale>/results.json``: the study's committed results, or
    the partial store of a study under way in ``studies/in_progress``) holds: their config,
    curves, metrics, energy and analysis and the machines that trained them, so that a study goes
    on on another machine without training them again.

    The store keeps no weights, so only runs whose stored analyses are current (:func:`_current`)
    are restored; the others are left to train again. A restored folder is marked
    :data:`RESTORED` (written first: an interrupted restore is completed by the next one), and an
    analysis that must be measured again on it refuses (:func:`load_run`). A folder that holds
    anything else is never touched. Every stored run is checked before anything is written: one
    whose config differs from the one planned here refuses the whole restore."""
    path = store / exp.name / scale / "results.json"
    if not path.is_file():
        log(f"[{exp.name}] the store holds no {scale} results ({path}): nothing to restore")
        return
    stored = _read_store(path)
    finished = [r for r in stored["runs"] if r["status"] in ("done", "diverged")]
    by_folder = {tuple(Path(r["run_dir"]).parts[-3:]): r for r in finished}
    samples = exp.scale(scale).samples
    chosen = []
    for run in runs:
        rec = by_folder.get(tuple(run.run_dir.parts[-3:]))
        marked = run.run_dir / RESTORED
        if rec is None or (run.run_dir.exists() and not marked.is_file()):
            continue  # not stored, or a run of this machine (finished, partial or another config)
        try:
            there = _stored_config(rec["config"], run.cfg)
        except ConfigError as e:
            raise ConfigError(f"{path}: {run.key}: {e}") from e
        planned = _plain(run.cfg.to_dict())
        if there != planned:
            raise ConfigError(
                f"{path}: the stored {run.key} was trained with another config than this plan's "
                f"({_first_difference(there, planned)}); train it again (leave out --from-store)"
            )
        stale = [
            key
            for key in ("energy", exp.analysis)
            if key and rec["status"] == "done" and not _current(rec.get(key), samples)
        ]
        if stale:
            log(
                f"[{exp.name}] {run.key}: not restored: its stored {' and '.join(stale)} predate(s) the "
                "current analysis (class-balanced selection, seeded draws) and the store keeps no weights "
                "to measure again; it trains again"
            )
            continue
        chosen.append((run, rec))
    for run, rec in chosen:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        marked = run.run_dir / RESTORED
        sources = json.loads(marked.read_text())["sources"] if marked.is_file() else []
        source = {"store": f"{exp.name}/{scale}/results.json", "date": stored.get("date")}
        _write_json(marked, {"sources": sources + [source] * (source not in sources)})
        written = []
        for name, data in _restored_files(exp, rec, run, stored.get("machine")).items():
            if data is not None and not (run.run_dir / name).is_file():
                _write_json(run.run_dir / name, data)
                written.append(name)
        if not (run.run_dir / "metrics.jsonl").is_file():
            _write_text(run.run_dir / "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in rec["curves"]))
            written.append("metrics.jsonl")
        if written:
            log(f"[{exp.name}] {run.key}: restored from the store ({', '.join(written)}), without weights")


def _clear_restored(run_dir: Path) -> None:
    """Before a run trains in a folder restored from the store: remove what the store put there
    (its analyses belong to the stored run, not to the one about to train)."""
    if (run_dir / RESTORED).is_file():
        for name in os.listdir(run_dir):
            if name.endswith(".json") or name == "metrics.jsonl":
                (run_dir / name).unlink()


class MachineLog(Callback):
    """Adds this machine to a run's :data:`TRAINED_ON` at the end of every epoch it trains. The
    list travels in each epoch's checkpoint (:meth:`state_dict`), so a run killed and resumed on
    another machine names every machine that trained an epoch it kept, and only those; it is
    written to the run folder too, by the process that holds it."""

    def __init__(self, run_dir: Path, known: list[str]) -> None:
        self.run_dir, self.machines, self.here = run_dir, list(known), machine()

    def _write(self, trainer) -> None:
        if not trainer.is_main:
            return
        if self.machines:
            _write_json(self.run_dir / TRAINED_ON, {"trained_on": self.machines})
        else:  # a fresh start: what an earlier attempt left names no epoch of this run
            (self.run_dir / TRAINED_ON).unlink(missing_ok=True)

    def on_fit_start(self, trainer) -> None:
        self._write(trainer)  # the list of the epochs kept (a kill between two writes left another)

    def on_epoch_end(self, trainer, row: dict) -> None:
        if self.here not in self.machines:
            self.machines.append(self.here)
        self._write(trainer)

    def state_dict(self) -> dict:
        return {"trained_on": list(self.machines)}

    def load_state_dict(self, state: dict) -> None:
        if "trained_on" in state:  # a checkpoint from before this callback keeps the folder's list
            self.machines = list(state["trained_on"])


def train_run(cfg: Config, run_dir: Path) -> str | None:
    """Train ``cfg`` into ``run_dir`` exactly as ``fullspike train --out run_dir`` does, resuming
    from its checkpoint when one is there, with the machines that train it logged
    (:class:`MachineLog`). A run whose loss becomes NaN or infinite is a result of the study (a
    setting that does not train): it is recorded in :data:`DIVERGED` and its message returned,
    and the study goes on."""
    from fullspike.train import DivergenceError, fit

    _clear_restored(run_dir)
    resume = (run_dir / "checkpoint.pt").is_file()
    log = MachineLog(run_dir, _trained_on(run_dir) if resume else [])
    try:  # no checkpoint: what a run killed before its first one left (its config, checked by
        # run_status to be this one) holds no finished epoch, and starts again from scratch
        fit(cfg, run_dir, resume=resume, overwrite=not resume, callbacks=[log])
    except DivergenceError as e:
        record = {"message": str(e), "epoch": e.epoch, "step": e.step, "lr": e.lr, "loss": str(e.loss)}
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(run_dir / DIVERGED, record)
        machines = log.machines if log.here in log.machines else [*log.machines, log.here]
        _write_json(run_dir / TRAINED_ON, {"trained_on": machines})  # the epochs kept and the one that diverged
        return str(e)
    return None


def machine() -> str:
    """CPU model and count, or the GPU, plus the torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{cpu}, {os.cpu_count()} CPUs{gpu}, torch {torch.__version__}"


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _cached(path: Path, samples: int, compute) -> dict:
    """``compute()`` stored at ``path`` with the samples asked for and the seed of its random
    draws (``draws_seed``, :data:`EVAL_SEED`); recomputed when the samples asked for changed, or the
    stored analysis predates the class-balanced selection (no ``analysis_set``) or the seeded draws
    (no ``draws_seed``): what is stored is what measuring again gives."""
    if path.is_file():
        data = json.loads(path.read_text())
        if _current(data, samples):
            return data
    data = {"samples_requested": samples, "draws_seed": EVAL_SEED, **compute()}
    _write_json(path, data)
    return data


def _has_weights(run_dir: Path) -> None:
    """Refuse, in one line, to measure an analysis of a run restored from the store (no weights)."""
    if (run_dir / RESTORED).is_file():
        raise ConfigError(
            f"{run_dir} was restored from the study's store without its weights and lacks an analysis "
            "that needs them: restore it from the store that holds the analysis (--from-store with that "
            "experiment), or delete the folder and train the run again"
        )


def load_run(run_dir: Path):
    """``(cfg, data splits, model with the trained weights in eval mode, device)`` of a finished
    run, from its folder's files (config.json, checkpoint.pt) through ``fullspike.load``."""
    from fullspike.train import build_data, resolve_device

    _has_weights(run_dir)
    model, cfg = fullspike.load(run_dir)
    device = resolve_device(cfg.train.device)
    return cfg, build_data(cfg), model.to(device).eval(), device


def _loader(data, split: str, samples: int, cfg):
    """A loader of the class-balanced selection of ``samples`` samples of ``split`` (``test`` or
    ``val``) and that selection's record."""
    from fullspike.data.selection import selected_loader

    batch_size = cfg.data.eval_batch_size or cfg.data.batch_size
    loader, chosen = selected_loader(getattr(data, split), data.info, samples, batch_size, split)
    return loader, chosen.to_dict()


def _energy_summary(report) -> dict:
    return {
        "samples": report.samples,
        "T": report.T,
        "ac": report.total_ac,
        "mac": report.total_mac,
        "energy_mj": report.energy_mj,
        "ann_energy_mj": report.ann_energy_mj,
        "step_firing_rates": report.step_firing_rates,
        "firing_rates": {n.name: n.firing_rate for n in report.neurons},
    }


def measure_energy(run_dir: Path, samples: int) -> dict:
    """AC, MAC and energy per sample (all steps) on the class-balanced selection of ``samples``
    test images, with the firing rate of every neuron layer; for dual-stream nets (DSNN) also the
    FSNN (AAP removed). The encoder's draws are seeded (:data:`EVAL_SEED`): the counts repeat."""

    return _cached(run_dir / "energy.json", samples, lambda: energy_analysis(*load_run(run_dir), samples))


def energy_analysis(cfg, data, model, device, samples: int) -> dict:
    """What :func:`measure_energy` stores, for any trained ``model`` of ``cfg`` with its data
    splits ``data`` (a run's, or a zoo entry's: scripts/make_zoo_entry.py)."""
    from fullspike.dst import has_aap, remove_aap
    from fullspike.energy import count_synaptic_ops

    loader, chosen = _loader(data, "test", samples, cfg)
    T = getattr(model, "T", None) or 1  # an ANN: one pass, every operation a MAC
    with seeded_draws(EVAL_SEED, device):
        out = {
            "analysis_set": chosen,
            "test_size": len(data.test),
            **_energy_summary(count_synaptic_ops(model, loader, T=T)),
        }
        if has_aap(model):
            out["fsnn"] = _energy_summary(count_synaptic_ops(remove_aap(model), loader))
    return out


def analyse(run_dir: Path, kind: str, samples: int) -> dict:
    """The experiment's per-run analysis (``early_exit``, ``robustness`` or ``time_statistics``),
    cached in the run folder, with the ``analysis_set`` it ran on; the encoder's draws are seeded
    (:data:`EVAL_SEED`), so an analysis repeats exactly."""

    def compute() -> dict:
        if kind == "time_statistics":  # from the parameters alone: no data set is built
            from fullspike.analysis.time_statistics import step_statistics

            _has_weights(run_dir)
            return {"analysis_set": None, **step_statistics(fullspike.load(run_dir, device="cpu").model)}
        cfg, data, model, device = load_run(run_dir)
        with seeded_draws(EVAL_SEED, device):
            return measured(cfg, data, model, device)

    def measured(cfg, data, model, device) -> dict:
        loader, chosen = _loader(data, "test", samples, cfg)
        if kind == "early_exit":
            from fullspike.analysis.early_exit import analyse_early_exit

            if data.val is None:
                raise ConfigError(
                    f"{run_dir}: the early-exit margin is chosen on validation data; the run has "
                    "no validation split (data.val_fraction=0)"
                )
            val_loader, val_set = _loader(data, "val", samples, cfg)
            res = analyse_early_exit(model, loader, device, energy_batches=1, val_loader=val_loader)
            return {"analysis_set": chosen, "validation_set": val_set, **res.to_dict()}
        from fullspike.analysis.robustness import evaluate_robustness, find_normalization

        res = evaluate_robustness(
            model,
            loader,
            find_normalization(data.test),
            device=device,
            pgd_steps=ATTACK["pgd_steps"],
            pgd_alpha=None,
            draws=ATTACK["draws"],
        )
        return {"analysis_set": chosen, "attack": ATTACK, **res.to_dict()}

    return _cached(run_dir / f"{kind}.json", samples, compute)


def run_record(exp: Experiment, run: PlannedRun, samples: int) -> dict:
    """What results.json says about one run (read from its folder)."""
    rec: dict[str, Any] = {
        "variant": run.variant.name,
        "label": run.variant.label,
        "seed": run.seed,
        "x": run.variant.x,
        "series": run.variant.series,
        "run_dir": str(run.run_dir),
        "config": run.cfg.to_dict(),
    }
    status = run_status(run)
    curves = _read_jsonl(run.run_dir / "metrics.jsonl")
    rec.update(status=status, curves=curves)
    if (run.run_dir / RESTORED).is_file():
        rec["restored"] = json.loads((run.run_dir / RESTORED).read_text())
    if (run.run_dir / TRAINED_ON).is_file():
        rec["trained_on"] = _trained_on(run.run_dir)
    if status == "diverged":
        rec["diverged"] = json.loads((run.run_dir / DIVERGED).read_text())
    if status != "done":
        return rec
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    if "test_accuracy_spike" in metrics:  # dual-stream: the spike stream alone is the FSNN
        rec["fsnn_test_accuracy"] = metrics["test_accuracy_spike"]
    rec.update(
        metrics=metrics,
        test_accuracy=metrics["test_accuracy"],
        final_val_accuracy=curves[-1].get("val_accuracy") if curves else None,
        best_val_accuracy=metrics.get("best_val_accuracy"),
        train_cpu_seconds=metrics.get("train_cpu_seconds"),
        epochs=metrics.get("epochs"),
    )
    rec["energy"] = measure_energy(run.run_dir, samples)
    if exp.analysis:
        rec[exp.analysis] = analyse(run.run_dir, exp.analysis, samples)
    return rec


def _mean_std(values: list[float]) -> dict | None:
    if not values:
        return None
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
    }


def summarise(exp: Experiment, records: list[dict]) -> dict:
    """Per variant: mean and std over the finished seeds of test accuracy, validation accuracy,
    energy, CPU time (and, for dual-stream nets, the FSNN's accuracy and energy); plus the variant
    chosen on validation accuracy."""
    out: dict[str, Any] = {}
    planned = {r["variant"] for r in records}  # a scale may run some variants only
    for v in (v for v in exp.variants if v.name in planned):
        done = [r for r in records if r["variant"] == v.name and r["status"] == "done"]
        s = {
            "label": v.label,
            "x": v.x,
            "series": v.series,
            "control": v.control,
            "seeds_done": [r["seed"] for r in done],
            "seeds_diverged": [r["seed"] for r in records if r["variant"] == v.name and r["status"] == "diverged"],
            "test_accuracy": _mean_std([r["test_accuracy"] for r in done]),
            "final_val_accuracy": _mean_std(
                [r["final_val_accuracy"] for r in done if r["final_val_accuracy"] is not None]
            ),
            "train_cpu_seconds": _mean_std([r["train_cpu_seconds"] for r in done if r["train_cpu_seconds"]]),
        }
        fsnn_acc = [r["fsnn_test_accuracy"] for r in done if "fsnn_test_accuracy" in r]
        if fsnn_acc:
            s["fsnn_test_accuracy"] = _mean_std(fsnn_acc)
        for key in ("ac", "mac", "energy_mj"):
            s[key] = _mean_std([r["energy"][key] for r in done])
            fsnn = [r["energy"]["fsnn"][key] for r in done if "fsnn" in r["energy"]]
            if fsnn:
                s[f"fsnn_{key}"] = _mean_std(fsnn)
        out[v.name] = s
    summary: dict[str, Any] = {"variants": out}
    if exp.select_on_val:
        scored = [(s["final_val_accuracy"]["mean"], name) for name, s in out.items() if s["final_val_accuracy"]]
        summary["selected"] = max(scored, key=lambda t: t[0])[1] if scored else None
    return summary


def collect(exp: Experiment, scale: str, runs: list[PlannedRun], out: Path, command: str) -> dict:
    """Write ``results.json`` and the plots of what has finished (no plots without the ``plot``
    extra: :func:`plots_missing` says why); returns the results."""
    sc = exp.scale(scale)
    records = [run_record(exp, r, sc.samples) for r in runs]
    folder = Path(out) / exp.name / scale
    folder.mkdir(parents=True, exist_ok=True)
    results = {
        "experiment": exp.name,
        "number": exp.number,
        "title": exp.title,
        "claim": exp.claim,
        "scale": scale,
        "section": exp.section,
        "dataset": sc.dataset or exp.dataset,
        "setting": sc.note,
        "target": exp.target,
        "analysis": exp.analysis,
        "x_label": exp.x_label,
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "runs": records,
        "summary": summarise(exp, records),
    }
    if plots_missing() is None:
        from .plots import write_plots

        results["plots"] = write_plots(results, folder)
    else:
        results["plots"] = []
    _write_json(folder / "results.json", results)
    return results


def plots_missing() -> str | None:
    """Why the experiments' plots cannot be drawn (matplotlib missing), or None when they can."""
    try:
        require("matplotlib", extra="plot", purpose="drawing the experiment's plots")
    except MissingDependencyError as e:
        return str(e)
    return None


def run_experiment(
    name: str,
    scale: str,
    out: str | Path,
    data_roots: dict[str, str] | None = None,
    seeds: list[int] | None = None,
    configs_dir: Path | None = None,
    train: bool = True,
    command: str = "",
    variants: list[str] | None = None,
    log=print,
    store: Path | None = None,
) -> dict:
    """Train the missing runs of experiment ``name`` (skipping finished ones, resuming partial
    ones) and write its results after each; ``train=False`` only collects what is there.
    ``variants``, ``seeds``: train only these (e.g. one per process); the results cover every
    variant and the scale's seeds as well as ``seeds``, so runs split over processes never
    overwrite each other's results. ``store``: first bring back the runs it holds that this ``out``
    lacks (:func:`restore_runs`)."""
    exp = get_experiment(name)
    every = sorted(set(exp.scale(scale).seeds) | set(seeds or []))
    runs = plan(exp, scale, Path(out), data_roots or {}, every, configs_dir)
    unknown = sorted(set(variants or []) - {v.name for v in exp.variants})
    if unknown:
        raise unknown_name("variant", unknown[0], [v.name for v in exp.variants], f" of experiment '{name}'")
    if store is not None:
        restore_runs(exp, scale, runs, store, log)
    statuses = [run_status(r) for r in runs]  # refuses a folder of another config before any training
    for r, status in zip(runs, statuses):
        if (variants and r.variant.name not in variants) or (seeds is not None and r.seed not in seeds):
            continue
        if status == "done":
            log(f"[{exp.name}] {r.key}: finished, skipped")
        elif status == "diverged":
            log(f"[{exp.name}] {r.key}: diverged, skipped (delete {r.run_dir / DIVERGED} to train it again)")
        elif train:
            log(f"[{exp.name}] {r.key}: {'resuming' if status == 'partial' else 'training'} -> {r.run_dir}")
            failed = train_run(r.cfg, r.run_dir)
            if failed:
                log(f"[{exp.name}] {r.key}: recorded as diverged: {failed}")
            collect(exp, scale, runs, Path(out), command)
    results = collect(exp, scale, runs, Path(out), command)
    log(f"[{exp.name}] results: {Path(out) / exp.name / scale / 'results.json'}")
    note = plots_missing()
    if note:
        log(f"note: plots not drawn: {note}")
    return results
