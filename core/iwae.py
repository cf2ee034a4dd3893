"""A tighter bound, a worse encoder gradient: IWAE, STL and DReG on a Gaussian model where
everything is in closed form (Rainforth et al. 2018, arXiv:1802.04537, Section 4's example;
Roeder et al. 2017, "sticking the landing"; Tucker et al. 2018, arXiv:1810.04152, DReG).

Model. z ~ N(θ, I), x | z ~ N(z, I) in D = 20 dimensions; the generative parameter is θ
(the paper's μ). The posterior is p(z|x) = N(c, ½ I) with c = (θ + x)/2, the marginal
p(x) = N(θ, 2I). The encoder is q(z|x) = N(a ⊙ x + b, s² I): a diagonal A = diag(a) (the
paper writes a full matrix A as we recall it; a diagonal one keeps the optimum A* = ½ I in
reach with D instead of D² parameters), a vector b, and a FIXED scale s that cannot match
the posterior variance ½. Rainforth et al. write the encoder covariance as 2/3·I as we
recall it; the issue we work from writes (2/3)² I; we use s² = 2/3 by default (``s`` is a
keyword), and Theorem 1's rates do not depend on it (tests/core/test_iwae.py fits both).

Optimum: a* = ½, b* = θ*/2 and θ* = the data mean (the maximum-likelihood θ for p(x) =
N(θ, 2I)). Following the paper, :func:`problem` draws N = 1,024 data points from the model
(θ_true ~ N(0, I), fixed seed), sets every parameter at the optimum and perturbs each by
N(0, 0.01²) (fixed seed); the gradients are for ONE data point, x = the first one.

Closed forms. With z_i = m + s ε_i, m = a ⊙ x + b, and r = m − c (how far the encoder's
mean is from the posterior mean),

    log p(x, z) = −‖z − c‖² − ¼‖x − θ‖² − D log 2π,
    log w_i = log p(x, z_i) − log q(z_i|x) = −(s² − ½)‖ε_i‖² − 2s r·ε_i + const,
    w̃ = softmax(log w),  S₁ = Σ w̃_i ε_i,  Q = Σ w̃_i²,  S₂ = Σ w̃_i² ε_i.

Per bound (then averaged over the M bounds), ∂z_i/∂b = I and ∂z_i/∂a = diag(x), so every φ
gradient has ∇_a = x ⊙ ∇_b:

    θ (all three):  Σ w̃_i (z_i − θ) = (x − θ)/2 + r + s S₁
    IWAE, ∇_b:      Σ w̃_i d log w_i/db = Σ w̃_i (θ + x − 2z_i) = −2r − 2s S₁
                    (the path term ∂log w/∂z · ∂z/∂b = θ + x − 2z + ε/s and the score term
                    −∂log q/∂b = −ε/s cancel in their last parts)
    STL, ∇_b:       Σ w̃_i ∂log w_i/∂z_i = −2r − (2s − 1/s) S₁   (log q's parameters detached)
    DReG, ∇_b:      Σ w̃_i² ∂log w_i/∂z_i = −2r Q − (2s − 1/s) S₂

At K = 1, w̃ = 1 and Q = 1, so DReG is STL draw for draw. Each is tested against torch autograd
of the bound on the same draws (tests/core/test_iwae.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["D", "S_DEFAULT", "PERTURB", "ESTIMATORS", "GROUPS", "GRID", "DRAWS", "BLOCKS", "RESOLVE_Z", "BOUND_Z", "THEORY", "Problem",
           "problem", "noise", "iwae_bound", "gradients_from_noise", "gradient_draws", "snr", "group_snr",
           "fit_slope", "Curves", "snr_curves", "elbo_gradient", "snr_k1"]

D = 20
S_DEFAULT = math.sqrt(2.0 / 3.0)
PERTURB = 0.01
ESTIMATORS = {"iwae": "IWAE", "stl": "STL (sticking the landing)", "dreg": "DReG (doubly reparameterized)"}
GROUPS = {"theta": "θ (generative model)", "phi": "φ = (A, b) (encoder)"}
GRID = (1, 4, 16, 64, 256)
# Antithetic pairs per grid point: the statistics need them (see snr_curves), and the whole K sweep
# stays within about a second on one core (bench/bench_iwae.py).
DRAWS = 4000
BLOCKS = 20  # jackknife blocks for the slopes' standard errors
# A point is resolved where its measured mean stands at least this many standard errors from 0, on the
# side of its known direction; elsewhere its SNR is noise: shown as an upper bound and left out of the fit.
RESOLVE_Z = 2.0
# An unresolved point's upper bound: the SNR a mean this many standard errors above the measured one would
# have. Not RESOLVE_Z: given that a point is unresolved its measured mean is low, and a bound 2 SE above it
# missed the truth at about one unresolved point in nine (IWAE's φ at K = 256, true SNR 0.0014, about 2.8 SE
# from 0: seed 1 printed "under 0.0012"); 4 SE above it misses with a chance of order 10⁻⁴.
BOUND_Z = 4.0
# The slopes of log SNR against log K (M = 1) and against log M (K = 1). None: no theorem (STL's
# φ-gradient is biased for K > 1, so its SNR measures the distance to a different target).
THEORY = {
    "K": {("iwae", "theta"): 0.5, ("iwae", "phi"): -0.5, ("stl", "theta"): 0.5, ("stl", "phi"): None,
          ("dreg", "theta"): 0.5, ("dreg", "phi"): 0.5},
    "M": {(e, g): 0.5 for e in ESTIMATORS for g in GROUPS},
}


@dataclass(frozen=True)
class Problem:
    """One data point x, the perturbed parameters θ, a, b, and the fixed encoder scale s."""
    x: np.ndarray
    theta: np.ndarray
    a: np.ndarray
    b: np.ndarray
    s: float
    data_mean: np.ndarray

    @property
    def r(self) -> np.ndarray:
        """m − c: the encoder mean a ⊙ x + b minus the posterior mean (θ + x)/2."""
        return self.a * self.x + self.b - (self.theta + self.x) / 2.0


@lru_cache(maxsize=8)
def problem(*, s: float = S_DEFAULT, perturb: float = PERTURB, dim: int = D, n_data: int = 1024,
            data_seed: int = 0, param_seed: int = 1) -> Problem:
    """Rainforth et al.'s set-up: θ_true ~ N(0, I); N data points x_n = z_n + noise, i.e. x_n ~
    N(θ_true, 2I); θ* = mean of the data, a* = ½, b* = θ*/2; each parameter perturbed by
    N(0, perturb²). Fixed seeds, so every page, test and bench sees the same problem."""
    rng = np.random.default_rng(data_seed)
    theta_true = rng.standard_normal(dim)
    data = theta_true + math.sqrt(2.0) * rng.standard_normal((n_data, dim))
    mean = data.mean(0)
    p = np.random.default_rng(param_seed)
    theta = mean + perturb * p.standard_normal(dim)
    a = 0.5 + perturb * p.standard_normal(dim)
    b = mean / 2.0 + perturb * p.standard_normal(dim)
    return Problem(data[0].copy(), theta, a, b, float(s), mean)


def noise(draws: int, M: int, K: int, dim: int = D, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """Standard normal ε of shape (draws, M, K, dim)."""
    return np.random.default_rng(seed).standard_normal((draws, M, K, dim), dtype=dtype)


def iwae_bound(prob: Problem, eps: np.ndarray) -> np.ndarray:
    """The bound (1/M) Σ_m log (1/K) Σ_i w_mi on each draw, (draws,), with every constant:
    log w = log N(z; θ, I) + log N(x; z, I) − log N(z; m, s² I), z = m + s ε."""
    m = prob.a * prob.x + prob.b
    z = m + prob.s * eps
    dim = eps.shape[-1]
    log_p = (-0.5 * ((z - prob.theta) ** 2).sum(-1) - 0.5 * ((prob.x - z) ** 2).sum(-1) - dim * math.log(2 * math.pi))
    log_q = -0.5 * (eps ** 2).sum(-1) - dim * math.log(prob.s) - 0.5 * dim * math.log(2 * math.pi)
    log_w = log_p - log_q
    top = log_w.max(-1, keepdims=True)
    bound = top[..., 0] + np.log(np.exp(log_w - top).mean(-1))
    return bound.mean(-1)


def gradients_from_noise(prob: Problem, eps: np.ndarray, estimators=tuple(ESTIMATORS)) -> dict:
    """Closed-form gradients on the draws ``eps`` (draws, M, K, D), vectorized: {"theta":
    (draws, D)} and, per estimator, {name: (draws, 2D)} for φ = (a, b). The formulas are in
    the module docstring; the M bounds are averaged (MIWAE)."""
    s, r = prob.s, prob.r
    draws, M, K, dim = eps.shape
    flat = eps.reshape(draws * M, K, dim)
    r_t = r.astype(eps.dtype)
    path = 2.0 * s - 1.0 / s
    if K == 1:  # w̃ = 1 and Q = 1: no softmax to take
        w = None
        s1 = flat[:, 0, :]
    else:
        log_w = -(s * s - 0.5) * np.einsum("bkd,bkd->bk", flat, flat) - 2.0 * s * (flat @ r_t)
        log_w -= log_w.max(-1, keepdims=True)
        w = np.exp(log_w)
        w /= w.sum(-1, keepdims=True)
        s1 = np.matmul(w[:, None, :], flat)[:, 0, :]  # (draws·M, D)

    def per_draw(bounds: np.ndarray) -> np.ndarray:  # the average of the M bounds of each draw
        return bounds.reshape(draws, M, dim).mean(1, dtype=np.float64)

    out = {"theta": (prob.x - prob.theta) / 2.0 + r + s * per_draw(s1)}
    for name in estimators:
        if name == "iwae":
            grad_b = -2.0 * r - 2.0 * s * per_draw(s1)
        elif name == "stl" or (name == "dreg" and w is None):
            grad_b = -2.0 * r - path * per_draw(s1)
        elif name == "dreg":
            w2 = w * w
            q = w2.sum(-1).reshape(draws, M).mean(1, dtype=np.float64)  # Q averaged over the M bounds
            grad_b = -2.0 * r * q[:, None] - path * per_draw(np.matmul(w2[:, None, :], flat)[:, 0, :])
        else:
            raise ValueError(f"Unknown estimator {name!r}; choose from {', '.join(ESTIMATORS)}.")
        out[name] = np.concatenate([prob.x * grad_b, grad_b], axis=-1)
    return out


def gradient_draws(K: int, *, M: int = 1, estimator: str, draws: int, seed: int = 0, prob: Problem | None = None
                   ) -> dict[str, np.ndarray]:
    """``draws`` independent gradient estimates of one estimator: {"theta": (draws, D),
    "phi": (draws, 2D)}, φ ordered (a_1 … a_D, b_1 … b_D)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {estimator!r}; choose from {', '.join(ESTIMATORS)}.")
    prob = prob or problem()
    g = gradients_from_noise(prob, noise(draws, M, K, prob.x.size, seed), (estimator,))
    return {"theta": g["theta"], "phi": g[estimator]}


