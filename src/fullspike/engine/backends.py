"""Choosing how the neuron recurrence runs:
``backend="auto" | "eager" | "loop" | "native" | "inductor" | "triton"``.

Every backend computes the same spikes and backpropagates through time; they differ in how:

* ``"eager"``: the reference loop of :mod:`fullspike.functional.neuron`, differentiated by
  autograd step by step (any input, any coefficient shapes; what ``torch.compile`` of a whole
  model traces).
* ``"loop"``: one autograd node per sequence (:mod:`.driver`) whose forward and hand-written
  backward run as plain torch ops (:mod:`.loop`); any device, dtype and surrogate.
* ``"native"``: a small C kernel with the time loop inside (:mod:`.native`), compiled once per
  machine with the system C compiler into a per-user cache (:mod:`.cbuild`; under a second,
  said once) and loaded from there by later processes. CPU, float32, scalar coefficients,
  surrogates with a C form (:meth:`~fullspike.surrogate.Surrogate.c_grad`).
* ``"inductor"``: the same loops fused by ``torch.compile`` (:mod:`.inductor`): C++/OpenMP on
  CPU, Triton on CUDA. Scalar coefficients only. Each variant compiles once per process
  (seconds to a minute the first time on a machine; several seconds per new process even with
  Inductor's disk cache), and it says so once when it starts; a variant that fails to compile
  warns and runs uncompiled.
* ``"triton"``: hand-written Triton kernels (:mod:`.triton_kernels`); CUDA (or the Triton CPU
  interpreter), scalar coefficients, surrogates with a Triton form
  (:meth:`~fullspike.surrogate.Surrogate.triton_grad`). They compute in float32 (half
  precision is loaded into float32 and rounded when stored), so a float64 input is refused.
* ``"auto"``: a pure function of the input, the coefficients and the neuron spec, never of what
  ran before. Inside ``torch.compile`` tracing, or coefficients that do not broadcast to one
  step: eager. Per-neuron tensor coefficients: loop. CUDA: loop for float64; for any other
  dtype triton when the surrogate has a Triton form and Triton imports, else inductor when
  Triton imports, else loop. CPU: native
  for float32 when the surrogate has a C form and the native kernels are available here (a C
  compiler, a writable cache folder: the one thing ``auto`` learns from the machine, once per
  process and surrogate; when they are not, it says why once and takes loop), else loop.
  ``auto`` never runs ``torch.compile`` on CPU: that costs a new process seconds before its
  first step (``benchmarks/cold_start.py``), against a fraction of a second once per machine
  for the native kernels; ``backend="inductor"`` is an opt-in.

An explicitly requested backend that cannot run raises :class:`~fullspike.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Optional

import torch

from ..errors import ConfigError
from ..registry import Registry
from .driver import Kernels
from .loop import LoopKernels
from .native import NativeKernels
from .native import unavailable as native_unavailable
from .notices import warn_at_caller
from .spec import NeuronSpec
from .toolchain import import_cpp_extension

#: every backend name -> a zero-argument factory of its :class:`Kernels`; ``"eager"`` (the
#: autograd reference) and ``"auto"`` (one of the others, chosen per call by
#: :func:`auto_choice`) have none of their own and give None. Former names are aliases.
BACKENDS: Registry = Registry("neuron backend")


@BACKENDS.register("auto")
@BACKENDS.register("eager")
def _no_kernels() -> None:
    return None


@BACKENDS.register("loop", aliases=["bptt"])
def _loop() -> Kernels:
    return LoopKernels()


@BACKENDS.register("native")
def _native() -> Kernels:
    return NativeKernels()


@BACKENDS.register("inductor", aliases=["compiled"])
def _inductor() -> Kernels:
    from .inductor import InductorKernels

    return InductorKernels()


@BACKENDS.register("triton")
def _triton() -> Kernels:
    from .triton_kernels import TritonKernels

    return TritonKernels()


@functools.lru_cache(maxsize=None)
def kernels(name: str) -> Optional[Kernels]:
    """The kernel object of backend ``name``, one per process (it holds the compiled kernels);
    None for ``"eager"`` and ``"auto"``."""
    return BACKENDS.get(name)()


def check_backend(backend: str) -> str:
    """The backend ``backend`` names (a former name gives today's), else a
    :class:`~fullspike.errors.RegistryError` (a ConfigError) suggesting the closest names."""
    return BACKENDS.canonical(backend)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def _has_triton() -> bool:
    return importlib.util.find_spec("triton") is not None


@functools.lru_cache(maxsize=None)
def inductor_unavailable(device_type: str) -> Optional[str]:
    """None when ``torch.compile`` (Inductor) runs on this device type, else why it cannot.

    Compiles and runs a one-line function (a few seconds on first use); asked only for an
    explicit ``backend="inductor"``, never by ``auto``.
    """
    import_cpp_extension()  # Inductor loads it; without a GPU it would warn about CUDA
    try:
        fn = torch.compile(lambda t: t * 2.0 + 1.0, fullgraph=True)
        out = fn(torch.ones(8, device=device_type))
        if not torch.equal(out.cpu(), torch.full((8,), 3.0)):
            return "torch.compile produced a wrong result"
    except Exception as err:  # any toolchain failure means: not usable here
        return _first_line(err)
    return None


def triton_unavailable(device: torch.device) -> Optional[str]:
    """None when the Triton kernels can run on ``device``, else why they cannot."""
    try:
        from . import triton_kernels
    except Exception as err:  # triton missing or broken
        return f"triton cannot be imported ({_first_line(err)})"
    if device.type != "cuda" and not (device.type == "cpu" and triton_kernels.interpreted()):
        return f"the triton kernels need a CUDA device; the input is on {device.type}"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available"
    return None


def _coefficients_fit(x: torch.Tensor, coeffs) -> tuple[bool, bool]:
    """(every tensor coefficient broadcasts to x.shape[1:], every coefficient is a scalar)."""
    fits, scalar = True, True
    for c in coeffs:
        if isinstance(c, torch.Tensor):
            if c.numel() != 1:
                scalar = False
                try:
                    fits &= torch.broadcast_shapes(c.shape, x.shape[1:]) == x.shape[1:]
                except RuntimeError:
                    fits = False
    return fits, scalar


def _why_not(backend: str, x: torch.Tensor, fits: bool, scalar: bool, spec: NeuronSpec) -> Optional[str]:
    """None when the explicitly requested ``backend`` can run this call, else why not."""
    if not fits:
        return "decay/scale/bias do not broadcast to one time step of the input"
    if backend in ("native", "inductor", "triton") and not scalar:
        return f"the {backend} backend needs scalar decay/scale/bias, not per-neuron tensors"
    if backend == "native":
        if x.device.type != "cpu" or x.dtype != torch.float32:
            return f"it runs float32 on CPU; the input is {x.dtype} on {x.device.type}"
        return native_unavailable(spec)
    if backend == "inductor":
        why = inductor_unavailable(x.device.type)
        return None if why is None else f"torch.compile cannot run on {x.device.type} here ({why})"
    if backend == "triton":
        why = triton_unavailable(x.device)
        if why is None and spec.surrogate.triton_grad() is None:
            why = f"the surrogate {type(spec.surrogate).__name__} has no Triton form (give it a triton_grad() method)"
        if why is None and x.dtype == torch.float64:
            why = "its kernels compute in float32; the input is float64"
        return why
    return None


def auto_choice(x: torch.Tensor, coeffs, spec: NeuronSpec) -> str:
    """The backend ``auto`` runs for this call (see the module docstring)."""
    fits, scalar = _coefficients_fit(x, coeffs)
    if torch.compiler.is_compiling() or not fits:
        return "eager"
    if not scalar:
        return "loop"
    if x.device.type == "cuda":
        if not _has_triton() or x.dtype == torch.float64:  # the Triton kernels compute in float32
            return "loop"
        return "triton" if spec.surrogate.triton_grad() is not None else "inductor"
    if x.device.type == "cpu" and x.dtype == torch.float32 and spec.surrogate.c_grad() is not None:
        why = native_unavailable(spec)
        if why is None:
            return "native"
        _say_once(
            f"fullspike: the native neuron backend cannot run: {why}; backend='auto' "
            f"runs 'loop' instead (docs/performance.md)"
        )
    return "loop"


@functools.lru_cache(maxsize=None)
def _say_once(message: str) -> None:
    warn_at_caller(message, RuntimeWarning)


def resolve(backend: str, x: torch.Tensor, coeffs, spec: NeuronSpec) -> Optional[Kernels]:
    """The kernels that run this call, or None for the eager reference."""
    backend = check_backend(backend)
    if backend == "auto":
        backend = auto_choice(x, coeffs, spec)
    elif backend != "eager":
        why = _why_not(backend, x, *_coefficients_fit(x, coeffs), spec)
        if why is not None:
            raise ConfigError(f"neuron backend '{backend}' cannot run: {why}; use backend='auto'")
    return kernels(backend)
