"""Triton forms of the built-in surrogate gradients (:mod:`fullspike.surrogate`).

Each is a ``triton.jit`` function ``grad(u, p1, p2) -> g`` of ``u = h - v_th`` and two float
parameters, the same formula as the surrogate's torch ``grad``; a surrogate hands its form and
parameters to the Triton kernels through :meth:`~fullspike.surrogate.Surrogate.triton_grad`.
Importing this module needs :mod:`triton`.
"""

import triton
import triton.language as tl


@triton.jit
def sigmoid_grad(u, p1, p2):
    """``alpha * sig(alpha u) * (1 - sig(alpha u))``, ``p1 = alpha``."""
    s = tl.sigmoid(p1 * u)
    return p1 * s * (1.0 - s)


@triton.jit
def atan_grad(u, p1, p2):
    """``alpha / 2 / (1 + (pi/2 * alpha * u)^2)``, ``p1 = alpha``."""
    z = 1.5707963267948966 * p1 * u
    return p1 / 2.0 / (1.0 + z * z)


@triton.jit
def triangle_grad(u, p1, p2):
    """``gamma * max(0, 1 - |u / width|)``, ``p1 = gamma``, ``p2 = width``."""
    return p1 * tl.maximum(1.0 - tl.abs(u / p2), 0.0)
