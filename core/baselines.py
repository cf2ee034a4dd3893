"""Baselines and control variates for the score-function estimator.

With score s(x) = ∇θ log p_θ(x) and E[s] = 0, any b that does not depend on the sample
it multiplies leaves the mean alone:

    E[(f(x) − b) s(x)] = E[f s] − b E[s] = ∇θ E[f].

Its single-sample variance is a parabola in b (per parameter):

    V(b) = E[f² s²] − 2b E[f s²] + b² E[s²] − g²,   minimised at b* = E[f s²] / E[s²],

which is not E[f] in general, and differs between μ and σ. A baseline that *does*
see its own sample is biased:

* batch mean of the same L values: mean (1 − 1/L) g;
* moving average b_t = β b_{t−1} + (1 − β) mean_t(f) updated *before* use: mean
  (1 − (1 − β)/L) g; updated *after* use it is unbiased.

Policy-gradient dictionary: f is the return R, s is ∇ log π(a), b is a value-function
baseline, and f − b is the advantage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .estimators import seeded_generator
from .objective import parse_objective
from .quadrature import checked_expectation

__all__ = ["BaselineMoments", "baseline_moments", "constant_baseline", "sequential_baselines",
           "delta_method_cv", "SEQUENTIAL", "BIAS_FACTOR"]


@dataclass(frozen=True)
class BaselineMoments:
    """Moments that fix the variance parabola, per parameter (index 0: μ, 1: σ)."""

    g: tuple[float, float]  # exact gradient
    f_mean: float  # E[f]
    ff_ss: tuple[float, float]  # E[f² s²]
    f_ss: tuple[float, float]  # E[f s²]
    ss: tuple[float, float]  # E[s²] = (1/σ², 2/σ²)

    @property
    def b_star(self) -> tuple[float, float]:
        """The variance-minimising constant baseline, per parameter."""
        return (self.f_ss[0] / self.ss[0], self.f_ss[1] / self.ss[1])

    def variance(self, b, param: int):
        """Single-sample variance of (f − b)s for the given parameter, for scalar or array b."""
        b = np.asarray(b, dtype=np.float64)
        return self.ff_ss[param] - 2 * b * self.f_ss[param] + b * b * self.ss[param] - self.g[param] ** 2


def baseline_moments(objective, mu: float, sigma: float) -> BaselineMoments:
    """Exact moments by quadrature (breakpoint-aware, so steps are fine; NaN where untrustworthy)."""
    objective = parse_objective(objective)

    def integrand(e: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            f = objective(torch.from_numpy(mu + sigma * e)).numpy()
        s_mu, s_sigma = e / sigma, (e * e - 1.0) / sigma
        return np.stack([f, f * s_mu, f * s_sigma, f * f * s_mu ** 2, f * f * s_sigma ** 2,
                         f * s_mu ** 2, f * s_sigma ** 2])

    with np.errstate(all="ignore"):
        f_mean, g_mu, g_sigma, ffm, ffs, fm, fs = checked_expectation(integrand, objective, mu, sigma)[0]
    return BaselineMoments((float(g_mu), float(g_sigma)), float(f_mean), (float(ffm), float(ffs)),
                           (float(fm), float(fs)), (1.0 / sigma ** 2, 2.0 / sigma ** 2))


def _draw(objective, mu: float, sigma: float, shape, seed: int, stream: int):
    eps = torch.randn(shape, generator=seeded_generator(seed, stream), dtype=torch.float64)
    with torch.no_grad():
        f = objective(mu + sigma * eps)
    return f.numpy(), (eps / sigma).numpy(), ((eps * eps - 1.0) / sigma).numpy()


def constant_baseline(objective, mu: float, sigma: float, b: float, *, L: int, reps: int, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``reps`` L-sample estimates (1/L) Σ (f(x_l) − b) s(x_l) of (∂μ, ∂σ)."""
    objective = parse_objective(objective)
    f, s_mu, s_sigma = _draw(objective, mu, sigma, (reps, L), seed, 20)
    with np.errstate(all="ignore"):
        return ((f - b) * s_mu).mean(axis=1), ((f - b) * s_sigma).mean(axis=1)


SEQUENTIAL = {
    # name: (label, unbiased?)
    "none": ("no baseline", True),
    "batch_mean": ("batch mean, including its own sample", False),
    "ema_before": ("moving average, updated before use", False),
    "ema_after": ("moving average, updated after use", True),
    "loo": ("leave-one-out", True),
}


