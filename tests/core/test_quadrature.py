"""Exact gradients and single-sample variances against closed forms (and scipy for one)."""
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

import core
from tests.conftest import poly_expectation, poly_mul

POINTS = [(0.3, 0.7), (-1.2, 1.5), (0.0, 1.0), (2.0, 0.2)]


def closed_forms(mu, s):
    """name: (formula, ∂μ, ∂σ) with the true gradient of E_{N(μ,σ²)}[f]."""
    k = 3.0
    damp = math.exp(-k * k * s * s / 2)
    a = 1 + 2 * s * s  # exp(-x²): E = a^{-1/2} exp(-μ²/a)
    e_gauss = a ** -0.5 * math.exp(-mu * mu / a)
    b, c = (1 - mu) / s, (-1 - mu) / s
    e_exp = math.exp(0.5 * mu + 0.125 * s * s)
    return {
        "linear": ("2*x + 1", 2.0, 0.0, True),
        "square": ("x**2", 2 * mu, 2 * s, True),
        "cube": ("x**3", 3 * mu * mu + 3 * s * s, 6 * mu * s, True),
        "cos": ("cos(3*x)", -k * math.sin(k * mu) * damp, -k * k * s * math.cos(k * mu) * damp, True),
        "gauss": ("exp(-x**2)", e_gauss * (-2 * mu / a), e_gauss * (-2 * s / a + 4 * mu * mu * s / a ** 2), True),
        "exp": ("exp(0.5*x)", 0.5 * e_exp, 0.25 * s * e_exp, True),
        "step": ("x > 0", norm.pdf(mu / s) / s, -norm.pdf(mu / s) * mu / s ** 2, False),
        "shifted step": ("x >= 0.5", norm.pdf((mu - 0.5) / s) / s, -norm.pdf((mu - 0.5) / s) * (mu - 0.5) / s ** 2, False),
        "interval": ("-1 < x < 1", (norm.pdf(c) - norm.pdf(b)) / s, (norm.pdf(c) * c - norm.pdf(b) * b) / s, False),
        "sign": ("sign(x)", 2 * norm.pdf(mu / s) / s, -2 * norm.pdf(mu / s) * mu / s ** 2, False),
        "abs": ("abs(x)", 2 * norm.cdf(mu / s) - 1, 2 * norm.pdf(mu / s), True),
    }


@pytest.mark.parametrize("mu, sigma", POINTS)
def test_exact_gradient_matches_closed_forms(mu, sigma):
    for name, (text, d_mu, d_sigma, smooth) in closed_forms(mu, sigma).items():
        tol = 1e-6 if smooth else 1e-4
        got = core.exact_gradient(text, mu, sigma)
        for g, want in zip(got, (d_mu, d_sigma)):
            assert abs(g - want) <= tol * max(abs(want), 1e-3), (name, mu, sigma, got, (d_mu, d_sigma))


def test_exact_gradient_of_sigmoid_matches_scipy_quad():
    mu, sigma = 0.4, 1.3
    f = lambda x: 0.5 * (1 + np.tanh(x / 2))  # sigmoid, without overflow  # noqa: E731
    p = lambda x: norm.pdf(x, mu, sigma)  # noqa: E731
    d_mu = integrate.quad(lambda x: f(x) * p(x) * (x - mu) / sigma ** 2, -np.inf, np.inf, epsabs=1e-13)[0]
    d_sigma = integrate.quad(lambda x: f(x) * p(x) * ((x - mu) ** 2 / sigma ** 3 - 1 / sigma), -np.inf, np.inf, epsabs=1e-13)[0]
    got = core.exact_gradient("sigmoid(x)", mu, sigma)
    np.testing.assert_allclose(got, (d_mu, d_sigma), rtol=1e-7)


def test_exact_value_of_a_step_is_the_normal_cdf():
    assert core.exact_value("x > 0.2", 0.5, 0.8) == pytest.approx(norm.cdf(0.3 / 0.8), rel=1e-12)


@pytest.mark.parametrize("text", ["1/x", "exp(x**2)", "sqrt(x)", "log(x)"])
def test_nonexistent_expectations_are_nan_not_a_number(text):
    d_mu, d_sigma = core.exact_gradient(text, 0.1, 1.0)
    assert math.isnan(d_mu) and math.isnan(d_sigma)


def test_pathwise_expectation_misses_the_jump():
    # The pathwise estimator's mean on a step is 0; the truth is φ(μ/σ)/σ.
    assert core.pathwise_expectation("x > 0", 0.3, 0.7) == (0.0, 0.0)
    assert core.exact_gradient("x > 0", 0.3, 0.7)[0] > 0.5


def quadratic_variances(mu, s):
    """Exact single-sample variances for f = x² from Gaussian moments (independent of core)."""
    f = {0: mu * mu, 1: 2 * mu * s, 2: s * s}  # f(μ + σε) as a polynomial in ε
    g_mu, g_sigma = 2 * mu, 2 * s
    path_mu = {0: 2 * mu, 1: 2 * s}  # f'(x)
    path_sigma = poly_mul(path_mu, {1: 1.0})  # f'(x) ε
    score_mu = poly_mul(f, {1: 1 / s})
    score_sigma = poly_mul(f, {2: 1 / s, 0: -1 / s})

    def var(p, mean):
        return poly_expectation(poly_mul(p, p)) - mean ** 2

    return {
        "pathwise": (var(path_mu, g_mu), var(path_sigma, g_sigma)),
        "score": (var(score_mu, g_mu), var(score_sigma, g_sigma)),
        "mvd": (mu * mu * (16 / math.pi - 4), None),
        "finite_difference": (var(path_mu, g_mu), var(path_sigma, g_sigma)),  # exact for quadratics
    }


@pytest.mark.parametrize("mu, sigma", [(1.0, 1.0), (0.7, 1.3), (-0.4, 0.5)])
def test_exact_variances_of_a_quadratic(mu, sigma):
    got = core.exact_variances("x**2", mu, sigma)
    for name, (v_mu, v_sigma) in quadratic_variances(mu, sigma).items():
        assert got[name][0] == pytest.approx(v_mu, rel=1e-9, abs=1e-12), name
        if v_sigma is not None:
            assert got[name][1] == pytest.approx(v_sigma, rel=1e-9, abs=1e-12), name
    # The textbook numbers at μ = σ = 1: pathwise 4, score 30.
    if (mu, sigma) == (1.0, 1.0):
        assert got["pathwise"][0] == pytest.approx(4.0) and got["score"][0] == pytest.approx(30.0)
