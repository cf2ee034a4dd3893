"""Discrete estimators against exact enumeration; the biased ones shown biased where theory says."""
import math

import numpy as np
import pytest
import torch

from core.discrete import (DISCRETE_ESTIMATORS, binary_relaxed_moments, descent_race, estimate_discrete,
                           exact_discrete_gradient, exact_discrete_value, gumbel_max_frequencies,
                           hard_gumbel_softmax_jacobians, parse_values, soft_samples, straight_through_moments)
from core.discrete import _BINARY_ONLY
from tests.conftest import z_score

UNBIASED = [n for n, (_, ok) in DISCRETE_ESTIMATORS.items() if ok]
CASES = [
    ("(x - 0.45)**2", (0.0, 1.0), (0.0, 0.3)),  # the classic Bernoulli toy
    ("sin(3*x)", (0.0, 1.0), (0.1, 0.5)),
    ("x**2 + x", (-1.0, 0.5, 2.0), (0.2, -0.5, 1.0)),
    ("exp(x)", (-1.0, 0.0, 1.0, 2.0), (0.3, 0.0, -0.4, 0.6)),
]


def test_exact_gradient_is_the_derivative_of_the_enumerated_expectation():
    for text, values, logits in CASES:
        g = exact_discrete_gradient(text, logits, values)
        h = 1e-6
        for j in range(len(logits)):
            up = list(logits); up[j] += h
            down = list(logits); down[j] -= h
            fd = (exact_discrete_value(text, up, values) - exact_discrete_value(text, down, values)) / (2 * h)
            assert g[j] == pytest.approx(fd, rel=1e-6, abs=1e-10)
        assert abs(g.sum()) < 1e-12  # softmax is shift-invariant


@pytest.mark.parametrize("text, values, logits", CASES)
def test_unbiased_estimators_hit_the_enumerated_gradient(text, values, logits):
    exact = exact_discrete_gradient(text, logits, values)
    names = [n for n in UNBIASED if n not in _BINARY_ONLY or len(values) == 2]
    res = estimate_discrete(text, logits, values, L=4, reps=100_000, seed=3, estimators=names)
    for name in names:
        for j in range(len(values)):
            z, se = z_score(res[name][:, j], exact[j])
            assert abs(z) < 5, (name, j, res[name][:, j].mean(), exact[j])
            assert 5 * se < 0.3 * abs(exact[j]), (name, j, se)  # power: a wrong sign would fail


def test_straight_through_is_biased_with_the_wrong_sign_on_the_toy():
    text, values, logits = "sin(3*x)", (0.0, 1.0), (0.1, 0.5)
    exact = exact_discrete_gradient(text, logits, values)
    st_mean, st_var = straight_through_moments(text, logits, values)
    assert np.all(np.sign(st_mean) == -np.sign(exact))
    est = estimate_discrete(text, logits, values, L=1, reps=200_000, seed=1, estimators=["straight_through"])
    z, _ = z_score(est["straight_through"][:, 1], st_mean[1])
    assert abs(z) < 5  # the estimator's mean is the straight-through expectation ...
    assert abs(z_score(est["straight_through"][:, 1], exact[1])[0]) > 20  # ... not the gradient
    assert est["straight_through"][:, 1].var() == pytest.approx(st_var[1], rel=0.02)


def test_straight_through_on_the_bernoulli_toy_has_its_stationary_point_at_p_045():
    # E[ST] ∝ (2p − 0.9): zero at p = 0.45, while the true optimum of E[(x − 0.45)²] is p = 0.
    logit = math.log(0.45 / 0.55)
    st_mean, _ = straight_through_moments("(x - 0.45)**2", (0.0, logit), (0.0, 1.0))
    assert abs(st_mean[1]) < 1e-12
    # ... while the true gradient there is clearly positive: E[f] still falls as p falls.
    assert exact_discrete_gradient("(x - 0.45)**2", (0.0, logit), (0.0, 1.0))[1] > 0.01


