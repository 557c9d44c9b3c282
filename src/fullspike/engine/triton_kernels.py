"""``backend="triton"``: hand-written Triton kernels for the neuron recurrence (CUDA).

One program owns ``BLOCK`` neurons and walks the time loop in registers: forward reads ``x`` and
writes spikes and ``h`` (saved for backward, as the input dtype); backward walks time in reverse
(see :mod:`.driver` for the equations). The surrogate's gradient is the ``triton.jit`` function
its :meth:`~fullspike.surrogate.Surrogate.triton_grad` returns, passed to the kernel as a
compile-time argument; a surrogate without one cannot run here (``auto`` takes another
backend for it). Floating-point contraction is switched off so ``h`` rounds exactly as the
eager reference's separate ops do.

Importing this module needs :mod:`triton`.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from .driver import Kernels
from .spec import NeuronSpec

BLOCK = 1024


def interpreted() -> bool:
    """True when Triton runs its kernels in the CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _fire(h, th, STRICT: tl.constexpr):
    if STRICT:
        m = h > th
    else:
        m = h >= th
    return m


@triton.jit
def _reset(h, m, th, vr, SOFT: tl.constexpr):
    if SOFT:
        v = tl.where(m, h - th, h)
    else:
        v = tl.where(m, vr, h)
    return v


