"""Gradient estimators through random sampling: pure maths and figures, no Streamlit.

    import core
    f = core.parse_objective("cos(3*x) + x**2")
    core.exact_gradient(f, mu=0.5, sigma=1.0)          # (∂μ, ∂σ) of E[f(x)], x ~ N(μ, σ²)
    core.estimate(f, 0.5, 1.0, L=10, reps=1000)        # {name: Estimates(d_mu, d_sigma, ...)}
    core.sweep(f, 0.5, 1.0, axis="mu", grid=[0, 0.5, 1], L=10, reps=1000)  # every μ on the same draws
"""
from .estimators import (
    DEFAULT_ESTIMATORS,
    ESTIMATORS,
    MAX_SAMPLES,
    PILOT_SIZE,
    EstimatorInfo,
    Estimates,
    Sweep,
    estimate,
    exact_along,
    sweep,
    variance_by_L,
)
from .objective import FUNCTIONS, Objective, parse_objective
from .quadrature import (
    breakpoints,
    exact_gradient,
    exact_value,
    exact_variances,
    gaussian_expectation,
    gradient_report,
    pathwise_expectation,
)

__all__ = [
    "DEFAULT_ESTIMATORS", "ESTIMATORS", "MAX_SAMPLES", "PILOT_SIZE", "EstimatorInfo", "Estimates", "Sweep", "estimate",
    "exact_along", "sweep", "variance_by_L",
    "FUNCTIONS", "Objective", "parse_objective",
    "breakpoints", "exact_gradient", "exact_value", "exact_variances", "gaussian_expectation",
    "gradient_report", "pathwise_expectation",
]
