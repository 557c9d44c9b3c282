"""Value checks shared by the config schema (:mod:`fullspike.train.config`) and the keyword
arguments of model and dataset factories.

Types are checked by pydantic; ranges are :class:`Range` objects, declared once: on the config
fields, and for factory arguments in :data:`ARGUMENT_RANGES` (argument name -> range, shared by
every model and dataset factory, with nested tables for the ``neuron`` and ``surrogate`` mappings).
Every failure is one line naming the dotted key, the value and what is allowed.
"""
from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import ConfigError


def show(value: Any) -> str:
    """A value as the user would write it in YAML (``null``, ``true``, ``'text'``, ``0.5``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@dataclass(frozen=True)
class Range:
    """An allowed interval for an integer or real number (``None`` passes when ``optional``)."""

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

    def __call__(self, value: Any) -> Any:
        if value is None:
            return value
        ok = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
              and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        if not ok:
            raise PydanticCustomError("out_of_range", "must be {range}", {"range": str(self)})
        return value


def _refuse_bool(what: str) -> Callable[[Any], Any]:
    """YAML's ``true`` is not a number (pydantic's lax mode would read it as 1)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("number_type", "must be {what}", {"what": what})
        return value

    return check


def number(kind: type, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None, optional: bool = False) -> Any:
    """An annotated int/float type with a range, for pydantic fields and :data:`ARGUMENT_RANGES`."""
    rng = Range(kind, ge, gt, le, lt, optional)
    base = kind | None if optional else kind
    return Annotated[base, BeforeValidator(_refuse_bool("an integer" if kind is int else "a number")),
                     AfterValidator(rng)]


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "must be true or false")
    return value


Count = number(int, ge=1)
_SURROGATE = {"alpha": number(float, gt=0), "gamma": number(float, gt=0), "width": number(float, gt=0)}
# Factory arguments by name; a nested dict applies to the keys of a mapping-valued argument.
ARGUMENT_RANGES: dict[str, Any] = {
    "T": Count, "T_train": Count, "num_classes": Count, "in_channels": Count, "image_size": Count,
    "width": Count, "hidden": Count, "stem_kernel": Count, "dim": Count, "depth": Count, "heads": Count,
    "resize": Count,
    "mlp_ratio": number(float, gt=0),
    "leak": number(float, gt=0, le=1),  # BNTT leak factor lambda (docs/methods.md, "BNTT")
    "neuron": {"tau": number(float, gt=1), "leak": number(float, gt=0, le=1),
               "v_threshold": number(float, gt=0), "surrogate": _SURROGATE},
    "surrogate": _SURROGATE,
}

_PHRASES = {
    "int_parsing": "must be an integer", "int_type": "must be an integer", "int_from_float": "must be an integer",
    "float_parsing": "must be a number", "float_type": "must be a number",
    "bool_parsing": "must be true or false", "bool_type": "must be true or false",
    "string_type": "must be a string", "dict_type": "must be a mapping", "model_type": "must be a mapping",
    "mapping_type": "must be a mapping", "list_type": "must be a list", "tuple_type": "must be a list",
    "missing": "is required",
}


def describe(error: Mapping[str, Any]) -> str:
    """What is wrong with one pydantic error, e.g. ``must be an integer >= 1, got 0``."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("out_of_range", "number_type"):
        phrase = error["msg"]
    elif kind == "literal_error":
        phrase = f"must be one of {ctx['expected']}"
        close = difflib.get_close_matches(str(error["input"]), [s.strip("'") for s in
                                          ctx["expected"].replace(" or ", ", ").split(", ")], n=1)
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
    if typing.get_origin(hint) in (typing.Union, UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    origin = typing.get_origin(hint) or hint
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", NoneType: "null",
             dict: "a mapping", Mapping: "a mapping", list: "a list", tuple: "a list"}
    return names.get(origin) or f"a {getattr(origin, '__name__', origin)}"


_ARBITRARY = ConfigDict(arbitrary_types_allowed=True)


def _adapter(hint: Any) -> TypeAdapter:
    """Validate ``hint`` as pydantic's lax mode does, except that booleans and numbers are not
    interchangeable (``T: true`` is an error, not ``T = 1``)."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, UnionType) else (hint,)
    if hint is bool:
        hint = Annotated[bool, BeforeValidator(_strict_bool)]
    elif hint is not Any and bool not in args and any(a in (int, float) for a in args):
        hint = Annotated[hint, BeforeValidator(_refuse_bool(_type_name(hint)))]
    return TypeAdapter(hint, config=_ARBITRARY)


def _check(hint: Any, value: Any, key: str) -> Any:
    try:
        return _adapter(hint).validate_python(value)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        if len(errors) > 1:  # one error per member of a union: name the union
            raise ConfigError(f"config key '{key}' must be {_type_name(hint)}, got {show(value)}") from None
        raise ConfigError(f"config key '{dotted(errors[0]['loc'], key)}' {describe(errors[0])}") from None


def _check_ranges(value: Any, table: Mapping[str, Any], key: str) -> Any:
    """Apply ``table`` to the items of a mapping value (recursively); returns the checked copy."""
    if not isinstance(value, Mapping):
        return value
    out = dict(value)
    for k, v in value.items():
        rule = table.get(k)
        if isinstance(rule, Mapping):
            out[k] = _check_ranges(v, rule, f"{key}.{k}")
        elif rule is not None and v is not None:
            out[k] = _check(rule, v, f"{key}.{k}")
    return out


def _type_hints(factory: Callable) -> dict[str, Any]:
    target = factory.__init__ if isinstance(factory, type) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:  # an annotation that cannot be resolved is not checked
        return {}


def check_arguments(factory: Callable, kwargs: Mapping[str, Any], *, what: str, key: str,
                    noun: str = "argument", reserved: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check keyword arguments against ``factory``'s signature, type hints and
    :data:`ARGUMENT_RANGES`; return them validated (``4.0`` for an ``int`` becomes ``4``).

    ``what`` names the factory in messages (``"model 'vgg9_bntt'"``), ``key`` is the config key
    the arguments live under (``"model"``), ``reserved`` are parameters the config may not set.
    Raises :class:`ConfigError` (one line) for an unknown argument, a wrong type or a bad range.
    """
    params = {n: p for n, p in inspect.signature(factory).parameters.items()
              if n not in reserved and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(factory).parameters.values())
    unknown = sorted(set(kwargs) - set(params))
    if unknown and not takes_any:
        close = difflib.get_close_matches(unknown[0], list(params), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown config key '{key}.{unknown[0]}': {what} has no {noun}(s) {unknown}{hint}; "
                          f"it accepts {', '.join(sorted(params)) or 'none'}")
    hints = _type_hints(factory)
    out = {}
    for name, given in kwargs.items():
        value = _check(hints.get(name, Any), given, f"{key}.{name}")
        rule = ARGUMENT_RANGES.get(name)
        if isinstance(rule, Mapping):
            value = _check_ranges(value, rule, f"{key}.{name}")
        elif rule is not None and value is not None:
            _check(rule, given, f"{key}.{name}")  # the message shows the value as given
        out[name] = value
    return out
