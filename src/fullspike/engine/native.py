"""``backend="native"``: the neuron recurrence as a small C kernel (``native_kernel.c``) called
through :mod:`ctypes`; CPU, float32, scalar coefficients, surrogates with a C form.

The kernel walks blocks of neurons with the time loop inside, so each block's state stays in
cache: forward reads the input once and writes the spikes, saving nothing (the driver keeps a
reference to the input); backward recomputes the block's charged membranes and runs the
reverse-time recurrence (:mod:`.driver` has the equations), writing the input gradient into the
driver's buffer. One pass over memory each way, instead of the ``loop`` backend's dozen torch
ops per step. Blocks are shared over ``torch.get_num_threads()`` threads that live only for the
call (ctypes releases the GIL during it).

The surrogate's gradient is compiled into the kernel: :meth:`~fullspike.surrogate.Surrogate.c_grad`
gives the C body of ``float fs_surrogate(float u, float p1, float p2)`` and its two parameters, as
:meth:`~fullspike.surrogate.Surrogate.triton_grad` does for the Triton kernels; so are the
neuron's flags (strict threshold, soft reset, detached reset), so each loop is compiled for one
form only. Each (surrogate, flags) kernel is compiled once per machine by :mod:`.cbuild` (a
fraction of a second) and loaded from the per-user cache afterwards. Inputs are read in place
when each step's neurons are contiguous, or in BNTT's layout (a time-transposed view of a
contiguous ``[B, T, ...]`` tensor); expanded gradients (``out.sum()``) are read without being
materialised. Backward also takes its input as the batch norm before it
(:class:`~.norm_input.NormInput`), applying the norm while it reads, where the kernel's
arithmetic is checked to be torch's (:func:`_norm_matches_torch`).
"""

from __future__ import annotations

import ctypes
import functools
from importlib import resources
from typing import Optional

import torch

from . import cbuild
from .buffers import empty_steps
from .driver import Kernels
from .norm_input import NormInput
from .spec import NeuronSpec

#: neurons per block: a block's rows are 2 KiB, and backward's [K, BLOCK] charged membranes at
#: most 128 KiB (K <= max_steps), in L2 (2^20 neurons: 256-neuron blocks ran 1.3x slower at
#: T = 64, 4096-neuron blocks 1.3x slower at T = 16)
BLOCK = 512
#: at least this many values (steps x neurons) per thread before another thread is started
PER_THREAD = 1 << 16


class _Seq(ctypes.Structure):
    _fields_ = [("p", ctypes.c_void_p), ("st", ctypes.c_int64), ("sb", ctypes.c_int64), ("sm", ctypes.c_int64)]


class _Args(ctypes.Structure):  # fs_args of native_kernel.c, field for field
    _fields_ = (
        [(n, ctypes.c_int64) for n in ("K", "B", "M", "block")]
        + [(n, _Seq) for n in ("x", "gs", "gv")]
        + [(n, ctypes.c_void_p) for n in ("v0", "carry", "out")]
        + [(n, ctypes.c_int64) for n in ("out_st", "out_sb")]
        + [(n, ctypes.c_void_p) for n in ("vs", "last", "acc_decay", "acc_scale", "acc_bias")]
        + [(n, ctypes.c_float) for n in ("decay", "scale", "bias", "th", "vr", "p1", "p2")]
        + [(n, ctypes.c_void_p) for n in ("z", "norm_scale", "norm_mean", "norm_bias")]
        + [(n, ctypes.c_int64) for n in ("group", "channels")]
    )


@functools.lru_cache(maxsize=None)
def _template() -> str:
    return resources.files(__package__).joinpath("native_kernel.c").read_text()


@functools.lru_cache(maxsize=None)
def kernel_source(grad_body: str, strict: bool, soft: bool, detach: bool) -> str:
    """The full C source of the kernels with the surrogate gradient ``grad_body`` (the body of
    ``float fs_surrogate(float u, float p1, float p2)``) and the neuron's flags: fire at
    ``h > th`` (``strict``) or ``h >= th``, reset by subtraction (``soft``) or to ``vr``,
    no gradient through the reset (``detach``)."""
    flags = "".join(
        f"#define FS_{name} {int(on)}\n" for name, on in (("STRICT", strict), ("SOFT", soft), ("DETACH", detach))
    )
    return flags + _template().replace("FS_SURROGATE_BODY", grad_body)


def _source(spec: NeuronSpec) -> str:
    """The kernel source for this neuron (its surrogate must have a C form)."""
    return kernel_source(spec.surrogate.c_grad()[0], bool(spec.strict), spec.v_reset is None, bool(spec.detach_reset))


