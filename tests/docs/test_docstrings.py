"""Every public object of fullspike has a docstring (the site's API reference is generated from them).

Public: each name in the ``__all__`` of ``fullspike`` and of its public subpackages, the public
names defined in the analysis modules (which have no ``__all__``), and the public methods and
properties of those classes. A method that overrides a documented method of a fullspike base class
(a callback hook, a surrogate's ``grad``) shares that docstring, as ``inspect.getdoc`` does;
one that overrides a torch method (``forward``) needs its own, since it is where the shapes are.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap

import pytest

#: the modules whose public names the site's API reference documents
PUBLIC_MODULES = [
    "fullspike",
    "fullspike.nn",
    "fullspike.functional",
    "fullspike.surrogate",
    "fullspike.models",
    "fullspike.train",
    "fullspike.data",
    "fullspike.energy",
    "fullspike.export",
    "fullspike.dst",
    "fullspike.analysis.early_exit",
    "fullspike.analysis.robustness",
    "fullspike.analysis.gradients",
    "fullspike.analysis.time_statistics",
    "fullspike.zoo",
    "fullspike.engine",
    "fullspike.viz",
    "fullspike.errors",
]


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v)) and v.__module__ == module.__name__
    ]


def _own_doc(obj) -> str | None:
    if isinstance(obj, property):
        obj = obj.fget
    elif isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    if inspect.isclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return None  # the signature a dataclass writes when its class has no docstring
    return doc if doc and doc.strip() else None


def _inherits_doc(cls: type, name: str) -> bool:
    """``name`` overrides a documented member of a fullspike base class of ``cls``."""
    return any(
        name in vars(base) and _own_doc(vars(base)[name])
        for base in cls.__mro__[1:]
        if base.__module__.startswith("fullspike")
    )


def public_objects() -> dict[str, object]:
    """Qualified name -> object, for every module, class, function and method of the public API."""
    found: dict[str, object] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        found[module_name] = module
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants and registries are described in their module's docstring
            found[f"{module_name}.{name}"] = obj
            if inspect.isclass(obj) and obj.__module__.startswith("fullspike"):
                for member, value in vars(obj).items():
                    if not member.startswith("_") and (
                        inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod))
                    ):
                        found[f"{module_name}.{name}.{member}"] = (obj, member, value)
    return found


def undocumented() -> list[str]:
    missing = []
    for qualname, obj in public_objects().items():
        if isinstance(obj, tuple):
            cls, member, value = obj
            if _own_doc(value) is None and not _inherits_doc(cls, member):
                missing.append(qualname)
        elif _own_doc(obj) is None:
            missing.append(qualname)
    return missing


def test_the_walk_covers_the_api_the_issue_names():
    names = public_objects()
    for expected in [
        "fullspike.create_model",
        "fullspike.list_models",
        "fullspike.load",
        "fullspike.nn.LIF",
        "fullspike.nn.LIF.forward",
        "fullspike.surrogate.ATan",
        "fullspike.train.Trainer.fit",
        "fullspike.train.Checkpoint",
        "fullspike.energy.count_synaptic_ops",
        "fullspike.energy.EnergyReport.summary",
        "fullspike.export.to_nir",
        "fullspike.export.from_nir",
        "fullspike.export.check_deployable",
        "fullspike.analysis.early_exit.exit_step",
        "fullspike.data.build_dataset",
    ]:
        assert expected in names
    assert len(names) > 300


def test_every_public_object_has_a_docstring():
    missing = undocumented()
    assert not missing, f"{len(missing)} public objects have no docstring:\n" + "\n".join(missing)


def _examples() -> list[tuple[str, str]]:
    """``(qualified name, code)`` of every fenced Python example in a public docstring."""
    found = []
    for qualname, obj in public_objects().items():
        doc = _own_doc(obj[2] if isinstance(obj, tuple) else obj) or ""
        for block in re.findall(r"```python\n(.*?)```", inspect.cleandoc(doc), flags=re.S):
            found.append((qualname, textwrap.dedent(block)))
    return found


def test_the_key_objects_have_an_example():
    names = {name for name, _ in _examples()}
    for expected in [
        "fullspike.create_model",
        "fullspike.nn.LIF",
        "fullspike.train.Trainer",
        "fullspike.energy.count_synaptic_ops",
        "fullspike.energy.fold_bn",
        "fullspike.export.to_nir",
        "fullspike.export.check_deployable",
        "fullspike.data.build_dataset",
        "fullspike.dst.remove_aap",
    ]:
        assert expected in names


@pytest.mark.parametrize("qualname, code", _examples(), ids=lambda v: v if "\n" not in v else "")
def test_docstring_example_runs(qualname, code, capsys):
    if "fullspike.export" in code:
        pytest.importorskip("nir", reason="the example exports to NIR: pip install 'fullspike[nir]'")
    exec(compile(code, f"<example of {qualname}>", "exec"), {})