@pytest.mark.parametrize("tau", [0.05, 0.5, 3.0])
def test_binary_relaxed_moments_match_monte_carlo(tau):
    text, values, logits = "(x - 0.45)**2", (0.0, 1.0), (0.0, 0.3)
    exact = binary_relaxed_moments(text, logits, values, tau)
    res = estimate_discrete(text, logits, values, L=1, reps=300_000, seed=5, tau=tau,
                            estimators=["gumbel_softmax", "st_gumbel_softmax"])
    for name, (mean, var) in exact.items():
        z, _ = z_score(res[name][:, 1], mean[1])
        assert abs(z) < 5, (name, tau)
        assert res[name][:, 1].var() == pytest.approx(var[1], rel=0.05)


def test_gumbel_softmax_bias_falls_and_variance_rises_as_tau_falls():
    text, values, logits = "(x - 0.45)**2", (0.0, 1.0), (0.0, 0.3)
    exact = exact_discrete_gradient(text, logits, values)[1]
    taus = [3.0, 1.0, 0.3, 0.1, 0.03, 0.01]
    moments = [binary_relaxed_moments(text, logits, values, t)["gumbel_softmax"] for t in taus]
    bias = [abs(m[0][1] - exact) for m in moments]
    var = [m[1][1] for m in moments]
    # Below τ ≈ 0.3 the bias shrinks steadily (above, it changes sign between τ = 3 and τ = 1) ...
    assert all(b1 > b2 for b1, b2 in zip(bias[2:], bias[3:]))
    assert bias[-1] < 0.1 * bias[2]
    # ... while the variance grows at every step down.
    assert all(v1 < v2 for v1, v2 in zip(var, var[1:]))
    assert var[-1] > 100 * var[1]
    assert bias[0] > 1e-2  # at a warm temperature the bias is as large as the gradient itself


def _st_gumbel_softmax_reference(values, logits, tau, n, seed):
    """What straight-through Gumbel-softmax averages to, from a separate numpy implementation:
    z = θ + g, forward x = v_argmax(z), backward through y = softmax(z/τ):
    ĝ_j = f'(x) Σ_i v_i y_i (δ_ij − y_j)/τ, with f = x² + x (f' = 2x + 1). Mean and SE per θ_j."""
    rng = np.random.default_rng(seed)
    v, theta = np.array(values), np.array(logits)
    z = theta + rng.gumbel(size=(n, v.size))
    x = v[np.argmax(z, axis=1)]
    y = np.exp((z - z.max(axis=1, keepdims=True)) / tau)
    y /= y.sum(axis=1, keepdims=True)
    yv = y @ v
    g = (2 * x + 1)[:, None] * y * (v[None, :] - yv[:, None]) / tau
    return g.mean(axis=0), g.std(axis=0, ddof=1) / math.sqrt(n)


def test_gumbel_rao_has_the_mean_of_straight_through_gumbel_with_less_variance():
    """Both against an independent implementation of straight-through Gumbel-softmax's mean (they
    used to be compared only with each other, so a shared error passed)."""
    text, values, logits = "x**2 + x", (-1.0, 0.5, 2.0), (0.2, -0.5, 1.0)
    res = estimate_discrete(text, logits, values, L=1, reps=200_000, seed=2, tau=0.5,
                            estimators=["st_gumbel_softmax", "gumbel_rao"])
    ref, ref_se = _st_gumbel_softmax_reference(values, logits, 0.5, 2_000_000, seed=11)
    for j in range(3):
        a, b = res["st_gumbel_softmax"][:, j], res["gumbel_rao"][:, j]
        for name, x in (("st_gumbel_softmax", a), ("gumbel_rao", b)):
            se = math.sqrt(x.var() / x.size + ref_se[j] ** 2)
            assert abs(x.mean() - ref[j]) < 5 * se, (name, j, x.mean(), ref[j], se)
            assert 5 * se < abs(ref[j]) / 2, (name, j, se, ref[j])  # a sign flip or a factor 2 would fail
        assert b.var() < a.var()


def test_small_tau_is_safe_and_bad_tau_is_refused():
    res = estimate_discrete("(x - 0.45)**2", (0.0, 0.3), (0.0, 1.0), L=3, reps=500, tau=0.01)
    assert all(np.isfinite(a).all() for a in res.values())
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            estimate_discrete("x", (0.0, 0.3), (0.0, 1.0), L=1, reps=1, tau=bad)


def test_argmax_of_gumbel_perturbed_logits_is_an_exact_sample():
    logits = (0.1, 1.0, -0.5)
    n = 200_000
    freq, plain, pi = gumbel_max_frequencies(logits, n, seed=4)
    se = np.sqrt(pi * (1 - pi) / n)
    assert np.all(np.abs(freq - pi) < 5 * se)
    assert plain.tolist() == [0.0, 1.0, 0.0]


