"""Weight noise in a Bayesian linear layer: shared sample, local reparameterization, Flipout.

Model: y = x·w + noise (sd s), factorized q(w) = N(μ, diag σ²), σ = exp(log σ). The
minibatch objective is the mean expected log-likelihood, in closed form

    ℓ(μ, σ) = (1/B) Σ_i [ −½ log(2π s²) − ((y_i − x_i·μ)² + Σ_j x_ij² σ_j²) / (2 s²) ].

Four pathwise estimators of its gradient w.r.t. (μ, log σ), all unbiased:

``shared``       one weight sample W = μ + σ∘ε for the whole minibatch (cheap; the noise is
                 common to every example, so averaging over examples does not remove it);
``local``        local reparameterization: sample each pre-activation,
                 a_i = x_i·μ + √(Σ_j x_ij² σ_j²) ζ_i, ζ_i ~ N(0, 1) per example;
``flipout``      one shared perturbation Δ = σ∘ε, decorrelated per example by random signs:
                 a_i = x_i·μ + ((x_i ∘ s_i)·Δ) r_i, s_i ∈ {±1}^D, r_i ∈ {±1};
``independent``  a separate W_i per example (the expensive reference).

Their variance against the batch size B: the shared estimator's weight-noise part does
not fall with B; the others fall like 1/B.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from .estimators import seeded_generator

__all__ = ["WEIGHT_NOISE_METHODS", "REPS_AT_1", "make_data", "exact_minibatch_gradient", "gradient_samples",
           "variance_by_batch", "train_methods", "elbo_full"]

WEIGHT_NOISE_METHODS = {
    "shared": "one weight sample per minibatch",
    "local": "local reparameterization",
    "flipout": "Flipout",
    "independent": "independent weights per example",
}
NOISE_SD = 0.5
# At B = 1, variance_by_batch draws this many times ``reps`` minibatches. One example's gradient is
# heavy-tailed (x_j⁴ and ζ² multiply), so from 400 draws its variance came out, at 1 seed in 100, more
# than 4 of its own standard errors low (local reparameterization's log σ-gradient at log σ = −2.5,
# seed 138: a fall of 146× "±13 %" where it is exactly 256×). A row of one example is cheap.
REPS_AT_1 = 16


def make_data(n: int = 512, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small regression data set made on the spot (no download): x ~ N(0, 1), y = x·w* + noise."""
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, d), generator=g, dtype=torch.float64)
    w_true = torch.linspace(-1.0, 1.0, d, dtype=torch.float64)
    y = x @ w_true + NOISE_SD * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y, w_true


