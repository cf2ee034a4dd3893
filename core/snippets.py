""""Reproduce this in PyTorch": self-contained snippets generated from a page's settings.

Each snippet defines f with :func:`core.objective.torch_source`, so it matches the
formula the page evaluates, and prints the numbers the page shows next to it.
"""
from __future__ import annotations

from .objective import torch_source

__all__ = ["estimators_snippet", "baseline_snippet", "variance_snippet"]


def estimators_snippet(objective: str, mu: float, sigma: float, L: int, seed: int = 0) -> str:
    """Pathwise and score-function estimates of ∇(μ,σ) E[f(x)], x ~ N(μ, σ²), from L samples."""
    return torch_source(objective) + f"""
torch.manual_seed({int(seed)})
mu = torch.tensor({float(mu)!r}, dtype=torch.float64, requires_grad=True)
sigma = torch.tensor({float(sigma)!r}, dtype=torch.float64, requires_grad=True)
L = {int(L)}

# Pathwise (reparameterization): the randomness is eps, and z is a function of mu and sigma.
eps = torch.randn(L, dtype=torch.float64)
z = mu + sigma * eps
f(z).mean().backward()
print("pathwise:", mu.grad.item(), sigma.grad.item())

# Score function (REINFORCE): detached samples, differentiate log p instead of f.
mu.grad = sigma.grad = None
dist = torch.distributions.Normal(mu, sigma)
x = dist.sample((L,))
(f(x) * dist.log_prob(x)).mean().backward()
print("score:", mu.grad.item(), sigma.grad.item())
"""


def baseline_snippet(objective: str, mu: float, sigma: float, b: float, L: int, seed: int = 0) -> str:
    """The score-function estimate with a constant baseline b (REINFORCE with a baseline)."""
    return torch_source(objective) + f"""
torch.manual_seed({int(seed)})
mu = torch.tensor({float(mu)!r}, dtype=torch.float64, requires_grad=True)
sigma = torch.tensor({float(sigma)!r}, dtype=torch.float64, requires_grad=True)
b = {float(b)!r}                       # a constant: it must not depend on these samples
dist = torch.distributions.Normal(mu, sigma)
x = dist.sample(({int(L)},))            # detached samples
((f(x) - b) * dist.log_prob(x)).mean().backward()
print("score with baseline:", mu.grad.item(), sigma.grad.item())
"""


def variance_snippet(objective: str, mu: float, sigma: float, n: int = 100_000, seed: int = 0) -> str:
    """Single-sample variances of the pathwise and score-function estimators, by Monte Carlo."""
    return torch_source(objective) + f"""
torch.manual_seed({int(seed)})
mu, sigma, n = {float(mu)!r}, {float(sigma)!r}, {int(n)}
eps = torch.randn(n, dtype=torch.float64)
x = (mu + sigma * eps).requires_grad_(True)
f(x).sum().backward()                         # x.grad[i] = f'(x_i): one pathwise sample each
pathwise_mu, pathwise_sigma = x.grad, x.grad * eps
fx = f(x.detach())
score_mu, score_sigma = fx * eps / sigma, fx * (eps**2 - 1) / sigma
print("pathwise variance:", pathwise_mu.var().item(), pathwise_sigma.var().item())
print("score variance:", score_mu.var().item(), score_sigma.var().item())
"""
