"""Typed arguments: the annotations factories put on their own arguments, and the one check that
validates keyword arguments against a factory's signature.

A factory states what it takes on each argument: ``T: Count``, ``leak: number(float, gt=0, le=1)``
(an ``Annotated[float, Field(gt=0, le=1)]``), ``stem: Literal["imagenet", "cifar"]``, or a registry
name or ``{name, **kwargs}`` spec (:meth:`fullspike.registry.Registry.name_type`,
:meth:`~fullspike.registry.Registry.spec_type`). :func:`check_arguments` reads those annotations
from the signature, so a config, :func:`~fullspike.models.create_model` and every
``Registry.create`` check arguments the same way. Every failure is one
:class:`~fullspike.errors.ConfigError` line naming the dotted key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.errors import PydanticErrorMixin
from pydantic_core import PydanticCustomError, core_schema

from .errors import ConfigError, FullspikeError, RegistryError


def show(value: Any) -> str:
    """A value as the user would write it in YAML (``null``, ``true``, ``'text'``, ``0.5``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@dataclass(frozen=True)
class Range:
    """An allowed interval for an integer or real number, as the error message states it."""

    kind: type  # int or float
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    optional: bool = False

    def __str__(self) -> str:
        """``an integer >= 1``, ``a number in [0, 1)``, ``a number > 0 or null``."""
        what = "an integer" if self.kind is int else "a number"
        low = ("[", self.ge) if self.ge is not None else ("(", self.gt) if self.gt is not None else None
        high = (self.le, "]") if self.le is not None else (self.lt, ")") if self.lt is not None else None
        if low and high:
            what += f" in {low[0]}{low[1]}, {high[0]}{high[1]}"
        elif low:
            what += f" {'>=' if low[0] == '[' else '>'} {low[1]}"
        elif high:
            what += f" {'<=' if high[1] == ']' else '<'} {high[0]}"
        return what + (" or null" if self.optional else "")


def _refuse_bool(what: str) -> Callable[[Any], Any]:
    """YAML's ``true`` is not a number (pydantic's lax mode would read it as 1)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("number_type", "must be {what}", {"what": what})
        return value

    return check


_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


@dataclass(frozen=True)
class _Checked:
    """Annotation metadata after a number's ``Field`` bounds: refuses booleans and reports a failed
    bound as the whole range (``must be a number in (0, 1], got 0``)."""

    rng: Range

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(self._validate, handler(source))

    def _validate(self, value: Any, handler: Callable) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("number_type", "must be {what}", {"what": str(Range(self.rng.kind))})
        try:
            return handler(value)
        except ValidationError as e:
            if any(err["type"] in (*_BOUNDS, "finite_number") for err in e.errors()):
                raise PydanticCustomError("out_of_range", "must be {range}", {"range": str(self.rng)}) from None
            raise

    def __repr__(self) -> str:
        return f"checked({self.rng})"


def number(
    kind: type,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    optional: bool = False,
) -> Any:
    """``Annotated[kind, Field(ge=..., ...)]`` (``| None`` when ``optional``) that refuses booleans
    (and, for reals, nan and inf) and names its whole range when a bound fails."""
    base = kind | None if optional else kind
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    if kind is float:
        bounds["allow_inf_nan"] = False
    return Annotated[base, Field(**bounds), _Checked(Range(kind, ge, gt, le, lt, optional))]


def range_of(annotation: Any) -> Range:
    """The :class:`Range` a :func:`number` annotation checks, so that a function's own checks
    (:mod:`fullspike.checks`) and its typed arguments state a range once."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, _Checked):
            return meta.rng
    raise TypeError(f"{annotation!r} is not a number(...) annotation")


Count = number(int, ge=1)  # a size, a number of steps or classes
Positive = number(float, gt=0)
NonNegative = number(float, ge=0)
Fraction = number(float, gt=0, le=1)  # (0, 1]: leak factors, decay factors

_PHRASES = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "mapping_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "missing": "is required",
}


