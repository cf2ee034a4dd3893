"""REBAR and RELAX on the papers' toy: a binary b with p(b = 1) = θ = σ(α), f(b) = (b − t)².

Tucker et al. 2017 (REBAR) use t = 0.45, Grathwohl et al. 2018 (RELAX) t = 0.499. E[f] =
θ(1 − t)² + (1 − θ)t², so ∂E/∂θ = 1 − 2t and ∂E/∂α = θ(1 − θ)(1 − 2t): at t = 0.499 a tiny
signal under the score function's noise.

* :func:`toy_moments` — exact mean and single-draw variance of every estimator at one θ:
  REINFORCE in both parameterizations and ARM/DisARM by enumeration / piecewise
  Gauss–Legendre, REBAR/RELAX at a fixed control variate by quadrature over (u, v)
  (:func:`relax_moments`).
* :func:`train_toy` — the race: Adam on α for E[(b − t)²], one draw per step, REBAR's and
  RELAX's control variates tuned at every step by the one-draw gradient of the variance,
  2ĝ ∂ĝ/∂φ, also with Adam.

Everything here is numpy with the derivatives written out (core.discrete.relax_estimate): a
step of the race is a few dozen array operations on (estimators × chains, draws) arrays.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from .discrete import _graded_rule, check_control, relax_estimate, relaxed_draws

__all__ = ["TOY_TARGETS", "TOY_ESTIMATORS", "TOY_LABELS", "toy_loss", "toy_derivatives", "relax_moments",
           "toy_moments", "train_toy", "tune_control", "init_net", "HIDDEN"]

TOY_TARGETS = (0.45, 0.499)  # REBAR's and RELAX's papers
TOY_ESTIMATORS = ("score", "rebar", "relax", "arm", "disarm")
TOY_LABELS = {"score": "REINFORCE", "score_theta": "REINFORCE, ∂/∂θ", "rebar": "REBAR", "relax": "RELAX",
              "arm": "ARM", "disarm": "DisARM"}
HIDDEN = 10  # RELAX's network: one hidden layer of 10 tanh units (as Grathwohl et al. for the toy)
_VALUES = (0.0, 1.0)


def _check_t(t) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0.0 <= t <= 1.0:
        raise ValueError("The toy's target t must be a number between 0 and 1.")
    return float(t)


def toy_loss(theta, t: float):
    """E[(b − t)²] = θ(1 − t)² + (1 − θ)t²."""
    return theta * (1.0 - t) ** 2 + (1.0 - theta) * t ** 2


def toy_derivatives(t: float):
    """(f, f′[, f″]) of f(x) = (x − t)² on arrays: the closed forms (f″ = 2)."""
    def derivs(x, order=1):
        d = x - t
        if order < 2:
            return d * d, 2.0 * d
        return d * d, 2.0 * d, np.full_like(d, 2.0)
    return derivs


def init_net(hidden: int = HIDDEN, seed: int = 0, shape: tuple = ()) -> tuple:
    """RELAX's network at its start: a random hidden layer (w, c ~ N(0, 1)) and a zero output
    layer (a = 0, d = 0), so r ≡ 0 and RELAX starts as REBAR, yet ∂r/∂a = tanh(wz + c) ≠ 0."""
    rng = np.random.default_rng([int(seed), 7])
    w = rng.standard_normal(shape + (hidden,))
    c = rng.standard_normal(shape + (hidden,))
    return w, c, np.zeros(shape + (hidden,)), np.zeros(shape)


def _control(z, derivs, values, eta, lam, net):
    """c(z) and c′(z) for c = η f(v₀ + (v₁ − v₀) σ(z/λ)) + Σ a tanh(w z + c) + d (written again
    here, apart from relax_estimate, so the quadrature is a check on it)."""
    v0, v1 = values
    y = expit(z / lam)
    f, fp = derivs(v0 + (v1 - v0) * y)
    c, cp = eta * f, eta * fp * (v1 - v0) * y * (1.0 - y) / lam
    if net is not None:
        w, cc, a, d = net
        T = np.tanh(z[:, None] * w + cc)
        c = c + T @ a + d
        cp = cp + (1.0 - T * T) @ (a * w)
    return c, cp


def relax_moments(derivs, f_values, values, alpha: float, eta: float, lam: float, net=None,
                  order: int = 16, levels: int = 60) -> tuple[float, float]:
    """Exact mean and single-draw variance of the REBAR/RELAX estimate of ∂E[f]/∂α, by
    quadrature over (u, v) ∈ (0, 1)²: u split at 1 − θ (b = 1[u > 1 − θ]) with Gauss–Legendre
    panels graded towards 1 − θ, 0 and 1 (c′(z) peaks at z = 0, u = 1 − θ, for a small λ), v
    graded towards 0 and 1 (z̃ → 0 as v → 0).

    ĝ(u, v) = A(u) + B_b(v): A = f(v_b)(b − θ) + c′(z), B_b = −c(z̃)(b − θ) − c′(z̃) dz̃/dα, and
    given b, u and v are independent, so the 2-D tensor-product rule factors exactly into 1-D
    sums: E[ĝ²] = ∫A² du + Σ_b [2 ∫_{b} A du ∫B_b dv + P(b) ∫B_b² dv]."""
    theta = float(expit(alpha))
    u, wu = _graded_rule(1.0 - theta, order, levels)
    v, wv = _graded_rule(0.5, order, levels)
    z = alpha + np.log(u) - np.log1p(-u)
    b_u = z > 0
    _, cp_z = _control(z, derivs, values, eta, lam, net)
    A = np.where(b_u, f_values[1], f_values[0]) * (b_u - theta) + cp_z
    mean = wu @ A
    second = wu @ (A * A)
    for b, p in ((True, theta), (False, 1.0 - theta)):
        _, _, zt, dzt, s = _tilde(alpha, v, b)
        c_t, cp_t = _control(zt, derivs, values, eta, lam, net)
        B = -c_t * s - cp_t * dzt
        in_b = b_u == b
        mean += p * (wv @ B)
        second += 2.0 * (wu[in_b] @ A[in_b]) * (wv @ B) + p * (wv @ (B * B))
    return float(mean), float(second - mean * mean)


def _tilde(alpha: float, v: np.ndarray, b: bool):
    """relaxed_draws' z̃ and dz̃/dα for a given b (a u that gives that b)."""
    theta = float(expit(alpha))
    u = np.full_like(v, (1.0 + (1.0 - theta)) / 2 if b else (1.0 - theta) / 2)
    return relaxed_draws(alpha, u, v)


