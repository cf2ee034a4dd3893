"""Reparameterization: ε → z, rsample derivatives against formulas (closed-form and implicit), the ELBO."""
import math

import numpy as np
import pytest
from scipy.special import betainc

from core.reparam import FAMILIES, beta_cdf, elbo_estimates, elbo_exact, eps_to_z, family_checks
from tests.conftest import z_score


def test_same_eps_for_every_mu_and_sigma():
    e1, z1 = eps_to_z(0.0, 1.0, 50, seed=3)
    e2, z2 = eps_to_z(1.5, 0.4, 50, seed=3)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(z2, 1.5 + 0.4 * e1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rsample_derivatives_match_each_method_formula(seed):
    for check in family_checks(n=20, seed=seed):
        implicit = FAMILIES[check.family].method == "implicit"
        # torch's implicit gradients (Gamma, Beta) are approximations; the closed forms are exact.
        tol = 2e-3 if implicit else 1e-10
        assert check.max_rel_error < tol, (check.family, check.max_rel_error)


def test_implicit_formula_would_catch_a_wrong_sign():
    check = next(c for c in family_checks(n=20, seed=0) if c.family.startswith("Gamma"))
    assert np.all(np.abs(check.dz_autograd + check.dz_formula) > 0.1 * np.abs(check.dz_formula))


@pytest.mark.parametrize("a, b", [(0.5, 2.0), (1.0, 1.0), (1.5, 2.0), (3.0, 2.0), (7.2, 2.0)])
def test_beta_cdf_matches_scipy(a, b):
    z = np.array([1e-4, 0.01, 0.3, 0.5, 0.9, 0.9999])
    np.testing.assert_allclose(beta_cdf(z, a, b), betainc(a, b, z), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("x, s, mu, sigma", [(1.0, 0.5, 0.3, 0.8), (-2.0, 1.5, 1.0, 0.2)])
def test_elbo_closed_form_gradient_is_the_derivative(x, s, mu, sigma):
    h = 1e-6
    value, d_mu, d_sigma = elbo_exact(x, s, mu, sigma)
    fd_mu = (elbo_exact(x, s, mu + h, sigma)[0] - elbo_exact(x, s, mu - h, sigma)[0]) / (2 * h)
    fd_sigma = (elbo_exact(x, s, mu, sigma + h)[0] - elbo_exact(x, s, mu, sigma - h)[0]) / (2 * h)
    assert d_mu == pytest.approx(fd_mu, rel=1e-7) and d_sigma == pytest.approx(fd_sigma, rel=1e-7)


def test_elbo_estimator_is_unbiased_for_the_elbo_and_its_gradient():
    x, s, mu, sigma = 1.0, 0.5, 0.3, 0.8
    value, d_mu, d_sigma = elbo_exact(x, s, mu, sigma)
    elbo, g_mu, g_sigma = elbo_estimates(x, s, mu, sigma, L=3, reps=100_000, seed=1)
    for values, target in ((elbo, value), (g_mu, d_mu), (g_sigma, d_sigma)):
        z, se = z_score(values, target)
        assert abs(z) < 5 and 5 * se < 0.1 * abs(target)


def test_elbo_monte_carlo_against_a_brute_force_expectation():
    # E_q[log p(x|z)] by Gauss–Hermite, independent of the closed form.
    x, s, mu, sigma = 0.4, 0.7, -0.2, 1.1
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    z = mu + sigma * nodes
    loglik = -0.5 * np.log(2 * np.pi * s * s) - (x - z) ** 2 / (2 * s * s)
    expected = (weights @ loglik) / math.sqrt(2 * math.pi)
    kl = 0.5 * (sigma ** 2 + mu ** 2 - 1 - math.log(sigma ** 2))
    assert elbo_exact(x, s, mu, sigma)[0] == pytest.approx(expected - kl, rel=1e-12)
