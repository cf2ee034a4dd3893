""""Reproduce this in PyTorch": self-contained snippets generated from a page's settings.

Each snippet defines f with :func:`core.objective.torch_source`, so it matches the
formula the page evaluates, and prints the numbers the page shows next to it.
"""
from __future__ import annotations

from .objective import torch_differentiable, torch_source

__all__ = ["estimators_snippet", "baseline_snippet", "variance_snippet", "discrete_snippet", "reinforce_snippet",
           "flipout_snippet", "vae_snippet", "elbo_snippet"]


def estimators_snippet(objective: str, mu: float, sigma: float, L: int, seed: int = 0) -> str:
    """Pathwise and score-function estimates of ∇(μ,σ) E[f(x)], x ~ N(μ, σ²), from L samples."""
    if torch_differentiable(objective):
        pathwise = """f(z).mean().backward()
print("pathwise:", mu.grad.item(), sigma.grad.item())
mu.grad = sigma.grad = None
"""
    else:
        pathwise = """# f is piecewise constant: f(z) carries no autograd graph back to mu and
# sigma (backward() would say "does not require grad"). The pathwise
# gradient is 0: the jump is invisible to it.
print("pathwise:", 0.0, 0.0)
"""
    return torch_source(objective) + f"""

torch.manual_seed({int(seed)})
mu = torch.tensor({float(mu)!r}, dtype=torch.float64, requires_grad=True)
sigma = torch.tensor({float(sigma)!r}, dtype=torch.float64, requires_grad=True)
L = {int(L)}

# Pathwise (reparameterization): the randomness is eps; z is a function of mu and sigma.
eps = torch.randn(L, dtype=torch.float64)
z = mu + sigma * eps
{pathwise}
# Score function (REINFORCE): detached samples; differentiate log p instead of f.
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
b = {float(b)!r}  # a constant: it must not depend on these samples
dist = torch.distributions.Normal(mu, sigma)
x = dist.sample(({int(L)},))  # detached samples
((f(x) - b) * dist.log_prob(x)).mean().backward()
print("score with baseline:", mu.grad.item(), sigma.grad.item())
"""


def variance_snippet(objective: str, mu: float, sigma: float, n: int = 100_000, seed: int = 0) -> str:
    """Single-sample variances of the pathwise and score-function estimators, by Monte Carlo."""
    if torch_differentiable(objective):
        derivative = """f(x).sum().backward()  # x.grad[i] = f'(x_i)
df = x.grad
"""
    else:
        derivative = """# f is piecewise constant: f'(x) = 0 wherever it exists.
df = torch.zeros(n, dtype=torch.float64)
"""
    return torch_source(objective) + f"""

torch.manual_seed({int(seed)})
mu, sigma, n = {float(mu)!r}, {float(sigma)!r}, {int(n)}
eps = torch.randn(n, dtype=torch.float64)
x = (mu + sigma * eps).requires_grad_(True)
{derivative}pathwise_mu, pathwise_sigma = df, df * eps  # one pathwise sample each
fx = f(x.detach())
score_mu, score_sigma = fx * eps / sigma, fx * (eps**2 - 1) / sigma
print("pathwise variance:", pathwise_mu.var().item(), pathwise_sigma.var().item())
print("score variance:", score_mu.var().item(), score_sigma.var().item())
"""


def discrete_snippet(objective: str, logits, values, n: int = 100_000, seed: int = 0) -> str:
    """Score-function and straight-through estimates for a categorical draw, averaged over n draws."""
    logits = [float(v) for v in logits]
    values = [float(v) for v in values]
    if torch_differentiable(objective):
        straight_through = """f(y @ v).mean().backward()
print("straight-through:", theta.grad.tolist())
"""
    else:
        straight_through = """# f is piecewise constant: f(y @ v) carries no graph back to theta, so
# straight-through's gradient is 0.
print("straight-through:", [0.0] * len(v))
"""
    return torch_source(objective) + f"""

torch.manual_seed({int(seed)})
theta = torch.tensor({logits!r}, dtype=torch.float64, requires_grad=True)
v = torch.tensor({values!r}, dtype=torch.float64)
n = {int(n)}

# Score function (REINFORCE): f(x) * grad log pi(k), averaged over n draws.
dist = torch.distributions.Categorical(logits=theta)
k = dist.sample((n,))
(f(v[k]) * dist.log_prob(k)).mean().backward()
print("score:", theta.grad.tolist())

# Straight-through: the one-hot sample forward, the probabilities backward.
theta.grad = None
probs = torch.softmax(theta, 0)
one_hot = torch.nn.functional.one_hot(k, len(v)).double()
y = one_hot - probs.detach() + probs
{straight_through}"""


def reinforce_snippet(means, offset: float, noise: float, n: int = 100_000, seed: int = 0) -> str:
    """One REINFORCE gradient at θ = 0 for the bandit, with and without a leave-one-out baseline."""
    means = [float(m) for m in means]
    return f"""import torch
torch.manual_seed({int(seed)})
means = torch.tensor({means!r}, dtype=torch.float64) + {float(offset)!r}
theta = torch.zeros({len(means)}, dtype=torch.float64, requires_grad=True)
policy = torch.distributions.Categorical(logits=theta)
a = policy.sample(({int(n)},))
R = means[a] + {float(noise)!r} * torch.randn({int(n)}, dtype=torch.float64)
log_prob = lambda: torch.distributions.Categorical(logits=theta).log_prob(a)
# REINFORCE: a surrogate whose gradient is the policy gradient.
(R * log_prob()).mean().backward()
print("no baseline:", theta.grad.tolist())
theta.grad = None
b = (R.sum() - R) / ({int(n)} - 1)  # leave-one-out baseline
((R - b) * log_prob()).mean().backward()
print("leave-one-out:", theta.grad.tolist())
"""


