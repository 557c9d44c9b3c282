"""Experiment configuration: YAML files with ``model``, ``data``, ``optim``, ``schedule`` and
``train`` sections, overridable from the command line with dotted ``key=value`` pairs.

The schema is a set of pydantic models. Every key has a type and every number a range (shown in
the error); unknown keys are errors with the closest valid key suggested. ``model`` holds
``name`` plus the model factory's keyword arguments and ``data.options`` the dataset builder's
options: both are checked against the factory's signature, type hints and the shared range table
(:mod:`fullspike.train.validation`) when the config is read. Any mistake is one
:class:`~fullspike.errors.ConfigError` line. The defaults are the quick-start: a small BNTT conv
net on scikit-learn's bundled digits.
"""
from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from ..errors import ConfigError, FullspikeError, RegistryError
from ..registry import Registry
from .optim import OPTIMIZERS, SCHEDULES
from .validation import Count, check_arguments, describe, dotted, number, show

NonNegativeInt = number(int, ge=0)
OptionalCount = number(int, ge=1, optional=True)
Positive = number(float, gt=0)
NonNegative = number(float, ge=0)
UnitInterval = number(float, ge=0, lt=1)  # [0, 1): momentum, betas, fractions, label smoothing
Seed = number(int, ge=0, le=2**32 - 1)  # numpy's seed range
Bool = Annotated[bool, Field(strict=True)]
OptionalBool = Annotated[bool | None, Field(strict=True)]


def _device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise PydanticCustomError("device", "must be auto, cpu, cuda or cuda:N")
    return value


def _neuron_backend(value: str | None) -> str | None:
    from ..engine import BACKENDS

    if value is not None and value not in BACKENDS:
        raise PydanticCustomError("backend", "must be one of {choices}", {"choices": ", ".join(BACKENDS)})
    return value


def _milestone(value: float) -> float:
    if not (0 < value < 1 or (value >= 1 and float(value).is_integer())):
        raise PydanticCustomError("out_of_range", "must be a fraction of training in (0, 1) or a whole epoch "
                                  "number >= 1")
    return value


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _registered(registry: Registry, name: str, key: str) -> Callable:
    """``registry.get(name)``, its unknown-name error prefixed with the config key."""
    try:
        return registry.get(name)
    except RegistryError as e:
        raise ConfigError(f"config key '{key}': {e}") from None


def _known(registry: Registry, name: str, key: str) -> str:
    """``name`` when ``registry`` holds it, else the pydantic form of the unknown-name error."""
    try:
        _registered(registry, name, key)
    except FullspikeError as e:
        raise _fullspike_error(e) from None
    return name


def _fullspike_error(e: Exception) -> PydanticCustomError:
    """Carry a finished one-line message through pydantic unchanged."""
    return PydanticCustomError("fullspike", "{line}", {"line": str(e)})


