"""Statistical tests of every estimator against the exact gradient.

Tolerances come from the standard error of the mean of independent replicates:
an unbiased estimator must land within 5 SE of the exact gradient. Each case also
checks its own power: 5 SE must be small against the gradient, so a wrong sign or a
missing factor of σ (σ ≠ 1 everywhere) would fail.
"""
import math

import numpy as np
import pytest

import core
from tests.conftest import z_score

UNBIASED = ["score", "score_loo", "score_optimal", "mvd", "mvd_uncoupled"]
CASES = [
    # objective, μ, σ — gradients well away from 0, σ ≠ 1
    ("x**2", 0.7, 1.3),
    ("cos(3*x)", 0.4, 0.8),
    ("x > 0.5", 0.3, 0.9),
    ("abs(x)", -0.4, 1.2),
    ("exp(-x**2)", 0.6, 0.7),
    ("x**3", -0.5, 1.4),
]
L, REPS = 4, 40_000


@pytest.fixture(scope="module")
def runs():
    return {case: core.estimate(case[0], case[1], case[2], L=L, reps=REPS, seed=11) for case in CASES}


# Pathwise is unbiased only for continuous f; on jumps see test_pathwise_is_blind_to_a_step.
PAIRS = [(case, name) for case in CASES for name in UNBIASED + ["pathwise"]
         if name != "pathwise" or core.parse_objective(case[0]).continuous]


@pytest.mark.parametrize("case, name", PAIRS, ids=[f"{c[0]}-{n}" for c, n in PAIRS])
def test_unbiased_estimators_hit_the_exact_gradient(runs, case, name):
    objective = core.parse_objective(case[0])
    exact = core.exact_gradient(objective, case[1], case[2])
    est = runs[case][name]
    for values, target in ((est.d_mu, exact[0]), (est.d_sigma, exact[1])):
        z, se = z_score(values, target)
        assert abs(z) < 5, (name, case, values.mean(), target, se)
        # Power: a flipped sign, or a gradient off by 30%, would be > 5 SE away.
        assert 5 * se < 0.3 * abs(target), (name, case, se, target)


def test_pathwise_is_blind_to_a_step():
    est = core.estimate("x > 0", 0.3, 0.7, L=10, reps=1000, seed=0, estimators=["pathwise"])["pathwise"]
    assert np.all(est.d_mu == 0) and np.all(est.d_sigma == 0)
    d_mu, d_sigma = core.exact_gradient("x > 0", 0.3, 0.7)
    assert d_mu > 0.5 and d_sigma < -0.2  # the truth is far from 0


@pytest.mark.parametrize("L_small", [2, 5])
def test_batch_mean_baseline_is_biased_by_one_minus_one_over_L(L_small):
    mu, sigma = 0.7, 1.3
    exact = np.array(core.exact_gradient("x**2", mu, sigma))
    est = core.estimate("x**2", mu, sigma, L=L_small, reps=200_000, seed=5,
                        estimators=["score_batchmean", "score_loo"])
    shrink = 1 - 1 / L_small
    for values, target in ((est["score_batchmean"].d_mu, exact[0]), (est["score_batchmean"].d_sigma, exact[1])):
        z_biased, _ = z_score(values, shrink * target)
        z_true, _ = z_score(values, target)
        assert abs(z_biased) < 5  # its mean is (1 − 1/L) ∇ ...
        assert abs(z_true) > 10  # ... and visibly not ∇
    # Leave-one-out is exactly L/(L−1) times the batch-mean estimate, sample by sample.
    np.testing.assert_allclose(est["score_loo"].d_mu, est["score_batchmean"].d_mu / shrink, rtol=1e-10, atol=1e-12)


def test_batch_mean_baseline_with_one_sample_is_identically_zero():
    est = core.estimate("x**2", 0.7, 1.3, L=1, reps=100, estimators=["score_batchmean"])["score_batchmean"]
    assert np.all(est.d_mu == 0)


def test_finite_differences_are_biased_by_h_squared_on_a_cubic():
    # E[((z+h)³ − (z−h)³) / 2h] = E[3z²] + h²: the bias is exactly h² in ∂μ.
    mu, sigma, h = 0.5, 1.2, 0.5
    exact = core.exact_gradient("x**3", mu, sigma)[0]
    est = core.estimate("x**3", mu, sigma, L=10, reps=100_000, seed=2, estimators=["finite_difference"],
                        fd_step=h)["finite_difference"]
    assert abs(z_score(est.d_mu, exact + h * h)[0]) < 5
    assert abs(z_score(est.d_mu, exact)[0]) > 10


