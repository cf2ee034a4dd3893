"""Seed 000's decomposition and the torch sampling demos, against closed forms."""
import math

import pytest

from core import exact_value
from core.blocking import (DECOMPOSITIONS, autograd_dot, conv_sampling_demo, decomposition,
                           naive_and_reparam_mc, sampling_demos)


@pytest.mark.parametrize("theta", [-1.3, 0.0, 0.7])
def test_decomposition_closed_forms(theta):
    t = theta
    expected = {
        # name: (true, naive, missing)
        "shift": (1.0, 0.0, 1.0),  # E = 1 + θ
        "scale": (1 + 3 * t * t, 1 + t * t, 2 * t * t),  # E = θ(1 + θ²)
        "density_only": (2 * t, 0.0, 2 * t),  # E = 1 + θ²
        "double_shift": (2 * t, 4 * t, -2 * t),  # E = 1 + θ²
    }
    for name, (true, naive, missing) in expected.items():
        d = decomposition(name, t)
        assert d.true == pytest.approx(true, abs=1e-10)
        assert d.naive == pytest.approx(naive, abs=1e-10)
        assert d.missing == pytest.approx(missing, abs=1e-10)


def test_true_gradient_is_the_derivative_of_the_expectation():
    # sin(θz): compare with a central difference of E[sin(θ z)], z ~ N(θ, 1), E by quadrature.
    theta, h = 0.7, 1e-5

    def value(t):
        return decomposition("sine", t).value

    fd = (value(theta + h) - value(theta - h)) / (2 * h)
    assert decomposition("sine", theta).true == pytest.approx(fd, rel=1e-7)
    # and the value agrees with the generic quadrature of the same expectation at fixed θ
    assert value(theta) == pytest.approx(exact_value(f"sin({theta}*x)", theta, 1.0), rel=1e-12)


def test_torch_through_sample_estimates_the_naive_term_and_rsample_the_truth():
    n = 100_000
    naive, reparam = naive_and_reparam_mc("shift", 0.7, n, seed=3)
    # Through .sample(): mean of −2(z − θ), variance 4 per sample → SE = 2/√n.
    assert abs(naive - 0.0) < 5 * 2 / math.sqrt(n)
    # Through .rsample(): d/dθ f(θ + ε, θ) = 1 exactly, for every sample.
    assert reparam == pytest.approx(1.0, abs=1e-12)


def test_sampling_demos_report_what_torch_does():
    mu, sigma = 0.5, 1.2
    d = sampling_demos(mu, sigma, seed=0)
    assert d["sample"]["requires_grad"] is False and d["sample"]["grad_fn"] is None
    assert "does not require grad" in d["sample"]["error"]
    for key in ("reparam", "rsample"):
        assert d[key]["d_mu"] == 1.0
        assert d[key]["d_sigma"] == pytest.approx(d[key]["eps"], abs=1e-12)
        assert d[key]["x"] == pytest.approx(mu + sigma * d[key]["eps"], abs=1e-12)
    # The silent bug: gradient of (x − μ)² + x w.r.t. μ with x detached is −2(x − μ), never the true 1.
    assert d["silent"]["d_mu"] == pytest.approx(-2 * (d["silent"]["x"] - mu), abs=1e-12)
    # log_prob(rsample()): μ cancels exactly, ∂/∂σ = −1/σ.
    assert d["logprob_rsample"]["d_mu"] == pytest.approx(0.0, abs=1e-12)
    assert d["logprob_rsample"]["d_sigma"] == pytest.approx(-1 / sigma, abs=1e-12)


def test_autograd_graphs_mark_parameters_and_untracked_inputs():
    d = sampling_demos(0.5, 1.2, seed=0)
    reparam = autograd_dot(d["reparam"]["tensor"], d["reparam"]["names"])
    assert reparam.startswith("digraph") and reparam.rstrip().endswith("}")
    assert "mu\\n(requires_grad)" in reparam and "sigma\\n(requires_grad)" in reparam
    assert "untracked input" in reparam and "MulBackward0" in reparam
    sample = autograd_dot(d["sample"]["tensor"], {})
    assert "no grad_fn" in sample


def test_seed_002_network_nan_and_its_fix():
    bad = conv_sampling_demo(0, "variance")
    assert bad["negative_inputs"] > 0 and bad["nan_in_z"] == bad["negative_inputs"]
    assert math.isnan(bad["loss"]) and math.isnan(bad["grad_norm_second"])
    good = conv_sampling_demo(0, "log_variance")
    assert good["finite"] and good["nan_in_z"] == 0
    assert good["grad_norm_mean"] > 0 and good["grad_norm_second"] > 0


def test_all_presets_have_consistent_terms():
    for name in DECOMPOSITIONS:
        d = decomposition(name, 0.3)
        assert d.true == pytest.approx(d.naive + d.missing, abs=1e-12)
