"""Generated PyTorch snippets run on their own and give the numbers core computes."""
import contextlib
import io
import math

import numpy as np
import pytest
import torch

import core
from core.objective import torch_source
from core.snippets import baseline_snippet, estimators_snippet

FORMULAS = ["cos(3*x) + x**2", "x > 0", "-1 < x < 1", "(x > -1) and (x < 1) or x > 2", "not (x > 0)",
            "min(x, 1) + max(x, 0, -1)", "where(x > 0, x, 2)", "step(x - 1)", "sigmoid(x) * softplus(x)",
            "abs(x) + relu(x) + sign(x)", "3", "pi * e + arctan(x)", "cosh(x) + sinh(x) + log1p(x**2) + erf(x)"]


def run(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<snippet>", "exec"), {})  # our own generated code, never user input
    return out.getvalue()


@pytest.mark.parametrize("text", FORMULAS)
def test_torch_source_matches_the_parsed_objective(text):
    ns: dict = {}
    exec(torch_source(text), ns)
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    torch.testing.assert_close(ns["f"](x), core.parse_objective(text)(x))


def test_torch_source_refuses_what_the_parser_refuses():
    with pytest.raises(ValueError):
        torch_source("__import__('os')")


@pytest.mark.parametrize("text, mu, sigma", [("cos(3*x) + x**2", 0.5, 1.0), ("x > 0", 0.3, 0.7)])
def test_estimators_snippet_prints_unbiased_estimates(text, mu, sigma):
    L = 400_000
    lines = run(estimators_snippet(text, mu, sigma, L, seed=1)).splitlines()
    exact = core.exact_gradient(text, mu, sigma)
    var = core.exact_variances(text, mu, sigma)
    score = [float(v) for v in lines[1].split(":")[1].split()]
    for i in (0, 1):
        assert abs(score[i] - exact[i]) < 5 * math.sqrt(var["score"][i] / L)
    pathwise = [float(v) for v in lines[0].split(":")[1].split()]
    if core.parse_objective(text).continuous:
        for i in (0, 1):
            assert abs(pathwise[i] - exact[i]) < 5 * math.sqrt(var["pathwise"][i] / L)
    else:
        assert pathwise == [0.0, 0.0]


def test_baseline_snippet_prints_an_unbiased_estimate():
    text, mu, sigma, b, L = "(x - 1)**2", 0.5, 1.0, 2.0, 400_000
    lines = run(baseline_snippet(text, mu, sigma, b, L, seed=2)).splitlines()
    est = [float(v) for v in lines[0].split(":")[1].split()]
    from core.baselines import baseline_moments
    m = baseline_moments(text, mu, sigma)
    for i in (0, 1):
        assert abs(est[i] - m.g[i]) < 5 * math.sqrt(m.variance(b, i) / L)


def test_decomposition_snippet_prints_exactly_what_the_page_shows():
    from core.blocking import DECOMPOSITIONS, decomposition_snippet, naive_and_reparam_mc
    for name in DECOMPOSITIONS:
        lines = run(decomposition_snippet(name, 0.4, 500, seed=3)).splitlines()
        printed = [float(line.split()[1]) for line in lines]
        assert printed == pytest.approx(list(naive_and_reparam_mc(name, 0.4, 500, seed=3)), rel=1e-12)


@pytest.mark.parametrize("text, mu, sigma", [("cos(3.0*x)", 1.0, 1.0), ("exp(-2.0*x**2)", 0.5, 0.8)])
def test_variance_snippet_agrees_with_the_exact_landscape(text, mu, sigma):
    from core.landscape import single_sample_variances
    from core.snippets import variance_snippet
    n = 200_000
    lines = run(variance_snippet(text, mu, sigma, n=n, seed=5)).splitlines()
    exact = single_sample_variances(text, mu, sigma)
    for line, name in zip(lines, ("pathwise", "score")):
        got = [float(v) for v in line.split(":")[1].split()]
        for i in (0, 1):
            # Relative SE of a sample variance is about sqrt((kurtosis - 1)/n); allow 10 / sqrt(n) generously.
            assert got[i] == pytest.approx(exact[name][i], rel=max(0.05, 10 / math.sqrt(n)))


def test_discrete_snippet_matches_enumeration_and_straight_through_expectation():
    from core.discrete import exact_discrete_gradient, straight_through_moments
    from core.snippets import discrete_snippet
    text, logits, values, n = "sin(3*x)", [0.1, 0.5], [0.0, 1.0], 200_000
    lines = run(discrete_snippet(text, logits, values, n=n, seed=1)).splitlines()
    score = np.array(eval_list(lines[0]))
    st = np.array(eval_list(lines[1]))
    exact = exact_discrete_gradient(text, logits, values)
    st_mean, st_var = straight_through_moments(text, logits, values)
    assert np.all(np.abs(score - exact) < 0.01) and np.all(np.sign(score) == np.sign(exact))
    assert np.all(np.abs(st - st_mean) < 5 * np.sqrt(st_var / n))


def test_reinforce_snippet_matches_the_exact_policy_gradient():
    from core.policy import bandit_exact_gradient
    from core.snippets import reinforce_snippet
    means = [0.2, 0.5, 0.8, 0.4, 0.6]
    lines = run(reinforce_snippet(means, 0.0, 1.0, n=400_000, seed=2)).splitlines()
    exact = bandit_exact_gradient(np.zeros(5), means)
    for line in lines:
        assert np.all(np.abs(np.array(eval_list(line)) - exact) < 0.01)


def test_flipout_snippet_is_unbiased():
    from core.snippets import flipout_snippet
    lines = run(flipout_snippet(reps=20_000, seed=3)).splitlines()
    est, exact, se = (np.array(eval_list(line)) for line in lines[:3])
    assert np.all(np.abs(est - exact) < 5 * se), (est, exact, se)
    # Power: a sign flip or a factor of 2 in any coordinate would be caught (|exact| ≫ 5 SE), even for
    # the smallest ones (0.054, 0.101), which a tolerance of 5 % of the largest (0.229) let through.
    assert np.all(np.abs(exact) > 5 * se), (exact, se)


def test_vae_snippet_runs_and_shows_the_noisier_score_gradient():
    from core.snippets import vae_snippet
    lines = run(vae_snippet()).splitlines()
    elbo = float(lines[0].split(":")[1])
    g_path, g_score = (float(line.split(":")[1]) for line in lines[1:3])
    assert -80 < elbo < -20 and g_score > g_path


def eval_list(line: str) -> list[float]:
    """The list printed after the last colon of a snippet's output line."""
    body = line.rsplit(":", 1)[1].strip().strip("[]")
    return [float(v) for v in body.split(",")]


def test_elbo_snippet_is_unbiased_for_the_exact_elbo_and_gradient():
    from core.reparam import elbo_estimates, elbo_exact
    from core.snippets import elbo_snippet
    x, s, mu, sigma, L = 1.0, 0.5, 0.3, 0.8, 200_000
    printed = eval_list(run(elbo_snippet(x, s, mu, sigma, L, seed=4)).splitlines()[0])
    exact = elbo_exact(x, s, mu, sigma)
    # Standard errors from one-sample estimates of the same quantities.
    one = elbo_estimates(x, s, mu, sigma, L=1, reps=100_000, seed=0)
    for got, want, sample in zip(printed, exact, one):
        assert abs(got - want) < 5 * sample.std() / math.sqrt(L)


def _all_snippets():
    from core import snippets as S
    from core.blocking import DECOMPOSITIONS, decomposition_snippet
    yield from (S.estimators_snippet(t, 0.5, 1.0, 10, 3) for t in FORMULAS)
    yield from (S.variance_snippet(t, 0.5, 1.0) for t in FORMULAS)
    yield from (S.baseline_snippet(t, 0.5, 1.0, 0.3, 10, 3) for t in FORMULAS)
    yield S.discrete_snippet("(x - 0.45)**2", [0.0, 0.3], [0.0, 1.0])
    yield S.discrete_snippet("x > 0", [0.0, 0.3, -1.0], [0.0, 1.0, 2.0])
    yield from (S.reinforce_snippet([0.2, 0.5, 0.8], 5.0, 1.0), S.flipout_snippet(64), S.vae_snippet(),
                S.elbo_snippet(1.0, 0.5, 0.3, 0.8, 5))
    yield from (decomposition_snippet(name, 0.7, 10000) for name in DECOMPOSITIONS)


def test_snippets_are_plain_code_that_fits_a_column():
    """What a lecturer pastes: no helper boilerplate, no dead arithmetic, lines of at most 88 characters."""
    for code in _all_snippets():
        for bad in ("__import__", "lambda *a", "+ 0.0 *", "as_tensor", "seed 00", "Seed 00"):
            assert bad not in code, (bad, code)
        assert max(len(line) for line in code.splitlines()) <= 88, code


@pytest.mark.parametrize("text", ["x > 0", "step(x - 1) + (x < -1)", "3"])
def test_snippets_for_a_piecewise_constant_f_run_and_say_why_pathwise_is_0(text):
    from core.snippets import discrete_snippet, variance_snippet
    lines = run(estimators_snippet(text, 0.3, 0.7, 1000, seed=1)).splitlines()
    assert lines[0] == "pathwise: 0.0 0.0"
    assert "no autograd graph" in estimators_snippet(text, 0.3, 0.7, 1000)
    run(variance_snippet(text, 0.3, 0.7, n=1000))
    run(discrete_snippet(text, [0.0, 0.3], [0.0, 1.0], n=1000))