def snr(delta: np.ndarray) -> np.ndarray:
    """Per parameter, SNR = |E[Δ]| / sd[Δ], from independent draws Δ (draws, p): |mean| over the
    sample standard deviation. (It reads about 0.8/√draws where the truth is smaller.)"""
    return np.abs(delta.mean(0)) / delta.std(0, ddof=1)


def group_snr(plus: np.ndarray, minus: np.ndarray, direction: np.ndarray | None = None) -> tuple[float, float, float]:
    """The SNR of a group of parameters as a vector, ‖E Δ‖ / √(tr Var Δ), from antithetic pairs
    (Δ on ε in ``plus``, on −ε in ``minus``, each (pairs, p)). Returns (snr, ‖E Δ‖², tr Var Δ).

    Why this aggregate: a coordinate's SNR is proportional to its own mismatch r_d, which the
    random perturbation makes near 0 for some d, where log SNR is unbounded noise; the vector
    ratio weights coordinates by their signal and scales with K and M as each coordinate does.

    E Δ: each pair's mean ½(Δ(ε) + Δ(−ε)) is an unbiased draw of it, and here a precise one,
    since Δ is odd in ε up to terms of order r. With a known ``direction`` u of E Δ (for φ,
    E Δ_b ∥ −r and E Δ_a ∥ −x ⊙ r, by the rotational symmetry of ε), E Δ = u (u·E Δ) and only
    the projection is averaged, which leaves one coordinate's noise instead of 2D.
    ‖E Δ‖² is estimated without bias, as (mean)² minus the variance of that mean.
    tr Var Δ = Σ_p (mean of Δ² over all 2·pairs draws − (E Δ)²): each draw has the right
    distribution, antithetic or not.
    """
    value, mean_sq, total_var = _snr_from_sums(*_sums(plus, minus, direction), direction)[:3]
    return value, mean_sq, total_var