def _loglik(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -0.5 * math.log(2 * math.pi * NOISE_SD ** 2) - (y - a) ** 2 / (2 * NOISE_SD ** 2)


def exact_minibatch_gradient(x: torch.Tensor, y: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor
                             ) -> tuple[np.ndarray, np.ndarray]:
    """∂ℓ/∂μ = mean_i x_i (y_i − x_i·μ)/s², ∂ℓ/∂log σ_j = −mean_i x_ij² σ_j²/s²  (for one minibatch)."""
    s2 = NOISE_SD ** 2
    d_mu = (x * (y - x @ mu)[:, None]).mean(0) / s2
    d_ls = -(x ** 2).mean(0) * torch.exp(2 * log_sigma) / s2
    return d_mu.numpy(), d_ls.numpy()


def gradient_samples(method: str, x: torch.Tensor, y: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor,
                     gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-replicate gradient estimates for minibatches ``x`` (R, B, D), ``y`` (R, B).

    Each replicate has its own (μ, log σ) leaf, so one backward pass returns every
    replicate's own gradient: (R, D) for μ and for log σ.
    """
    R, B, D = x.shape
    mu_t = mu.expand(R, D).clone().requires_grad_(True)
    ls_t = log_sigma.expand(R, D).clone().requires_grad_(True)
    sigma = torch.exp(ls_t)
    mean_act = (x * mu_t[:, None, :]).sum(-1)  # (R, B)
    if method == "shared":
        w = mu_t + sigma * torch.randn((R, D), generator=gen, dtype=torch.float64)
        a = (x * w[:, None, :]).sum(-1)
    elif method == "local":
        sd = torch.sqrt(((x ** 2) * (sigma ** 2)[:, None, :]).sum(-1))
        a = mean_act + sd * torch.randn((R, B), generator=gen, dtype=torch.float64)
    elif method == "flipout":
        delta = sigma * torch.randn((R, D), generator=gen, dtype=torch.float64)
        s = torch.randint(0, 2, (R, B, D), generator=gen).to(torch.float64) * 2 - 1
        r = torch.randint(0, 2, (R, B), generator=gen).to(torch.float64) * 2 - 1
        a = mean_act + ((x * s) * delta[:, None, :]).sum(-1) * r
    elif method == "independent":
        w = mu_t[:, None, :] + sigma[:, None, :] * torch.randn((R, B, D), generator=gen, dtype=torch.float64)
        a = (x * w).sum(-1)
    else:
        raise ValueError(f"Unknown method {method!r}.")
    _loglik(a, y).mean(dim=1).sum().backward()
    return mu_t.grad, ls_t.grad


def _minibatches(x: torch.Tensor, y: torch.Tensor, R: int, B: int, gen: torch.Generator):
    idx = torch.randint(0, x.shape[0], (R, B), generator=gen)
    return x[idx], y[idx]


def time_per_estimate(batch: int, *, repeats: int = 5, reps: int = 100, seed: int = 0, log_sigma: float = -1.0
                      ) -> dict[str, float]:
    """Seconds per gradient estimate at this batch size for each method: the median over
    ``repeats`` timed calls, each batched over ``reps`` minibatches. This machine's speed at
    this moment: it varies with the machine and its load, so only the ratios say much."""
    x, y, _ = make_data()
    D = x.shape[1]
    mu = torch.zeros(D, dtype=torch.float64)
    ls = torch.full((D,), float(log_sigma), dtype=torch.float64)
    xb, yb = _minibatches(x, y, reps, int(batch), seeded_generator(seed, 900))
    out = {}
    for j, m in enumerate(WEIGHT_NOISE_METHODS):
        times = []
        for _ in range(repeats):  # repeats of one batched call, for a median: not a loop over samples
            t0 = time.perf_counter()
            gradient_samples(m, xb, yb, mu, ls, seeded_generator(seed, 910 + j))
            times.append((time.perf_counter() - t0) / reps)
        out[m] = float(np.median(times))
    return out


def variance_by_batch(batch_sizes, *, reps: int = 400, seed: int = 0, log_sigma: float = -1.0
                      ) -> dict[str, dict[str, np.ndarray]]:
    """Total variance (summed over the D coordinates, tr Var g) of each method's gradient
    estimate for μ and for log σ at every batch size, with minibatches drawn from the data,
    and its standard error: {method: {"mu", "mu_se", "log_sigma", "log_sigma_se": (len,)}}.

    The SE of tr Var g comes from the spread of d_r = ‖g_r − ḡ‖² over the replicates (it is
    heavy-tailed here, so the Gaussian √(2/R)·V would understate it). At B = 1, where the tails are
    heaviest, ``reps`` × REPS_AT_1 minibatches are drawn.

    At B = 1 the methods that are the same estimator are pooled: for μ all four (the gradient
    depends only on the pre-activation, which has one distribution), for log σ every one but
    local reparameterization (Flipout's signs and a fresh weight change nothing for one example).
    Separate runs of one estimator would draw different points, differing only by Monte Carlo.
    :func:`time_per_estimate` times them.
    """
    x, y, _ = make_data()
    D = x.shape[1]
    mu = torch.zeros(D, dtype=torch.float64)
    ls = torch.full((D,), float(log_sigma), dtype=torch.float64)
    keys = ("mu", "mu_se", "log_sigma", "log_sigma_se")
    out = {m: {k: [] for k in keys} for m in WEIGHT_NOISE_METHODS}
    for i, B in enumerate(batch_sizes):
        R = reps * REPS_AT_1 if int(B) == 1 else reps
        xb, yb = _minibatches(x, y, R, int(B), seeded_generator(seed, 400 + i))
        spread = {}  # (method, parameter): d_r = ‖g_r − ḡ‖² · R/(R − 1), whose mean is tr Var g
        for j, m in enumerate(WEIGHT_NOISE_METHODS):
            g_mu, g_ls = gradient_samples(m, xb, yb, mu, ls, seeded_generator(seed, 500 + 10 * i + j))
            for key, g in (("mu", g_mu), ("log_sigma", g_ls)):
                spread[m, key] = ((g - g.mean(0)) ** 2).sum(1) * (R / (R - 1))
        for m in WEIGHT_NOISE_METHODS:
            for key in ("mu", "log_sigma"):
                same = [m]
                if int(B) == 1 and (key == "mu" or m != "local"):
                    same = [n for n in WEIGHT_NOISE_METHODS if key == "mu" or n != "local"]
                d = torch.cat([spread[n, key] for n in same])
                out[m][key].append(float(d.mean()))
                out[m][f"{key}_se"].append(float(d.std() / math.sqrt(d.numel())))
    return {m: {k: np.array(v) for k, v in d.items()} for m, d in out.items()}


def elbo_full(x: torch.Tensor, y: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor) -> float:
    """ELBO on the whole data set in closed form: Σ_i E_q log p(y_i | x_i, w) − KL(q ‖ N(0, I))."""
    s2 = NOISE_SD ** 2
    sigma2 = torch.exp(2 * log_sigma)
    ell = (-0.5 * math.log(2 * math.pi * s2) - ((y - x @ mu) ** 2 + (x ** 2) @ sigma2) / (2 * s2)).sum()
    kl = 0.5 * (sigma2 + mu ** 2 - 1 - 2 * log_sigma).sum()
    return float(ell - kl)


def train_methods(*, steps: int = 300, batch: int = 32, lr: float = 0.05, seed: int = 0) -> dict[str, np.ndarray]:
    """Adam on the minibatch ELBO with each estimator (same minibatches for all); returns
    {method: (steps + 1,) exact full-data ELBO along training}."""
    x, y, _ = make_data()
    n, D = x.shape
    out = {}
    for j, m in enumerate(WEIGHT_NOISE_METHODS):
        gen_data, gen_noise = seeded_generator(seed, 600), seeded_generator(seed, 610 + j)
        mu = torch.zeros(D, dtype=torch.float64, requires_grad=True)
        ls = torch.full((D,), -1.0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([mu, ls], lr=lr)
        history = [elbo_full(x, y, mu.detach(), ls.detach())]
        for _ in range(steps):
            xb, yb = _minibatches(x, y, 1, batch, gen_data)
            g_mu, g_ls = gradient_samples(m, xb, yb, mu.detach(), ls.detach(), gen_noise)
            sigma2 = torch.exp(2 * ls.detach())
            # ELBO gradient: N × (minibatch mean log-lik gradient) − ∇KL (closed form).
            mu.grad = -(n * g_mu[0] - mu.detach())
            ls.grad = -(n * g_ls[0] - (sigma2 - 1.0))
            opt.step()
            history.append(elbo_full(x, y, mu.detach(), ls.detach()))
        out[m] = np.array(history)
    return out
