"""Every number the Reparameterization page prints as a claim, checked independently of `core`:

- section 1's table: z = μ + σε, ∂z/∂μ = 1 and ∂z/∂σ = ε on each row (arithmetic);
- section 2's rsample table: dz/dθ by the method's formula, recomputed here (closed forms, and the
  implicit ones from scipy's regularized incomplete gamma and beta), and the "max relative difference"
  it states between that and autograd;
- section 3's metrics: the exact ELBO and its gradient by Gauss–Hermite quadrature of
  E_q[log N(x; z, s²)] − KL(q‖p) and torch autograd of that, and each "mean of estimates" within four
  standard errors (from the estimator's exact variance) of the exact value;
- section 4's metrics: the exact ∂E[1(z > c)]/∂μ = φ(c), the pathwise estimate exactly 0, and the
  score function's mean and standard error against φ(c) and its exact variance.
"""
import math
import os
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from scipy import special, stats

from tests.app.conftest import open_page

PAGE = "pages/2_Reparameterization_Trick.py"
EXAMPLES = 250 if os.environ.get("NIGHTLY") else 8
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
grid = lambda lo, hi, step: st.integers(0, int(round((hi - lo) / step))).map(lambda i: round(lo + i * step, 10))  # noqa: E731
GH_X, GH_W = np.polynomial.hermite_e.hermegauss(80)
GH_W = GH_W / math.sqrt(2 * math.pi)  # E over N(0, 1)


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def elbo_truth(x: float, s: float, mu: float, sigma: float, L: int):
    """(value, ∂μ, ∂σ) and the standard deviation of one L-sample estimate of each."""
    m = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    sg = torch.tensor(sigma, dtype=torch.float64, requires_grad=True)
    eps = torch.from_numpy(GH_X)
    z = m + sg * eps
    loglik = -0.5 * math.log(2 * math.pi * s * s) - (x - z) ** 2 / (2 * s * s)
    kl = 0.5 * (sg ** 2 + m ** 2 - 1 - torch.log(sg ** 2))
    value = (loglik * torch.from_numpy(GH_W)).sum() - kl
    d_mu, d_sigma = torch.autograd.grad(value, (m, sg))
    # Per-draw terms of the estimator (KL's part is a constant): their variances over ε.
    e = GH_X
    terms = {"elbo": -(x - mu - sigma * e) ** 2 / (2 * s * s), "mu": (x - mu - sigma * e) / s ** 2,
             "sigma": (x - mu - sigma * e) * e / s ** 2}
    sd = {k: math.sqrt(max(np.sum(v * v * GH_W) - np.sum(v * GH_W) ** 2, 0.0) / L) for k, v in terms.items()}
    return float(value), float(d_mu), float(d_sigma), sd


def check_elbo_and_step(at, x, s, qmu, qsigma, L, c):
    metrics = {m.label: m for m in at.metric}
    value, d_mu, d_sigma, sd = elbo_truth(x, s, qmu, qsigma, L)
    for label, true, key in (("ELBO (exact)", value, "elbo"), ("∂ELBO/∂μ (exact)", d_mu, "mu"),
                             ("∂ELBO/∂σ (exact)", d_sigma, "sigma")):
        m = metrics[label]
        assert abs(number(m.value) - true) <= 5.1e-5 + 1e-9 * abs(true), (label, m.value, true)
        assert "-" not in m.value + m.delta  # a real minus sign
        mean = number(m.delta.removeprefix("mean of estimates "))
        assert abs(mean - true) <= 4 * sd[key] / math.sqrt(4000) + 5.1e-5, (label, mean, true, sd[key])
    # Section 4: f = 1(z > c) at μ = 0, σ = 1.
    exact = stats.norm.pdf(c)
    assert abs(number(metrics["exact ∂E[f]/∂μ at μ = 0, σ = 1"].value) - exact) <= 5.1e-5
    assert metrics["pathwise (mean of 4,000 estimates, L = 10)"].value == "0.0000"  # "exactly 0"
    score = metrics["score function (same)"]
    se_shown = float(re.fullmatch(r"± ([\d.]+) \(SE\)", score.delta).group(1))
    var1 = c * stats.norm.pdf(c) + stats.norm.sf(c) - exact ** 2  # Var(1(z > c)·z) for z ~ N(0, 1)
    se = math.sqrt(var1 / (10 * 4000))
    assert abs(se_shown / se - 1) <= 0.1 + 5e-5 / se, (se_shown, se)
    assert abs(number(score.value) - exact) <= 4 * se + 5.1e-5, (score.value, exact, se)


