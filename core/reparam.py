"""The reparameterization trick: z = g(θ, ε) with ε free of θ, and what ``rsample`` does.

Gaussian: z = μ + σε, so ∂z/∂μ = 1 and ∂z/∂σ = ε for every draw. Other families:

* inverse CDF: z = F_θ⁻¹(U), U ~ U(0,1) — Exponential, Laplace, Uniform, Cauchy;
* a transform of a reparameterizable base: LogNormal z = exp(μ + σε);
* implicit reparameterization (Figurnov et al. 2018) when F⁻¹ has no closed form —
  Gamma, Beta: differentiate F_θ(z) = U at fixed U, so
      dz/dθ = −(∂F_θ(z)/∂θ) / p_θ(z);
* discrete families have no ``rsample``: a category cannot move by a small amount.

The ELBO of the Keras VAE example (Kingma & Welling) for a one-dimensional model
p(z) = N(0, 1), p(x | z) = N(x; z, s²) and q(z) = N(μ, σ²):

    ELBO(μ, σ) = E_q[log p(x | z)] − KL(q ‖ p)
    E_q[log p(x|z)] = −½ log(2π s²) − ((x − μ)² + σ²) / (2 s²)
    KL(q ‖ p)       = ½ (σ² + μ² − 1 − log σ²)

estimated with L samples z_l = μ + σ ε_l and the KL term in closed form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = [
    "eps_to_z", "FAMILIES", "FamilyCheck", "family_checks", "beta_cdf", "discrete_rsample_message",
    "elbo_exact", "elbo_estimates",
]

_LEG_NODES, _LEG_WEIGHTS = np.polynomial.legendre.leggauss(64)


def eps_to_z(mu: float, sigma: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same seeded ε ~ N(0, 1) for any (μ, σ), and z = μ + σε."""
    g = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(n), generator=g, dtype=torch.float64).numpy()
    return eps, mu + sigma * eps


def beta_cdf(z: np.ndarray, a: float, b: float) -> np.ndarray:
    """Regularized incomplete beta I_z(a, b) by Gauss–Legendre quadrature.

    For a ≥ 1, ∫₀^z t^{a−1}(1−t)^{b−1} dt is integrated on panels that shrink
    geometrically towards 0 (where t^{a−1} is not smooth); for a < 1 the substitution
    t = z v^{1/a} gives (z^a / a) ∫₀¹ (1 − z v^{1/a})^{b−1} dv, free of the singularity.
    """
    z = np.atleast_1d(np.asarray(z, dtype=np.float64))
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    if a >= 1.0:
        edges = np.concatenate([[0.0], 2.0 ** np.arange(-40, 1)])  # fractions of z
    else:
        edges = np.linspace(0.0, 1.0, 5)
    v = ((edges[:-1, None] + edges[1:, None]) / 2 + (edges[1:, None] - edges[:-1, None]) / 2 * _LEG_NODES[None, :]).ravel()
    w = ((edges[1:, None] - edges[:-1, None]) / 2 * _LEG_WEIGHTS[None, :]).ravel()
    if a >= 1.0:
        t = z[:, None] * v[None, :]
        integral = z * ((t ** (a - 1.0) * (1.0 - t) ** (b - 1.0)) @ w)
    else:
        integral = z ** a / a * ((1.0 - z[:, None] * v[None, :] ** (1.0 / a)) ** (b - 1.0) @ w)
    return integral / math.exp(log_beta)


@dataclass(frozen=True)
class Family:
    name: str
    method: str
    formula: str  # LaTeX: how rsample builds z
    parameter: str  # the parameter θ we differentiate against
    build: Callable[[torch.Tensor], torch.distributions.Distribution]  # θ (vector) → distribution
    theta: float  # default value of θ
    dz_dtheta: Callable[[np.ndarray, float], np.ndarray]  # the formula's dz/dθ at the sample z


def _gamma_implicit(z: np.ndarray, alpha: float) -> np.ndarray:
    """−(∂F/∂α)/p for Gamma(α, 1), F = regularized lower incomplete gamma."""
    h = 1e-6 * max(1.0, alpha)
    zt = torch.from_numpy(z)
    dF = (torch.special.gammainc(torch.tensor(alpha + h, dtype=torch.float64), zt)
          - torch.special.gammainc(torch.tensor(alpha - h, dtype=torch.float64), zt)) / (2 * h)
    p = torch.distributions.Gamma(torch.tensor(alpha, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)).log_prob(zt).exp()
    return (-dF / p).numpy()


_BETA_B = 2.0


def _beta_implicit(z: np.ndarray, alpha: float) -> np.ndarray:
    """−(∂F/∂α)/p for Beta(α, 2), F by quadrature, ∂/∂α by central differences."""
    h = 1e-5 * max(1.0, alpha)
    dF = (beta_cdf(z, alpha + h, _BETA_B) - beta_cdf(z, alpha - h, _BETA_B)) / (2 * h)
    log_p = ((alpha - 1) * np.log(z) + (_BETA_B - 1) * np.log1p(-z)
             - (math.lgamma(alpha) + math.lgamma(_BETA_B) - math.lgamma(alpha + _BETA_B)))
    return -dF / np.exp(log_p)