def _sums(plus, minus, direction):
    """Sufficient statistics of :func:`group_snr`: n, Σ pair (or Σ u·pair), Σ pair² (or Σ
    (u·pair)²), Σ ½(plus² + minus²), with float64 accumulation."""
    pair = 0.5 * (plus + minus)
    if direction is not None:
        pair = pair @ (direction / np.linalg.norm(direction))
    second = 0.5 * (plus * plus + minus * minus)
    return (np.array(float(pair.shape[0])), pair.sum(0, dtype=np.float64), (pair * pair).sum(0, dtype=np.float64),
            second.sum(0, dtype=np.float64))


def _snr_from_sums(n, s1, s2, sq, direction):
    """(snr, ‖E Δ‖², tr Var Δ, z, upper): z is how many standard errors the measured mean stands
    from 0 (with a direction: its signed projection on it, so a mean of the wrong sign counts as
    unresolved), and upper the SNR that a mean BOUND_Z standard errors above the measured one
    (or above 0) would have: a one-sided bound where the point is not resolved."""
    mean = s1 / n
    var_mean = (s2 - n * mean * mean) / (n - 1) / n
    if direction is not None:
        u = direction / np.linalg.norm(direction)
        mean_vec, mean_sq = u * mean, float(mean * mean - var_mean)
        se = math.sqrt(max(float(var_mean), 0.0))
        z = float(mean) / se if se > 0 else math.copysign(math.inf, float(mean))
        length = max(float(mean), 0.0)
    else:
        mean_vec, mean_sq = mean, float((mean * mean - var_mean).sum())
        se = math.sqrt(max(float(var_mean.sum()), 0.0))
        length = math.sqrt(max(mean_sq, 0.0))
        z = length / se if se > 0 else math.inf
    total_var = float((sq / n - mean_vec ** 2).sum())
    return (math.sqrt(max(mean_sq, 0.0) / total_var), mean_sq, total_var, z,
            (length + BOUND_Z * se) / math.sqrt(total_var))


