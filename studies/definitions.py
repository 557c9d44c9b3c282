"""The reproduction study's experiments, read from the YAML files of ``studies/experiments/``: each
experiment is a claim (of a paper, or one of the project's own benchmarks) and the training runs
that test it, generated from fullspike's configs with overrides, at a scale:

- ``smoke``: minutes on the bundled 8x8 digits, whatever the experiment's data set (tests the
  machinery; says nothing about the claim),
- ``cpu``: what one CPU core affords within about an hour per run (the settings are reduced, the
  reason stated in the scale's ``note``),
- ``paper``: the experiment's own data set at the configs' full width and epochs (for the DST depth
  study: the CIFAR-10 proxy, not the paper's ImageNet; needs a GPU),
- ``imagenet``: the DST depth study's ImageNet configs (the paper's setting; needs GPUs and the
  ImageNet data).

A run is one (variant, seed). A variant with ``home`` is the same run as that experiment's
variant of the same name (early exit and robustness analyse the BNTT network of ``bntt_norms``).
A scale scales a variant's budget (``epochs_factor``), never collapses two variants into one:
:func:`check_distinct` refuses a plan in which two runs would train the same config.

Lists of overrides shared by several files live in ``experiments/_common.yaml``; an entry
``"@name"`` of an ``overrides`` list stands for that list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from fullspike.errors import ConfigError
from fullspike.registry import unknown_name

EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"
#: the committed results of the study: ``<experiment>/<scale>/results.json`` and plots
STORE = Path(__file__).resolve().parents[1] / "docs" / "reproduction"
SCALES = ("smoke", "cpu", "paper", "imagenet")
SECTIONS = ("claims", "benchmarks")


@dataclass(frozen=True)
class Variant:
    """One network/setting of an experiment: ``config`` (a config name, see
    :func:`studies.runner.config_path`) plus ``overrides``. ``x`` and ``series`` place it in plots
    (e.g. depth and family); ``home``: see the module doc; ``control``: an ablation reported
    beside the claim's variants: it does not decide the verdict's word (its tests count in Holm's
    family, see studies/report.py)."""

    name: str
    label: str
    config: str
    overrides: tuple[str, ...] = ()
    x: float | None = None
    series: str | None = None
    home: str | None = None
    control: bool = False


@dataclass(frozen=True)
class Scale:
    """Overrides applied to every run of the experiment (after the variant's, so a scale can swap
    the data set, e.g. to the bundled digits for ``smoke``), the seeds, how many test (and
    validation) samples the energy count and analyses use, and why the setting differs from the
    paper. ``epochs_factor``: each run trains its variant's epochs times this (at least 1).
    ``configs``: at this scale only the listed variants run, each the given config as it is
    (e.g. the ImageNet configs of the depth study); ``dataset``: the data set's key when it
    differs from the experiment's; ``variants``: only these run at this scale (e.g. where the
    scale's data set erases what sets two variants apart)."""

    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    note: str
    samples: int = 256
    uses_data: bool = True  # False: the data come with the package (digits), no --data-root needed
    epochs_factor: float | None = None
    configs: dict[str, str] | None = None
    dataset: str | None = None
    variants: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Experiment:
    """A claim and the runs that test it."""

    name: str
    number: int  # item of the study (issue order)
    title: str
    claim: str  # the paper's statement, with its number, or the project's target
    dataset: str  # key of --data-root
    variants: tuple[Variant, ...]
    scales: dict[str, Scale]
    section: str = "claims"  # "claims": a paper's claim; "benchmarks": one of the project's own targets
    select_on_val: bool = False  # report the variant with the best mean validation accuracy
    target: float | None = None  # test accuracy (0..1) the claim asks for
    test_size: int | None = None  # test samples of the data set (the intervals of small test sets)
    analysis: str | None = None  # per-run analysis: "early_exit", "robustness" or "time_statistics"
    x_label: str = ""  # what the variants' ``x`` is (plots against it)
    paper: str | None = None  # what the paper measured, quoted beside our (proxy) setting
    notes: tuple[str, ...] = field(default_factory=tuple)  # caveats printed under the results

    def scale(self, name: str) -> Scale:
        if name not in self.scales:
            raise ConfigError(f"experiment '{self.name}' has no scale '{name}'; it has {', '.join(self.scales)}")
        return self.scales[name]


def _expand(overrides: list[str], common: dict[str, list[str]], where: str) -> tuple[str, ...]:
    out: list[str] = []
    for o in overrides:
        if o.startswith("@"):
            if o[1:] not in common:
                raise ConfigError(f"{where}: '{o}' is not a list of {EXPERIMENTS_DIR / '_common.yaml'}")
            out += common[o[1:]]
        else:
            out.append(o)
    return tuple(out)


def _experiment(data: dict[str, Any], common: dict[str, list[str]], path: Path) -> Experiment:
    variants = tuple(
        Variant(**{**v, "overrides": _expand(v.get("overrides", []), common, str(path))}) for v in data.pop("variants")
    )
    scales = {}
    for name, s in data.pop("scales").items():
        if name not in SCALES:
            raise ConfigError(f"{path}: unknown scale '{name}'; scales are {', '.join(SCALES)}")
        scales[name] = Scale(
            **{
                **s,
                "overrides": _expand(s.get("overrides", []), common, str(path)),
                "seeds": tuple(s["seeds"]),
                "variants": tuple(s["variants"]) if "variants" in s else None,
            }
        )
    if data.get("section", "claims") not in SECTIONS:
        raise ConfigError(f"{path}: section must be one of {', '.join(SECTIONS)}")
    notes = tuple(data.pop("notes", ()))
    return Experiment(**data, variants=variants, scales=scales, notes=notes)


@cache
def experiments(folder: Path = EXPERIMENTS_DIR) -> dict[str, Experiment]:
    """Every experiment of ``folder`` (``*.yaml`` but ``_common.yaml``), by name, in study order."""
    common_file = folder / "_common.yaml"
    common = yaml.safe_load(common_file.read_text()) if common_file.is_file() else {}
    found = [_experiment(yaml.safe_load(p.read_text()), common, p) for p in sorted(folder.glob("[!_]*.yaml"))]
    return {e.name: e for e in sorted(found, key=lambda e: e.number)}


def get_experiment(name: str) -> Experiment:
    """An experiment by name; unknown names fail with one line listing them."""
    known = experiments()
    if name not in known:
        raise unknown_name("experiment", name, known)
    return known[name]


def experiment_names() -> list[str]:
    return list(experiments())
