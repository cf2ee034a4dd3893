"""Gradient estimators through random sampling: pure maths and figures, no Streamlit.

    import core
    f = core.parse_objective("cos(3*x) + x**2")
    core.exact_gradient(f, mu=0.5, sigma=1.0)          # (∂μ, ∂σ) of E[f(x)], x ~ N(μ, σ²)
    core.estimate(f, 0.5, 1.0, L=10, reps=1000)        # {name: Estimates(d_mu, d_sigma, ...)}
"""
from .estimators import ESTIMATORS, MAX_SAMPLES, PILOT_SIZE, EstimatorInfo, Estimates, estimate, variance_by_L
from .objective import FUNCTIONS, Objective, parse_objective
from .quadrature import (
    breakpoints,
    exact_gradient,
    exact_value,
    exact_variances,
    gaussian_expectation,
    pathwise_expectation,
)

__all__ = [
    "ESTIMATORS", "MAX_SAMPLES", "PILOT_SIZE", "EstimatorInfo", "Estimates", "estimate", "variance_by_L",
    "FUNCTIONS", "Objective", "parse_objective",
    "breakpoints", "exact_gradient", "exact_value", "exact_variances", "gaussian_expectation",
    "pathwise_expectation",
]