def flipout_snippet(batch: int = 32, reps: int = 20_000, seed: int = 0) -> str:
    """A Flipout estimate of the minibatch gradient for the page's Bayesian linear regression."""
    return f"""import math
import torch
torch.manual_seed({int(seed)})
f64 = torch.float64
# The page's data set (core.weight_noise.make_data):
g = torch.Generator().manual_seed(0)
x = torch.randn((512, 8), generator=g, dtype=f64)
w_true = torch.linspace(-1.0, 1.0, 8, dtype=f64)
y = x @ w_true + 0.5 * torch.randn(512, generator=g, dtype=f64)
xb, yb = x[:{int(batch)}], y[:{int(batch)}]
R = {int(reps)}  # independent estimates, batched
mu = torch.zeros((R, 8), dtype=f64, requires_grad=True)
log_sigma = torch.full((R, 8), -1.0, dtype=f64, requires_grad=True)
# One shared weight perturbation per estimate, made per-example by random signs:
delta = torch.exp(log_sigma) * torch.randn((R, 8), dtype=f64)
s = torch.randint(0, 2, (R, {int(batch)}, 8)).double() * 2 - 1  # input signs
r = torch.randint(0, 2, (R, {int(batch)})).double() * 2 - 1  # output signs
a = (xb * mu[:, None, :]).sum(-1) + ((xb * s) * delta[:, None, :]).sum(-1) * r
loglik = -0.5 * math.log(2 * math.pi * 0.25) - (yb - a) ** 2 / (2 * 0.25)
loglik.mean(1).sum().backward()
print("Flipout, mean over", R, "estimates, d/dmu:", mu.grad.mean(0).tolist())
print("exact d/dmu:", (xb * yb[:, None]).mean(0).div(0.25).tolist())
# Each row of mu.grad is one estimate:
print("standard error:", (mu.grad.std(0) / math.sqrt(R)).tolist())
"""


def vae_snippet(latent: int = 2, L: int = 2) -> str:
    """The Keras VAE example's Sampling layer in PyTorch, and the two ways to get the encoder's gradient."""
    return f"""import torch
from torch import nn

def sampling(z_mean, z_log_var):  # the Keras VAE example's Sampling layer, in PyTorch
    eps = torch.randn_like(z_mean)
    return z_mean + torch.exp(0.5 * z_log_var) * eps

torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 2 * {int(latent)}))
decoder = nn.Sequential(nn.Linear({int(latent)}, 128), nn.Tanh(), nn.Linear(128, 64))
x = (torch.rand(16, 64) > 0.5).float()                 # a batch of binary 8x8 images
h = encoder(x)
z_mean, z_log_var = h[:, :{int(latent)}], h[:, {int(latent)}:]
kl = 0.5 * (z_log_var.exp() + z_mean**2 - 1 - z_log_var).sum(-1)

def loglik(z):  # log p(x | z), Bernoulli pixels
    logits = decoder(z)
    bce = nn.functional.binary_cross_entropy_with_logits
    return -bce(logits, x, reduction="none").sum(-1)

# Pathwise: backprop through z = mean + sigma * eps.
z = torch.stack([sampling(z_mean, z_log_var) for _ in range({int(L)})])
elbo = (torch.stack([loglik(zl) for zl in z]).mean(0) - kl).mean()
g_path = torch.autograd.grad(elbo, encoder[0].weight, retain_graph=True)[0]

# Score function: z detached, differentiate log q(z | x) instead.
zd = z.detach()
q = torch.distributions.Normal(z_mean, torch.exp(0.5 * z_log_var))
reward = torch.stack([loglik(zl) for zl in zd]).detach()
surrogate = ((reward * q.log_prob(zd).sum(-1)).mean(0) - kl).mean()
g_score = torch.autograd.grad(surrogate, encoder[0].weight)[0]
print("ELBO estimate:", elbo.item())
print("encoder gradient norm, pathwise:", g_path.norm().item())
print("encoder gradient norm, score:", g_score.norm().item())
"""


def elbo_snippet(x: float, s: float, mu: float, sigma: float, L: int, seed: int = 0) -> str:
    """The Keras VAE example's L-sample ELBO estimator for the 1-D model, and its pathwise gradient."""
    return f"""import torch
torch.manual_seed({int(seed)})
x, s, L = {float(x)!r}, {float(s)!r}, {int(L)}
mu = torch.tensor({float(mu)!r}, dtype=torch.float64, requires_grad=True)
sigma = torch.tensor({float(sigma)!r}, dtype=torch.float64, requires_grad=True)
eps = torch.randn(L, dtype=torch.float64)
z = mu + sigma * eps                                  # the Sampling layer
x_obs = torch.tensor(x, dtype=torch.float64)
loglik = torch.distributions.Normal(z, s).log_prob(x_obs).mean()
kl = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma**2))
elbo = loglik - kl
elbo.backward()
print("ELBO, dmu, dsigma:", [elbo.item(), mu.grad.item(), sigma.grad.item()])
"""
