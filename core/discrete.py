"""Gradients through discrete sampling: a category k ~ Categorical(π = softmax(θ)).

The draw is a one-hot y; the objective sees x = y · v (v: a value per category, so a
Bernoulli is K = 2 with v = (0, 1)). Exact gradient, by enumeration:

    ∂/∂θ_j E[f(x)] = Σ_k f(v_k) ∂π_k/∂θ_j = π_j (f(v_j) − Σ_k π_k f(v_k)).

Estimators, each an average over L draws (``reps`` of them, all batched):

``score``             f(x) ∇θ log π_k,  ∇θ_j log π_k = 1[j = k] − π_j           (unbiased)
``score_loo``         the same with the mean f of the other L − 1 draws subtracted (unbiased)
``straight_through``  forward the one-hot y, backward as if y were π:
                      f'(x) · Σ_k v_k ∂π_k/∂θ                                 (biased)
``gumbel_softmax``    y = softmax((θ + g)/τ), g_k = −log(−log U_k); differentiate f(y · v)
                      (biased: f is evaluated at a relaxed, not a real, sample)
``st_gumbel_softmax`` forward one-hot argmax(θ + g), backward through the soft y (biased)
``gumbel_rao``        straight-through Gumbel-softmax averaged over Gumbels drawn
                      conditionally on the sampled category (lower variance, still biased)
``arm`` (K = 2)       ARM: (f(1[u > σ(−α)]) − f(1[u < σ(α)])) (u − ½), α = θ₁ − θ₀ (unbiased)
``disarm`` (K = 2)    DisARM: ½ (f(b) − f(b̃)) (−1)^{b̃} 1[b ≠ b̃] σ(|α|) with the antithetic
                      pair b = 1[u < σ(α)], b̃ = 1[1 − u < σ(α)]                (unbiased)
``rebar`` (K = 2)     REBAR: the score function with a relaxed, reparameterized control
                      variate c(z) = η f(x(σ(z/λ))) (see :func:`_rebar`)  (unbiased for any η, λ)
``relax`` (K = 2)     RELAX: REBAR's c plus a small network r_ρ(z) (see :func:`_relax`)
                                                                  (unbiased for any η, λ, ρ)

For K = 2, ∂/∂θ₁ = −∂/∂θ₀ = ∂/∂α. Gumbel-max: argmax(θ + g) is an exact draw from π.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import expit

from .estimators import seeded_generator
from .objective import parse_objective

__all__ = ["DISCRETE_ESTIMATORS", "exact_discrete_gradient", "estimate_discrete", "exact_discrete_value",
           "probabilities", "MAX_DISCRETE_SAMPLES", "straight_through_moments", "binary_relaxed_moments",
           "descent_race", "gumbel_max_frequencies", "soft_samples", "hard_gumbel_softmax_jacobians",
           "DISCRETE_PRESETS", "DISCRETE_PRESET_LABELS", "parse_values", "ControlVariate", "relax_estimate",
           "relaxed_draws", "objective_derivatives", "check_control"]

MAX_DISCRETE_SAMPLES = 2_000_000  # reps × L
GUMBEL_RAO_SAMPLES = 8
DISCRETE_BLOCK = 1 << 16  # entries per array held at once (512 KB: stays in the CPU cache)

DISCRETE_ESTIMATORS: dict[str, tuple[str, bool]] = {
    # name: (label, unbiased?)
    "score": ("Score function (REINFORCE)", True),
    "score_loo": ("Score, leave-one-out baseline", True),
    "straight_through": ("Straight-through (biased)", False),
    "gumbel_softmax": ("Gumbel-softmax (biased)", False),
    "st_gumbel_softmax": ("Straight-through Gumbel-softmax (biased)", False),
    "gumbel_rao": ("Gumbel-Rao (biased)", False),
    "arm": ("ARM (K = 2)", True),
    "disarm": ("DisARM (K = 2)", True),
    "rebar": ("REBAR (K = 2)", True),
    "relax": ("RELAX (K = 2)", True),
}
_BINARY_ONLY = {"arm", "disarm", "rebar", "relax"}
_RELAXED = {"rebar", "relax"}  # their control variate differentiates f: unbiased only for a continuous f


def _as_vector(values, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(values, dtype=np.float64))
    if t.ndim != 1 or t.numel() < 2:
        raise ValueError(f"{name} must list at least two numbers, one per category.")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite numbers.")
    return t


def probabilities(logits) -> np.ndarray:
    """π = softmax(θ)."""
    return torch.softmax(_as_vector(logits, "logits"), 0).numpy()


def _f_values(objective, values: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return objective(values)


def _f_derivatives(objective, x: torch.Tensor) -> torch.Tensor:
    """f'(x) elementwise, by autograd (the same derivative a network would see)."""
    leaf = x.detach().clone().requires_grad_(True)
    with np.errstate(all="ignore"):
        objective(leaf).sum().backward()
    return leaf.grad