def test_pathwise_is_per_replicate_autograd():
    # Central differences are exact for a quadratic and use the same ε: pathwise must equal them.
    est = core.estimate("x**2 - 3*x", 0.3, 1.7, L=7, reps=500, seed=4, estimators=["pathwise", "finite_difference"])
    np.testing.assert_allclose(est["pathwise"].d_mu, est["finite_difference"].d_mu, rtol=1e-9)
    np.testing.assert_allclose(est["pathwise"].d_sigma, est["finite_difference"].d_sigma, rtol=1e-9)
    assert est["pathwise"].d_mu.std() > 0.1  # and they are genuinely different per replicate


@pytest.mark.parametrize("text, mu, sigma", [("x**2", 1.0, 1.0), ("x > 0", 0.3, 0.7), ("cos(3*x)", 0.5, 1.5)])
def test_measured_variance_matches_exact_single_sample_variance(text, mu, sigma):
    exact = core.exact_variances(text, mu, sigma)
    est = core.estimate(text, mu, sigma, L=1, reps=200_000, seed=9)
    for name, (v_mu, v_sigma) in exact.items():
        for values, target in ((est[name].d_mu, v_mu), (est[name].d_sigma, v_sigma)):
            if not math.isfinite(target) or target == 0:
                continue
            if name == "score_optimal":
                continue  # estimated b differs slightly from the exact b*; checked below
            # SE of a sample variance: sqrt((m4 − v²)/n).
            centred = values - values.mean()
            se = math.sqrt(max(np.mean(centred ** 4) - np.var(centred) ** 2, 1e-300) / values.size)
            assert abs(values.var() - target) < 5 * se, (name, values.var(), target, se)


def test_optimal_baseline_beats_plain_score_and_is_near_its_exact_variance():
    exact = core.exact_variances("x**2", 1.0, 1.0)
    est = core.estimate("x**2", 1.0, 1.0, L=1, reps=200_000, seed=3, estimators=["score", "score_optimal"])
    assert est["score_optimal"].d_mu.var() < 0.6 * est["score"].d_mu.var()
    assert est["score_optimal"].d_mu.var() == pytest.approx(exact["score_optimal"][0], rel=0.1)


def test_variance_falls_like_one_over_L():
    v1 = core.estimate("cos(3*x)", 0.5, 1.0, L=1, reps=50_000, seed=1)["score"].d_mu.var()
    v16 = core.estimate("cos(3*x)", 0.5, 1.0, L=16, reps=50_000, seed=1)["score"].d_mu.var()
    assert v1 / v16 == pytest.approx(16, rel=0.05)


def test_same_seed_same_numbers_and_independent_of_the_selection():
    a = core.estimate("sin(x)", 0.2, 0.9, L=5, reps=300, seed=42)
    b = core.estimate("sin(x)", 0.2, 0.9, L=5, reps=300, seed=42, estimators=["mvd", "score"])
    c = core.estimate("sin(x)", 0.2, 0.9, L=5, reps=300, seed=43, estimators=["score"])
    for name in ("mvd", "score"):
        np.testing.assert_array_equal(a[name].d_mu, b[name].d_mu)
        np.testing.assert_array_equal(a[name].d_sigma, b[name].d_sigma)
    assert not np.array_equal(a["score"].d_mu, c["score"].d_mu)


def test_outputs_are_float64_arrays_of_shape_reps():
    out = core.estimate("x", 0.0, 1.0, L=3, reps=17)
    assert set(out) == set(core.ESTIMATORS)
    for e in out.values():
        assert e.d_mu.shape == (17,) and e.d_mu.dtype == np.float64
        assert e.f_evals == core.ESTIMATORS[e.name].evals_per_sample * 3
        assert e.seconds >= 0


def test_leave_one_out_needs_two_samples():
    assert "score_loo" not in core.estimate("x", 0.0, 1.0, L=1, reps=10)
    with pytest.raises(ValueError, match="L ≥ 2"):
        core.estimate("x", 0.0, 1.0, L=1, reps=10, estimators=["score_loo"])


@pytest.mark.parametrize("kwargs", [dict(L=0, reps=10), dict(L=10, reps=0), dict(L=10_000, reps=10_000)])
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError):
        core.estimate("x", 0.0, 1.0, **kwargs)


@pytest.mark.parametrize("mu, sigma", [(0.0, 0.0), (0.0, -1.0), (math.inf, 1.0), (math.nan, 1.0)])
def test_bad_parameters_are_refused(mu, sigma):
    with pytest.raises(ValueError):
        core.estimate("x", mu, sigma, L=2, reps=2)
    with pytest.raises(ValueError):
        core.exact_gradient("x", mu, sigma)