def test_soft_samples_approach_the_argmax_vertex():
    soft, hard = soft_samples((0.1, 1.0, -0.5), [5.0, 1.0, 0.1, 0.01], seed=0)
    distances = np.abs(soft - hard).sum(axis=1)
    assert np.all(np.diff(distances) < 0) and distances[-1] < 1e-6


def test_hard_gumbel_softmax_forward_is_one_hot_backward_is_soft():
    j = hard_gumbel_softmax_jacobians((0.1, 1.0, -0.5), 0.5, seed=3)
    assert sorted(j["forward_hard"].tolist()) == [0.0, 0.0, 1.0]
    assert j["forward_hard"].argmax() == j["forward_soft"].argmax()
    np.testing.assert_allclose(j["jacobian_hard"], j["jacobian_soft"], atol=1e-12)
    assert np.abs(j["jacobian_hard"]).max() > 1e-3  # gradients do flow


def test_descent_race_score_finds_the_optimum_straight_through_does_not():
    races = descent_race("(x - 0.45)**2", (0.0, 0.0), (0.0, 1.0), steps=250, lr=1.0, L=2, tau=0.5, chains=16,
                         seed=0, estimators=["score_loo", "straight_through", "disarm"])
    best = 0.45 ** 2
    assert races["score_loo"][-1].mean() < best + 0.01
    assert races["disarm"][-1].mean() < best + 0.01
    assert races["straight_through"][-1].mean() > best + 0.03  # stuck near p = 0.45


def test_descent_race_runs_every_estimator_on_its_own_chains():
    """Gumbel-Rao's runs are batched apart from the rest; every estimator still gets
    ``chains`` runs of ``steps`` + 1 values, starting at the exact E[f] of the start logits."""
    races = descent_race("x**2 + x", (0.2, -0.5, 1.0), (-1.0, 0.5, 2.0), steps=5, lr=0.1, L=3, tau=0.5, chains=4,
                         seed=1)
    assert list(races) == ["score", "score_loo", "straight_through", "gumbel_softmax", "st_gumbel_softmax",
                           "gumbel_rao"]
    start = exact_discrete_value("x**2 + x", (0.2, -0.5, 1.0), (-1.0, 0.5, 2.0))
    for runs in races.values():
        assert runs.shape == (6, 4)
        np.testing.assert_allclose(runs[0], start, rtol=1e-12)
        assert len(set(runs[-1])) == 4  # independent chains, independent draws


def test_shared_draws_and_seed_reproducibility():
    a = estimate_discrete("x**2", (0.2, -0.1, 0.4), (0.0, 1.0, 2.0), L=3, reps=50, seed=9)
    b = estimate_discrete("x**2", (0.2, -0.1, 0.4), (0.0, 1.0, 2.0), L=3, reps=50, seed=9, estimators=["score"])
    np.testing.assert_array_equal(a["score"], b["score"])
    assert set(a) == {"score", "score_loo", "straight_through", "gumbel_softmax", "st_gumbel_softmax", "gumbel_rao"}


@pytest.mark.parametrize("text, ok", [("0, 1", True), ("-1 0.5 2", True), ("1", False), ("a, b", False),
                                      ("1, 2, 3, 4, 5, 6, 7", False), ("1e400, 1", False), ("nan, 1", False)])
def test_parse_values(text, ok):
    if ok:
        assert len(parse_values(text)) >= 2
    else:
        with pytest.raises(ValueError):
            parse_values(text)


def test_binary_only_estimators_refuse_three_categories():
    with pytest.raises(ValueError):
        estimate_discrete("x", (0.0, 0.1, 0.2), (0.0, 1.0, 2.0), L=2, reps=2, estimators=["arm"])