class _Section(BaseModel):
    """Strict keys, validated on construction and assignment; errors are :class:`ConfigError`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, validate_default=True)
    prefix: ClassVar[str] = ""  # dotted path of this section in the whole config

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise _one_line(e, type(self)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as e:
            raise _one_line(e, type(self)) from None


class DataConfig(_Section):
    prefix: ClassVar[str] = "data."
    name: str = "digits"
    root: Annotated[str | None, BeforeValidator(_fspath)] = None  # None = data/<dataset> under the working dir
    batch_size: Count = 32  # global batch (split across data-parallel processes)
    eval_batch_size: OptionalCount = None  # default: batch_size
    num_workers: NonNegativeInt = 0
    augment: Bool = True
    val_fraction: UnitInterval = 0.0  # carve a validation split from the training set (seeded)
    train_subset: OptionalCount = None  # use only this many training samples (seeded choice)
    test_subset: OptionalCount = None
    options: dict[str, Any] = Field(default_factory=dict)  # the dataset builder's own options

    @field_validator("options")
    @classmethod
    def _check_options(cls, options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from ..data.registry import DATASETS

        name = info.data.get("name")
        if name is None:  # the name itself failed validation; that error is reported
            return options
        try:
            builder = _registered(DATASETS, name, "data.name")
            return check_arguments(builder, options, what=f"dataset '{name}'", key="data.options",
                                   noun="option", reserved=("root", "train", "augment"))
        except FullspikeError as e:
            raise _fullspike_error(e) from None


class OptimConfig(_Section):
    prefix: ClassVar[str] = "optim."
    name: Annotated[str, AfterValidator(lambda n: _known(OPTIMIZERS, n, "optim.name"))] = "sgd"
    lr: Positive = 0.1
    momentum: UnitInterval = 0.9  # sgd
    weight_decay: NonNegative = 1e-4
    nesterov: Bool = False  # sgd; needs momentum > 0
    betas: tuple[UnitInterval, UnitInterval] = (0.9, 0.999)  # adam, adamw


class ScheduleConfig(_Section):
    prefix: ClassVar[str] = "schedule."
    name: Annotated[str, AfterValidator(lambda n: _known(SCHEDULES, n, "schedule.name"))] = "multistep"
    milestones: list[Annotated[Positive, AfterValidator(_milestone)]] = Field(
        default_factory=lambda: [0.5, 0.7, 0.9])  # fractions of training (or epoch numbers)
    gamma: number(float, gt=0, le=1) = 0.1  # lr factor at each milestone / step
    step_epochs: Count = 30  # for "step"
    warmup_epochs: NonNegativeInt = 0  # linear warm-up before any schedule
    min_lr: NonNegative = 0.0  # cosine floor


class SurrogateAnnealConfig(_Section):
    prefix: ClassVar[str] = "train.surrogate_anneal."
    start: Positive  # value of the surrogate parameter in the first epoch
    end: Positive  # ... and in the last
    param: str = "alpha"  # which parameter of the neurons' surrogate (e.g. alpha, gamma)


class TrainConfig(_Section):
    prefix: ClassVar[str] = "train."
    epochs: Count = 30
    seed: Seed = 0
    device: Annotated[str, AfterValidator(_device)] = "auto"  # auto | cpu | cuda | cuda:N
    amp: Bool = True  # mixed precision (bf16 autocast) on CUDA; ignored on CPU
    deterministic: Bool = True  # `fullspike train` turns on torch's deterministic algorithms
    tune_cpu_allocator: Bool = True  # `fullspike train` on CPU: keep freed memory (fullspike.cpu_allocator)
    label_smoothing: UnitInterval = 0.0
    grad_clip: number(float, gt=0, optional=True) = None  # max global grad norm; null = no clipping
    eval_every: Count = 1  # validate every N epochs (when a validation split exists)
    neuron_backend: Annotated[str | None, AfterValidator(_neuron_backend)] = None  # null: each neuron's own
    tensorboard: OptionalBool = None  # null: log to TensorBoard when installed; true: warn when not
    progress: OptionalBool = None  # progress bars; None = only on a terminal
    firing_rate_penalty: NonNegative = 0.0  # adds this x mean firing rate to the loss (FiringRateRegularizer)
    surrogate_anneal: SurrogateAnnealConfig | None = None  # SurrogateAnnealing over the epochs


class Config(_Section):
    name: str = "quickstart"
    description: str = "BNTT conv net on the bundled digits, T=6"
    model: dict[str, Any] = Field(default_factory=lambda: {"name": "bntt_convnet", "T": 6})
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(lr=0.1, weight_decay=1e-4))
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=15))

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: dict[str, Any]) -> dict[str, Any]:
        from ..models.registry import MODELS

        name = model.get("name")
        if name is None:
            raise _fullspike_error(ConfigError(
                "config key 'model.name' is required (see `fullspike models` for the list)"))
        try:
            if not isinstance(name, str):
                raise ConfigError(f"config key 'model.name' must be a string, got {show(name)}")
            factory = _registered(MODELS, name, "model.name")
            kwargs = check_arguments(factory, {k: v for k, v in model.items() if k != "name"},
                                     what=f"model '{name}'", key="model")
        except FullspikeError as e:
            raise _fullspike_error(e) from None
        return {"name": name, **kwargs}

    @model_validator(mode="after")
    def _check_combinations(self) -> Config:
        o, s = self.optim, self.schedule
        if o.name == "sgd" and o.nesterov and o.momentum == 0:
            raise _fullspike_error(ConfigError(
                "config key 'optim.nesterov' is true, which needs optim.momentum > 0, got optim.momentum=0"))
        if s.name == "cosine" and s.min_lr > o.lr:
            raise _fullspike_error(ConfigError(
                f"config key 'schedule.min_lr' must be <= optim.lr ({o.lr:g}) for the cosine schedule "
                f"(a floor it decays to), got {show(s.min_lr)}"))
        return self

    def to_dict(self) -> dict:
        return self.model_dump()

    @property
    def model_name(self) -> str:
        return self.model["name"]

    @property
    def model_kwargs(self) -> dict:
        return {k: v for k, v in self.model.items() if k != "name"}


_SECTIONS: dict[str, type[_Section]] = {"data": DataConfig, "optim": OptimConfig, "schedule": ScheduleConfig,
                                        "train": TrainConfig}
_FREE_DICTS = {"model", "options"}  # keys whose contents are checked against a factory


def _unknown(key: str, valid, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown config key '{where}{key}'{hint}; valid keys here: {', '.join(sorted(valid))}")


def _one_line(e: ValidationError, cls: type[_Section]) -> ConfigError:
    """The first error of a validation failure as one line naming the dotted key."""
    err = e.errors(include_url=False)[0]
    if err["type"] == "fullspike":
        return ConfigError(err["ctx"]["line"])
    if err["type"] == "value_error" and isinstance(err["ctx"]["error"], ConfigError):
        return err["ctx"]["error"]  # from a nested section's __init__, already one line
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        section = _SECTIONS.get(loc[0]) if cls is Config and len(loc) > 1 else cls
        where = cls.prefix + "".join(f"{p}." for p in loc[:-1])
        return _unknown(str(loc[-1]), section.model_fields, where)
    if err["type"] in ("model_type", "dict_type") and cls is Config and len(loc) == 1 and loc[0] in _SECTIONS:
        return ConfigError(f"config section '{loc[0]}' must be a mapping, got {show(err['input'])}")
    return ConfigError(f"config key '{dotted(loc, cls.prefix)}' {describe(err)}")


def config_from_dict(data: dict) -> Config:
    """A validated :class:`Config` from nested plain data (a parsed YAML file, ``Config.to_dict()``)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping of sections (model, data, optim, schedule, train), "
                          f"got {show(data)}")
    # an empty section in YAML (``train:`` with nothing under it) reads as null: all defaults
    return Config(**{k: {} if v is None and k in _SECTIONS else v for k, v in data.items()})


