"""Experiment configuration: YAML files with ``model``, ``data``, ``optim``, ``schedule`` and
``train`` sections, overridable from the command line with dotted ``key=value`` pairs.

The schema is a set of pydantic models plus the signatures of what the config names. Every key
has a type and every number a range (shown in the error); unknown keys are errors with the
closest valid key suggested. ``model`` holds ``name`` plus the model factory's keyword
arguments, ``data.options`` the dataset builder's options, ``optim`` and ``schedule`` a ``name``
plus the registered optimiser's or schedule's own keyword arguments: each is checked against
that factory's signature and the types and ranges annotated on its arguments
(:func:`fullspike.params.check_arguments`). The model is then built once on the meta device (no
memory, no data read), so every model error surfaces when the config is read. Any mistake is one
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

import torch
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from torch.overrides import TorchFunctionMode

from ..errors import ConfigError, FullspikeError, RegistryError
from ..params import Count, NonNegative, Positive, check_arguments, describe, dotted, number, parameters, show
from ..registry import Registry
from ..seeding import MAX_SEED
from .optim import OPTIMIZERS, SCHEDULES, Progress

NonNegativeInt = number(int, ge=0)
OptionalCount = number(int, ge=1, optional=True)
UnitInterval = number(float, ge=0, lt=1)  # [0, 1): fractions, label smoothing
Seed = number(int, ge=0, le=MAX_SEED)
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

    model_config = ConfigDict(extra="forbid", validate_assignment=True, validate_default=True, allow_inf_nan=False)
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
            return check_arguments(
                builder,
                options,
                what=f"dataset '{name}'",
                key="data.options",
                noun="option",
                reserved=("root", "train", "augment"),
            )
        except FullspikeError as e:
            raise _fullspike_error(e) from None


class _Named(_Section):
    """A section ``{name, **kwargs}``: ``name`` picks a factory of ``registry``, whose keyword
    arguments (all but the first, the context it is called with) are the section's other keys,
    checked against its signature and completed with its defaults."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, validate_default=True, allow_inf_nan=False)
    registry: ClassVar[Registry]

    @model_validator(mode="after")
    def _check_arguments(self) -> _Named:
        key = self.prefix.rstrip(".")
        try:
            params = parameters(_registered(self.registry, self.name, f"{key}.name"))
            context = next(iter(params), "")
            defaults = {
                n: p.default for n, p in params.items() if n not in (context, "**") and p.default is not p.empty
            }
            given = dict(self.__pydantic_extra__ or {})
            checked = self.registry.check_kwargs(self.name, {**defaults, **given}, key, reserved=(context,))
        except FullspikeError as e:
            raise _fullspike_error(e) from None
        object.__setattr__(self, "__pydantic_extra__", checked)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        fields, extra = dict(self.__dict__), dict(self.__pydantic_extra__ or {})
        try:
            super().__setattr__(name, value)
        except ConfigError:  # a refused value leaves the section as it was
            object.__setattr__(self, "__dict__", fields)
            object.__setattr__(self, "__pydantic_extra__", extra)
            raise

    @property
    def arguments(self) -> dict[str, Any]:
        """The factory's keyword arguments: every key but ``name`` (and the section's own)."""
        return dict(self.__pydantic_extra__ or {})


class OptimConfig(_Named):
    """``name`` (:data:`~fullspike.train.optim.OPTIMIZERS`) plus that optimiser's arguments
    (``lr``, and e.g. ``momentum``, ``weight_decay``, ``nesterov`` for sgd)."""

    prefix: ClassVar[str] = "optim."
    registry: ClassVar[Registry] = OPTIMIZERS
    name: Annotated[str, AfterValidator(lambda n: _known(OPTIMIZERS, n, "optim.name"))] = "sgd"


class ScheduleConfig(_Named):
    """``name`` (:data:`~fullspike.train.optim.SCHEDULES`), the linear warm-up applied around
    any schedule, plus that schedule's arguments (e.g. ``milestones`` and ``gamma`` for multistep)."""

    prefix: ClassVar[str] = "schedule."
    registry: ClassVar[Registry] = SCHEDULES
    name: Annotated[str, AfterValidator(lambda n: _known(SCHEDULES, n, "schedule.name"))] = "multistep"
    warmup_epochs: NonNegativeInt = 0  # linear warm-up before any schedule


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


#: what the quick-start sets (everything else is a default)
QUICKSTART: dict[str, Any] = {
    "name": "quickstart",
    "description": "BNTT conv net on the bundled digits, T=6",
    "model": {"name": "bntt_convnet", "T": 6},
    "train": {"epochs": 15},
}