_ONE = torch.tensor(1.0, dtype=torch.float64)
_ZERO = torch.tensor(0.0, dtype=torch.float64)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("Normal(0, σ)", "location–scale", r"z = \sigma\epsilon", "σ",
               lambda t: torch.distributions.Normal(_ZERO, t), 1.5, lambda z, t: z / t),
        Family("Exponential(λ)", "inverse CDF", r"z = -\log(U)/\lambda", "λ",
               lambda t: torch.distributions.Exponential(t), 2.0, lambda z, t: -z / t),
        Family("Laplace(0, b)", "inverse CDF", r"z = -b\,\mathrm{sign}(U-\tfrac12)\log(1-2|U-\tfrac12|)", "b",
               lambda t: torch.distributions.Laplace(_ZERO, t), 0.8, lambda z, t: z / t),
        Family("Uniform(0, b)", "inverse CDF", r"z = b\,U", "b",
               lambda t: torch.distributions.Uniform(_ZERO, t), 3.0, lambda z, t: z / t),
        Family("Cauchy(0, γ)", "inverse CDF", r"z = \gamma\tan(\pi(U-\tfrac12))", "γ",
               lambda t: torch.distributions.Cauchy(_ZERO, t), 0.5, lambda z, t: z / t),
        Family("LogNormal(μ, 1)", "transform of a Normal", r"z = \exp(\mu + \epsilon)", "μ",
               lambda t: torch.distributions.LogNormal(t, _ONE), 0.3, lambda z, t: z),
        Family("Gamma(α, 1)", "implicit", r"F_\alpha(z)=U,\ \ \frac{dz}{d\alpha} = -\frac{\partial F_\alpha(z)/\partial\alpha}{p_\alpha(z)}", "α",
               lambda t: torch.distributions.Gamma(t, _ONE), 2.5, _gamma_implicit),
        Family("Beta(α, 2)", "implicit", r"F_\alpha(z)=U,\ \ \frac{dz}{d\alpha} = -\frac{\partial F_\alpha(z)/\partial\alpha}{p_\alpha(z)}", "α",
               lambda t: torch.distributions.Beta(t, torch.tensor(_BETA_B, dtype=torch.float64)), 1.5, _beta_implicit),
    ]
}


@dataclass(frozen=True)
class FamilyCheck:
    family: str
    method: str
    parameter: str
    theta: float
    z: np.ndarray
    dz_autograd: np.ndarray  # torch: autograd through rsample
    dz_formula: np.ndarray  # the method's own formula (closed form, or implicit via the CDF)

    @property
    def max_rel_error(self) -> float:
        scale = np.maximum(np.abs(self.dz_formula), 1e-12)
        return float(np.max(np.abs(self.dz_autograd - self.dz_formula) / scale))


def family_checks(n: int = 5, seed: int = 0, thetas: dict[str, float] | None = None) -> list[FamilyCheck]:
    """For each family: n seeded ``rsample`` draws and dz/dθ two ways (autograd vs formula).

    θ is a vector with one entry per draw, so one backward pass gives every draw's own
    derivative.
    """
    checks = []
    for name, fam in FAMILIES.items():
        theta = float((thetas or {}).get(name, fam.theta))
        torch.manual_seed(int(seed))
        t = torch.full((n,), theta, dtype=torch.float64, requires_grad=True)
        z = fam.build(t).rsample()
        (dz,) = torch.autograd.grad(z.sum(), t)
        z_np = z.detach().numpy()
        checks.append(FamilyCheck(name, fam.method, fam.parameter, theta, z_np, dz.numpy(), fam.dz_dtheta(z_np, theta)))
    return checks


def discrete_rsample_message() -> str:
    """What torch says when asked to reparameterize a Bernoulli."""
    dist = torch.distributions.Bernoulli(probs=torch.tensor(0.3))
    try:
        dist.rsample()
    except NotImplementedError as err:
        return f"NotImplementedError: {err}" if str(err) else "NotImplementedError"
    return "rsample worked (unexpected)"


def elbo_exact(x: float, s: float, mu: float, sigma: float) -> tuple[float, float, float]:
    """(ELBO, ∂ELBO/∂μ, ∂ELBO/∂σ) of the 1-D Gaussian model in closed form."""
    expected_loglik = -0.5 * math.log(2 * math.pi * s * s) - ((x - mu) ** 2 + sigma ** 2) / (2 * s * s)
    kl = 0.5 * (sigma ** 2 + mu ** 2 - 1.0 - math.log(sigma ** 2))
    d_mu = (x - mu) / s ** 2 - mu
    d_sigma = -sigma / s ** 2 - sigma + 1.0 / sigma
    return expected_loglik - kl, d_mu, d_sigma


def elbo_estimates(x: float, s: float, mu: float, sigma: float, *, L: int, reps: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``reps`` L-sample ELBO estimates (the Keras VAE example's estimator) and their pathwise gradients.

    ELBO_hat = (1/L) Σ_l log N(x; μ + σ ε_l, s²) − KL(q ‖ p), KL analytic. One batched
    backward pass: each replicate has its own (μ, σ) leaf.
    """
    g = torch.Generator().manual_seed(int(seed))
    eps = torch.randn((reps, L), generator=g, dtype=torch.float64)
    mu_t = torch.full((reps, 1), float(mu), dtype=torch.float64, requires_grad=True)
    sigma_t = torch.full((reps, 1), float(sigma), dtype=torch.float64, requires_grad=True)
    z = mu_t + sigma_t * eps
    loglik = torch.distributions.Normal(z, torch.tensor(float(s), dtype=torch.float64)).log_prob(
        torch.tensor(float(x), dtype=torch.float64)).mean(dim=1)
    kl = 0.5 * (sigma_t[:, 0] ** 2 + mu_t[:, 0] ** 2 - 1.0 - torch.log(sigma_t[:, 0] ** 2))
    elbo = loglik - kl
    elbo.sum().backward()
    return elbo.detach().numpy(), mu_t.grad[:, 0].numpy(), sigma_t.grad[:, 0].numpy()
