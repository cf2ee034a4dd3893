"""Baselines: the variance parabola, b*, and the bias of baselines that see their own sample."""
import math

import numpy as np
import pytest

import core
from core.baselines import (BIAS_FACTOR, SEQUENTIAL, baseline_moments, constant_baseline, delta_method_cv,
                            sequential_baselines)
from tests.conftest import z_score

CASES = [("x**2", 0.7, 1.3), ("x > 0", 0.3, 0.7), ("cos(3*x)", 0.5, 1.5), ("(x - 1)**2", -0.5, 0.8)]


@pytest.mark.parametrize("text, mu, sigma", CASES)
def test_moments_agree_with_exact_gradient_and_variances(text, mu, sigma):
    m = baseline_moments(text, mu, sigma)
    np.testing.assert_allclose(m.g, core.exact_gradient(text, mu, sigma), rtol=1e-9, atol=1e-12)
    exact = core.exact_variances(text, mu, sigma)
    for i in (0, 1):
        assert m.variance(0.0, i) == pytest.approx(exact["score"][i], rel=1e-9)
        assert m.variance(m.b_star[i], i) == pytest.approx(exact["score_optimal"][i], rel=1e-9, abs=1e-12)
        # b* is the minimum of the parabola
        assert m.variance(m.b_star[i], i) <= m.variance(m.b_star[i] + 0.1, i)
        assert m.variance(m.b_star[i], i) <= m.variance(m.b_star[i] - 0.1, i)


def test_optimal_baselines_differ_between_mu_and_sigma_and_from_the_mean():
    m = baseline_moments("x**2", 0.7, 1.3)
    assert abs(m.b_star[0] - m.b_star[1]) > 1.0
    assert abs(m.b_star[0] - m.f_mean) > 1.0


def test_the_mean_can_be_a_worse_baseline_than_none():
    # A bump at the centre: f is large where the score is small, so E[f] > 2 b*_μ and
    # subtracting E[f] *raises* the variance of the μ-gradient.
    m = baseline_moments("exp(-x**2)", 0.0, 1.0)
    assert m.f_mean > 2 * m.b_star[0]
    assert m.variance(m.f_mean, 0) > 1.5 * m.variance(0.0, 0)


@pytest.mark.parametrize("b", [-3.0, 0.0, 5.0])
def test_constant_baseline_is_unbiased_and_on_the_parabola(b):
    text, mu, sigma = "x**2", 0.7, 1.3
    m = baseline_moments(text, mu, sigma)
    d_mu, d_sigma = constant_baseline(text, mu, sigma, b, L=1, reps=300_000, seed=4)
    for i, values in enumerate((d_mu, d_sigma)):
        z, se = z_score(values, m.g[i])
        assert abs(z) < 5 and 5 * se < 0.3 * abs(m.g[i])
        c = values - values.mean()
        var_se = math.sqrt((np.mean(c ** 4) - np.var(values) ** 2) / values.size)
        assert abs(values.var() - m.variance(b, i)) < 5 * var_se


@pytest.mark.parametrize("L, beta", [(2, 0.5), (3, 0.6)])
def test_sequential_baselines_bias_exactly_as_derived(L, beta):
    text, mu, sigma = "x**2", 0.7, 1.3
    g = core.exact_gradient(text, mu, sigma)
    out = sequential_baselines(text, mu, sigma, L=L, steps=600, chains=400, beta=beta, seed=7)
    for name, (d_mu, d_sigma) in out.items():
        factor = BIAS_FACTOR(name, L, beta)
        for values, target in ((d_mu, g[0]), (d_sigma, g[1])):
            # Steps in one chain are correlated only through the moving average; the SE of the
            # mean over chains × steps is still a fair yardstick for these long runs.
            z, se = z_score(values, factor * target)
            assert abs(z) < 5, (name, values.mean(), factor * target)
            if not SEQUENTIAL[name][1]:
                assert abs(z_score(values, target)[0]) > 8, name  # visibly biased


def test_delta_method_is_exact_for_a_quadratic_and_unbiased_otherwise():
    d_mu, d_sigma, c = delta_method_cv("x**2 - x", 0.7, 1.3, L=3, reps=1000)
    g = core.exact_gradient("x**2 - x", 0.7, 1.3)
    np.testing.assert_allclose(d_mu, g[0], atol=1e-9)  # the Taylor polynomial is f itself
    np.testing.assert_allclose(d_sigma, g[1], atol=1e-9)
    d_mu, d_sigma, _ = delta_method_cv("exp(-x**2)", 0.4, 0.9, L=3, reps=200_000, seed=3)
    g = core.exact_gradient("exp(-x**2)", 0.4, 0.9)
    assert abs(z_score(d_mu, g[0])[0]) < 5 and abs(z_score(d_sigma, g[1])[0]) < 5


def test_delta_method_refuses_a_step():
    with pytest.raises(ValueError):
        delta_method_cv("x > 0", 0.0, 1.0, L=2, reps=10)