def _autograd_reference(formula, values, logits, reps, L, seed, tau):
    """ST, Gumbel-softmax, ST Gumbel-softmax and Gumbel-Rao taped by autograd on the draws
    estimate_discrete makes for the same seed (its streams, in its order)."""
    from core.discrete import GUMBEL_RAO_SAMPLES, _generators, _gumbel
    from core.objective import parse_objective

    objective = parse_objective(formula)
    K = len(values)
    v = torch.tensor(values, dtype=torch.float64)
    theta = torch.tensor(logits, dtype=torch.float64).expand(reps, K).clone()
    gen, gen_rao, *_ = _generators(seed)
    gumbels = _gumbel((reps, L, K), gen)
    k = (theta[:, None, :] + gumbels).argmax(dim=-1)
    one_hot = torch.nn.functional.one_hot(k, K).to(torch.float64)
    # Gumbel-Rao's conditional Gumbels, in the textbook form (Paulus et al. 2020, eq. 8):
    # E ~ Exp(1), top = log Z − log E_k, others −log(E_i exp(−θ_i) + E_k / Z).
    m = GUMBEL_RAO_SAMPLES
    e = -torch.log(torch.rand((reps, K, m, L), generator=gen_rao, dtype=torch.float64).clamp_(1e-300, 1.0))
    e = e.permute(0, 3, 2, 1)  # (reps, L, m, K), from the (reps, K, m, L) draws
    th = theta[:, None, None, :]
    log_z = torch.logsumexp(th, -1, keepdim=True)
    index = k[:, :, None, None].expand(reps, L, m, 1)
    e_k = e.gather(-1, index)
    cond = (-torch.log(e * torch.exp(-th) + e_k * torch.exp(-log_z))).scatter(-1, index, log_z - torch.log(e_k))

    def taped(soft_of):
        leaf = theta.clone().requires_grad_(True)
        y = soft_of(leaf)
        objective(y @ v).mean(dim=1).sum().backward()
        return leaf.grad.numpy()

    def soft(leaf):
        return torch.softmax((leaf[:, None, :] + gumbels) / tau, dim=-1)

    def straight(s):
        return one_hot - s.detach() + s

    return {
        "straight_through": taped(lambda leaf: straight(torch.softmax(leaf, -1)[:, None, :])),
        "gumbel_softmax": taped(soft),
        "st_gumbel_softmax": taped(lambda leaf: straight(soft(leaf))),
        "gumbel_rao": taped(lambda leaf: straight(torch.softmax(
            (cond - theta[:, None, None, :] + leaf[:, None, None, :]) / tau, dim=-1).mean(dim=2))),
    }


@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0, 5.0])
@pytest.mark.parametrize("case", [("exp(x)*sin(2*x)", (0.0, 1.0, 2.5, -1.0), (0.1, -0.3, 0.7, 0.0)),
                                  ("(x - 0.45)**2", (0.0, 1.0), (0.0, 0.3)),
                                  ("abs(x - 0.5)", (0.0, 1.0, 2.0), (0.0, 0.1, -0.2))])
def test_written_out_softmax_jacobians_match_autograd_on_the_same_draws(case, tau):
    """Straight-through and the Gumbel estimators write out the softmax Jacobian instead of
    taping it; autograd through the same draws gives the same estimates."""
    formula, values, logits = case
    reps, L, seed = 300, 4, 11
    want = _autograd_reference(formula, values, logits, reps, L, seed, tau)
    got = estimate_discrete(formula, logits, values, L=L, reps=reps, seed=seed, tau=tau, estimators=list(want))
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_blocks_change_memory_not_the_estimates(monkeypatch):
    """Replicates are taken a block at a time (Gumbel-Rao's conditional draws a sub-block
    at a time); the block size changes the memory held, not the estimates."""
    import core.discrete as discrete

    for args in (("x**2 + x", (0.2, -0.5, 1.0), (-1.0, 0.5, 2.0)), ("sin(3*x)", (0.1, 0.5), (0.0, 1.0))):
        whole = estimate_discrete(args[0], args[1], args[2], L=3, reps=50, seed=4, tau=0.3)
        assert 50 * 3 * 3 * discrete.GUMBEL_RAO_SAMPLES <= discrete.DISCRETE_BLOCK  # one block
        monkeypatch.setattr(discrete, "DISCRETE_BLOCK", 63)  # 7 or 10 rows a block, 1 for Gumbel-Rao
        blocks = estimate_discrete(args[0], args[1], args[2], L=3, reps=50, seed=4, tau=0.3)
        monkeypatch.undo()
        assert set(whole) == set(blocks)
        for name in whole:
            np.testing.assert_allclose(blocks[name], whole[name], rtol=1e-13, atol=1e-15, err_msg=name)
