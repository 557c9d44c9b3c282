"""Choosing how the neuron recurrence runs: ``backend="auto" | "eager" | "bptt" | "compiled" | "triton"``.

* ``"eager"``: the reference loop, differentiated by autograd step by step (any input, any
  coefficient shapes; what ``torch.compile`` of a whole model traces).
* ``"bptt"``: one autograd node per sequence with a hand-written backward through time
  (:mod:`.fused`); plain torch ops, so any device, dtype and surrogate.
* ``"compiled"``: the same loops fused by ``torch.compile`` (:mod:`.compiled`): C++/OpenMP on
  CPU, Triton on CUDA. Scalar coefficients only. Each variant compiles once per process
  (seconds to a minute the first time on a machine; cached on disk after that).
* ``"triton"``: hand-written Triton kernels (:mod:`.triton_kernels`); CUDA, built-in
  surrogates, scalar coefficients.
* ``"auto"``: CUDA: triton, else compiled, else bptt. CPU: compiled for float32/float64
  sequences of at least :data:`AUTO_COMPILE_MIN` values (large enough to repay the compile),
  and for smaller ones once the same neuron has been compiled in this process; bptt otherwise. Inside ``torch.compile`` tracing: eager. When a backend ``auto`` wanted
  cannot run (no C++ compiler, no Triton), it warns once and takes the next one.

An explicitly requested backend that cannot run raises :class:`~fullspike.errors.ConfigError`.
"""
from __future__ import annotations

import functools
import warnings
from typing import Optional

import torch

from ..errors import ConfigError
from ..toolchain import import_cpp_extension
from .fused import Kernels, NeuronSpec

BACKENDS = ("auto", "eager", "bptt", "compiled", "triton")
AUTO_COMPILE_MIN = 1 << 20  # values in x ([T, ...]) from which auto compiles on CPU

_warned: set = set()
_kernels: dict = {}


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


@functools.lru_cache(maxsize=None)
def compiled_unavailable(device_type: str) -> Optional[str]:
    """None when ``torch.compile`` (Inductor) runs on this device type, else why it cannot.

    Compiles and runs a one-line function once per process (a few seconds on first use).
    """
    import_cpp_extension()  # Inductor loads it; on a GPU-less machine it warns about CUDA
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
    if device.type != "cuda" and not (device.type == "cpu" and triton_kernels.available()):
        return f"the triton kernels need a CUDA device; the input is on {device.type}"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available"
    return None


def kernels(name: str) -> Kernels:
    """The (shared) kernel object of a non-eager backend."""
    if name not in _kernels:
        if name == "bptt":
            _kernels[name] = Kernels()
        elif name == "compiled":
            from .compiled import CompiledKernels

            _kernels[name] = CompiledKernels()
        elif name == "triton":
            from .triton_kernels import TritonKernels

            _kernels[name] = TritonKernels()
        else:
            raise ConfigError(f"unknown neuron backend '{name}'; choose one of {list(BACKENDS)}")
    return _kernels[name]


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


def _unavailable(name: str, x: torch.Tensor) -> Optional[str]:
    """None when backend ``name`` can run on x's device here, else why it cannot."""
    if name == "compiled":
        why = compiled_unavailable(x.device.type)
        return None if why is None else f"torch.compile cannot run on {x.device.type} here ({why})"
    if name == "triton":
        return triton_unavailable(x.device)
    return None


def _knows_surrogate(name: str, spec: NeuronSpec) -> bool:
    if name != "triton":
        return True
    from .triton_kernels import surrogate_code

    return surrogate_code(spec.surrogate) is not None


def resolve(backend: str, x: torch.Tensor, coeffs, spec: NeuronSpec) -> Optional[Kernels]:
    """The kernels that run this call, or None for the eager reference."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown neuron backend '{backend}'; choose one of {list(BACKENDS)}")
    if backend == "eager":
        return None
    fits, scalar = _coefficients_fit(x, coeffs)
    if backend != "auto":
        why = None
        if not fits:
            why = "decay/scale/bias do not broadcast to one time step of the input"
        elif backend in ("compiled", "triton") and not scalar:
            why = f"the {backend} backend needs scalar decay/scale/bias, not per-neuron tensors"
        else:
            why = _unavailable(backend, x)
            if why is None and not _knows_surrogate(backend, spec):
                why = (f"its kernels know sigmoid, atan and triangle, not "
                       f"{type(spec.surrogate).__name__}")
        if why is not None:
            raise ConfigError(f"neuron backend '{backend}' cannot run: {why}; use backend='auto'")
        return kernels(backend)
    if torch.compiler.is_compiling() or not fits:
        return None
    if not scalar:
        return kernels("bptt")
    if x.device.type == "cuda":
        wanted = ["triton", "compiled"]
    elif x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and (
            x.numel() >= AUTO_COMPILE_MIN or ("compiled" in _kernels and _kernels["compiled"].ready(x, spec))):
        wanted = ["compiled"]
    else:
        wanted = []
    for name in wanted:
        why = _unavailable(name, x)
        if why is None:
            if _knows_surrogate(name, spec):
                return kernels(name)
            continue  # a user-defined surrogate: the next backend compiles or runs it
        _warn_once(f"{name}:{x.device.type}", f"fullspike: neuron backend '{name}' is "
                   f"unavailable ({why}); backend='auto' falls back to the next one")
    return kernels("bptt")