def _softmax_jvp(s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """s_i (v_i − s·v) along the last axis: the gradient of s·v with respect to the logits
    of a softmax s (at temperature 1)."""
    return s * (v - (s * v).sum(dim=-1, keepdim=True))


def exact_discrete_value(objective, logits, values) -> float:
    """E[f(x)] = Σ_k π_k f(v_k)."""
    objective = parse_objective(objective)
    theta, v = _as_vector(logits, "logits"), _as_vector(values, "values")
    pi = torch.softmax(theta, 0)
    return float((pi * _f_values(objective, v)).sum())


def exact_discrete_gradient(objective, logits, values) -> np.ndarray:
    """∂/∂θ E[f(x)] by enumeration: π_j (f(v_j) − Σ_k π_k f(v_k)), shape (K,)."""
    objective = parse_objective(objective)
    theta, v = _as_vector(logits, "logits"), _as_vector(values, "values")
    if theta.numel() != v.numel():
        raise ValueError("logits and values need one entry per category.")
    pi = torch.softmax(theta, 0)
    f = _f_values(objective, v)
    return (pi * (f - (pi * f).sum())).numpy()


def _gumbel(shape, gen: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise −log(−log U), U ~ U(0, 1) (in place: no temporaries)."""
    u = torch.rand(shape, generator=gen, dtype=torch.float64).clamp_(1e-300, 1.0 - 1e-16)
    return u.log_().neg_().log_().neg_()


def _generators(seed: int) -> tuple[torch.Generator, ...]:
    """Independent streams for the Gumbel draws, Gumbel-Rao's conditional draws, ARM's uniforms
    and REBAR/RELAX's (u, v) pairs (a stream of their own: the others' draws do not change)."""
    return (seeded_generator(seed, 100), seeded_generator(seed, 101), seeded_generator(seed, 102),
            seeded_generator(seed, 105))


# ---------------------------------------------------------------------------------------
# REBAR and RELAX (K = 2). Written in numpy, with every derivative written out: the same
# function serves estimate_discrete (f parsed, its derivatives by autograd) and the toy's
# training in core/relax.py (f = (x − t)², closed forms), where a step must cost microseconds.
# tests/core/test_relax.py checks the written-out derivatives against autograd on the same draws.

@dataclass(frozen=True)
class ControlVariate:
    """REBAR/RELAX's control variate c(z) = η f(v₀ + (v₁ − v₀) σ(z/λ)) + r(z), with
    r(z) = Σ_h a_h tanh(w_h z + c_h) + d when ``net`` = (w, c, a, d) is given (RELAX), and
    r ≡ 0 otherwise (REBAR, and RELAX with its network at zero)."""
    eta: float = 1.0
    lam: float = 0.5
    net: tuple | None = None


def check_control(eta, lam, net=None) -> ControlVariate:
    """A ControlVariate from user-facing numbers, with a clear message for anything unusable."""
    for name, x in (("η", eta), ("λ", lam)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"The control variate's {name} must be a finite number.")
    if not 0 < lam <= 1e3 or abs(eta) > 1e3:
        raise ValueError("The control variate needs 0 < λ ≤ 1000 and |η| ≤ 1000.")
    if net is not None:
        try:
            w, c, a = (np.asarray(p, dtype=np.float64) for p in net[:3])
            d = float(net[3])
        except (TypeError, ValueError, IndexError):
            raise ValueError("RELAX's network is (w, c, a, d): three equal-length lists of numbers and one number.") from None
        if w.ndim != 1 or w.shape != c.shape or w.shape != a.shape or w.size < 1:
            raise ValueError("RELAX's network is (w, c, a, d): three equal-length lists of numbers and one number.")
        if not all(np.isfinite(p).all() for p in (w, c, a)) or not math.isfinite(d):
            raise ValueError("RELAX's network weights must be finite numbers.")
        net = (w, c, a, d)
    return ControlVariate(float(eta), float(lam), net)


def objective_derivatives(objective):
    """x ↦ (f, f′) or (f, f′, f″) on a numpy array, by autograd through the parsed objective
    (twice for f″: the same derivatives a network would see)."""
    def derivs(x: np.ndarray, order: int = 1):
        leaf = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).requires_grad_(True)
        with np.errstate(all="ignore"), torch.enable_grad():
            out = objective(leaf)
            (d1,) = torch.autograd.grad(out.sum(), leaf, create_graph=order > 1)
            if order < 2:
                return out.detach().numpy(), d1.numpy()
            d2 = (torch.autograd.grad(d1.sum(), leaf, allow_unused=True)[0] if d1.requires_grad else None)
            d2 = torch.zeros_like(leaf) if d2 is None else d2
            return out.detach().numpy(), d1.detach().numpy(), d2.detach().numpy()
    return derivs


def _softplus(x):
    return np.logaddexp(0.0, x)


def relaxed_draws(alpha, u, v):
    """The draws REBAR and RELAX share, for p(b = 1) = θ = σ(α), from u, v ~ U(0, 1):

    z = α + logit u, b = H(z) = 1[u > 1 − θ], and z̃ ~ z | b from v:
    b = 1: z̃ = log(v/((1 − v)(1 − θ)) + 1) = softplus(logit v + softplus(α));
    b = 0: z̃ = −log(v/((1 − v)θ) + 1) = −softplus(logit v + softplus(−α)).
    z̃ moves with α: dz̃/dα = θ σ(logit v + softplus(α)) (b = 1), (1 − θ) σ(logit v + softplus(−α)) (b = 0).
    Returns b, z, z̃, dz̃/dα and the score ∂log p(b)/∂α = b − θ (arrays broadcast)."""
    theta = expit(alpha)
    z = alpha + (np.log(u) - np.log1p(-u))
    b = z > 0
    a = (np.log(v) - np.log1p(-v)) + _softplus(np.where(b, alpha, -alpha))
    z_tilde = np.where(b, 1.0, -1.0) * _softplus(a)
    dz_tilde = np.where(b, theta, 1.0 - theta) * expit(a)
    return b, z, z_tilde, dz_tilde, b - theta


def relax_estimate(alpha, u, v, derivs, f_values, values, eta, log_lam, net=None, phi_grad=False,
                   drop_dz_tilde=False):
    """One-draw estimates of ∂E[f]/∂α (α = logit θ) for each (u, v), with
    c(z) = η f(x(σ(z/λ))) + r(z), x(y) = v₀ + (v₁ − v₀) y (see :class:`ControlVariate`):

        ĝ = [f(v_b) − c(z̃)] (b − θ) + c′(z) − c′(z̃) dz̃/dα,
        c′(z) = η f′(x) (v₁ − v₀) q/λ + r′(z),  q = y(1 − y), y = σ(z/λ).

    Unbiased for any η, λ, ρ: E[c(z̃) (b − θ)] + E[c′(z̃) dz̃/dα] = ∂E[c(z)]/∂α = E[c′(z)].
    ``eta``, ``log_lam`` broadcast with ``alpha``/``u``; ``net`` = (w, c, a, d), the first three
    broadcasting with ``u[..., None]`` (the hidden units last), d with ``u``.

    With ``phi_grad``, also ∂ĝ/∂φ for φ = (η, log λ, w, c, a, d), written out
    (∂ĝ/∂φ = −(b − θ) ∂c(z̃)/∂φ + ∂c′(z)/∂φ − dz̃/dα ∂c′(z̃)/∂φ, with ζ = z/λ):
        ∂c/∂η = f(x),                ∂c′/∂η = f′(x)(v₁ − v₀) q/λ,
        ∂c/∂log λ = −η f′(x)(v₁ − v₀) q ζ,
        ∂c′/∂log λ = −η (v₁ − v₀)(q/λ) [f″(x)(v₁ − v₀) q ζ + f′(x)(1 − 2y) ζ + f′(x)],
        with T = tanh(w z + c), S = 1 − T²:  ∂r/∂a = T, ∂r/∂w = a S z, ∂r/∂c = a S, ∂r/∂d = 1,
        ∂r′/∂a = w S, ∂r′/∂w = a S (1 − 2 w T z), ∂r′/∂c = −2 a w T S, ∂r′/∂d = 0.
    ``derivs(x, order)`` gives (f, f′[, f″]) at relaxed points; ``f_values`` = (f(v₀), f(v₁)).
    ``drop_dz_tilde`` leaves out dz̃/dα (a known mistake, for the tests only: it is biased)."""
    b, z, zt, dzt, s = relaxed_draws(alpha, u, v)
    if drop_dz_tilde:
        dzt = np.zeros_like(dzt)
    v0, v1 = float(values[0]), float(values[1])
    delta = v1 - v0
    lam = np.exp(log_lam)
    zz = np.stack(np.broadcast_arrays(z, zt))  # (2, ...): the control variate at z and at z̃ at once
    zeta = zz / lam
    y = expit(zeta)
    q = y * (1.0 - y)
    F = derivs(v0 + delta * y, 2 if phi_grad else 1)
    f, fp = F[0], F[1]
    dfy = fp * delta * q / lam  # ∂f(x(σ(z/λ)))/∂z
    c, cp = eta * f, eta * dfy
    if net is not None:
        w, cc, a, d = net
        zH = zz[..., None]
        T = np.tanh(zH * w + cc)
        S = 1.0 - T * T
        c = c + (a * T).sum(-1) + d
        cp = cp + (a * w * S).sum(-1)
    fb = np.where(b, f_values[1], f_values[0])
    g = (fb - c[1]) * s + cp[0] - cp[1] * dzt
    if not phi_grad:
        return g

    def along(dc, dcp, s=s, dzt=dzt):
        return -s * dc[1] + dcp[0] - dzt * dcp[1]

    fpp = F[2]
    grads = {"eta": along(f, dfy),
             "log_lam": along(-eta * fp * delta * q * zeta,
                              -(eta * delta * q / lam) * (fpp * delta * q * zeta + fp * (1.0 - 2.0 * y) * zeta + fp))}
    if net is not None:
        sH, dH = s[..., None], dzt[..., None]
        grads["w"] = along(a * S * zH, a * S * (1.0 - 2.0 * w * T * zH), sH, dH)
        grads["c"] = along(a * S, -2.0 * a * w * T * S, sH, dH)
        grads["a"] = along(T, w * S, sH, dH)
        grads["d"] = -s * np.ones_like(g)
    return g, grads


def _rebar(alpha, u, v, derivs, f_values, values, cv: ControlVariate):
    """REBAR (Tucker et al. 2017) for a binary b, ∂/∂α with θ = σ(α): the score function with
    the control variate c(z) = η f(σ(z/λ)), its expectation added back by reparameterization:

        ĝ = [f(b) − η f(σ(z̃/λ))] (b − θ) + η ∂f(σ(z/λ))/∂α − η ∂f(σ(z̃/λ))/∂α,

    z = α + logit u, b = H(z), z̃ ~ z | b (the total derivative through z̃'s dependence on θ
    included: see :func:`relaxed_draws`). f is the page's f at the relaxed value
    x = v₀ + (v₁ − v₀) σ(z/λ). Unbiased for any η and λ > 0; η = 0 is REINFORCE (∂/∂α)."""
    return relax_estimate(alpha, u, v, derivs, f_values, values, cv.eta, math.log(cv.lam))


def _relax(alpha, u, v, derivs, f_values, values, cv: ControlVariate):
    """RELAX (Grathwohl et al. 2018) for a binary b: REBAR's estimator with a learned control
    variate c(z) = η f(σ(z/λ)) + r_ρ(z), r a one-hidden-layer tanh network:

        ĝ = [f(b) − c(z̃)] ∂log p(b)/∂α + ∂c(z)/∂α − ∂c(z̃)/∂α,  ∂log p(b)/∂α = b − θ.

    Unbiased for any η, λ, ρ. With the network at zero (``cv.net`` None) it is REBAR."""
    net = None
    if cv.net is not None:
        w, c, a, d = cv.net
        net = (w[None, None, :], c[None, None, :], a[None, None, :], d)
    return relax_estimate(alpha, u, v, derivs, f_values, values, cv.eta, math.log(cv.lam), net)


def _argmax_first_axis(z: torch.Tensor) -> torch.Tensor:
    """argmax over axis 0 of a (K, ...) tensor, the first index on ties (as torch.argmax).
    A running comparison: torch's own argmax over a leading axis is ~10× slower."""
    if z.shape[0] == 2:
        return (z[1] > z[0]).long()
    k = torch.zeros(z.shape[1:], dtype=torch.long)
    best = z[0].clone()
    for i in range(1, z.shape[0]):
        better = z[i] > best
        k.masked_fill_(better, i)
        torch.maximum(best, z[i], out=best)
    return k


def _estimates(objective, theta: torch.Tensor, v: torch.Tensor, f_all: torch.Tensor, fprime_all: torch.Tensor,
               L: int, tau: float, names: list[str], gens: tuple[torch.Generator, ...],
               cv: ControlVariate = ControlVariate()) -> dict[str, torch.Tensor]:
    """The estimators for per-replicate logits ``theta`` (reps, K): {name: (reps, K)}, given
    f and f' at the category values (``f_all``, ``fprime_all``).

    Replicates are taken a block at a time (``DISCRETE_BLOCK`` draws) so that every
    intermediate array stays in the CPU cache. Each generator is read in replicate order,
    so the estimates do not depend on the block size.
    """
    reps, K = theta.shape
    rows = max(1, DISCRETE_BLOCK // (L * K))
    wanted = set(names)
    needs = {"gumbel": bool(wanted - _BINARY_ONLY),  # the shared Gumbels, θ + g
             "k": bool(wanted - _BINARY_ONLY - {"gumbel_softmax"}),  # the categories argmax(θ + g)
             "fprime_k": bool(wanted & {"straight_through", "st_gumbel_softmax", "gumbel_rao"})}
    parts = [_estimates_block(objective, theta[s:s + rows], v, f_all, fprime_all, L, tau, names, gens, needs, cv)
             for s in range(0, reps, rows)]
    return {n: torch.cat([p[n] for p in parts]) for n in names}


def _estimates_block(objective, theta, v, f_all, fprime_all, L, tau, names, gens, needs, cv=ControlVariate()):
    """``_estimates`` for one block of replicates. Arrays are laid out category-first,
    (K, rows, L), so sums and softmaxes over the categories run over contiguous rows."""
    rows, K = theta.shape
    gen, gen_rao, gen_arm, gen_relax = gens
    pi = torch.softmax(theta, -1)  # (rows, K)
    out: dict[str, torch.Tensor] = {}
    vk = v[:, None, None]  # (K, 1, 1)
    # Shared draws: k = argmax(θ + g) is the categorical sample for every estimator below.
    # Each estimator called alone computes only what it uses.
    if needs["gumbel"]:
        z = _gumbel((rows, L, K), gen).permute(2, 0, 1).contiguous().add_(theta.T[:, :, None])  # θ + g, (K, rows, L)
    k = _argmax_first_axis(z) if needs["k"] else None  # (rows, L)
    fprime_k = fprime_all[k] if needs["fprime_k"] else None  # f' at the sampled category's value, (rows, L)
    if "score" in names or "score_loo" in names:
        # (1/L) Σ_l c_l ∇θ log π_{k_l} with ∇θ_j log π_k = 1[j = k] − π_j: per category j,
        # (1/L) Σ_l c_l 1[k_l = j] − π_j c̄, with c = f (score) or f − (mean of the others) (leave-one-out).
        one_hot = k[None] == torch.arange(K)[:, None, None]  # (K, rows, L)
        f = f_all[k]  # (rows, L)

        def score(c: torch.Tensor) -> torch.Tensor:
            return (c * one_hot).sum(-1).T / L - pi * c.mean(-1)[:, None]

        if "score" in names:
            out["score"] = score(f)
        if "score_loo" in names:
            out["score_loo"] = score(f - (f.sum(-1, keepdim=True) - f) / (L - 1))
    # The straight-through and Gumbel estimators differentiate f(y · v) through a softmax.
    # Their Jacobians are written out rather than taped (the same numbers autograd gives;
    # tests/core/test_discrete.py checks on the same draws): for s = softmax(z / t),
    # ∂(s·v)/∂z_i = s_i (v_i − s·v) / t.
    if "straight_through" in names:
        # Forward: the sample v_k; backward: ∂π/∂θ, the same for every draw of a replicate.
        out["straight_through"] = fprime_k.mean(-1)[:, None] * _softmax_jvp(pi, v)
    if "gumbel_softmax" in names or "st_gumbel_softmax" in names:
        soft = torch.softmax(z.div_(tau), dim=0)  # log-sum-exp inside: safe for tiny τ
        x_soft = (soft * vk).sum(0)  # s · v, (rows, L)
        jvp = soft.mul_(vk - x_soft).div_(tau)  # s_i (v_i − s·v) / τ, (K, rows, L)
        if "gumbel_softmax" in names:  # forward: the soft sample, x = s·v
            out["gumbel_softmax"] = (jvp * _f_derivatives(objective, x_soft)).mean(-1).T
        if "st_gumbel_softmax" in names:  # forward: the one-hot sample, x = v_k
            out["st_gumbel_softmax"] = (jvp * fprime_k).mean(-1).T
    if "gumbel_rao" in names:
        out["gumbel_rao"] = _gumbel_rao(pi, k, fprime_k, v, tau, gen_rao)
    if "arm" in names or "disarm" in names:
        alpha = (theta[:, 1] - theta[:, 0])[:, None]  # (rows, 1)
        u = torch.rand((rows, L), generator=gen_arm, dtype=torch.float64)
        f0, f1 = f_all[0], f_all[1]

        def fz(b: torch.Tensor) -> torch.Tensor:
            return torch.where(b, f1, f0)

        if "arm" in names:
            g = ((fz(u > torch.sigmoid(-alpha)) - fz(u < torch.sigmoid(alpha))) * (u - 0.5)).mean(dim=1)
            out["arm"] = torch.stack([-g, g], dim=1)
        if "disarm" in names:
            b = u < torch.sigmoid(alpha)
            b_tilde = (1.0 - u) < torch.sigmoid(alpha)
            sign = 1.0 - 2.0 * b_tilde.to(torch.float64)
            g = 0.5 * (fz(b) - fz(b_tilde)) * sign * (b != b_tilde).to(torch.float64) * torch.sigmoid(alpha.abs())
            out["disarm"] = torch.stack([-g.mean(dim=1), g.mean(dim=1)], dim=1)
    if "rebar" in names or "relax" in names:
        alpha = (theta[:, 1] - theta[:, 0])[:, None].numpy()  # (rows, 1)
        uv = torch.rand((rows, L, 2), generator=gen_relax, dtype=torch.float64).numpy()
        u, w = (np.clip(uv[..., i], 1e-300, 1.0 - 2.0 ** -53) for i in (0, 1))
        derivs, f_values, values = objective_derivatives(objective), f_all.numpy(), v.numpy()
        for name, estimator in (("rebar", _rebar), ("relax", _relax)):
            if name in names:
                g = torch.from_numpy(estimator(alpha, u, w, derivs, f_values, values, cv).mean(axis=1))
                out[name] = torch.stack([-g, g], dim=1)
    return out


def _gumbel_rao(pi, k, fprime_k, v, tau, gen):
    """Straight-through Gumbel-softmax with the soft sample averaged over m = GUMBEL_RAO_SAMPLES
    Gumbel vectors drawn conditionally on the sampled category k: forward y = one_hot(k),
    backward through s̄ = E[softmax((θ + g)/τ) | k], so
    ĝ_i = (1/L) Σ_l f'(v_k) (1/m) Σ_m s_i (v_i − s·v) / τ.

    Conditional draws (Maddison et al. 2014; Paulus et al. 2020): with E ~ Exp(1) and
    Z = Σ exp(θ_i), the top coordinate is log Z − log E_k and each other one is
    −log(E_i exp(−θ_i) + E_k / Z). Divided by τ and softmaxed, only differences from the
    top matter, so s_i ∝ r_i = (1 + E_i / (π_i E_k))^(−1/τ), with E_k taken as 0 in its own
    place so that r_k = 1: every r_i lies in (0, 1], with no overflow at any τ. E = −log U,
    and the signs cancel in E_i / E_k. The draws are laid out (rows, K, m, L), replicate
    first, and taken a sub-block of replicates at a time, as they are m times the size of
    the rest.
    """
    rows, L = k.shape
    K, m = v.numel(), GUMBEL_RAO_SAMPLES
    sub = max(1, DISCRETE_BLOCK // (L * m * K))
    v4 = v[None, :, None, None]
    is_top = (k[:, None, :] == torch.arange(K)[None, :, None]).to(torch.float64)  # (rows, K, L)
    parts = []
    for s in range(0, rows, sub):
        n = min(sub, rows - s)
        e = torch.rand((n, K, m, L), generator=gen, dtype=torch.float64).clamp_(1e-300, 1.0).log_()  # −E
        top = is_top[s:s + n, :, None, :]  # (n, K, 1, L): masks, not gather/scatter (3× faster here)
        e_top = (e * top).sum(1, keepdim=True)
        ratio = e.mul_((1.0 - top) / pi[s:s + n, :, None, None]).div_(e_top)  # E_i / (π_i E_k), 0 at the top
        r = ratio.add_(1.0).log_().mul_(-1.0 / tau).exp_()  # log(1 + q), not log1p: 1.8× faster, r ≈ 1 where they differ
        soft = r.div_(r.sum(1, keepdim=True))
        x_soft = (soft * v4).sum(1, keepdim=True)  # s · v, (n, 1, m, L)
        jvp = soft.mean(2).mul_(v[None, :, None]).sub_(soft.mul_(x_soft).mean(2))  # mean over m of s_i (v_i − s·v)
        parts.append((jvp * fprime_k[s:s + n, None, :]).mean(-1) / tau)
    return torch.cat(parts)


def _names(estimators, K: int, L: int) -> list[str]:
    if estimators is None:
        return [n for n in DISCRETE_ESTIMATORS if (n not in _BINARY_ONLY or K == 2) and (n != "score_loo" or L >= 2)]
    names = list(estimators)
    bad = [n for n in names if n not in DISCRETE_ESTIMATORS]
    if bad:
        raise ValueError(f"Unknown estimator(s): {', '.join(bad)}.")
    if K != 2 and any(n in _BINARY_ONLY for n in names):
        raise ValueError("ARM, DisARM, REBAR and RELAX are defined for two categories (K = 2).")
    if L < 2 and "score_loo" in names:
        raise ValueError("score_loo needs L ≥ 2.")
    return names


def _check_tau(tau) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 0:
        raise ValueError("The temperature τ must be a positive number.")
    return float(tau)


def estimate_discrete(objective, logits, values, *, L: int, reps: int, seed: int = 0, tau: float = 1.0,
                      estimators=None, rebar_eta: float = 1.0, rebar_lambda: float = 0.5,
                      relax_net=None) -> dict[str, np.ndarray]:
    """``reps`` independent L-draw estimates of ∂/∂θ E[f(x)] per estimator: {name: (reps, K)}.

    ``estimators`` defaults to every estimator that applies (ARM, DisARM, REBAR and RELAX
    need K = 2, leave-one-out needs L ≥ 2). REBAR and RELAX use the control variate
    η = ``rebar_eta``, λ = ``rebar_lambda`` and RELAX's network ``relax_net`` = (w, c, a, d)
    (None: zero, where RELAX is REBAR); they draw their own (u, v) stream. Draws are shared where estimators can share them: the
    score-function family, straight-through and the Gumbel family all use the same
    categories (the argmax of the same Gumbel-perturbed logits).
    """
    objective = parse_objective(objective)
    theta, v = _as_vector(logits, "logits"), _as_vector(values, "values")
    K = theta.numel()
    if v.numel() != K:
        raise ValueError("logits and values need one entry per category.")
    L, reps = int(L), int(reps)
    if L < 1 or reps < 1:
        raise ValueError("L and the number of replicates must be at least 1.")
    if L * reps > MAX_DISCRETE_SAMPLES:
        raise ValueError(f"reps × L = {L * reps:,} is too large (at most {MAX_DISCRETE_SAMPLES:,}).")
    tau = _check_tau(tau)
    names = _names(estimators, K, L)
    cv = check_control(rebar_eta, rebar_lambda, relax_net)
    with np.errstate(all="ignore"):
        f_all, fprime_all = _f_values(objective, v), _f_derivatives(objective, v)  # f, f' at each category's value
        out = _estimates(objective, theta.expand(reps, K).clone(), v, f_all, fprime_all, L, tau, names,
                         _generators(seed), cv)
    return {n: out[n].detach().numpy() for n in names}


def straight_through_moments(objective, logits, values) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and single-draw variance of the straight-through estimator (any K).

    One draw gives f'(v_k) J with J_j = ∂(π·v)/∂θ_j = π_j (v_j − π·v), so
    E = Σ_k π_k f'(v_k) J and E[g²] = Σ_k π_k f'(v_k)² J².
    """
    objective = parse_objective(objective)
    theta, v = _as_vector(logits, "logits").numpy(), _as_vector(values, "values").numpy()
    pi = np.exp(theta - theta.max())
    pi /= pi.sum()
    J = pi * (v - pi @ v)
    fp = objective.derivative(v)
    mean = (pi @ fp) * J
    second = (pi @ fp ** 2) * J ** 2
    return mean, second - mean ** 2


def _graded_rule(point: float, order: int = 16, levels: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on (0, 1), with panels shrinking geometrically towards
    ``point`` (and towards 0 and 1), for integrands with a sharp feature there."""
    gaps = 2.0 ** -np.arange(levels)
    edges = np.concatenate([point - gaps * point, point + gaps * (1 - point), [0.0, 1.0, point],
                            gaps * point, 1 - gaps * (1 - point)])
    edges = np.unique(np.clip(edges, 0.0, 1.0))
    nodes, weights = np.polynomial.legendre.leggauss(order)
    lo, hi = edges[:-1], edges[1:]
    x = ((lo + hi)[:, None] / 2 + (hi - lo)[:, None] / 2 * nodes[None, :]).ravel()
    w = ((hi - lo)[:, None] / 2 * weights[None, :]).ravel()
    keep = (x > 0) & (x < 1)
    return x[keep], w[keep]


def binary_relaxed_moments(objective, logits, values, tau: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Exact mean and single-draw variance of the Gumbel-softmax and straight-through
    Gumbel-softmax estimators for K = 2, by quadrature.

    With α = θ₁ − θ₀ and logistic noise ℓ = g₁ − g₀ = log(u/(1−u)), u ~ U(0,1), the soft
    sample is y₁ = σ((α + ℓ)/τ) and x = v₀ + (v₁ − v₀) y₁. One draw's gradient w.r.t. θ₁
    (and minus it w.r.t. θ₀) is f'(x) (v₁ − v₀) y₁ (1 − y₁)/τ, with x soft (Gumbel-softmax)
    or the hard v_{1[α+ℓ>0]} (straight-through Gumbel-softmax). The integrand is sharp
    near u* = σ(−α) for small τ; the rule is graded there.
    """
    objective = parse_objective(objective)
    tau = _check_tau(tau)
    theta, v = _as_vector(logits, "logits").numpy(), _as_vector(values, "values").numpy()
    if theta.size != 2 or v.size != 2:
        raise ValueError("binary_relaxed_moments is for two categories.")
    alpha = theta[1] - theta[0]
    u, w = _graded_rule(1.0 / (1.0 + math.exp(alpha)))
    ell = np.log(u) - np.log1p(-u)
    z = (alpha + ell) / tau
    y1 = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow
    dy = y1 * (1.0 - y1) / tau
    x_soft = v[0] + (v[1] - v[0]) * y1
    x_hard = np.where(alpha + ell > 0, v[1], v[0])
    out = {}
    for name, x in (("gumbel_softmax", x_soft), ("st_gumbel_softmax", x_hard)):
        g = objective.derivative(x) * (v[1] - v[0]) * dy
        mean, second = w @ g, w @ g ** 2
        out[name] = (np.array([-mean, mean]), np.array([second - mean ** 2] * 2))
    return out


def descent_race(objective, logits, values, *, steps: int, lr: float, L: int, tau: float, chains: int,
                 seed: int = 0, estimators=None, rebar_eta: float = 1.0, rebar_lambda: float = 0.5,
                 relax_net=None) -> dict[str, np.ndarray]:
    """Gradient descent on the logits to minimise E[f(x)], one run per estimator.

    ``chains`` independent runs per estimator; returns {name: (steps + 1, chains) array
    of the exact E[f] at each step's logits}. The loop is over steps only: the runs are
    stacked into one batch of logits, each step computes every estimator on the whole
    batch (fresh draws for every row) and moves each estimator's own rows by its own
    estimate. The spare work is cheaper than a Python call per estimator and step, except
    for Gumbel-Rao's m conditional draws per sample: its runs are a batch of their own.
    """
    objective = parse_objective(objective)
    theta0, v = _as_vector(logits, "logits"), _as_vector(values, "values")
    K = theta0.numel()
    tau = _check_tau(tau)
    names = _names(estimators, K, int(L))
    cv = check_control(rebar_eta, rebar_lambda, relax_net)
    groups = [g for g in ([n for n in names if n != "gumbel_rao"], [n for n in names if n == "gumbel_rao"]) if g]
    out = {}
    with np.errstate(all="ignore"):
        f_all, fprime_all = _f_values(objective, v), _f_derivatives(objective, v)
        for i, group in enumerate(groups):
            own = (torch.arange(len(group) * chains) // chains)[None, :, None].expand(1, -1, K)  # row → its estimator
            theta = theta0.expand(len(group) * chains, K).clone()
            history = [torch.softmax(theta, -1) @ f_all]
            gens = _generators(seed * 100_003 + 7919 * i)  # drawn from step by step
            for _ in range(steps):
                estimates = _estimates(objective, theta, v, f_all, fprime_all, int(L), tau, group, gens, cv)
                theta = theta - lr * torch.stack([estimates[n] for n in group]).gather(0, own)[0]
                history.append(torch.softmax(theta, -1) @ f_all)
            runs = torch.stack(history).numpy()  # (steps + 1, len(group) · chains)
            out.update({n: runs[:, j * chains:(j + 1) * chains] for j, n in enumerate(group)})
    return {n: out[n] for n in names}


def gumbel_max_frequencies(logits, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency of argmax(θ + g) over n draws, frequency of argmax θ without noise, π)."""
    theta = _as_vector(logits, "logits")
    g = _gumbel((int(n), theta.numel()), seeded_generator(seed, 103))
    k = (theta + g).argmax(-1)
    freq = torch.bincount(k, minlength=theta.numel()).to(torch.float64) / n
    plain = torch.zeros_like(theta)
    plain[theta.argmax()] = 1.0
    return freq.numpy(), plain.numpy(), torch.softmax(theta, 0).numpy()


def soft_samples(logits, taus, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One Gumbel draw g, and softmax((θ + g)/τ) for each τ: (len(taus), K); plus the
    one-hot argmax(θ + g) the soft samples approach as τ → 0."""
    theta = _as_vector(logits, "logits")
    g = _gumbel((theta.numel(),), seeded_generator(seed, 104))
    soft = torch.stack([torch.softmax((theta + g) / _check_tau(float(t)), 0) for t in taus])
    hard = torch.zeros_like(theta)
    hard[(theta + g).argmax()] = 1.0
    return soft.numpy(), hard.numpy()


def hard_gumbel_softmax_jacobians(logits, tau: float, seed: int = 0) -> dict[str, np.ndarray]:
    """What ``F.gumbel_softmax(..., hard=True)`` does, numerically, for one Gumbel draw:
    its forward value (one-hot), its Jacobian ∂y/∂θ, and the soft sample's Jacobian
    (they are equal: forward hard, backward soft)."""
    theta = _as_vector(logits, "logits")

    def sample(t: torch.Tensor, hard: bool) -> torch.Tensor:
        torch.manual_seed(int(seed))
        return torch.nn.functional.gumbel_softmax(t, tau=_check_tau(tau), hard=hard)

    forward_hard = sample(theta, True).detach().numpy()
    forward_soft = sample(theta, False).detach().numpy()
    jac_hard = torch.autograd.functional.jacobian(lambda t: sample(t, True), theta).numpy()
    jac_soft = torch.autograd.functional.jacobian(lambda t: sample(t, False), theta).numpy()
    return {"forward_hard": forward_hard, "forward_soft": forward_soft, "jacobian_hard": jac_hard,
            "jacobian_soft": jac_soft}


DISCRETE_PRESETS = {
    # slug (the link's ?preset=): (formula, values, logits)
    "bernoulli_toy": ("(x - 0.45)**2", (0.0, 1.0), (0.0, 0.3)),
    "bernoulli_sin": ("sin(3*x)", (0.0, 1.0), (0.1, 0.5)),
    "three_categories": ("x**2 + x", (-1.0, 0.5, 2.0), (0.2, -0.5, 1.0)),
    "custom": ("(x - 0.45)**2", (0.0, 1.0), (0.0, 0.0)),
}
# slug: what the picker shows
DISCRETE_PRESET_LABELS = {
    "bernoulli_toy": "Bernoulli toy: f = (x - 0.45)^2",
    "bernoulli_sin": "Bernoulli: f = sin(3x)",
    "three_categories": "3 categories: f = x^2 + x",
    "custom": "custom",
}


def parse_values(text: str, max_k: int = 6) -> tuple[float, ...]:
    """Category values from text such as "0, 1" or "-1 0.5 2": 2 to ``max_k`` finite numbers."""
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    if not 2 <= len(parts) <= max_k:
        raise ValueError(f"Give between 2 and {max_k} category values, separated by commas.")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError("Category values must be plain numbers such as 0, 1 or -1.5.") from None
    if not all(math.isfinite(x) and abs(x) <= 1e6 for x in values):
        raise ValueError("Category values must be finite numbers no larger than 10⁶ in size.")
    return values
