"""Experiment configuration: YAML files with ``model``, ``data``, ``optim``, ``schedule`` and
``train`` sections, overridable from the command line with dotted ``key=value`` pairs.

Unknown keys are errors (with the closest valid key suggested). ``model`` holds ``name`` plus the
model factory's keyword arguments (checked when the model is built); ``data.options`` holds the
dataset builder's own options (checked likewise). The defaults are the quick-start: a small BNTT
conv net on scikit-learn's bundled digits.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError


@dataclass
class DataConfig:
    name: str = "digits"
    root: str | None = None  # dataset folder; None = data/<dataset> under the working directory
    batch_size: int = 32  # global batch (split across data-parallel processes)
    eval_batch_size: int | None = None  # default: batch_size
    num_workers: int = 0
    augment: bool = True
    val_fraction: float = 0.0  # carve a validation split from the training set (seeded)
    train_subset: int | None = None  # use only this many training samples (seeded choice)
    test_subset: int | None = None
    options: dict = field(default_factory=dict)  # dataset-specific options


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adamw | adam
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    betas: tuple = (0.9, 0.999)


@dataclass
class ScheduleConfig:
    name: str = "multistep"  # multistep | cosine | step | constant
    milestones: list = field(default_factory=lambda: [0.5, 0.7, 0.9])  # fractions of training
    gamma: float = 0.1
    step_epochs: int = 30  # for "step"
    warmup_epochs: int = 0  # linear warm-up before any schedule
    min_lr: float = 0.0  # cosine floor


@dataclass
class TrainConfig:
    epochs: int = 30
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision (bf16 autocast) on CUDA; ignored on CPU
    deterministic: bool = True  # `fullspike train` turns on torch's deterministic algorithms
    tune_cpu_allocator: bool = True  # `fullspike train` on CPU: keep freed memory (fullspike.cpu_allocator)
    label_smoothing: float = 0.0
    grad_clip: float | None = None  # max global grad norm
    eval_every: int = 1  # validate every N epochs (when a validation split exists)
    tensorboard: bool = True
    progress: bool | None = None  # progress bars; None = only on a terminal
    firing_rate_penalty: float = 0.0  # adds this x mean firing rate to the loss (FiringRateRegularizer)
    surrogate_anneal: dict | None = None  # {start, end, param: alpha}: SurrogateAnnealing over the epochs


@dataclass
class Config:
    name: str = "quickstart"
    description: str = "BNTT conv net on the bundled digits, T=6"
    model: dict = field(default_factory=lambda: {"name": "bntt_convnet", "T": 6})
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.1, weight_decay=1e-4))
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=15))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def model_name(self) -> str:
        return self.model["name"]

    @property
    def model_kwargs(self) -> dict:
        return {k: v for k, v in self.model.items() if k != "name"}


_SECTIONS = {"data": DataConfig, "optim": OptimConfig, "schedule": ScheduleConfig, "train": TrainConfig}
_FREE_DICTS = {"model", "options"}  # keys whose contents are checked later (by the factory)


def _unknown(key: str, valid, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown config key '{where}{key}'{hint}; valid keys here: {', '.join(sorted(valid))}")


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{where.rstrip('.')}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for k, v in data.items():
        if k not in fields:
            raise _unknown(k, fields, where)
        if k in _SECTIONS and cls is Config:
            v = _build(_SECTIONS[k], v or {}, f"{k}.")
        kwargs[k] = v
    obj = cls(**kwargs)
    _check_types(obj, where)
    return obj


def _check_types(obj, where: str) -> None:
    defaults = type(obj)()
    for f in dataclasses.fields(obj):
        v, d = getattr(obj, f.name), getattr(defaults, f.name)
        if v is None or d is None or dataclasses.is_dataclass(d):
            continue
        if isinstance(d, bool) and not isinstance(v, bool):
            raise ConfigError(f"config key '{where}{f.name}' must be true or false, got {v!r}")
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            if isinstance(v, str):  # YAML 1.1 reads "1e-4" as a string
                try:
                    v = float(v)
                except ValueError:
                    pass
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"config key '{where}{f.name}' must be a number, got {v!r}")
            if isinstance(d, int) and not isinstance(d, bool) and isinstance(v, float) and not v.is_integer():
                raise ConfigError(f"config key '{where}{f.name}' must be an integer, got {v!r}")
            if isinstance(d, int) and isinstance(v, float):
                setattr(obj, f.name, int(v))
            elif isinstance(d, float):
                setattr(obj, f.name, float(v))
        if isinstance(d, str) and not isinstance(v, str):
            raise ConfigError(f"config key '{where}{f.name}' must be a string, got {v!r}")
        if isinstance(d, (dict, list, tuple)) and not isinstance(v, (dict, list, tuple)):
            raise ConfigError(f"config key '{where}{f.name}' must be a {type(d).__name__}, got {v!r}")


def config_from_dict(data: dict) -> Config:
    cfg = _build(Config, data or {}, "")
    if not isinstance(cfg.model, dict) or "name" not in cfg.model:
        raise ConfigError("config key 'model.name' is required (see `fullspike models` for the list)")
    return cfg


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b.c=value`` pairs (values parsed as YAML) to a nested config dict."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key=value (e.g. train.epochs=5)")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        node, valid = data, {f.name for f in dataclasses.fields(Config)}
        for i, p in enumerate(parts[:-1]):
            if valid is not None and p not in valid:
                raise _unknown(p, valid, ".".join(parts[:i]) + ("." if i else ""))
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config key '{'.'.join(parts[:i + 1])}' is not a section")
            cls = _SECTIONS.get(p) if i == 0 else None
            valid = None if p in _FREE_DICTS or cls is None else {f.name for f in dataclasses.fields(cls)}
        last = parts[-1]
        if valid is not None and last not in valid:
            raise _unknown(last, valid, ".".join(parts[:-1]) + ("." if len(parts) > 1 else ""))
        node[last] = value
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (or the quick-start defaults when ``path`` is None) and apply overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found (configs live in the repository's configs/ folder)")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p} is not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p} must hold a mapping of sections (model, data, optim, schedule, train)")
    else:
        data = Config().to_dict()
    return config_from_dict(apply_overrides(data, overrides or []))
