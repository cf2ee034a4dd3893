"""Exact Gaussian expectations, gradients and single-sample variances by quadrature.

Everything here is an integral over the standard normal ε, with x = μ + σε::

    E[h(ε)] = ∫ h(ε) φ(ε) dε,   φ(ε) = exp(-ε²/2) / √(2π).

The integral is taken on [-B, B] (B grows from 12 until the answer stops changing)
with composite Gauss–Legendre rules, refined by halving the panel width until two
successive answers agree to about 1e-12 relative. Objectives that are not smooth
are split at their non-smooth points first: the roots of the objective's switch
functions (see :mod:`core.objective`) are bracketed on a fine grid and bisected to
machine precision, so a step such as ``x > 0`` is integrated exactly piece by piece
instead of being smeared across a quadrature panel.

The true gradient of E_{N(μ,σ²)}[f(x)]:

    ∂/∂μ = E[f(x) ε] / σ                  (score form, valid for any f)
         = E[f'(x)]                        (pathwise form, f continuous)
    ∂/∂σ = E[f(x) (ε² − 1)] / σ
         = E[f'(x) ε].

For continuous f the pathwise form is used (no cancellation when |μ| ≫ σ); with jumps
only the score form is right.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import torch

from .objective import Objective, parse_objective

__all__ = [
    "gaussian_expectation",
    "checked_expectation",
    "exact_gradient",
    "exact_value",
    "gradient_report",
    "exact_variances",
    "breakpoints",
    "pathwise_expectation",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
# Not round numbers: with a window of ±12 every panel edge would sit on a multiple of 2⁻ᵏ, where
# μ + σε = 0 falls at round settings (ε = −1 at μ = σ = 0.5). A transition steeper than a panel
# (sigmoid(10⁶x)) sitting on an edge is never seen by any node, and refinement would "converge".
_WINDOWS = (12.0 + 1 / 7, 20.0 + 1 / 7, 30.0 + 1 / 7, 38.0)
_REL_TOL = 1e-12
# The finest panel (in units of ε): with 16 nodes a panel, a window of ±38 holds at most about
# 160,000 nodes, which bounds the memory of one integrand evaluation (bench/bench_formulas.py).
_MIN_PANEL = 2.0 ** -8


def _phi(eps: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * eps * eps) / _SQRT_2PI


def breakpoints(objective: Objective, mu: float, sigma: float, bound: float = 38.0,
                grid: int = 8001) -> np.ndarray:
    """Points ε in (-bound, bound) where f(μ + σε) may not be smooth, sorted.

    Each switch function s of the objective is evaluated on a grid; sign changes are
    bisected (all brackets at once, 64 halvings) and exact zeros on the grid kept.
    """
    if not objective.switches:
        return np.empty(0)
    eps = np.linspace(-bound, bound, grid)
    x = mu + sigma * eps
    found = []
    for switch in objective.switches:
        with torch.no_grad(), np.errstate(all="ignore"):
            s = np.broadcast_to(switch(torch.from_numpy(x)).numpy(), x.shape)
        sign = np.sign(s)
        zero = sign == 0
        # Exact zeros on the grid: the ends of each run of them (a switch that is 0 on a whole
        # stretch, such as a 0/1 test, bends only where the stretch starts and ends).
        inner = zero[1:-1] & zero[:-2] & zero[2:]
        found.append(eps[zero & ~np.concatenate([[False], inner, [False]])])
        bracket = np.nonzero(sign[:-1] * sign[1:] < 0)[0]
        if bracket.size == 0:
            continue
        lo, hi = eps[bracket].copy(), eps[bracket + 1].copy()
        s_lo = sign[bracket]
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            with torch.no_grad(), np.errstate(all="ignore"):
                s_mid = np.broadcast_to(switch(torch.from_numpy(mu + sigma * mid)).numpy(), mid.shape)
            same = np.sign(s_mid) == s_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        found.append(0.5 * (lo + hi))
    points = np.unique(np.concatenate(found)) if found else np.empty(0)
    return points[np.abs(points) < bound]


def _integrate(integrand: Callable[[np.ndarray], np.ndarray], cuts: np.ndarray,
               bound: float, panel: float) -> np.ndarray:
    """Composite Gauss–Legendre over [-bound, bound] split at ``cuts``.

    ``integrand`` maps a 1-D array of ε to an array (m, n) of m integrands.
    """
    cuts = np.unique(cuts[np.isfinite(cuts)])
    edges = np.concatenate([[-bound], cuts[(cuts > -bound) & (cuts < bound)], [bound]])
    lengths = np.diff(edges)
    keep = lengths > 0
    edges_lo, lengths = edges[:-1][keep], lengths[keep]
    counts = np.maximum(1, np.ceil(lengths / panel).astype(int))
    # Panel starts and widths for every piece, vectorised.
    piece = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    width = (lengths / counts)[piece]
    start = edges_lo[piece] + within * width
    nodes = (start[:, None] + 0.5 * width[:, None] * (_GL_NODES[None, :] + 1.0)).ravel()
    weights = (0.5 * width[:, None] * _GL_WEIGHTS[None, :]).ravel()
    values = integrand(nodes)
    with np.errstate(all="ignore"):
        return values @ weights


def gaussian_expectation(integrand: Callable[[np.ndarray], np.ndarray], cuts: np.ndarray = np.empty(0),
                         *, with_error: bool = False):
    """E[h(ε)] for ε ~ N(0, 1) and every row of ``h = integrand(ε)`` (shape (m, n)).

    ``cuts`` are points where h is not smooth. Returns an array of m values; entries
    that do not converge (h grows too fast for the expectation to exist, or is not
    finite) are NaN. With ``with_error=True`` it returns ``(value, error, scale)``:
    ``error`` is the change of the last refinement (panels halved, or window widened),
    ``scale`` is E|h|, the size the tolerances are relative to.
    """
    def weighted(eps: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = integrand(eps) * _phi(eps)[None, :]
        # Integrate |h| alongside h: tolerances are relative to E|h|, so an answer
        # that is exactly 0 by symmetry still counts as converged.
        return np.concatenate([values, np.abs(values)])

    def close(a: np.ndarray, b: np.ndarray, rel: float) -> np.ndarray:
        # Both E[h] and E|h| must settle: a principal value such as E[ε/x] near a
        # pole settles while E|h| keeps growing, and that expectation does not exist.
        m = a.shape[0] // 2
        with np.errstate(all="ignore"):
            scale = np.maximum(a[m:], b[m:])
            # |h| has corners wherever h changes sign, so it converges more slowly: a
            # loose check is enough to tell a divergent E|h| from a convergent one.
            settled = np.abs(a[m:] - b[m:]) <= max(rel, 1e-4) * scale + 1e-300
            return (np.abs(a[:m] - b[:m]) <= rel * scale + 1e-300) & settled

    previous_window = None
    panel_start = 1.0
    for bound in _WINDOWS:
        panel, last, loose, converged = panel_start, None, None, False
        for _ in range(8):
            if last is not None and panel < _MIN_PANEL:
                break  # refined as far as the memory budget allows
            value = _integrate(weighted, cuts, bound, panel)
            if last is not None:
                if np.all(close(value, last, _REL_TOL)):
                    converged = True
                    break
                loose = close(value, last, 1e-8)
            last, panel = value, panel / 2
        if not converged:
            # Not converged under refinement (a pole such as 1/x, wild oscillation, or a tail
            # too heavy for the finest panels): a wider window will not help.
            value = value.copy()
            if loose is None:
                value[: len(value) // 2] = np.nan
            else:
                value[: len(loose)][~loose] = np.nan
            break
        if previous_window is not None and np.all(close(value, previous_window, 1e-10) | ~np.isfinite(value[: len(value) // 2])):
            break
        # Stop early when the integrand is negligible on the window's last two units.
        edges = np.concatenate([np.linspace(-bound, 2 - bound, 33), np.linspace(bound - 2, bound, 33)])
        tail = np.abs(weighted(edges))
        m = tail.shape[0] // 2
        with np.errstate(all="ignore"):
            negligible = 4.0 * tail[:m].max(axis=1) <= 1e-15 * value[m:]
        if np.all(negligible & np.isfinite(value[:m])):
            break
        previous_window, panel_start = value, panel
    else:
        bad = ~close(value, previous_window, 1e-6)
        value = value.copy()
        value[: len(bad)][bad] = np.nan
    m = len(value) // 2
    result = np.where(np.isfinite(value[:m]), value[:m], np.nan)
    if not with_error:
        return result
    with np.errstate(all="ignore"):
        error = np.abs(value[:m] - last[:m]) if last is not None else np.zeros(m)
        if previous_window is not None:
            error = np.maximum(error, np.abs(value[:m] - previous_window[:m]))
    error = np.where(np.isfinite(result), error, np.inf)
    return result, error, value[m:]


# Exact values are trusted when the two estimates of each (refinement, and two breakpoint
# resolutions) agree to this fraction of E|h|.
TRUST_REL = 1e-6
MAX_BREAKPOINTS = 20_000


@functools.lru_cache(maxsize=64)
def _breakpoints_twice(objective: Objective, mu: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The breakpoints on a fine and on a coarser grid, found once per (f, μ, σ): the exact
    gradient and variances integrate a dozen functions of the same f at the same μ and σ.
    (Objectives compare and hash by their text.) Read-only, as they are shared."""
    pair = (breakpoints(objective, mu, sigma), breakpoints(objective, mu, sigma, grid=5003))
    for points in pair:
        points.flags.writeable = False
    return pair