def _binary_arm_moments(f0: float, f1: float, alpha: float) -> dict[str, tuple[float, float]]:
    """Exact mean and variance of ARM and DisARM (∂/∂α, one draw u): both are piecewise
    polynomials of degree ≤ 1 in u between σ(α) and σ(−α), so Gauss–Legendre on each piece is exact."""
    p, q = expit(alpha), expit(-alpha)
    edges = np.unique([0.0, min(p, q), max(p, q), 1.0])
    nodes, weights = np.polynomial.legendre.leggauss(4)
    lo, hi = edges[:-1], edges[1:]
    u = ((lo + hi)[:, None] / 2 + (hi - lo)[:, None] / 2 * nodes).ravel()
    w = ((hi - lo)[:, None] / 2 * weights).ravel()
    fz = lambda b: np.where(b, f1, f0)  # noqa: E731
    arm = (fz(u > q) - fz(u < p)) * (u - 0.5)
    b, bt = u < p, (1.0 - u) < p
    disarm = 0.5 * (fz(b) - fz(bt)) * (1.0 - 2.0 * bt) * (b != bt) * expit(abs(alpha))
    return {n: (float(w @ g), float(w @ g ** 2 - (w @ g) ** 2)) for n, g in (("arm", arm), ("disarm", disarm))}


def toy_moments(t: float, theta: float = 0.5, controls: dict | None = None) -> dict[str, tuple[float, float]]:
    """Exact (mean, single-draw variance) at θ of REINFORCE ∂/∂θ ("score_theta") and ∂/∂α
    ("score"), ARM, DisARM, and REBAR/RELAX for each control variate in ``controls``
    (name → ControlVariate), all for f(b) = (b − t)². Means: ∂E/∂θ = 1 − 2t, the rest ∂E/∂α."""
    t = _check_t(t)
    if not 0.0 < theta < 1.0:
        raise ValueError("θ must lie strictly between 0 and 1.")
    alpha = math.log(theta) - math.log1p(-theta)
    f0, f1 = t * t, (1.0 - t) ** 2
    out = {}
    mean_t, second_t = f1 - f0, f1 ** 2 / theta + f0 ** 2 / (1.0 - theta)  # f_b (b/θ − (1 − b)/(1 − θ))
    out["score_theta"] = (mean_t, second_t - mean_t ** 2)
    k = theta * (1.0 - theta)  # f_b (b − θ)
    mean_a, second_a = k * (f1 - f0), theta * f1 ** 2 * (1 - theta) ** 2 + (1 - theta) * f0 ** 2 * theta ** 2
    out["score"] = (mean_a, second_a - mean_a ** 2)
    out.update(_binary_arm_moments(f0, f1, alpha))
    for name, cv in (controls or {}).items():
        out[name] = relax_moments(toy_derivatives(t), (f0, f1), _VALUES, alpha, cv.eta, cv.lam, cv.net)
    return out