def unavailable(spec: NeuronSpec) -> Optional[str]:
    """None when the native kernels for this neuron (its surrogate and flags) are compiled
    (compiling them on first use), else why they cannot run; cached per process."""
    if spec.surrogate.c_grad() is None:
        return f"the surrogate {type(spec.surrogate).__name__} has no C form (give it a c_grad() method)"
    why = cbuild.unavailable(_source(spec), SYMBOLS)
    return None if why is None else f"its C kernels cannot be built here: {why}"


#: the functions of native_kernel.c that this module calls
SYMBOLS = ("fs_forward", "fs_backward", "fs_norm_rows")


@functools.lru_cache(maxsize=None)
def _library(source: str) -> tuple:
    """``(fs_forward, fs_backward, fs_norm_rows)`` of the library built from ``source``."""
    lib = cbuild.load(source, SYMBOLS)
    for fn in (lib.fs_forward, lib.fs_backward):
        fn.argtypes = [ctypes.POINTER(_Args), ctypes.c_int]
        fn.restype = ctypes.c_int
    lib.fs_norm_rows.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64] * 3 + [ctypes.c_void_p]
    lib.fs_norm_rows.restype = None
    return lib.fs_forward, lib.fs_backward, lib.fs_norm_rows


def norm_rows(
    source: str, z: torch.Tensor, scale: torch.Tensor, mean: torch.Tensor, bias: Optional[torch.Tensor]
) -> torch.Tensor:
    """The batch norm output the kernel built from ``source`` computes from a contiguous float32
    ``z: [N, C, ...]`` and ``[C]`` terms (``scale = invstd * weight``)."""
    out = torch.empty_like(z)
    _library(source)[2](
        z.data_ptr(),
        scale.data_ptr(),
        mean.data_ptr(),
        _ptr(bias),
        z.numel(),
        z[0, 0].numel(),
        z.shape[1],
        out.data_ptr(),
    )
    return out


@functools.lru_cache(maxsize=None)
def _norm_matches_torch(source: str) -> bool:
    """Whether the kernel's batch norm arithmetic gives torch's CPU kernel's results bit for bit
    here (torch fuses the multiply-adds where the CPU has FMA): checked once per process on
    random channels of 49 and 256 values, with and without bias."""
    g = torch.Generator().manual_seed(0)
    for shape in ((3, 5, 7, 7), (2, 4, 16, 16)):
        C = shape[1]
        z = torch.randn(shape, generator=g) * 3 + 1
        scale, mean = torch.rand(C, generator=g) + 0.5, torch.randn(C, generator=g)
        for bias in (torch.randn(C, generator=g), None):
            ref = torch.native_batch_norm(z, scale, bias, mean, torch.ones(C), False, 0.0, 0.0)[0]
            if not torch.equal(norm_rows(source, z, scale, mean, bias), ref):
                return False
    return True


def _ptr(t: Optional[torch.Tensor]) -> Optional[int]:
    return None if t is None else t.data_ptr()


def _view3(t: torch.Tensor, B: int, M: int) -> Optional[torch.Tensor]:
    try:
        return t.view(t.shape[0], B, M)
    except RuntimeError:  # strides that no [K, B, M] view can express
        return None


