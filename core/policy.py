"""Policy gradients are score-function gradients.

A softmax policy π_θ over K arms, rewards R = m_a + noise. REINFORCE:

    ∇θ E[R] = E[R ∇θ log π_θ(a)],   ∇θ_j log π_θ(a) = 1[j = a] − π_j,

with a baseline b (a control variate) subtracted from R when b does not see the
sample it multiplies. Exact single-sample variance for a constant b, by enumeration:

    Var = Σ_a π_a E[(R_a − b)²] ‖e_a − π‖²_j − g_j²,  E[(R_a − b)²] = (m_a − b)² + s².

Two-step problem (CS285-style): actions a₁, a₂ ~ Bernoulli(σ(θ)) independently, reward
r(a) = a + c. With s_t = a_t − σ(θ):

    full return     g_F = (r₁ + r₂)(s₁ + s₂)
    reward-to-go    g_R = s₁ (r₁ + r₂) + s₂ r₂        (drops s₂ r₁, which has mean 0)

both unbiased for ∇θ E[r₁ + r₂] = 2 σ(θ)(1 − σ(θ)); their variances are exact sums over
the four outcomes.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .estimators import seeded_generator

__all__ = ["BANDIT_BASELINES", "bandit_exact_gradient", "bandit_single_sample_variance", "bandit_training",
           "two_step_variances", "two_step_monte_carlo", "surrogate_pitfall"]

BANDIT_BASELINES = {
    "none": "no baseline",
    "ema_after": "moving average, updated after use",
    "loo": "leave-one-out (RLOO)",
}


def _softmax(theta: np.ndarray) -> np.ndarray:
    e = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def bandit_exact_gradient(theta, means) -> np.ndarray:
    """∇θ E[R] = π_j (m_j − π·m)."""
    pi = _softmax(np.asarray(theta, dtype=np.float64))
    m = np.asarray(means, dtype=np.float64)
    return pi * (m - pi @ m)


def bandit_single_sample_variance(theta, means, noise: float, b: float = 0.0) -> np.ndarray:
    """Exact per-coordinate variance of one REINFORCE sample (R − b) ∇ log π(a)."""
    theta = np.asarray(theta, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    pi = _softmax(theta)
    g = bandit_exact_gradient(theta, m)
    K = pi.size
    second = np.zeros(K)
    for a in range(K):
        score = np.eye(K)[a] - pi
        second += pi[a] * ((m[a] - b) ** 2 + noise ** 2) * score ** 2
    return second - g ** 2


def bandit_training(means, *, noise: float, steps: int, batch: int, lr: float, chains: int, beta: float = 0.9,
                    offset: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """REINFORCE on a K-armed bandit, ``chains`` independent runs per baseline, batched.

    Every reward is shifted by ``offset`` (the same shift for all arms leaves the best arm
    and the gradient unchanged, but inflates the variance without a baseline). Returns
    {baseline: (steps + 1, chains) exact expected reward π_θ · m (unshifted) along training}.
    The loop is over steps only (the moving average is a recursion).
    """
    m = torch.as_tensor(np.asarray(means, dtype=np.float64))
    K = m.numel()
    out = {}
    for i, name in enumerate(BANDIT_BASELINES):
        gen = seeded_generator(seed, 300 + i)
        theta = torch.zeros((chains, K), dtype=torch.float64)
        ema = torch.zeros((chains, 1), dtype=torch.float64)
        history = [(torch.softmax(theta, -1) @ m).numpy()]
        for _ in range(steps):
            pi = torch.softmax(theta, -1)
            a = torch.multinomial(pi, batch, replacement=True, generator=gen)  # (chains, batch)
            r = m[a] + offset + noise * torch.randn(a.shape, generator=gen, dtype=torch.float64)
            score = torch.nn.functional.one_hot(a, K).to(torch.float64) - pi[:, None, :]
            if name == "none":
                adv = r
            elif name == "ema_after":
                adv = r - ema  # baseline from earlier batches only
                ema = beta * ema + (1 - beta) * r.mean(dim=1, keepdim=True)
            else:
                adv = r - (r.sum(dim=1, keepdim=True) - r) / max(batch - 1, 1)
            grad = (adv[..., None] * score).mean(dim=1)
            theta = theta + lr * grad  # ascent on expected reward
            history.append((torch.softmax(theta, -1) @ m).numpy())
        out[name] = np.stack(history)
    return out


def _two_step_outcomes(theta: float, c: float):
    p = 1.0 / (1.0 + math.exp(-theta))
    for a1 in (0, 1):
        for a2 in (0, 1):
            prob = (p if a1 else 1 - p) * (p if a2 else 1 - p)
            r1, r2 = a1 + c, a2 + c
            s1, s2 = a1 - p, a2 - p
            yield prob, (r1 + r2) * (s1 + s2), s1 * (r1 + r2) + s2 * r2


def two_step_variances(theta: float, c: float = 0.0) -> dict[str, float]:
    """Exact gradient and single-episode variances of the full-return and reward-to-go estimators."""
    p = 1.0 / (1.0 + math.exp(-theta))
    g = 2 * p * (1 - p)
    ef = er = ef2 = er2 = 0.0
    for prob, gf, gr in _two_step_outcomes(theta, c):
        ef += prob * gf
        er += prob * gr
        ef2 += prob * gf * gf
        er2 += prob * gr * gr
    return {"gradient": g, "mean_full": ef, "mean_rtg": er, "var_full": ef2 - ef ** 2, "var_rtg": er2 - er ** 2}


def two_step_monte_carlo(theta: float, c: float, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n sampled episodes: per-episode full-return and reward-to-go estimates."""
    gen = seeded_generator(seed, 310)
    p = 1.0 / (1.0 + math.exp(-theta))
    a = (torch.rand((n, 2), generator=gen, dtype=torch.float64) < p).to(torch.float64).numpy()
    r = a + c
    s = a - p
    full = r.sum(axis=1) * s.sum(axis=1)
    rtg = s[:, 0] * r.sum(axis=1) + s[:, 1] * r[:, 1]
    return {"full": full, "rtg": rtg}


def surrogate_pitfall(means, *, noise: float, batch: int, steps: int, lr: float, seed: int = 0
                      ) -> dict[str, np.ndarray]:
    """Optimise the REINFORCE surrogate J(θ) = mean_i R_i log π_θ(a_i) on one fixed batch.

    Returns the surrogate loss −J and the true expected reward π_θ · m at each step: the
    loss keeps falling whatever happens to the policy, because it is not the return.
    """
    m = torch.as_tensor(np.asarray(means, dtype=np.float64))
    K = m.numel()
    gen = seeded_generator(seed, 320)
    theta = torch.zeros(K, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        a = torch.multinomial(torch.softmax(theta, 0), batch, replacement=True, generator=gen)
        r = m[a] + noise * torch.randn(batch, generator=gen, dtype=torch.float64)
    loss_hist, reward_hist = [], []
    opt = torch.optim.SGD([theta], lr=lr)
    for _ in range(steps + 1):
        log_pi = torch.log_softmax(theta, 0)[a]
        loss = -(r * log_pi).mean()
        loss_hist.append(loss.item())
        reward_hist.append(float(torch.softmax(theta.detach(), 0) @ m))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"loss": np.array(loss_hist), "reward": np.array(reward_hist), "actions": a.numpy(), "rewards": r.numpy()}
