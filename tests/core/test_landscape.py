"""Variance landscape: fixed-rule variances against adaptive quadrature, closed forms, crossings, Monte Carlo."""
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import core
from core.landscape import (LANDSCAPE_ESTIMATORS, LANDSCAPE_FUNCTIONS, crossings, objective_for,
                            single_sample_variances, sweep, winner_regions)


@pytest.mark.parametrize("function", list(LANDSCAPE_FUNCTIONS))
@pytest.mark.parametrize("k", [0.1, 1.0, 4.0, 10.0])
@pytest.mark.parametrize("mu, sigma", [(1.0, 1.0), (0.0, 0.3), (-2.0, 2.5)])
def test_fixed_rules_agree_with_adaptive_quadrature(function, k, mu, sigma):
    objective = objective_for(function, k)
    fast = single_sample_variances(objective, mu, sigma)
    slow = core.exact_variances(objective, mu, sigma)
    for name in LANDSCAPE_ESTIMATORS:
        for i in (0, 1):
            if math.isfinite(slow[name][i]):
                assert fast[name][i] == pytest.approx(slow[name][i], rel=1e-7, abs=1e-14), (name, i)


def cos_closed_forms(k, mu=1.0, s=1.0):
    """Single-sample ∂μ variances for f = cos(kx): pathwise and score function."""
    damp = math.exp(-k * k * s * s / 2)
    e_sin2 = (1 - math.cos(2 * k * mu) * math.exp(-2 * k * k * s * s)) / 2
    g = -k * math.sin(k * mu) * damp
    pathwise = k * k * e_sin2 - g * g
    # E[cos²(kx) ε²] = (1 + cos(2kμ)(1 − 4k²σ²) e^{−2k²σ²}) / 2
    score = (1 + math.cos(2 * k * mu) * (1 - 4 * k * k * s * s) * math.exp(-2 * k * k * s * s)) / 2 / s ** 2 - g * g
    return pathwise, score


@pytest.mark.parametrize("k", [0.3, 1.0, 2.5, 7.0])
def test_cos_variances_match_closed_forms(k):
    var = single_sample_variances(objective_for("cos", k), 1.0, 1.0)
    pathwise, score = cos_closed_forms(k)
    assert var["pathwise"][0] == pytest.approx(pathwise, rel=1e-10)
    assert var["score"][0] == pytest.approx(score, rel=1e-10)


def test_crossing_point_matches_root_finding_on_the_closed_forms():
    root = brentq(lambda k: math.log(cos_closed_forms(k)[0]) - math.log(cos_closed_forms(k)[1]), 0.5, 2.0, xtol=1e-14)
    sw = sweep("cos", "k", np.geomspace(0.1, 10.0, 60))
    found = crossings(sw, "pathwise", "score", 0)
    assert len(found) == 1 and found[0] == pytest.approx(root, rel=1e-9)
    regions = winner_regions(sw, "pathwise", "score", 0, found)
    assert regions[0][2] == "pathwise" and regions[-1][2] == "score"  # pathwise wins only for small k


def test_quadratic_never_crosses_pathwise_wins():
    sw = sweep("xk2", "k", np.geomspace(0.1, 10.0, 30))
    assert crossings(sw, "pathwise", "score", 0) == []
    assert winner_regions(sw, "pathwise", "score", 0, [])[0][2] == "pathwise"
    # Score-function variance grows like k^4 for (x - k)^2.
    v = sw.var["score"][:, 0]
    assert v[-1] / v[-5] == pytest.approx((sw.values[-1] / sw.values[-5]) ** 4, rel=0.15)


def test_monte_carlo_agrees_with_the_landscape():
    objective = objective_for("gauss", 3.0)
    exact = single_sample_variances(objective, 1.0, 1.0)
    res = core.estimate(objective, 1.0, 1.0, L=1, reps=200_000, seed=0, estimators=list(LANDSCAPE_ESTIMATORS))
    for name in LANDSCAPE_ESTIMATORS:
        for i, values in enumerate((res[name].d_mu, res[name].d_sigma)):
            if name == "score_optimal":
                continue  # estimated baseline, covered in test_estimators
            c = values - values.mean()
            se = math.sqrt((np.mean(c ** 4) - np.var(values) ** 2) / values.size)
            assert abs(values.var() - exact[name][i]) < 5 * se, (name, i)


def test_non_smooth_objective_is_refused():
    with pytest.raises(ValueError):
        single_sample_variances("x > 0", 0.0, 1.0)


@pytest.mark.parametrize("k", [-3.0, -1.5, 0.0, 1.0, 3.0])
@pytest.mark.parametrize("sigma", [0.05, 1.0, 3.0])
def test_a_touch_is_not_a_crossing(k, sigma):
    """Issue 25: for f = (x − k)², ∂σ, the variances 4d² + 8σ² (pathwise) and 16d² + 8σ² (measure-valued,
    uncoupled), d = μ − k, only touch at d = 0, and 'curves cross at 3' was printed for k = 3."""
    from core.landscape import crossings, sweep
    values = np.linspace(-3.0, 3.0, 61)  # the page's μ grid: d = 0 sits on it
    sw = sweep("xk2", "mu", values, mu=1.0, sigma=sigma, k=k)
    d = values - k
    assert np.all(16 * d ** 2 + 8 * sigma ** 2 >= 4 * d ** 2 + 8 * sigma ** 2)  # the closed forms never cross
    assert crossings(sw, "pathwise", "mvd_uncoupled", 1, mu=1.0, sigma=sigma, k=k) == []
