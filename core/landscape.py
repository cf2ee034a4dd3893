"""The variance landscape: exact single-sample variance of each estimator along a sweep.

For smooth objectives every moment needed is an expectation of a smooth function,
which fixed composite Gauss–Legendre rules compute to near machine precision, fast
enough to redraw a whole sweep live (no adaptive refinement needed). With x = μ + σε, s_μ = ε/σ, s_σ = (ε² − 1)/σ and g the true gradient:

    pathwise         Var f'(x),                      Var f'(x) ε
    score            E[f² s²] − g²   (per parameter)
    score_optimal    E[f² s²] − b* E[f s²] − g²,     b* = E[f s²] / E[s²]
    mvd, ∂μ          E[(f(μ+σW) − f(μ−σW))²] / (2πσ²) − g²          (coupled: one W)
    mvd_uncoupled ∂μ (Var f(μ+σW) + Var f(μ−σW)) / (2πσ²)
    mvd, ∂σ          E[(f(μ+σM) − f(μ+σUM))²] / σ² − g²             (coupled: N = U·M)
    mvd_uncoupled ∂σ (Var f(μ+σM) + Var f(μ+σN)) / σ²

W ~ Rayleigh, M ~ double-sided Maxwell, U ~ U(0,1). Maxwell moments are Gaussian
moments re-weighted (E_M[h] = E[ε² h(ε)]); Rayleigh moments use a rule on the
half-line. The coupled ∂σ term's cross moment is one-dimensional: since M has density
m²φ(m), E[f(μ+σM) f(μ+σUM)] = E[ε f(μ+σε) F(ε)] with F(ε) = ∫₀^ε f(μ+σt) dt, and F
is integrated panel by panel on the same grid (a rule over U missed fast oscillations:
for cos(10x) at σ = 3 it read 0.1111092 for 0.1111111).

Mohamed, Rosca, Figurnov & Mnih (JMLR 2020, fig. 2–4) plot these against a cost
parameter k for f = (x − k)², exp(−kx²) and cos(kx) at μ = σ = 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .objective import Objective, parse_objective
from .presets import PRESETS

__all__ = ["LANDSCAPE_ESTIMATORS", "LANDSCAPE_FUNCTIONS", "COST", "single_sample_variances", "Sweep", "sweep",
           "crossings", "touches", "winner_regions", "objective_for"]

LANDSCAPE_ESTIMATORS = ("pathwise", "score", "score_optimal", "mvd", "mvd_uncoupled")
COST = {"pathwise": 1, "score": 1, "score_optimal": 1, "mvd": 2, "mvd_uncoupled": 2}  # f-evaluations per parameter

# preset slug (the link's ?f=): formula template in x and k; the picker shows PRESETS[slug].label
LANDSCAPE_FUNCTIONS = {key: PRESETS[key].template for key in ("xk2", "gauss", "cos")}

def _composite(lo: float, hi: float, panel: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a composite Gauss–Legendre rule on [lo, hi]."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    edges = np.arange(lo, hi + 1e-12, panel)
    half = panel / 2
    x = ((edges[:-1, None] + half) + half * nodes[None, :]).ravel()
    return x, np.tile(half * weights, edges.size - 1)


# Standard normal expectations: composite Gauss–Legendre on [-14, 14] with the density in
# the weights. Panels of 1/8 resolve features as narrow as exp(-10 x²); a Gauss–Hermite
# rule of similar size does not.
_EPS, _EPS_W = _composite(-14.0, 14.0, 0.125, 16)
_EPS_W = _EPS_W * np.exp(-0.5 * _EPS ** 2) / math.sqrt(2.0 * math.pi)
# F(ε) = ∫₀^ε f(μ + σt) dt at every node, for the coupled ∂σ term: the integral from the
# node's panel's left edge (a 16-node rule on [edge, node]) plus whole panels from 0 to that edge.
_LEG, _LEG_W = np.polynomial.legendre.leggauss(16)
_EDGE = np.repeat(np.arange(-14.0, 14.0, 0.125), 16)  # left edge of each node's panel
_SUB_HALF = 0.5 * (_EPS - _EDGE)
_SUB = (_EDGE + _SUB_HALF)[:, None] + _SUB_HALF[:, None] * _LEG[None, :]  # (nodes, 16)
_PANEL_W = _composite(-14.0, 14.0, 0.125, 16)[1]  # plain Gauss–Legendre weights, for whole panels
_ZERO_PANEL = 14 * 8  # the panel whose left edge is 0
# Rayleigh expectations ∫₀^∞ h(w) w e^{-w²/2} dw on [0, 14] (smooth on the half-line).
_R_NODES, _R_WEIGHTS = _composite(0.0, 14.0, 0.125, 16)
_R_WEIGHTS = _R_WEIGHTS * _R_NODES * np.exp(-0.5 * _R_NODES ** 2)


def objective_for(key: str, k: float) -> Objective:
    """The landscape function ``key`` (a preset slug) with cost parameter k."""
    text = LANDSCAPE_FUNCTIONS[key].replace("{k}", f"({float(k)!r})")
    return parse_objective(text)


def single_sample_variances(objective, mu: float, sigma: float) -> dict[str, tuple[float, float]]:
    """Exact (Var ∂μ-estimate, Var ∂σ-estimate) for one sample of each estimator in
    :data:`LANDSCAPE_ESTIMATORS`, by Gauss–Hermite quadrature. Smooth objectives only."""
    objective = parse_objective(objective)
    if not objective.smooth:
        raise ValueError("The variance landscape needs a smooth objective.")
    e, w = _EPS, _EPS_W
    x = mu + sigma * e
    with np.errstate(all="ignore"):
        f = objective.numpy(x)
        fp = objective.derivative(x)
        s_mu, s_sigma = e / sigma, (e * e - 1.0) / sigma
        g_mu, g_sigma = w @ fp, w @ (fp * e)
        out: dict[str, tuple[float, float]] = {}
        out["pathwise"] = (w @ fp ** 2 - g_mu ** 2, w @ (fp * e) ** 2 - g_sigma ** 2)
        ff_mu, ff_sigma = w @ (f * f * s_mu ** 2), w @ (f * f * s_sigma ** 2)
        out["score"] = (ff_mu - g_mu ** 2, ff_sigma - g_sigma ** 2)
        fs_mu, fs_sigma = w @ (f * s_mu ** 2), w @ (f * s_sigma ** 2)
        b_mu, b_sigma = fs_mu * sigma ** 2, fs_sigma * sigma ** 2 / 2.0  # E[s_μ²] = 1/σ², E[s_σ²] = 2/σ²
        out["score_optimal"] = (ff_mu - b_mu * fs_mu - g_mu ** 2, ff_sigma - b_sigma * fs_sigma - g_sigma ** 2)

        # Rayleigh W.
        fp_w, fm_w = objective.numpy(mu + sigma * _R_NODES), objective.numpy(mu - sigma * _R_NODES)
        c2 = 1.0 / (2.0 * math.pi * sigma ** 2)
        rw = _R_WEIGHTS
        var_mu_coupled = c2 * (rw @ (fp_w - fm_w) ** 2) - g_mu ** 2
        var_mu_uncoupled = c2 * ((rw @ fp_w ** 2 - (rw @ fp_w) ** 2) + (rw @ fm_w ** 2 - (rw @ fm_w) ** 2))

        # Double-sided Maxwell M: E_M[h(M)] = E[ε² h(ε)]; N = U·M for the coupled version, where
        # E[(f(μ+σM) − f(μ+σUM))²] = E_M[f²] − 2 E[ε f(x) F(ε)] + E[f²] (N is standard normal).
        mw = w * e * e
        f_m = f  # f(μ + σM) at the same nodes, re-weighted by ε²
        panels = np.concatenate([[0.0], np.cumsum((f * _PANEL_W).reshape(-1, 16).sum(axis=1))])
        start = np.repeat(panels[:-1], 16) - panels[_ZERO_PANEL]  # F at each node's panel edge
        F = start + _SUB_HALF * (objective.numpy(mu + sigma * _SUB) @ _LEG_W)
        var_sigma_coupled = (mw @ f ** 2 - 2.0 * (w @ (e * f * F)) + w @ f ** 2) / sigma ** 2 - g_sigma ** 2
        var_sigma_uncoupled = ((mw @ f_m ** 2 - (mw @ f_m) ** 2) + (w @ f ** 2 - (w @ f) ** 2)) / sigma ** 2
        out["mvd"] = (var_mu_coupled, var_sigma_coupled)
        out["mvd_uncoupled"] = (var_mu_uncoupled, var_sigma_uncoupled)
    return {k: (max(float(a_), 0.0), max(float(b_), 0.0)) for k, (a_, b_) in out.items()}


@dataclass(frozen=True)
class Sweep:
    """Exact single-sample variances along a sweep: ``var[name]`` has shape (len(values), 2)."""

    function: str
    variable: str  # "k", "mu" or "sigma"
    values: np.ndarray
    var: dict[str, np.ndarray]


def _point(function: str, variable: str, value: float, mu: float, sigma: float, k: float):
    if variable == "k":
        k = value
    elif variable == "mu":
        mu = value
    else:
        sigma = value
    return objective_for(function, k), mu, sigma


def sweep(function: str, variable: str, values, mu: float = 1.0, sigma: float = 1.0, k: float = 1.0) -> Sweep:
    """Exact variances of every landscape estimator at each value of the sweep variable."""
    values = np.asarray(values, dtype=np.float64)
    var = {name: np.empty((values.size, 2)) for name in LANDSCAPE_ESTIMATORS}
    for i, v in enumerate(values):
        objective, m, s = _point(function, variable, float(v), mu, sigma, k)
        point = single_sample_variances(objective, m, s)
        for name in LANDSCAPE_ESTIMATORS:
            var[name][i] = point[name]
    return Sweep(function, variable, values, var)


TOUCH = 1e-9  # |log Var(a) − log Var(b)| below this is equality up to rounding


def _log_gap_fn(sw: Sweep, a: str, b: str, param: int, mu: float, sigma: float, k: float, cost_aware: bool):
    """(log_gap(va, vb), gap(v)): log Var(a) − log Var(b), from two variances or at a sweep value."""
    ca, cb = (COST[a], COST[b]) if cost_aware else (1, 1)

    def log_gap(va: float, vb: float) -> float:
        with np.errstate(all="ignore"):
            return float(np.log(va * ca) - np.log(vb * cb))

    def gap(v: float) -> float:
        objective, m, s = _point(sw.function, sw.variable, v, mu, sigma, k)
        var = single_sample_variances(objective, m, s)
        return log_gap(var[a][param], var[b][param])

    return log_gap, gap


def _grid_gaps(sw: Sweep, log_gap, param: int, a: str, b: str) -> np.ndarray:
    gaps = np.array([log_gap(x, y) for x, y in zip(sw.var[a][:, param], sw.var[b][:, param])])
    # A gap within rounding of 0 is a touch, not a side: 4d² + 8σ² and 16d² + 8σ² meet at d = 0
    # without crossing, and rounding there used to make two "crossings" at one point.
    return np.where(np.abs(gaps) <= TOUCH, 0.0, gaps)


def _bisect(gap, lo: float, hi: float, g0: float) -> float:
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        if np.sign(gap(mid)) == np.sign(g0):
            lo = mid
        else:
            hi = mid
    return float(0.5 * (lo + hi))


def _dips(sw: Sweep, gaps: np.ndarray, gap) -> list[tuple[float, float, float]]:
    """Where |gap| has a local minimum between grid points with the same sign on both sides, the
    minimum of sign·gap found by golden-section search on the exact variances: (lo, hi, at, value)
    of the search. A value ≤ TOUCH is a touch; below −TOUCH the curves cross twice in (lo, hi)."""
    out = []
    x = sw.values
    for i in range(1, gaps.size - 1):
        g = gaps[i - 1:i + 2]
        if not np.all(np.isfinite(g)) or 0 in g or len(set(np.sign(g))) != 1:
            continue
        if not (abs(g[1]) < abs(g[0]) and abs(g[1]) <= abs(g[2])):
            continue
        side = float(np.sign(g[1]))
        lo, hi = float(x[i - 1]), float(x[i + 1])
        r = (math.sqrt(5.0) - 1.0) / 2.0
        c, d = hi - r * (hi - lo), lo + r * (hi - lo)
        fc, fd = side * gap(c), side * gap(d)
        for _ in range(60):
            if fc < fd:
                hi, d, fd = d, c, fc
                c = hi - r * (hi - lo)
                fc = side * gap(c)
            else:
                lo, c, fc = c, d, fd
                d = lo + r * (hi - lo)
                fd = side * gap(d)
            if min(fc, fd) < -TOUCH:
                break
        at, value = (c, fc) if fc < fd else (d, fd)
        out.append((float(x[i - 1]), float(x[i + 1]), float(at), float(value)))
    return out


def crossings(sw: Sweep, a: str, b: str, param: int, mu: float = 1.0, sigma: float = 1.0, k: float = 1.0,
              cost_aware: bool = False) -> list[float]:
    """Where Var(a) = Var(b) and the two change order along the sweep ``sw`` (``param`` 0 for ∂μ,
    1 for ∂σ).

    Sign changes of log Var(a) − log Var(b) on the sweep's grid are refined by bisection
    on the exact variances (48 halvings); a dip of the gap towards 0 between grid points is
    followed down by golden-section search, and where it goes through 0 its two crossings are
    bisected too. With ``cost_aware`` each variance is first multiplied by the estimator's
    f-evaluations per sample.
    """
    log_gap, gap = _log_gap_fn(sw, a, b, param, mu, sigma, k, cost_aware)
    gaps = _grid_gaps(sw, log_gap, param, a, b)
    sided = [i for i in range(gaps.size) if np.isfinite(gaps[i]) and gaps[i] != 0]
    roots = []
    for i, j in zip(sided, sided[1:]):
        g0, g1 = gaps[i], gaps[j]
        if np.sign(g0) == np.sign(g1) or not all(np.isfinite(gaps[i:j + 1])):
            continue
        if j > i + 1:  # equal on the grid points between: they cross in the middle of that stretch
            roots.append(float(0.5 * (sw.values[i + 1] + sw.values[j - 1])))
            continue
        roots.append(_bisect(gap, float(sw.values[i]), float(sw.values[j]), g0))
    for lo, hi, at, value in _dips(sw, gaps, gap):
        if value < -TOUCH:  # through 0 and back between two grid points
            g0 = gap(lo)
            roots += [_bisect(gap, lo, at, g0), _bisect(gap, at, hi, gap(at))]
    return sorted(roots)


def touches(sw: Sweep, a: str, b: str, param: int, mu: float = 1.0, sigma: float = 1.0, k: float = 1.0,
            cost_aware: bool = False) -> list[tuple[float, float]]:
    """Where Var(a) = Var(b) without the two changing order: stretches (lo, hi) of the sweep
    (lo = hi for a single point), at grid points or between them (found as in :func:`crossings`)."""
    log_gap, gap = _log_gap_fn(sw, a, b, param, mu, sigma, k, cost_aware)
    gaps = _grid_gaps(sw, log_gap, param, a, b)
    out = []
    i = 0
    while i < gaps.size:
        if gaps[i] != 0:
            i += 1
            continue
        j = i
        while j + 1 < gaps.size and gaps[j + 1] == 0:
            j += 1
        before = gaps[i - 1] if i > 0 else None
        after = gaps[j + 1] if j + 1 < gaps.size else None
        sides = [np.sign(g) for g in (before, after) if g is not None and np.isfinite(g)]
        if len(set(sides)) <= 1:  # no change of order across the stretch (or it ends the range)
            out.append((float(sw.values[i]), float(sw.values[j])))
        i = j + 1
    out += [(at, at) for _, _, at, value in _dips(sw, gaps, gap) if abs(value) <= TOUCH]
    return sorted(out)


def winner_regions(sw: Sweep, a: str, b: str, param: int, roots: list[float], cost_aware: bool = False,
                   mu: float = 1.0, sigma: float = 1.0, k: float = 1.0) -> list[tuple[float, float, str]]:
    """Split the sweep range at ``roots`` and say which of a, b has the lower variance on each piece
    (from the grid points inside it, or the exact variances at its middle when it holds none)."""
    edges = [float(sw.values[0]), *roots, float(sw.values[-1])]
    ca, cb = (COST[a], COST[b]) if cost_aware else (1, 1)
    regions = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (sw.values > lo) & (sw.values < hi)
        if inside.any():
            va = np.median(sw.var[a][inside, param]) * ca
            vb = np.median(sw.var[b][inside, param]) * cb
        else:  # two crossings between neighbouring grid points
            objective, m, s = _point(sw.function, sw.variable, 0.5 * (lo + hi), mu, sigma, k)
            var = single_sample_variances(objective, m, s)
            va, vb = var[a][param] * ca, var[b][param] * cb
        regions.append((lo, hi, a if va < vb else b))
    return regions