@triton.jit
def _forward_kernel(
    x_ptr,
    v_ptr,
    coef_ptr,
    s_ptr,
    h_ptr,
    vs_ptr,
    vlast_ptr,
    T,
    N,
    th,
    vr,
    STRICT: tl.constexpr,
    SOFT: tl.constexpr,
    KEEP_H: tl.constexpr,
    KEEP_V: tl.constexpr,
    HAS_V0: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # int64: T * N may pass 2^31
    mask = offs < N
    decay = tl.load(coef_ptr)
    scale = tl.load(coef_ptr + 1)
    bias = tl.load(coef_ptr + 2)
    if HAS_V0:
        v = tl.load(v_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        v = tl.zeros([BLOCK], dtype=tl.float32) + vr
    for t in range(T):
        row = tl.cast(t, tl.int64) * N
        x = tl.load(x_ptr + row + offs, mask=mask, other=0.0).to(tl.float32)
        h = decay * v + scale * x + bias
        m = _fire(h, th, STRICT)
        v = _reset(h, m, th, vr, SOFT)
        tl.store(s_ptr + row + offs, m.to(s_ptr.dtype.element_ty), mask=mask)
        if KEEP_H:
            tl.store(h_ptr + row + offs, h.to(h_ptr.dtype.element_ty), mask=mask)
        if KEEP_V:
            tl.store(vs_ptr + row + offs, v.to(vs_ptr.dtype.element_ty), mask=mask)
    tl.store(vlast_ptr + offs, v.to(vlast_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _backward_kernel(
    gs_ptr,
    gs_st,
    gs_sn,
    gv_ptr,
    gv_st,
    gv_sn,
    h_ptr,
    x_ptr,
    v0_ptr,
    carry_ptr,
    coef_ptr,
    gx_ptr,
    carry_out_ptr,
    acc_ptr,
    T,
    N,
    th,
    vr,
    p1,
    p2,
    STRICT: tl.constexpr,
    SOFT: tl.constexpr,
    DETACH: tl.constexpr,
    SURROGATE: tl.constexpr,
    HAS_GS: tl.constexpr,
    HAS_GV: tl.constexpr,
    HAS_CARRY: tl.constexpr,
    HAS_V0: tl.constexpr,
    NEED_DECAY: tl.constexpr,
    NEED_SCALE: tl.constexpr,
    NEED_BIAS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    decay = tl.load(coef_ptr)
    scale = tl.load(coef_ptr + 1)
    if HAS_CARRY:
        carry = tl.load(carry_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK], dtype=tl.float32)
    acc_decay = tl.zeros([BLOCK], dtype=tl.float32)
    acc_scale = tl.zeros([BLOCK], dtype=tl.float32)
    acc_bias = tl.zeros([BLOCK], dtype=tl.float32)
    for i in range(T):
        t = tl.cast(T - 1 - i, tl.int64)
        h = tl.load(h_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        sg = SURROGATE(h - th, p1, p2)
        gv = carry
        if HAS_GV:
            gv += tl.load(gv_ptr + t * gv_st + offs * gv_sn, mask=mask, other=0.0).to(tl.float32)
        if SOFT:
            if DETACH:
                gh = gv
            else:
                gh = gv * (1.0 - th * sg)
        else:
            keep = 1.0 - _fire(h, th, STRICT).to(tl.float32)
            if DETACH:
                gh = gv * keep
            else:
                gh = gv * (keep + (vr - h) * sg)
        if HAS_GS:
            gh += tl.load(gs_ptr + t * gs_st + offs * gs_sn, mask=mask, other=0.0).to(tl.float32) * sg
        tl.store(gx_ptr + t * N + offs, (scale * gh).to(gx_ptr.dtype.element_ty), mask=mask)
        if NEED_DECAY:
            if t > 0:
                hp = tl.load(h_ptr + (t - 1) * N + offs, mask=mask, other=0.0).to(tl.float32)
                v_prev = _reset(hp, _fire(hp, th, STRICT), th, vr, SOFT)
            elif HAS_V0:
                v_prev = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            else:
                v_prev = tl.zeros([BLOCK], dtype=tl.float32) + vr
            acc_decay += gh * v_prev
        if NEED_SCALE:
            acc_scale += gh * tl.load(x_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        if NEED_BIAS:
            acc_bias += gh
        carry = decay * gh
    tl.store(carry_out_ptr + offs, carry, mask=mask)
    if NEED_DECAY:
        tl.store(acc_ptr + offs, acc_decay, mask=mask)
    if NEED_SCALE:
        tl.store(acc_ptr + N + offs, acc_scale, mask=mask)
    if NEED_BIAS:
        tl.store(acc_ptr + 2 * N + offs, acc_bias, mask=mask)


def _coefficients(x: torch.Tensor, decay, scale, bias) -> torch.Tensor:
    """``[decay, scale, bias]`` as a float32 tensor on x's device, built there (no host-device copy)."""
    parts = [
        t.detach().reshape(()).to(x.device, torch.float32)
        if isinstance(t, torch.Tensor)
        else torch.full((), float(t), device=x.device)
        for t in (decay, scale, bias)
    ]
    return torch.stack(parts)


def _launch(kernel, N: int, *args, **kwargs):
    # no fused multiply-add: h must round like the eager reference's separate multiply and add
    options = {} if interpreted() else {"enable_fp_fusion": False}
    kernel[(triton.cdiv(N, BLOCK),)](*args, **kwargs, BLOCK=BLOCK, **options)


class TritonKernels(Kernels):
    """Segment kernels in Triton; ``h`` is saved in the input dtype."""

    name = "triton"
    recompute = False

    def forward(self, x, v, decay, scale, bias, spec: NeuronSpec, keep_h, keep_v):
        K, shape = x.shape[0], x.shape
        xf = x.reshape(K, -1).contiguous()
        N = xf.shape[1]
        spikes = torch.empty_like(xf)
        h = torch.empty_like(xf) if keep_h else spikes  # placeholder pointer when unused
        vs = torch.empty_like(xf) if keep_v else spikes
        v_last = torch.empty(N, dtype=x.dtype, device=x.device)
        th, vr = spec.v_threshold, spec.v_init
        _launch(
            _forward_kernel,
            N,
            xf,
            xf if v is None else v.reshape(-1).contiguous(),
            _coefficients(x, decay, scale, bias),
            spikes,
            h,
            vs,
            v_last,
            K,
            N,
            th,
            vr,
            STRICT=spec.strict,
            SOFT=spec.v_reset is None,
            KEEP_H=keep_h,
            KEEP_V=keep_v,
            HAS_V0=v is not None,
        )
        return (
            spikes.view(shape),
            h.view(shape) if keep_h else None,
            vs.view(shape) if keep_v else None,
            v_last.view(shape[1:]),
        )

    def backward(
        self, g_s, g_v, h, x, v0, carry, decay, scale, bias, spec: NeuronSpec, need_decay, need_scale, need_bias
    ):
        if h is None:  # checkpointed segment: recompute h first
            h = self.forward(x, v0, decay, scale, bias, spec, True, False)[1]
        K, shape = h.shape[0], h.shape
        hf = h.reshape(K, -1).contiguous()
        N = hf.shape[1]
        grad_fn, p1, p2 = spec.surrogate.triton_grad()

        def seq(t):  # [K, N] view with strides (expanded gradients stay unmaterialised)
            if t is None:
                return hf, 0, 0
            t2 = t.reshape(K, N) if t.dim() > 1 else t
            return t2, t2.stride(0), t2.stride(1)

        gs, gs_st, gs_sn = seq(g_s)
        gv, gv_st, gv_sn = seq(g_v)
        g_x = torch.empty_like(hf)
        carry_out = torch.empty(N, dtype=torch.float32, device=h.device)
        acc = torch.empty(3 * N if (need_decay or need_scale or need_bias) else 1, dtype=torch.float32, device=h.device)
        xf = x.reshape(K, -1).contiguous() if need_scale else hf
        _launch(
            _backward_kernel,
            N,
            gs,
            gs_st,
            gs_sn,
            gv,
            gv_st,
            gv_sn,
            hf,
            xf,
            hf if v0 is None else v0.reshape(-1).contiguous(),
            carry_out if carry is None else carry.reshape(-1).contiguous(),
            _coefficients(h, decay, scale, bias),
            g_x,
            carry_out,
            acc,
            K,
            N,
            spec.v_threshold,
            spec.v_init,
            float(p1),
            float(p2),
            STRICT=spec.strict,
            SOFT=spec.v_reset is None,
            DETACH=spec.detach_reset,
            SURROGATE=grad_fn,
            HAS_GS=g_s is not None,
            HAS_GV=g_v is not None,
            HAS_CARRY=carry is not None,
            HAS_V0=v0 is not None,
            NEED_DECAY=need_decay,
            NEED_SCALE=need_scale,
            NEED_BIAS=need_bias,
        )
        accs = [
            acc[i * N : (i + 1) * N].view(shape[1:]) if need else None
            for i, need in enumerate((need_decay, need_scale, need_bias))
        ]
        return (g_x.view(shape), carry_out.to(h.dtype).view(shape[1:]), *accs)
