"""A user's own surrogate with a Triton form, for the Triton interpreter test (needs triton)."""

import torch
import triton
import triton.language as tl

from fullspike.surrogate import Surrogate


@triton.jit
def parabola_grad(u, p1, p2):
    return p1 * tl.maximum(1.0 - u * u, 0.0)


class Parabola(Surrogate):
    """``alpha * max(0, 1 - x^2)``, with the same formula in Triton."""

    def __init__(self, alpha: float = 0.75) -> None:
        self.alpha = float(alpha)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * torch.clamp(1.0 - x * x, min=0.0)

    def triton_grad(self):
        return parabola_grad, self.alpha, 0.0