@SETTINGS
@given(x=grid(-3.0, 3.0, 0.1), s=grid(0.2, 2.0, 0.05), qmu=grid(-3.0, 3.0, 0.05), qsigma=grid(0.05, 2.0, 0.05),
       L=st.sampled_from([1, 2, 5, 10, 50]), c=grid(-2.0, 2.0, 0.1))
@example(x=0.5, s=1.0, qmu=-1.0, qsigma=0.5, L=1, c=0.5)
@example(x=3.0, s=0.2, qmu=-3.0, qsigma=2.0, L=1, c=-2.0)  # the largest gradients and spreads the sliders reach
def test_the_elbo_and_step_numbers_are_true(x, s, qmu, qsigma, L, c):
    at = open_page(PAGE, x=f"{x:g}", s=f"{s:g}", qmu=f"{qmu:g}", qsigma=f"{qsigma:g}", L=str(L), c=f"{c:g}")
    assert not at.exception
    check_elbo_and_step(at, x, s, qmu, qsigma, L, c)


def _dz_formula(family: str, z: float, theta: float) -> float:
    """dz/dθ of each family's rsample, from scratch."""
    if family.startswith(("Normal", "Laplace", "Uniform", "Cauchy")):
        return z / theta  # scale families
    if family.startswith("Exponential"):
        return -z / theta
    if family.startswith("LogNormal"):
        return z
    h = 1e-6 * max(1.0, theta)
    if family.startswith("Gamma"):  # F_α(z) = U: dz/dα = −(∂F/∂α)/p
        dF = (special.gammainc(theta + h, z) - special.gammainc(theta - h, z)) / (2 * h)
        return -dF / stats.gamma.pdf(z, theta)
    dF = (special.betainc(theta + h, 2.0, z) - special.betainc(theta - h, 2.0, z)) / (2 * h)
    return -dF / stats.beta.pdf(z, theta, 2.0)


@pytest.mark.parametrize("query", [{"mu": "1", "sigma": "1.5"}, {"mu": "-2.3", "sigma": "0.1", "n": "20", "seed": "77"}])
def test_the_tables_say_what_the_formulas_give(query):
    at = open_page(PAGE, **query)
    assert not at.exception
    mu, sigma = float(query["mu"]), float(query["sigma"])
    draws = at.dataframe[0].value
    assert np.allclose(draws["z = μ + σε"], mu + sigma * draws["ε"], atol=1.5e-4)
    assert (draws["∂z/∂μ"] == 1.0).all() and (draws["∂z/∂σ = ε"] == draws["ε"]).all()
    assert f"at μ = {mu:g}, σ = {sigma:g}".replace("-", "−") in " ".join(c.value for c in at.caption)
    at.toggle(key="rsample_checks_all").set_value(True).run()
    implicit = []
    for row in at.dataframe[1].value.to_dict("records"):
        theta = float(row["θ"].split("= ")[1])
        z = float(row["first draw z"])
        auto, formula = float(row["dz/dθ by autograd"]), float(row["dz/dθ by the formula"])
        mine = _dz_formula(row["family"], z, theta)  # z is rounded to 4 decimals: a loose comparison
        assert abs(formula - mine) <= 2e-3 * max(1.0, abs(mine)), (row, mine)
        stated = row["max relative difference (5 draws)"]
        assert "e-" not in stated and "-" not in stated  # 5.1×10⁻⁵, not 5.1e-05
        if stated == "≈ 0 (rounding)":
            assert row["method"] != "implicit" and abs(auto - formula) <= 1e-5 * max(1.0, abs(formula))
        else:
            a, b = stated.split("×10")
            rel = float(a) * 10.0 ** -int(b.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")).lstrip("-"))
            # The first draw's own difference is within the stated maximum (rounded to 5 decimals in the table).
            assert abs(auto - formula) <= rel * 1.06 * abs(formula) + 1e-5, (row, rel)
            implicit.append(row["family"].split("(")[0])
    assert implicit == ["Gamma", "Beta"]