def checked_expectation(integrand, objective: Objective, mu: float, sigma: float,
                         extra_cuts: Callable[[np.ndarray], np.ndarray] = lambda c: c,
                         rule: Callable = gaussian_expectation, *, with_scale: bool = False):
    """E[h(ε)] with an honest error: the integral on the breakpoints found by two grids
    of different resolution, and the panel refinement's own change. Entries whose
    error exceeds ``TRUST_REL`` of E|h| are NaN ("no trustworthy exact value").

    Returns (value, error) arrays, and E|h| as a third with ``with_scale=True``.
    """
    fine, coarse = _breakpoints_twice(objective, float(mu), float(sigma))
    if max(fine.size, coarse.size) > MAX_BREAKPOINTS:
        m = np.atleast_2d(integrand(np.zeros(1))).shape[0]
        out = (np.full(m, np.nan), np.full(m, np.inf))
        return (*out, np.full(m, np.inf)) if with_scale else out
    union = np.union1d(fine, coarse)
    value, error, scale = rule(integrand, extra_cuts(union), with_error=True)
    same = fine.size == coarse.size and (fine.size == 0 or np.allclose(fine, coarse, rtol=0, atol=1e-9))
    if not same:
        # A grid too coarse to bracket every sign change misses breakpoints; if the
        # answer moves with the resolution, the missing ones matter.
        other = rule(integrand, extra_cuts(coarse), with_error=True)[0]
        with np.errstate(all="ignore"):
            error = np.maximum(error, np.abs(value - other))
    with np.errstate(all="ignore"):
        trusted = np.isfinite(value) & (error <= TRUST_REL * np.maximum(scale, np.abs(value)) + 1e-13)
    out = (np.where(trusted, value, np.nan), np.where(trusted, error, np.inf))
    return (*out, scale) if with_scale else out


