"""Shared test helpers."""
import math

import numpy as np


def gaussian_moment(n: int) -> float:
    """E[ε^n] for ε ~ N(0, 1): 0 for odd n, (n − 1)!! for even n."""
    if n % 2:
        return 0.0
    return float(np.prod(np.arange(n - 1, 0, -2))) if n else 1.0


def poly_expectation(coeffs: dict[int, float]) -> float:
    """E[Σ c_n ε^n] for a polynomial in ε given as {power: coefficient}."""
    return sum(c * gaussian_moment(n) for n, c in coeffs.items())


def poly_mul(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for i, x in a.items():
        for j, y in b.items():
            out[i + j] = out.get(i + j, 0.0) + x * y
    return out


def z_score(values: np.ndarray, target: float) -> tuple[float, float]:
    """(mean − target) / SE and the SE, for independent replicates."""
    se = values.std(ddof=1) / math.sqrt(values.size)
    return (values.mean() - target) / se, se