class Config(_Section):
    """A whole run's settings, validated: ``model`` (``name`` plus the factory's arguments),
    ``data``, ``optim``, ``schedule`` and ``train`` sections; the defaults are the quick-start
    (BNTT conv net on the bundled digits). Read one with :func:`load_config`."""

    name: str = QUICKSTART["name"]
    description: str = QUICKSTART["description"]
    model: dict[str, Any] = Field(default_factory=lambda: dict(QUICKSTART["model"]))
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(**QUICKSTART["train"]))

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: dict[str, Any]) -> dict[str, Any]:
        from ..models.registry import MODELS

        name = model.get("name")
        if name is None:
            raise _fullspike_error(
                ConfigError("config key 'model.name' is required (see `fullspike models` for the list)")
            )
        try:
            if not isinstance(name, str):
                raise ConfigError(f"config key 'model.name' must be a string, got {show(name)}")
            _registered(MODELS, name, "model.name")
            kwargs = MODELS.check_kwargs(name, {k: v for k, v in model.items() if k != "name"}, "model")
            _dry_build(name, kwargs)
        except FullspikeError as e:
            raise _fullspike_error(e) from None
        return {"name": name, **kwargs}

    @model_validator(mode="after")
    def _check_combinations(self) -> Config:
        o, s = self.optim.arguments, self.schedule.arguments
        lr = o.get("lr")
        if not isinstance(lr, float):
            raise _fullspike_error(
                ConfigError(
                    f"optimizer '{self.optim.name}' takes no 'lr' (every optimiser must: the schedules scale it)"
                )
            )
        if o.get("nesterov") and o.get("momentum") == 0:
            raise _fullspike_error(
                ConfigError("config key 'optim.nesterov' is true, which needs optim.momentum > 0, got optim.momentum=0")
            )
        if s.get("min_lr", 0.0) > lr:
            raise _fullspike_error(
                ConfigError(
                    f"config key 'schedule.min_lr' must be <= optim.lr ({lr:g}) for the {self.schedule.name} "
                    f"schedule (a floor it decays to), got {show(s['min_lr'])}"
                )
            )
        try:  # the schedule's first factor (building an optimiser here would import torch's compiler)
            SCHEDULES.get(self.schedule.name)(Progress(0, 1, self.train.epochs, lr, self.schedule.warmup_epochs), **s)
        except (ValueError, TypeError, ArithmeticError) as e:
            line = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise _fullspike_error(
                ConfigError(f"config key 'schedule': {self.schedule.name} refuses its arguments: {line}")
            ) from None
        return self

    def to_dict(self) -> dict:
        """The config as plain Python data (what a checkpoint stores)."""
        return self.model_dump()

    @property
    def model_name(self) -> str:
        """The registered model name, ``model.name``."""
        return self.model["name"]

    @property
    def model_kwargs(self) -> dict:
        """The model factory's arguments: ``model`` without ``name``."""
        return {k: v for k, v in self.model.items() if k != "name"}