def _adam(param, grad, m, v, step, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba), in place, on arrays of any shape."""
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    param -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)


def train_toy(t: float, *, steps: int = 2000, lr: float = 0.01, phi_lr: float = 0.01,
              estimators=TOY_ESTIMATORS, chains: int = 8, seed: int = 0, draws: int = 32, theta0: float = 0.5,
              eta0: float = 1.0, lam0: float = 0.5, hidden: int = HIDDEN) -> dict[str, dict[str, np.ndarray]]:
    """Adam (step ``lr``) on α = logit θ to minimise E[(b − t)²], one draw per step, ``chains``
    independent runs per estimator, all estimators and chains as one batch of rows.

    REBAR (φ = η, log λ) and RELAX (φ = η, log λ and its network's w, c, a, d) tune φ at every
    step by Adam (step ``phi_lr``) on the one-draw gradient of the variance of ĝ, 2ĝ ∂ĝ/∂φ (E[ĝ]
    does not depend on φ, so ∂Var/∂φ = E[2ĝ ∂ĝ/∂φ]), from the same draw that moves α.
    REINFORCE is the same formula with c ≡ 0 (η = 0, no network), so one vectorized
    expression serves the three; ARM and DisARM are computed beside it and each row keeps its own.

    Every step also draws ``draws`` − 1 more (u, v) pairs per row (the first is the step's own):
    their sample variance is the single-draw variance of the estimator at that step's θ and φ.

    Returns {name: {"loss", "theta": (steps + 1, chains), "variance": (steps, chains),
    "eta", "lam": (steps + 1, chains)}} (η and λ only for REBAR and RELAX), plus "net" (the
    final (w, c, a, d) per chain) for RELAX.
    """
    t = _check_t(t)
    names = list(estimators)
    bad = [n for n in names if n not in TOY_ESTIMATORS]
    if bad or not names:
        raise ValueError(f"Unknown toy estimator(s): {', '.join(bad) or 'none given'}.")
    steps, chains, draws = int(steps), int(chains), int(draws)
    if not (0 <= steps <= 100_000 and 1 <= chains <= 1000 and 2 <= draws <= 4096):
        raise ValueError("Need 0 ≤ steps ≤ 100,000, 1 ≤ chains ≤ 1,000 and 2 ≤ draws ≤ 4,096.")
    for name, x in (("lr", lr), ("phi_lr", phi_lr)):
        if not (math.isfinite(x) and 0.0 <= x <= 10.0):
            raise ValueError(f"{name} must be between 0 and 10.")
    if not 0.0 < theta0 < 1.0:
        raise ValueError("θ₀ must lie strictly between 0 and 1.")
    check_control(eta0, lam0)
    E, H = len(names), int(hidden)
    R = E * chains
    row_est = np.repeat(np.array(names), chains)
    is_rebar, is_relax = (row_est == "rebar"), (row_est == "relax")
    # Rows by formula (fixed code paths, not a loop over estimators): REINFORCE and REBAR share one.
    form_rows, rebar_rows = np.flatnonzero((row_est == "score") | is_rebar), np.flatnonzero(is_rebar)
    net_rows, arm_rows, disarm_rows = (np.flatnonzero(row_est == n) for n in ("relax", "arm", "disarm"))
    rng = np.random.default_rng([int(seed), 11])
    f0, f1 = t * t, (1.0 - t) ** 2
    derivs = toy_derivatives(t)

    alpha = np.full(R, math.log(theta0) - math.log1p(-theta0))
    # φ per row: η and log λ (η = 0 for REINFORCE, whose rows never tune), and the network of RELAX's rows.
    eta = np.where(is_rebar | is_relax, float(eta0), 0.0)
    log_lam = np.full(R, math.log(lam0))
    w, c, a, d = init_net(H, seed, (net_rows.size,))
    scalar_phi = np.stack([eta, log_lam], axis=1)  # (R, 2)
    net_phi = np.concatenate([w, c, a, d[:, None]], axis=1)  # (relax rows, 3H + 1)
    adam = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in (("alpha", alpha), ("phi", scalar_phi), ("net", net_phi))}

    theta_hist = np.empty((steps + 1, R))
    var_hist = np.empty((steps, R))
    eta_hist, lam_hist = np.empty((steps + 1, R)), np.empty((steps + 1, R))
    theta_hist[0], eta_hist[0], lam_hist[0] = expit(alpha), scalar_phi[:, 0], np.exp(scalar_phi[:, 1])
    with np.errstate(over="ignore", under="ignore"):
        for step in range(1, steps + 1):
            u, v = np.clip(rng.random((2, R, draws)), 1e-300, 1.0 - 2.0 ** -53)
            al = alpha[:, None]
            e, ll = scalar_phi[:, :1], scalar_phi[:, 1:]
            g = np.empty((R, draws))
            phi_grad = np.zeros((R, 2))
            if form_rows.size:  # REINFORCE (c ≡ 0) and REBAR: one expression
                r = form_rows
                g[r] = relax_estimate(al[r], u[r], v[r], derivs, (f0, f1), _VALUES, e[r], ll[r])
            if net_rows.size:
                r = net_rows
                net = (net_phi[:, None, :H], net_phi[:, None, H:2 * H], net_phi[:, None, 2 * H:3 * H], net_phi[:, 3 * H:])
                g[r] = relax_estimate(al[r], u[r], v[r], derivs, (f0, f1), _VALUES, e[r], ll[r], net)
            if arm_rows.size or disarm_rows.size:
                fz = lambda b: np.where(b, f1, f0)  # noqa: E731
                r = arm_rows
                g[r] = (fz(u[r] > expit(-al[r])) - fz(u[r] < expit(al[r]))) * (u[r] - 0.5)
                r = disarm_rows
                p = expit(al[r])
                b, bt = u[r] < p, (1.0 - u[r]) < p
                g[r] = 0.5 * (fz(b) - fz(bt)) * (1.0 - 2.0 * bt) * (b != bt) * expit(np.abs(al[r]))
            var_hist[step - 1] = g.var(axis=1, ddof=1)
            g0 = g[:, 0]
            # The variance gradient of the tuned rows, 2ĝ ∂ĝ/∂φ, from the step's own draw.
            if rebar_rows.size:
                r = rebar_rows
                _, gr = relax_estimate(al[r], u[r, :1], v[r, :1], derivs, (f0, f1), _VALUES, e[r], ll[r], phi_grad=True)
                phi_grad[r] = 2.0 * g0[r, None] * np.concatenate([gr["eta"], gr["log_lam"]], axis=1)
            if net_rows.size:
                r = net_rows
                _, gr = relax_estimate(al[r], u[r, :1], v[r, :1], derivs, (f0, f1), _VALUES, e[r], ll[r], net,
                                       phi_grad=True)
                phi_grad[r] = 2.0 * g0[r, None] * np.concatenate([gr["eta"], gr["log_lam"]], axis=1)
                net_grad = 2.0 * g0[r, None] * np.concatenate([gr["w"][:, 0], gr["c"][:, 0], gr["a"][:, 0], gr["d"]],
                                                              axis=1)
                _adam(net_phi, net_grad, *adam["net"], step, phi_lr)
            _adam(scalar_phi, phi_grad, *adam["phi"], step, phi_lr)
            _adam(alpha, g0, *adam["alpha"], step, lr)
            theta_hist[step], eta_hist[step], lam_hist[step] = expit(alpha), scalar_phi[:, 0], np.exp(scalar_phi[:, 1])
    out = {}
    for i, name in enumerate(names):
        rows = slice(i * chains, (i + 1) * chains)
        th = theta_hist[:, rows]
        out[name] = {"theta": th, "loss": toy_loss(th, t), "variance": var_hist[:, rows]}
        if name in ("rebar", "relax"):
            out[name]["eta"], out[name]["lam"] = eta_hist[:, rows], lam_hist[:, rows]
        if name == "relax":
            out[name]["net"] = [(r[:H], r[H:2 * H], r[2 * H:3 * H], float(r[3 * H])) for r in net_phi]
    return out


def tune_control(t: float, *, steps: int = 2000, phi_lr: float = 0.01, seed: int = 0, theta: float = 0.5,
                 chains: int = 1) -> dict:
    """REBAR's and RELAX's control variates tuned at a fixed θ (α frozen: ``train_toy`` with lr = 0)
    for ``steps`` steps; {"rebar": ControlVariate, "relax": ControlVariate} from chain 0."""
    run = train_toy(t, steps=steps, lr=0.0, phi_lr=phi_lr, estimators=("rebar", "relax"), chains=chains, seed=seed,
                    draws=2, theta0=theta)
    rebar = check_control(float(run["rebar"]["eta"][-1, 0]), float(run["rebar"]["lam"][-1, 0]))
    relax = check_control(float(run["relax"]["eta"][-1, 0]), float(run["relax"]["lam"][-1, 0]), run["relax"]["net"][0])
    return {"rebar": rebar, "relax": relax}