def _jackknife_snr(plus, minus, direction, blocks: int) -> tuple[tuple, np.ndarray]:
    """:func:`_snr_from_sums` on all pairs, and the SNR on all pairs but block i (pairs i, i + blocks, …)."""
    parts = [_sums(plus[i::blocks], minus[i::blocks], direction) for i in range(blocks)]
    total = [sum(p[j] for p in parts) for j in range(4)]
    full = _snr_from_sums(*total, direction)
    left = np.array([_snr_from_sums(*[total[j] - p[j] for j in range(4)], direction)[0] for p in parts])
    return full, left


def fit_slope(grid, values) -> float:
    """The least-squares slope of log(values) against log(grid)."""
    x, y = np.log(np.asarray(grid, float)), np.log(np.asarray(values, float))
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


@dataclass(frozen=True)
class Curves:
    """SNR against K (M = 1) or against M (K = 1), per (estimator, group), with fitted slopes.

    ``snr[(e, g)]`` has one value per ``grid`` point and ``log_se[(e, g)]`` the jackknife SE of its
    natural log (≈ its relative error). ``resolved[(e, g)]`` says, per point, whether the measured
    mean stands at least RESOLVE_Z standard errors from 0 on the side of its known direction;
    where it does not, ``snr`` is only noise and ``upper[(e, g)]`` bounds it (one-sided, BOUND_Z
    SE). ``slope[(e, g)]`` is (slope, jackknife SE) over the resolved points only, listed in
    ``fitted[(e, g)]`` ((None, None) with fewer than two). ``projection[e]`` holds, per grid point,
    each draw's b-gradient projected on the direction of its mean, u·Δ_b with u = −r/‖r‖ (for the
    histograms), ``mean_projection[e]`` its mean over the antithetic pairs and
    ``projection_se[e]`` that mean's standard error."""
    sweep: str
    grid: tuple
    pairs: int
    s: float
    snr: dict
    log_se: dict
    slope: dict
    theory: dict
    projection: dict
    mean_projection: dict
    resolved: dict
    upper: dict
    fitted: dict
    projection_se: dict


