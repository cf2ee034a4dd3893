"""Weight-noise estimators: unbiased against the closed-form minibatch gradient; variance against B."""
import numpy as np
import pytest
import torch

from core.estimators import seeded_generator
from core.weight_noise import (WEIGHT_NOISE_METHODS, elbo_full, exact_minibatch_gradient, gradient_samples,
                               make_data, train_methods, variance_by_batch)


@pytest.mark.parametrize("method", list(WEIGHT_NOISE_METHODS))
def test_every_method_is_unbiased_for_the_minibatch_gradient(method):
    x, y, _ = make_data()
    mu = torch.linspace(-0.5, 0.5, 8, dtype=torch.float64)
    ls = torch.linspace(-1.5, 0.0, 8, dtype=torch.float64)
    R, B = 100_000, 16
    xb, yb = x[:B][None].expand(R, B, 8), y[:B][None].expand(R, B)
    exact = exact_minibatch_gradient(x[:B], y[:B], mu, ls)
    g_mu, g_ls = gradient_samples(method, xb, yb, mu, ls, seeded_generator(0, 7))
    for g, target in ((g_mu, exact[0]), (g_ls, exact[1])):
        mean, se = g.mean(0).numpy(), (g.std(0) / np.sqrt(R)).numpy()
        assert np.all(np.abs(mean - target) < 5 * se), (method, mean, target)
        assert np.all(5 * se < 0.3 * np.abs(target) + 1e-9)  # power: a sign error would show


def test_variance_against_batch_size():
    B = (16, 256)
    v = variance_by_batch(B, reps=800, seed=1)
    ratio = {m: (d["mu"][0] / d["mu"][1], d["log_sigma"][0] / d["log_sigma"][1]) for m, d in v.items()}
    for m in ("local", "independent"):
        assert ratio[m][0] == pytest.approx(16, rel=0.3) and ratio[m][1] == pytest.approx(16, rel=0.3)
    assert ratio["flipout"][0] == pytest.approx(16, rel=0.3)  # μ: falls like 1/B
    assert ratio["shared"][0] < 4  # the shared weight noise does not average out
    assert ratio["flipout"][1] < 4  # the Δ² terms of the σ-gradient are shared too
    assert v["shared"]["mu"][1] > 3 * v["local"]["mu"][1]


def test_training_improves_the_elbo_with_every_method():
    x, y, _ = make_data()
    out = train_methods(steps=150, batch=16, seed=0)
    for m, h in out.items():
        assert h[-1] > h[0] + 1000, m  # from about −4,500 to about −500
    best = max(h[-1] for h in out.values())
    assert all(h[-1] > best - 50 for h in out.values())
    mu = torch.linspace(-1, 1, 8, dtype=torch.float64)
    assert elbo_full(x, y, mu, torch.full((8,), -3.0, dtype=torch.float64)) > out["local"][0]


def test_time_per_estimate_is_a_median_per_method():
    from core.weight_noise import WEIGHT_NOISE_METHODS, time_per_estimate

    t = time_per_estimate(16, repeats=3, reps=10)
    assert set(t) == set(WEIGHT_NOISE_METHODS) and all(v > 0 for v in t.values())
