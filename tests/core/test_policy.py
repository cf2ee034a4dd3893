"""Policy gradients: exact bandit gradient/variance, two-step closed forms, training, the surrogate pitfall."""
import math

import numpy as np
import pytest

from core.policy import (bandit_exact_gradient, bandit_single_sample_variance, bandit_training, surrogate_pitfall,
                         two_step_monte_carlo, two_step_variances)
from tests.conftest import z_score

MEANS = (0.2, 0.5, 0.8, 0.4, 0.6)


def test_bandit_gradient_is_the_derivative_of_expected_reward():
    theta = np.array([0.3, -0.2, 0.1, 0.5, -0.4])
    h = 1e-6
    g = bandit_exact_gradient(theta, MEANS)
    for j in range(5):
        e = np.eye(5)[j] * h
        up = np.exp(theta + e) / np.exp(theta + e).sum() @ np.array(MEANS)
        down = np.exp(theta - e) / np.exp(theta - e).sum() @ np.array(MEANS)
        assert g[j] == pytest.approx((up - down) / (2 * h), rel=1e-6)


@pytest.mark.parametrize("b", [0.0, 0.55, 3.0])
def test_bandit_single_sample_variance_against_monte_carlo(b):
    theta = np.array([0.3, -0.2, 0.1, 0.5, -0.4])
    # Enough draws that the mean check has power in every coordinate: θ1's gradient is only 0.0045,
    # and with b = 3 its single-sample variance is 0.91, so 5 SE < |g|/2 needs 4.5 million
    # (at 400,000, 5 SE was 0.0075 and a flipped sign passed).
    noise, n = 1.0, 5_000_000
    rng = np.random.default_rng(0)
    pi = np.exp(theta) / np.exp(theta).sum()
    a = rng.choice(5, size=n, p=pi)
    r = np.array(MEANS)[a] + noise * rng.standard_normal(n)
    exact = bandit_single_sample_variance(theta, MEANS, noise, b)
    gradient = bandit_exact_gradient(theta, MEANS)
    for j in range(5):
        x = (r - b) * ((a == j) - pi[j])  # one coordinate at a time: 40 MB, not 200
        c = x - x.mean()
        se = math.sqrt((np.mean(c ** 4) - x.var() ** 2) / n)
        assert abs(x.var() - exact[j]) < 5 * se
        z, se_mean = z_score(x, gradient[j])
        assert abs(z) < 5
        assert 5 * se_mean < abs(gradient[j]) / 2, (j, se_mean, gradient[j])  # a sign flip or a factor 2 fails


def test_an_offset_inflates_variance_without_a_baseline_but_not_with_one():
    theta = np.zeros(5)
    shifted = np.array(MEANS) + 5.0
    v0 = bandit_single_sample_variance(theta, MEANS, 1.0, 0.0).sum()
    v5 = bandit_single_sample_variance(theta, shifted, 1.0, 0.0).sum()
    v5b = bandit_single_sample_variance(theta, shifted, 1.0, float(shifted.mean())).sum()
    assert v5 > 10 * v0 and v5b == pytest.approx(bandit_single_sample_variance(theta, MEANS, 1.0, float(np.mean(MEANS))).sum())


def test_baselines_speed_up_learning_under_a_reward_offset():
    runs = bandit_training(MEANS, noise=1.0, steps=150, batch=8, lr=0.2, chains=200, offset=5.0, seed=1)
    mid = {k: v[75].mean() for k, v in runs.items()}
    assert mid["loo"] > mid["none"] + 0.02 and mid["ema_after"] > mid["none"] + 0.02
    assert all(v[0].mean() == pytest.approx(np.mean(MEANS)) for v in runs.values())


@pytest.mark.parametrize("theta, c", [(0.3, 0.0), (-1.2, 2.0), (2.5, 5.0)])
def test_two_step_closed_forms(theta, c):
    ex = two_step_variances(theta, c)
    p = 1 / (1 + math.exp(-theta))
    assert ex["gradient"] == pytest.approx(2 * p * (1 - p))
    assert ex["mean_full"] == pytest.approx(ex["gradient"]) and ex["mean_rtg"] == pytest.approx(ex["gradient"])
    assert ex["var_rtg"] < ex["var_full"]
    mc = two_step_monte_carlo(theta, c, 400_000, seed=3)
    for key, var in (("full", ex["var_full"]), ("rtg", ex["var_rtg"])):
        x = mc[key]
        c_ = x - x.mean()
        se = math.sqrt((np.mean(c_ ** 4) - x.var() ** 2) / x.size)
        assert abs(x.var() - var) < 5 * se
        assert abs(z_score(x, ex["gradient"])[0]) < 5


def test_surrogate_loss_falls_while_the_true_reward_drops():
    out = surrogate_pitfall(MEANS, noise=1.0, batch=8, steps=200, lr=0.5, seed=2)
    assert out["loss"][-1] < out["loss"][0] - 1.0
    assert out["reward"][-1] < out["reward"][0] - 0.1