def _prepare(objective, mu: float, sigma: float) -> Objective:
    objective = parse_objective(objective)
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma <= 0:
        raise ValueError("μ must be finite and σ must be positive.")
    return objective


def exact_value(objective, mu: float, sigma: float) -> float:
    """E_{N(μ,σ²)}[f(x)] by quadrature (NaN where it cannot be trusted)."""
    objective = _prepare(objective, mu, sigma)
    value, _ = checked_expectation(lambda e: objective.numpy(mu + sigma * e)[None, :], objective, mu, sigma)
    return float(value[0])


def _defined(f: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where f is finite, NaN elsewhere: an f that is undefined (NaN) or infinite on a
    share of the mass has no expectation, however finite its derivative is there (log x for x < 0)."""
    return np.where(np.isfinite(f), values, np.nan)


def _pathwise_integrand(objective: Objective, mu: float, sigma: float):
    def pathwise(e):
        x = mu + sigma * e
        g = _defined(objective.numpy(x), objective.derivative(x))
        return np.stack([g, g * e])
    return pathwise


def _score_integrand(objective: Objective, mu: float, sigma: float):
    def score(e):
        f = objective.numpy(mu + sigma * e)
        f = _defined(f, f)
        return np.stack([f * e, f * (e * e - 1.0)])
    return score


# Two forms of one gradient agree when they differ by less than their errors plus this fraction of
# the larger of E|h| (each form's own scale).
AGREE_REL = 1e-6


def _jump_terms(objective: Objective, mu: float, sigma: float) -> np.ndarray:
    """Σ over f's breakpoints of (f(x⁺) − f(x⁻)) φ(ε)/σ times (1, ε): what a jump adds to (∂μ, ∂σ)
    beyond E[f'], E[f' ε]. NaN if a one-sided value is not finite."""
    fine, _ = _breakpoints_twice(objective, float(mu), float(sigma))
    if fine.size == 0:
        return np.zeros(2)
    x = mu + sigma * fine
    delta = 1e-9 * np.maximum(1.0, np.abs(x))
    with np.errstate(all="ignore"):
        jump = objective.numpy(x + delta) - objective.numpy(x - delta)
        weight = jump * _phi(fine) / sigma
        out = np.array([np.sum(weight), np.sum(weight * fine)])
    return out if np.all(np.isfinite(jump)) else np.full(2, np.nan)


def gradient_report(objective, mu: float, sigma: float) -> dict:
    """The true (∂/∂μ, ∂/∂σ) of E_{N(μ,σ²)}[f(x)], with what vouches for it.

    The score form E[f ε]/σ, E[f (ε²−1)]/σ holds for any f. For f that the parser calls continuous
    the pathwise form E[f'], E[f' ε] holds too, and both are computed: each must converge under
    refinement (``checked_expectation``), and they must agree.

    - Both trusted and agreeing: the pathwise value (no cancellation when |μ| ≫ σ).
    - Both trusted, disagreeing by exactly the jumps of f at its breakpoints (E[f'] + Σ jump·φ/σ):
      f jumps where the parser could not see it, inside a bounded function of a pole such as
      tanh(3/x) at 0. The score form's value, and ``pathwise_misses`` is True.
    - Both trusted, disagreeing otherwise (a transition steeper than the panels resolve, such as
      sigmoid(10⁶x)): no value.
    - Only the score form trusted (f' not integrable, e.g. at a cusp): the score form's value.
    - Only the pathwise form trusted: no value. The score form fails to converge when f changes
      faster than the finest panels resolve, where the pathwise form can miss the change entirely
      and converge to a wrong number.
    - f not finite on a share of the mass: no value.

    Returns ``{"gradient": (∂μ, ∂σ), "error": (e_μ, e_σ), "pathwise_mean": (…), "pathwise_misses": bool}``;
    ``pathwise_mean`` is what the pathwise estimator averages to (E[f'], E[f' ε]).
    """
    objective = _prepare(objective, mu, sigma)
    sc_value, sc_error, sc_scale = checked_expectation(_score_integrand(objective, mu, sigma), objective, mu, sigma,
                                                       with_scale=True)
    sc_value, sc_error, sc_scale = sc_value / sigma, sc_error / sigma, sc_scale / sigma
    pw_value, pw_error, pw_scale = checked_expectation(_pathwise_integrand(objective, mu, sigma), objective, mu, sigma,
                                                       with_scale=True)
    value, error = sc_value.copy(), sc_error.copy()
    misses = False
    if objective.continuous:
        with np.errstate(all="ignore"):
            tolerance = pw_error + sc_error + AGREE_REL * np.maximum(pw_scale, sc_scale) + 1e-13
            both = np.isfinite(pw_value) & np.isfinite(sc_value)
            agree = both & (np.abs(pw_value - sc_value) <= tolerance)
            # A disagreement is explained only by jumps at f's breakpoints (poles inside bounded
            # functions): E[f'] plus each jump times the density there must give the score form.
            jumps = _jump_terms(objective, mu, sigma) if np.any(both & ~agree) else np.full(2, np.nan)
            explained = both & ~agree & (np.abs(pw_value + jumps - sc_value) <= tolerance + np.abs(jumps) * 1e-8)
        misses = bool(np.any(explained))
        value = np.where(agree, pw_value, np.where(explained | ~np.isfinite(pw_value), sc_value, np.nan))
        error = np.where(agree, np.maximum(pw_error, np.abs(pw_value - sc_value)),
                         np.where(np.isfinite(value), sc_error, np.inf))
        if misses:  # a component without a jump's weight still agrees; the estimator misses the rest
            misses = bool(np.any(np.abs(jumps) > tolerance))
    else:
        misses = True  # the parser saw a jump: the pathwise estimator is wrong wherever the jump has mass
    return {"gradient": (float(value[0]), float(value[1])), "error": (float(error[0]), float(error[1])),
            "pathwise_mean": (float(pw_value[0]), float(pw_value[1])), "pathwise_misses": misses}


def exact_gradient(objective, mu: float, sigma: float, *, with_error: bool = False):
    """The true (∂/∂μ, ∂/∂σ) of E_{N(μ,σ²)}[f(x)] (see :func:`gradient_report`).

    A component is NaN when no trustworthy value exists: the expectation does not exist, f is not
    finite on a share of the mass, the quadrature's estimates (panel refinement, breakpoints found
    at two resolutions) disagree by more than ``TRUST_REL`` of E|h|, or only the pathwise form
    converged. With ``with_error=True`` it returns ``((∂μ, ∂σ), (error_μ, error_σ))``.
    """
    report = gradient_report(objective, mu, sigma)
    return (report["gradient"], report["error"]) if with_error else report["gradient"]


def pathwise_expectation(objective, mu: float, sigma: float) -> tuple[float, float]:
    """What the pathwise estimator averages to: (E[f'(x)], E[f'(x) ε]) with f' from autograd.

    Equal to :func:`exact_gradient` for continuous f; for f with jumps it misses the
    jumps (for a step function it is exactly 0).
    """
    objective = _prepare(objective, mu, sigma)
    (d_mu, d_sigma), _ = checked_expectation(_pathwise_integrand(objective, mu, sigma), objective, mu, sigma)
    return float(d_mu), float(d_sigma)


def _rayleigh_expectation(integrand: Callable[[np.ndarray], np.ndarray], cuts: np.ndarray, *,
                          with_error: bool = False):
    """E[h(W)] for W ~ Rayleigh(1) (density w e^{-w²/2} on w > 0), given cuts in ε.

    Written as a standard normal expectation: E[h(W)] = √(π/2) E[h(|ε|) |ε|].
    """
    cuts = np.concatenate([np.abs(cuts), -np.abs(cuts), [0.0]])
    # E|ε| h(|ε|) = 2∫₀^∞ ε h(ε) φ(ε) dε = (2/√(2π)) E[h(W)].
    out = gaussian_expectation(lambda e: integrand(np.abs(e)) * np.abs(e)[None, :], cuts, with_error=with_error)
    if not with_error:
        return 0.5 * _SQRT_2PI * out
    return tuple(0.5 * _SQRT_2PI * part for part in out)


def exact_variances(objective, mu: float, sigma: float, fd_step: float | None = None
                    ) -> dict[str, tuple[float, float]]:
    """Exact variance of the *single-sample* (L = 1) estimators, per parameter (μ, σ).

    An L-sample average of independent draws has variance var / L. Returned keys:
    ``pathwise`` (Var f'(x), Var f'(x)ε), ``score`` (Var f(x)s), ``score_optimal``
    (Var (f(x) − b*)s with the exact b* = E[f s²]/E[s²] per parameter), ``mvd``
    (coupled: one Rayleigh W for both ends of ∂μ; the coupled ∂σ part is not
    available in closed form here and is NaN), ``mvd_uncoupled`` and
    ``finite_difference``.
    """
    with np.errstate(all="ignore"):
        return _exact_variances(objective, mu, sigma, fd_step)


def _exact_variances(objective, mu, sigma, fd_step):
    objective = _prepare(objective, mu, sigma)
    h = 0.1 * sigma if fd_step is None else fd_step
    # numpy floats: a Python float's ** raises OverflowError where numpy gives inf.
    g_mu, g_sigma = map(np.float64, exact_gradient(objective, mu, sigma))
    out: dict[str, tuple[float, float]] = {}

    def expect(integrand, extra_cuts=lambda c: c, rule=gaussian_expectation):
        return checked_expectation(integrand, objective, mu, sigma, extra_cuts, rule)[0]

    def pathwise(e):
        g = objective.derivative(mu + sigma * e)
        return np.stack([g, g * e, g * g, (g * e) ** 2])

    m1, m2, s1, s2 = expect(pathwise)
    out["pathwise"] = (s1 - m1 ** 2, s2 - m2 ** 2)  # clipped at 0 below

    def score(e):
        f = objective.numpy(mu + sigma * e)
        s_mu, s_sigma = e / sigma, (e * e - 1.0) / sigma
        return np.stack([f * f * s_mu ** 2, f * f * s_sigma ** 2, f * s_mu ** 2, f * s_sigma ** 2])

    ff_mu, ff_sigma, fs_mu, fs_sigma = expect(score)
    out["score"] = (ff_mu - g_mu ** 2, ff_sigma - g_sigma ** 2)
    # E[s_mu²] = 1/σ², E[s_sigma²] = 2/σ²; with b: Var = E[f²s²] − 2b E[f s²] + b² E[s²] − g².
    b_mu, b_sigma = fs_mu * sigma ** 2, fs_sigma * sigma ** 2 / 2.0
    out["score_optimal"] = (
        ff_mu - b_mu * fs_mu - g_mu ** 2,
        ff_sigma - b_sigma * fs_sigma - g_sigma ** 2,
    )

    # Measure-valued, ∂μ: [f(μ+σW) − f(μ−σW)] / (σ√(2π)).
    def mvd_mu(w):
        fp, fm = objective.numpy(mu + sigma * w), objective.numpy(mu - sigma * w)
        return np.stack([(fp - fm) ** 2, fp, fp * fp, fm, fm * fm])

    d2, ep, ep2, em, em2 = expect(mvd_mu, rule=_rayleigh_expectation)
    c = 1.0 / (sigma * _SQRT_2PI)
    var_mu_coupled = c ** 2 * d2 - g_mu ** 2
    var_mu_uncoupled = c ** 2 * ((ep2 - ep ** 2) + (em2 - em ** 2))

    # ∂σ uncoupled: [f(μ+σM) − f(μ+σN)] / σ, M double-sided Maxwell (density m²φ(m)).
    def maxwell(e):
        f = objective.numpy(mu + sigma * e)
        return np.stack([f * e * e, f * f * e * e, f, f * f])

    fm1, fm2, fn1, fn2 = expect(maxwell)
    var_sigma_uncoupled = ((fm2 - fm1 ** 2) + (fn2 - fn1 ** 2)) / sigma ** 2
    out["mvd"] = (var_mu_coupled, float("nan"))
    out["mvd_uncoupled"] = (var_mu_uncoupled, var_sigma_uncoupled)

    # Central finite differences with common random numbers.
    def fd(e):
        x = mu + sigma * e
        d_mu = (objective.numpy(x + h) - objective.numpy(x - h)) / (2 * h)
        d_sigma = (objective.numpy(mu + (sigma + h) * e) - objective.numpy(mu + (sigma - h) * e)) / (2 * h)
        return np.stack([d_mu, d_mu ** 2, d_sigma, d_sigma ** 2])

    def fd_cuts(cuts):
        # The μ-difference is not smooth at ε ± h/σ; the σ-difference at ε = (x_j − μ)/(σ ± h).
        x_cuts = mu + sigma * cuts
        sig_cuts = (np.concatenate([(x_cuts - mu) / (sigma + h), (x_cuts - mu) / (sigma - h)])
                    if h < sigma else np.empty(0))
        return np.concatenate([cuts - h / sigma, cuts + h / sigma, sig_cuts, cuts])

    fd_m1, fd_m2, fd_s1, fd_s2 = expect(fd, fd_cuts)
    out["finite_difference"] = (fd_m2 - fd_m1 ** 2, fd_s2 - fd_s1 ** 2)
    # Differences of moments can round to a tiny negative number when the variance is 0; a
    # difference of overflowed moments (inf − inf, or −inf) is no number at all.
    def clip(v) -> float:
        v = float(v)
        return max(v, 0.0) if math.isfinite(v) else (v if v == math.inf else math.nan)

    return {k: (clip(a), clip(b)) for k, (a, b) in out.items()}