class _NoRandomInit(TorchFunctionMode):
    """Random in-place initialisation of meta tensors does nothing (it would only cost time)."""

    RANDOM = frozenset({torch.Tensor.normal_, torch.Tensor.uniform_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.RANDOM and args and args[0].is_meta:
            return args[0]
        return func(*args, **(kwargs or {}))


def _dry_build(name: str, kwargs: dict[str, Any]) -> None:
    """Build the model on the meta device (shapes only: no memory, no data), so any error of its
    arguments (a DST net with ADD, an image too small for its poolings) surfaces now."""
    from ..models.registry import MODELS

    try:
        with torch.device("meta"), _NoRandomInit():
            MODELS.get(name)(**kwargs)
    except FullspikeError as e:
        raise ConfigError(f"config key 'model': {name} cannot be built with these arguments: {e}") from None
    except (ValueError, TypeError, RuntimeError) as e:
        line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"config key 'model': {name} cannot be built with these arguments: {line}") from None


_SECTIONS: dict[str, type[_Section]] = {
    "data": DataConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "train": TrainConfig,
}
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


#: every key of the ``optim`` and ``schedule`` sections that configs stored before those took their
#: factory's own arguments hold (checkpoints, zoo cards): read by keeping the named factory's keys
_STORED_BEFORE = {
    "optim": {"name", "lr", "momentum", "weight_decay", "nesterov", "betas"},
    "schedule": {"name", "milestones", "gamma", "step_epochs", "warmup_epochs", "min_lr"},
}


def _keys_of_the_factory(data: dict) -> dict:
    """``data`` with each section stored in the earlier all-keys form cut to its factory's keys."""
    data = dict(data)
    for key, stored in _STORED_BEFORE.items():
        section, cls = data.get(key), _SECTIONS[key]
        if isinstance(section, dict) and set(section) == stored and section["name"] in cls.registry:
            takes = set(parameters(cls.registry.get(section["name"]))) | set(cls.model_fields)
            data[key] = {k: v for k, v in section.items() if k in takes}
    return data


def config_from_dict(data: dict) -> Config:
    """A validated :class:`Config` from nested plain data (a parsed YAML file, ``Config.to_dict()``,
    the config stored in a checkpoint, also in the form of earlier versions)."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"a config must be a mapping of sections (model, data, optim, schedule, train), got {show(data)}"
        )
    # an empty section in YAML (``train:`` with nothing under it) reads as null: all defaults
    data = _keys_of_the_factory(data)
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
    """Apply ``a.b.c=value`` pairs (values parsed as YAML) to a nested config dict, in order. An
    override that changes ``optim.name`` or ``schedule.name`` keeps those of the section's
    arguments that the newly named optimiser or schedule takes (``lr`` from sgd to adam, not
    ``momentum``); ``data.name=OTHER`` drops the previous dataset's ``data.options`` and
    ``data.root`` (except those set by earlier pairs)."""
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
                raise ConfigError(f"config key '{'.'.join(parts[: i + 1])}' is not a section")
            cls = _SECTIONS.get(p) if i == 0 else None
            valid = None if p in _FREE_DICTS or cls is None or issubclass(cls, _Named) else set(cls.model_fields)
        last = parts[-1]
        if valid is not None and last not in valid:
            raise _unknown(last, valid, ".".join(parts[:-1]) + ("." if len(parts) > 1 else ""))
        section = _SECTIONS.get(parts[0]) if len(parts) == 2 else None
        if (
            section is not None
            and issubclass(section, _Named)
            and last == "name"
            and node.get("name") != value
            and isinstance(value, str)
            and value in section.registry
        ):
            takes = set(parameters(section.registry.get(value))) | set(section.model_fields)
            for k in [k for k in node if k not in takes]:
                del node[k]
        if parts == ["data", "name"]:
            _switch_dataset(data, value, given)
        node[last] = value
        given.add(".".join(parts))
    return data


#: the most bytes a config file may have, and the most values (scalars, lists, mappings) a YAML
#: document may expand to with its aliases counted at every use: both checked before anything is
#: built from it, so an alias bomb (a few lines that expand to billions of values) stops at once
MAX_CONFIG_BYTES = 1 << 20
MAX_YAML_NODES = 10_000


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for once every alias in it is expanded (a recursive
    alias counts as too many)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_YAML_NODES + 1  # seen again before it is counted: a recursive alias
    n = 1
    for child in (
        node.value
        if isinstance(node, yaml.SequenceNode)
        else [x for pair in node.value for x in pair]
        if isinstance(node, yaml.MappingNode)
        else []
    ):
        n += _expanded_nodes(child, memo)
        if n > MAX_YAML_NODES:
            break
    memo[key] = n
    return n


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last silently), ``1e-4`` is a number (YAML 1.1 wants ``1.0e-4``) and a document
    that expands to more than :data:`MAX_YAML_NODES` values is refused before it is built."""

    def construct_document(self, node: yaml.Node) -> Any:
        if _expanded_nodes(node, {}) > MAX_YAML_NODES:
            raise yaml.YAMLError(
                f"it expands to more than {MAX_YAML_NODES} values (through its aliases "
                f"&name/*name); a config is a few keys, write them out"
            )
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {show(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"), list("-+0123456789.")
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file (UTF-8, at most :data:`MAX_CONFIG_BYTES`); a syntax error (or a duplicated
    key, or an alias bomb) is one line with line and column."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read ({e.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES >> 20} MiB: not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); save the config as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)
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

    text, p = os.fspath(path), Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        raise ConfigError(
            f"config {text} is a folder, not a file; give a YAML file (e.g. {Path(text) / 'config.yaml'}) or "
            "the name of a shipped config (fullspike configs lists them)"
        )
    bare_name = "/" not in text and os.sep not in text and not text.startswith(".")
    if not bare_name or p.suffix not in ("", ".yaml") or (p.suffix and p.stem not in CONFIGS):  # meant as a file
        shipped = f"; the shipped config '{p.stem}' is --config {p.stem}" if p.stem in CONFIGS else ""
        raise ConfigError(
            f"config file {text} not "
            f"found{shipped or '; give a YAML file or the name of a shipped config (fullspike configs)'}"
        )
    try:
        return config_file(text)
    except RegistryError as e:
        raise ConfigError(f"{e} (a shipped config's name or a YAML file; fullspike configs lists them)") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a file, or a shipped config by name: :func:`config_path`; the
    quick-start defaults when ``path`` is None) and apply overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = config_path(path)
        data = read_yaml(p)
        if not isinstance(data, dict):
            what = "is empty" if data is None else f"holds {show(data)}"
            raise ConfigError(
                f"config file {p} {what}; a config is a mapping of sections (model, data, optim, schedule, "
                "train), e.g. the shipped ones (fullspike configs)"
            )
    else:
        data = copy.deepcopy(QUICKSTART)
    return config_from_dict(apply_overrides(data, overrides or []))