def snr_curves(sweep: str = "K", *, grid=GRID, pairs: int = DRAWS, seed: int = 0, s: float = S_DEFAULT,
               perturb: float = PERTURB, blocks: int = BLOCKS, estimators=tuple(ESTIMATORS)) -> Curves:
    """SNR curves over K ∈ grid with M = 1 (``sweep="K"``) or over M ∈ grid with K = 1 ("M").

    At each grid point, ``pairs`` antithetic pairs (ε, −ε): 2·pairs draws, shared by the three
    estimators (common random numbers). How many: IWAE's φ-gradient has mean O(r/K), with r ≈ 0.01,
    and spread O(1/√K); its SNR at K = 256 is about 10⁻³, which independent draws would need
    ~10⁷ of to resolve (SNR's noise is ~1/√draws). Antithetic pairs and the known direction of the
    mean (:func:`group_snr`) bring it within reach: with 4,000 pairs the jackknife puts IWAE's φ
    points at K ≤ 16 within a few per cent and those at K = 64 and 256 within about ±30 %
    (``log_se``; the page draws them as error bars). Not always: its true SNR at K = 256 is about
    0.0014 and one measurement's SE about 0.0005, so at some seeds the mean is not resolved from 0
    (``resolved``); such a point is left out of the fit and shown as an upper bound.

    Slopes: least squares of log SNR on log K (or log M) over the resolved grid points; the SE is a
    delete-a-block jackknife over ``blocks`` blocks of pairs (each refit without one block), so it
    measures the Monte Carlo noise of the whole curve, correlations between grid points included.
    """
    if sweep not in ("K", "M"):
        raise ValueError("sweep is 'K' or 'M'.")
    prob = problem(s=s, perturb=perturb)
    r = prob.r
    # The direction of every estimator's mean φ-gradient (E Δ_b ∥ −r, E Δ_a = x ⊙ E Δ_b): signed,
    # so a measured mean on the other side of 0 reads as unresolved, not as a signal.
    directions = {"theta": None, "phi": -np.concatenate([prob.x * r, r])}
    u_b = -r / np.linalg.norm(r)
    keys = [(e, g) for e in estimators for g in GROUPS]
    values, zs, uppers = {k: [] for k in keys}, {k: [] for k in keys}, {k: [] for k in keys}
    jack = {k: [[] for _ in range(blocks)] for k in keys}
    projection, mean_projection, projection_se = ({e: [] for e in estimators} for _ in range(3))
    size = pairs - pairs % blocks
    for j, n in enumerate(grid):
        K, M = (n, 1) if sweep == "K" else (1, n)
        eps = noise(size, M, K, prob.x.size, seed=seed * 1000 + j, dtype=np.float32)  # float32: twice as fast
        plus, minus = gradients_from_noise(prob, eps, estimators), gradients_from_noise(prob, -eps, estimators)
        for e, g in keys:
            name = "theta" if g == "theta" else e
            full, left = _jackknife_snr(plus[name], minus[name], directions[g], blocks)
            values[(e, g)].append(full[0])
            zs[(e, g)].append(full[3])
            uppers[(e, g)].append(full[4])
            for i in range(blocks):
                jack[(e, g)][i].append(left[i])
        for e in estimators:
            b_part = plus[e][:, prob.x.size:] @ u_b
            pair = 0.5 * (b_part + minus[e][:, prob.x.size:] @ u_b)
            projection[e].append(b_part)
            mean_projection[e].append(float(pair.mean()))
            projection_se[e].append(float(pair.std(ddof=1) / math.sqrt(pair.size)))
    slope, log_se, resolved, fitted = {}, {}, {}, {}
    for k in keys:
        resolved[k] = np.array(zs[k]) >= RESOLVE_Z
        logs = np.log(np.maximum(np.array(jack[k]), 1e-300))  # (blocks, grid)
        log_se[k] = np.sqrt((blocks - 1) / blocks * ((logs - logs.mean(0)) ** 2).sum(0))
        fitted[k] = tuple(v for v, ok in zip(grid, resolved[k]) if ok)
        if len(fitted[k]) < 2:
            slope[k] = (None, None)
            continue
        keep = resolved[k]
        at = np.asarray(grid)[keep]
        # A leave-one-block-out SNR of 0 at a resolved point (the point only just resolved) counts as
        # tiny, not as missing: the SE then says the slope is not pinned down.
        fits = np.array([fit_slope(at, np.maximum(np.array(v)[keep], 1e-300)) for v in jack[k]])
        se = math.sqrt((blocks - 1) / blocks * ((fits - fits.mean()) ** 2).sum())
        slope[k] = (fit_slope(at, np.array(values[k])[keep]), se)
    theory = {k: THEORY[sweep][k] for k in keys}
    return Curves(sweep, tuple(grid), size, float(s), {k: np.array(v) for k, v in values.items()}, log_se, slope, theory,
                  {e: np.array(v) for e, v in projection.items()}, {e: np.array(v) for e, v in mean_projection.items()},
                  resolved, {k: np.array(v) for k, v in uppers.items()}, fitted,
                  {e: np.array(v) for e, v in projection_se.items()})