def _switch_dataset(data: dict, name: Any, given: set[str]) -> None:
    """``data.name`` is set to ``name``: when that is another dataset, drop the previous one's
    ``data.options`` and ``data.root`` (the ones not given by an earlier override)."""
    section = data.get("data")
    if not isinstance(section, dict) or section.get("name", DataConfig.model_fields["name"].default) == name:
        return
    options = section.get("options")
    if isinstance(options, dict):
        section["options"] = {k: v for k, v in options.items() if f"data.options.{k}" in given}
    if "data.root" not in given:
        section.pop("root", None)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b.c=value`` pairs (values parsed as YAML) to a nested config dict, in order.
    ``data.name=OTHER`` drops the previous dataset's ``data.options`` and ``data.root`` (except
    those set by earlier pairs)."""
    data = copy.deepcopy(data)
    given: set[str] = set()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key=value (e.g. train.epochs=5)")
        key, raw = item.split("=", 1)
        try:
            value = yaml.load(raw, Loader=_Loader) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        node, valid = data, set(Config.model_fields)
        for i, p in enumerate(parts[:-1]):
            if valid is not None and p not in valid:
                raise _unknown(p, valid, ".".join(parts[:i]) + ("." if i else ""))
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config key '{'.'.join(parts[:i + 1])}' is not a section")
            cls = _SECTIONS.get(p) if i == 0 else None
            valid = None if p in _FREE_DICTS or cls is None else set(cls.model_fields)
        last = parts[-1]
        if valid is not None and last not in valid:
            raise _unknown(last, valid, ".".join(parts[:-1]) + ("." if len(parts) > 1 else ""))
        if parts == ["data", "name"]:
            _switch_dataset(data, value, given)
        node[last] = value
        given.add(".".join(parts))
    return data


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last silently) and ``1e-4`` is a number (YAML 1.1 wants ``1.0e-4``)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {show(key)}",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
                              list("-+0123456789."))


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error (or a duplicated key) is one line with line and column."""
    try:
        return yaml.load(path.read_text(), Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = " ".join(str(e.problem or e).split())
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None


def config_path(path: str | Path) -> Path:
    """A config file: ``path`` itself when it is a file, else the shipped config of that name
    (``"bntt_vgg9_cifar10"``, :mod:`fullspike.configs`). Neither is one :class:`ConfigError` line
    (the closest shipped names suggested)."""
    from ..configs import CONFIGS, config_file

    p = Path(path)
    if p.is_file():
        return p
    if len(p.parts) > 1 or p.suffix not in ("", ".yaml"):  # meant as a path
        shipped = f"; the shipped config '{p.stem}' is --config {p.stem}" if p.stem in CONFIGS else ""
        raise ConfigError(f"config file {p} not found{shipped or '; give a YAML file or the name of a shipped config (fullspike configs)'}")
    try:
        return config_file(str(path))
    except RegistryError as e:
        raise ConfigError(f"{e} (a shipped config's name or a YAML file; fullspike configs lists them)") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a file, or a shipped config by name: :func:`config_path`; the
    quick-start defaults when ``path`` is None) and apply overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = config_path(path)
        data = read_yaml(p) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{p} must hold a mapping of sections (model, data, optim, schedule, train)")
    else:
        data = Config().to_dict()
    return config_from_dict(apply_overrides(data, overrides or []))