def _layout(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """``(x3, B, M)``: the input as a ``[K, B, M]`` view whose last dimension is contiguous,
    read in place (``B = 1`` when each step is contiguous; ``B`` = the batch for BNTT's
    time-transposed layout), or a contiguous copy."""
    K, N = x.shape[0], x[0].numel()
    x3 = _view3(x, 1, N)
    if x3 is not None and (x3.stride(2) == 1 or N == 1):
        return x3, 1, N
    if x.dim() >= 3 and x.shape[1] > 0:
        B = x.shape[1]
        x3 = _view3(x, B, N // B)
        if x3 is not None and x3.stride(2) == 1:
            return x3, B, N // B
    return x.contiguous().view(K, 1, N), 1, N


def _seq(t: Optional[torch.Tensor], B: int, M: int) -> tuple[_Seq, Optional[torch.Tensor]]:
    """A ``[K, B, M]`` operand for the kernel (strides in elements; expanded dimensions stay
    stride 0), and the tensor it points into (kept alive by the caller)."""
    if t is None:
        return _Seq(None, 0, 0, 0), None
    if t.dtype != torch.float32:
        t = t.float()
    t3 = _view3(t, B, M)
    if t3 is None:
        t3 = t.contiguous().view(t.shape[0], B, M)
    return _Seq(t3.data_ptr(), *t3.stride()), t3


def _flat(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """A per-neuron state (membrane, carried gradient) as contiguous float32, or None."""
    return None if t is None else t.detach().to(torch.float32).contiguous()


def _threads(values: int) -> int:
    return max(1, min(torch.get_num_threads(), values // PER_THREAD))


class NativeKernels(Kernels):
    """Segment kernels in C (``backend="native"``, see the module docstring)."""

    name = "native"
    recompute = True
    writes_into = True
    # backward keeps a block's [K, block] charged membranes in cache; longer sequences run in
    # segments of at most this many steps, chained through the membrane and dL/dv
    max_steps = 64

    @staticmethod
    def _args(spec: NeuronSpec, decay, scale, bias, K: int, B: int, M: int) -> _Args:
        _, p1, p2 = spec.surrogate.c_grad()
        args = _Args()
        args.K, args.B, args.M = K, B, M
        args.block = max(1, min(M, BLOCK))
        args.decay, args.scale, args.bias = (float(t) for t in (decay, scale, bias))
        args.th, args.vr, args.p1, args.p2 = spec.v_threshold, spec.v_init, float(p1), float(p2)
        return args

    @staticmethod
    def _call(fn, args: _Args, values: int) -> None:
        if fn(ctypes.byref(args), _threads(values)) != 0:
            raise MemoryError("the native neuron kernel could not allocate its block buffers")

    @staticmethod
    def _output(args: _Args, out: torch.Tensor, B: int, M: int) -> torch.Tensor:
        """Point the kernel's output at ``out: [K, ...]``, or at a contiguous stand-in (returned;
        the caller copies it into ``out``) when ``out``'s steps are not ``[B, M]`` rows with
        adjacent neurons."""
        o3 = _view3(out, B, M)
        if o3 is None or (o3.stride(2) != 1 and M > 1):
            o3 = torch.empty(out.shape, dtype=out.dtype).view(out.shape[0], B, M)
        args.out, args.out_st, args.out_sb = o3.data_ptr(), o3.stride(0), o3.stride(1)
        return o3

    def forward(self, x, v, decay, scale, bias, spec, keep_h, keep_v, out=None):
        if keep_h:
            raise AssertionError("the native kernels recompute h; the driver never asks to keep it")
        x3, B, M = _layout(x)
        K = x.shape[0]
        out = empty_steps(x) if out is None else out
        vs = empty_steps(x) if keep_v else None
        last = torch.empty(x.shape[1:], dtype=x.dtype)
        v = _flat(v)
        args = self._args(spec, decay, scale, bias, K, B, M)
        args.x = _Seq(x3.data_ptr(), *x3.stride())
        written = self._output(args, out, B, M)
        args.v0, args.vs, args.last = _ptr(v), _ptr(vs), last.data_ptr()
        self._call(_library(_source(spec))[0], args, K * B * M)
        if written.data_ptr() != out.data_ptr():
            out.copy_(written.view(out.shape))
        return out, None, vs, last

    def reads_norm_input(self, spec: NeuronSpec) -> bool:
        return _norm_matches_torch(_source(spec))

    def backward(
        self, g_s, g_v, h, x, v0, carry, decay, scale, bias, spec, need_decay, need_scale, need_bias, out=None
    ):
        norm = x if isinstance(x, NormInput) else None
        x = x if norm is None else norm.z  # (x's geometry)
        x3, B, M = _layout(x)
        if norm is not None and x3.untyped_storage().data_ptr() != norm.base.data_ptr():
            x3, B, M = _layout(norm.values())  # a layout the kernel cannot walk in z: copied
            norm = None
        K = x.shape[0]
        out = empty_steps(x) if out is None else out
        args = self._args(spec, decay, scale, bias, K, B, M)
        args.x = _Seq(x3.data_ptr(), *x3.stride())
        if norm is not None:
            args.z, args.norm_scale, args.norm_mean = (t.data_ptr() for t in (norm.base, norm.scale, norm.mean))
            args.norm_bias, args.group, args.channels = _ptr(norm.bias), norm.group, norm.channels
        args.gs, keep_gs = _seq(g_s, B, M)  # keep_*: the tensors the pointers point into
        args.gv, keep_gv = _seq(g_v, B, M)
        written = self._output(args, out, B, M)
        v0, carry = _flat(v0), _flat(carry)
        carry_out = torch.empty(x.shape[1:], dtype=x.dtype)
        accs = [
            torch.empty(x.shape[1:], dtype=x.dtype) if need else None for need in (need_decay, need_scale, need_bias)
        ]
        args.v0, args.carry, args.last = _ptr(v0), _ptr(carry), carry_out.data_ptr()
        args.acc_decay, args.acc_scale, args.acc_bias = (_ptr(t) for t in accs)
        self._call(_library(_source(spec))[1], args, K * B * M)
        del keep_gs, keep_gv  # alive up to here, through the call
        if written.data_ptr() != out.data_ptr():
            out.copy_(written.view(out.shape))
        return (out, carry_out, *accs)