def describe(error: Mapping[str, Any]) -> str:
    """What is wrong with one pydantic error, e.g. ``must be an integer >= 1, got 0``."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("out_of_range", "number_type", "spec_type"):
        phrase = error["msg"]
    elif kind == "literal_error":
        phrase = f"must be one of {ctx['expected']}"
        close = difflib.get_close_matches(
            str(error["input"]), [s.strip("'") for s in ctx["expected"].replace(" or ", ", ").split(", ")], n=1
        )
        if close:
            return f"{phrase}, got {show(error['input'])} (did you mean '{close[0]}'?)"
    elif kind in ("too_short", "too_long") and "max_length" in ctx:
        phrase = f"must have at most {ctx['max_length']} items"
    elif kind in ("too_short", "too_long"):
        phrase = f"must have at least {ctx['min_length']} items"
    else:
        phrase = _PHRASES.get(kind) or error["msg"][0].lower() + error["msg"][1:]
    return phrase if kind == "missing" else f"{phrase}, got {show(error['input'])}"


def dotted(loc: tuple, prefix: str = "") -> str:
    """``('optim', 'betas', 1)`` -> ``optim.betas[1]``."""
    key = prefix.rstrip(".")
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _type_name(hint: Any) -> str:
    if hint is Any:
        return "any value"
    if typing.get_origin(hint) is Annotated:
        return _type_name(typing.get_args(hint)[0])
    if typing.get_origin(hint) in (typing.Union, UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    origin = typing.get_origin(hint) or hint
    names = {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        NoneType: "null",
        dict: "a mapping",
        Mapping: "a mapping",
        list: "a list",
        tuple: "a list",
    }
    return names.get(origin) or f"a {getattr(origin, '__name__', origin)}"


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "must be true or false")
    return value


def _lax_but_typed(hint: Any) -> Any:
    """``hint`` as pydantic's lax mode reads it, except that booleans and numbers are not
    interchangeable (``T: true`` is an error, not ``T = 1``; ``dst: 1`` is not ``true``)."""
    bare = typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint
    args = typing.get_args(bare) if typing.get_origin(bare) in (typing.Union, UnionType) else (bare,)
    if bare is bool or (bool in args and all(a in (bool, NoneType) for a in args)):
        return Annotated[hint, BeforeValidator(lambda v: v if v is None else _strict_bool(v))]
    if bare is not Any and bool not in args and any(a in (int, float) for a in args):
        return Annotated[hint, BeforeValidator(_refuse_bool(_type_name(bare)))]
    return hint


#: how every argument is checked: any type may be annotated, and no real number is nan or inf
CHECKED = ConfigDict(arbitrary_types_allowed=True, allow_inf_nan=False)


@functools.lru_cache(maxsize=None)
def _adapter(hint: Any) -> TypeAdapter:
    return TypeAdapter(_lax_but_typed(hint), config=CHECKED)


def check_value(hint: Any, value: Any, key: str) -> Any:
    """``value`` validated against the annotation ``hint``; a failure is one :class:`ConfigError`
    line about ``key`` (``config key 'model.T' must be an integer >= 1, got 0``). A nested
    name-or-mapping spec (a neuron, a surrogate) names its own keys below ``key``."""
    try:
        adapter = _adapter(hint)
    except TypeError:  # an unhashable annotation: not worth caching
        adapter = TypeAdapter(_lax_but_typed(hint), config=CHECKED)
    except PydanticErrorMixin:  # an annotation pydantic cannot check (unresolved, unsupported): not checked
        return value
    try:
        return adapter.validate_python(value, context={"key": key})
    except ValidationError as e:
        errors = e.errors(include_url=False)
        first = errors[0]
        if first["type"] == "value_error" and isinstance(first["ctx"]["error"], FullspikeError):
            err = first["ctx"]["error"]
            if isinstance(err, RegistryError):  # an unknown name: say where it was given
                raise ConfigError(f"{_label(key)}: {err}") from None
            raise err from None  # a nested check's own line
        if len(errors) > 1:  # one error per member of a union: name the union
            raise ConfigError(f"{_label(key)} must be {_type_name(hint)}, got {show(value)}") from None
        raise ConfigError(f"{_label(dotted(first['loc'], key))} {describe(first)}") from None


def _label(key: str) -> str:
    """``config key 'model.T'``; a key naming a factory (``surrogate 'atan': alpha``) stays as it is."""
    return key if ": " in key else f"config key '{key}'"


@functools.lru_cache(maxsize=None)
def parameters(factory: Callable) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``factory`` with resolved annotations; for a class, those of its
    ``__init__`` and, while an ``__init__`` passes ``**kwargs`` on, of its bases' too (a key
    ``"**"`` when the last one still takes any keyword). Cached: do not modify the result."""
    targets = (
        [k.__init__ for k in factory.__mro__ if "__init__" in vars(k)]
        if isinstance(factory, type) and not hasattr(factory, "__signature__")
        else [factory]
    )
    out: dict[str, inspect.Parameter] = {}
    for target in targets:
        try:
            sig = inspect.signature(target, eval_str=True)
        except (TypeError, ValueError, NameError):  # a builtin, or an annotation that cannot be resolved
            sig = inspect.signature(target)  # (its unresolved annotations are not checked)
        resolved = getattr(target, "__annotations__", {})  # a signature set by hand: its resolved hints
        params = [
            p.replace(annotation=resolved.get(p.name, p.empty)) if isinstance(p.annotation, str) else p
            for p in sig.parameters.values()
        ]
        params = [p.replace(annotation=p.empty) if isinstance(p.annotation, str) else p for p in params]
        if target is not factory:
            params = params[1:]  # self
        out.update(
            {p.name: p for p in params if p.name not in out and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        )
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return out
    out["**"] = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    return out


def check_arguments(
    factory: Callable,
    kwargs: Mapping[str, Any],
    *,
    what: str,
    key: str = "",
    noun: str = "argument",
    reserved: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Check keyword arguments against ``factory``'s signature and its annotations; return them
    validated (``4.0`` for an ``int`` becomes ``4``).

    ``what`` names the factory in messages (``"model 'vgg9_bntt'"``); ``key`` is the config key
    the arguments live under (``"model"``), or empty outside a config (messages then name
    ``what``); ``reserved`` are parameters the caller fills in. Raises :class:`ConfigError` (one
    line) for an unknown argument, a wrong type or a value out of range.
    """
    params = {n: p for n, p in parameters(factory).items() if n not in reserved}
    takes_any = params.pop("**", None) is not None
    unknown = sorted(set(kwargs) - set(params))
    if unknown and not takes_any:
        close = difflib.get_close_matches(unknown[0], list(params), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        where = f"unknown config key '{key}.{unknown[0]}': " if key and ": " not in key else ""
        raise ConfigError(
            f"{where}{what} has no {noun}(s) {unknown}{hint}; it accepts {', '.join(sorted(params)) or 'none'}"
        )
    out = {}
    for name, given in kwargs.items():
        p = params.get(name)
        hint = Any if p is None or p.annotation is inspect.Parameter.empty else p.annotation
        out[name] = check_value(hint, given, _subkey(key, name) if key else f"{what}: {noun} '{name}'")
    return out


def _subkey(key: str, name: str) -> str:
    """``model.neuron`` + ``tau`` -> ``model.neuron.tau``; ``model 'x': argument 'neuron'`` + ``tau``
    -> ``model 'x': argument 'neuron.tau'``."""
    return f"{key[:-1]}.{name}'" if ": " in key and key.endswith("'") else f"{key}.{name}"