def elbo_gradient(prob: Problem) -> dict[str, np.ndarray]:
    """The exact gradient of the ELBO (K = M = 1): ELBO = E_q[log p(x, z) − log q(z|x)]
    = −‖r‖² − D s² − ¼‖x − θ‖² + D log s + const, so ∇_θ = r + (x − θ)/2, ∇_b = −2r, ∇_a = −2r ⊙ x."""
    r = prob.r
    return {"theta": r + (prob.x - prob.theta) / 2.0, "phi": np.concatenate([-2.0 * r * prob.x, -2.0 * r])}


def snr_k1(prob: Problem, estimator: str, M: int = 1) -> dict[str, float]:
    """The exact group SNR at K = 1 (every estimator is linear in ε there): ‖E Δ‖ / √(tr Var Δ)
    with Var Δ_b = c² I / M, c = 2s for IWAE and 2s − 1/s for STL and DReG (θ: c = s)."""
    exact = elbo_gradient(prob)
    c = 2.0 * prob.s if estimator == "iwae" else abs(2.0 * prob.s - 1.0 / prob.s)
    dim = prob.x.size
    var_phi = c * c / M * float((prob.x ** 2).sum() + dim)
    return {"theta": float(np.linalg.norm(exact["theta"]) / math.sqrt(prob.s ** 2 / M * dim)),
            "phi": float(np.linalg.norm(exact["phi"]) / math.sqrt(var_phi))}