def BIAS_FACTOR(name: str, L: int, beta: float) -> float:  # noqa: N802 - reads as a formula
    """The factor by which each baseline scales the mean gradient (1 for unbiased ones)."""
    if name == "batch_mean":
        return 1.0 - 1.0 / L
    if name == "ema_before":
        return 1.0 - (1.0 - beta) / L
    return 1.0


def sequential_baselines(objective, mu: float, sigma: float, *, L: int, steps: int, chains: int,
                         beta: float = 0.9, burn_in: int = 50, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Score-function estimates over a stream of minibatches with each baseline in :data:`SEQUENTIAL`.

    ``chains`` independent streams run side by side (vectorised); the loop is over time
    steps only, because a moving average is a recursion. Estimates after ``burn_in``
    steps are returned, flattened: {name: (d_mu, d_sigma)}.
    """
    objective = parse_objective(objective)
    if L < 2:
        raise ValueError("Baselines from the batch need L ≥ 2.")
    f, s_mu, s_sigma = _draw(objective, mu, sigma, (steps, chains, L), seed, 21)
    batch_mean = f.mean(axis=2)  # (steps, chains)
    # EMA of batch means, two ways: b_before[t] includes batch t; b_after[t] is from batches < t.
    ema = np.empty_like(batch_mean)
    prev = np.zeros(chains)
    for t in range(steps):
        prev = beta * prev + (1.0 - beta) * batch_mean[t]
        ema[t] = prev
    b_before = ema
    b_after = np.vstack([np.zeros((1, chains)), ema[:-1]])
    loo = (f.sum(axis=2, keepdims=True) - f) / (L - 1)
    baselines = {
        "none": 0.0,
        "batch_mean": batch_mean[..., None],
        "ema_before": b_before[..., None],
        "ema_after": b_after[..., None],
        "loo": loo,
    }
    out = {}
    with np.errstate(all="ignore"):
        for name, b in baselines.items():
            d_mu = ((f - b) * s_mu).mean(axis=2)[burn_in:].ravel()
            d_sigma = ((f - b) * s_sigma).mean(axis=2)[burn_in:].ravel()
            out[name] = (d_mu, d_sigma)
    return out


def delta_method_cv(objective, mu: float, sigma: float, *, L: int, reps: int, seed: int = 0, pilot: int = 4096
                    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Score function with a delta-method (second-order Taylor) control variate.

    h(x) = f(μ) + f'(μ)(x − μ) + ½ f''(μ)(x − μ)², with coefficients frozen at the current
    μ, has the known gradient ∇E[h] = (f'(μ), f''(μ) σ). The estimate is

        (1/L) Σ [f s − c (h s)] + c ∇E[h],

    unbiased for any c fixed independently of the samples; the optimal c* =
    Cov(f s, h s) / Var(h s) per parameter is estimated on an independent pilot batch.
    Needs a smooth f. Returns (d_mu, d_sigma, (c*_μ, c*_σ)).
    """
    objective = parse_objective(objective)
    if not objective.smooth:
        raise ValueError("The delta-method control variate needs a twice-differentiable f.")
    m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(objective(m.reshape(1)).sum(), m, create_graph=True)
    (d2,) = torch.autograd.grad(d1, m) if d1.requires_grad else (torch.tensor(0.0, dtype=torch.float64),)
    with torch.no_grad():
        a0 = float(objective(torch.tensor([float(mu)], dtype=torch.float64))[0])
    a1, a2 = float(d1.detach()), 0.5 * float(d2.detach())
    grad_h = (a1, 2.0 * a2 * sigma)

    def terms(shape, stream):
        eps = torch.randn(shape, generator=seeded_generator(seed, stream), dtype=torch.float64)
        with torch.no_grad():
            f = objective(mu + sigma * eps).numpy()
        e = eps.numpy()
        h = a0 + a1 * sigma * e + a2 * (sigma * e) ** 2
        s = (e / sigma, (e * e - 1.0) / sigma)
        return f, h, s

    with np.errstate(all="ignore"):
        f_p, h_p, s_p = terms((pilot,), 22)
        c = []
        for i in (0, 1):
            cov = np.cov(f_p * s_p[i], h_p * s_p[i])
            c.append(float(cov[0, 1] / cov[1, 1]) if cov[1, 1] > 0 else 0.0)
        f, h, s = terms((reps, L), 23)
        d = [((f - c[i] * h) * s[i]).mean(axis=1) + c[i] * grad_h[i] for i in (0, 1)]
    return d[0], d[1], (c[0], c[1])
