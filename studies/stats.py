"""The statistics of the study's verdicts: Welch's two-sided t-test at 5% for a gap between two
variants (means, standard deviations and seed counts), and Wilson's 95% score interval for an
accuracy measured on a test set of n samples. Plain Python (math only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the significance level of every verdict that rests on a gap
ALPHA = 0.05
#: seeds each side needs before a gap is judged at all
MIN_SEEDS = 3
#: the normal quantile of a two-sided 95% interval
Z95 = 1.959963984540054


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` (real, > 0) degrees of freedom."""
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


@dataclass(frozen=True)
class Welch:
    """Welch's t-test of mean a - mean b: the statistic, its degrees of freedom and two-sided p."""

    t: float
    df: float
    p: float

    @property
    def shown(self) -> bool:
        return self.p < ALPHA


def welch(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> Welch:
    """Welch's unequal-variance t-test from summary statistics (sample standard deviations);
    both sides need two values at least. Two exactly equal constant sides: p = 1; a gap between
    two constant sides: p = 0."""
    if min(n_a, n_b) < 2:
        raise ValueError("Welch's t-test needs at least two values on each side")
    va, vb = std_a**2 / n_a, std_b**2 / n_b
    gap = mean_a - mean_b
    if va + vb == 0:
        return Welch(0.0 if gap == 0 else math.copysign(math.inf, gap), math.inf, 1.0 if gap == 0 else 0.0)
    t = gap / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    return Welch(t, df, t_two_sided_p(t, df))


def wilson(accuracy: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval (default 95%) of a proportion ``accuracy`` measured on ``n`` samples."""
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def holm_adjusted(family: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values of the raw p-values ``family`` of the tests judged
    together, in the same order: with the m values sorted ascending, the k-th (from 0) is adjusted
    to the largest ``min(1, (m - j) * p_j)`` over j <= k. A test is shown at family-wise level
    ALPHA when its adjusted p is below ALPHA; a family of one keeps its p."""
    order = sorted(range(len(family)), key=lambda i: family[i])
    adjusted, running = [0.0] * len(family), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(family) - rank) * family[i]))
        adjusted[i] = running
    return adjusted
