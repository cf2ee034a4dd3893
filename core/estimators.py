"""Monte Carlo estimators of ∇_θ E_{N(μ,σ²)}[f(x)], θ = (μ, σ), batched over every axis.

One estimator is one small pure function of a :class:`Batch`: the objective, μ and σ
(scalars, or tensors that broadcast against the draws, one value per grid point of a
sweep) and standard random numbers of shape (reps, L). It returns the per-replicate
estimates of (∂μ, ∂σ), each of shape (*grid, reps). There is no Python loop over
replicates, samples or grid points: a sweep along μ or σ is one more batch axis, and a
sweep along L averages nested prefixes of one draw (cumulative sums).

Write x = μ + σε and the score s(x) = ∇_θ log N(x; μ, σ²) = (ε/σ, (ε² − 1)/σ).
Estimators that can use the same standard normals ε do (a paired comparison:
differences between them are not sampling luck), and every grid point of a sweep uses
the same draws (common random numbers), so a picture swept along μ morphs instead of
flickering.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import torch

from .objective import Objective, parse_objective

__all__ = ["EstimatorInfo", "Estimates", "ESTIMATORS", "DEFAULT_ESTIMATORS", "Batch", "Draws", "Sweep", "estimate",
           "sweep", "grid_settings", "exact_along", "variance_by_L", "MAX_SAMPLES", "PILOT_SIZE", "seeded_generator", "SWEEP_AXES"]

MAX_SAMPLES = 4_000_000  # reps × L (× grid points in a sweep); beyond this one call needs too much memory
PILOT_SIZE = 1024  # independent samples used to estimate the optimal baseline
# Samples (grid points × reps × L) in one block of a sweep along μ or σ: about 0.8 MB per
# tensor, so a sweep's working memory stays near 15 MB whatever its size (bench/bench_stage.py).
SWEEP_BLOCK = 100_000
# Values differentiated by autograd at once (Batch.derivative): a formula of 200 parts keeps at
# most a few hundred such arrays of 256 kB for its backward pass.
AUTOGRAD_CHUNK = 32_768
_SQRT_2PI = math.sqrt(2.0 * math.pi)
SWEEP_AXES = ("mu", "sigma", "L")


def seeded_generator(seed: int, stream: int) -> torch.Generator:
    """An independent torch generator for (seed, stream), via numpy's SeedSequence."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, stream]).generate_state(2, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def _numpy_stream(seed: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 1000 + stream])))


_STREAM_EPS, _STREAM_PILOT, _STREAM_W, _STREAM_W2, _STREAM_M_N, _STREAM_M_U, _STREAM_U = range(7)


class Draws:
    """The standard random numbers of one seed, each of shape (reps, L), made on first use.

    Draws are *nested* in L: numpy fills an array in order, and the (L, reps) array is
    transposed, so the draws for L samples are the first L columns of the draws for any
    larger L with the same seed and reps. Every quantity has a stream of its own, so an
    estimator's numbers do not depend on which others were asked for.
    """

    def __init__(self, seed: int, reps: int, L: int) -> None:
        self.seed, self.reps, self.L = int(seed), int(reps), int(L)

    def _array(self, stream: int, kind: str, shape=None) -> torch.Tensor:
        rng = _numpy_stream(self.seed, stream)
        shape = (self.L, self.reps) if shape is None else shape
        a = rng.standard_normal(shape) if kind == "normal" else 1.0 - rng.random(shape)  # U(0, 1]: logs stay finite
        return torch.from_numpy(np.ascontiguousarray(a.T))

    @cached_property
    def eps(self) -> torch.Tensor:
        """ε ~ N(0, 1)."""
        return self._array(_STREAM_EPS, "normal")

    @cached_property
    def pilot(self) -> torch.Tensor:
        """PILOT_SIZE independent N(0, 1) draws for the optimal baseline, shape (PILOT_SIZE,)."""
        return self._array(_STREAM_PILOT, "normal", (PILOT_SIZE,))

    def _rayleigh(self, stream: int) -> torch.Tensor:
        """W ~ Rayleigh(1), density w e^{-w²/2}: W = √(−2 log U)."""
        return torch.sqrt(-2.0 * torch.log(self._array(stream, "uniform")))

    @cached_property
    def w(self) -> torch.Tensor:
        return self._rayleigh(_STREAM_W)

    @cached_property
    def w2(self) -> torch.Tensor:
        return self._rayleigh(_STREAM_W2)

    @cached_property
    def m(self) -> torch.Tensor:
        """M with density m² φ(m) on the real line (double-sided Maxwell).

        |M|² ~ χ²₃ = χ²₂ + χ²₁ = −2 log U + N², and the sign of N is a fair coin
        independent of N², so M = sign(N) √(−2 log U + N²).
        """
        n, u = self._array(_STREAM_M_N, "normal"), self._array(_STREAM_M_U, "uniform")
        return torch.sign(n) * torch.sqrt(n * n - 2.0 * torch.log(u))

    @cached_property
    def u(self) -> torch.Tensor:
        """U ~ U(0, 1]."""
        return self._array(_STREAM_U, "uniform")


class Batch:
    """What every estimator reads: f, μ, σ (broadcast against the draws), the draws, and
    how an L-sample average is taken.

    ``mu`` and ``sigma`` are floats or float64 tensors of shape (G, 1, 1) (one value per
    grid point). ``Ls`` is None for one L (the draws' width), or the increasing sample
    counts of a sweep along L, whose estimates are averages of the first L columns.
    Shared evaluations of f are made once and timed, so each estimator can be charged
    for what it used. Estimators divide by σ (or h) inside the average, where a grid-shaped
    σ broadcasts against each sample.
    """

    def __init__(self, objective: Objective, mu, sigma, draws: Draws, Ls: tuple[int, ...] | None = None,
                 fd_step=None) -> None:
        self.f, self.mu, self.sigma, self.draws, self.Ls = objective, mu, sigma, draws, Ls
        self.h = 0.1 * sigma if fd_step is None else fd_step
        self._shared: dict[str, tuple[object, float]] = {}
        self.used: set[str] = set()
        if Ls is not None:
            self._columns = torch.tensor([L - 1 for L in Ls])
            self._counts = torch.tensor(Ls, dtype=torch.float64).unsqueeze(-1)  # (nL, 1)

    def shared(self, key: str, make: Callable[[], object]):
        """A quantity several estimators use, computed once (its time is remembered)."""
        if key not in self._shared:
            t0 = time.perf_counter()
            self._shared[key] = (make(), time.perf_counter() - t0)
        self.used.add(key)
        return self._shared[key][0]

    def cost(self, keys) -> float:
        return sum(self._shared[k][1] for k in keys)

    def f_at(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) without a graph, broadcast to x's shape (a constant f gives a scalar)."""
        with torch.no_grad():
            return self.f(x).expand(x.shape)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """f'(x) elementwise by autograd, in chunks of ``AUTOGRAD_CHUNK`` values: autograd keeps
        the formula's intermediate values for the backward pass, so the memory of one pass
        grows with the formula's length times the values at once; chunks bound it."""
        flat = x.detach().reshape(-1)
        out = torch.empty_like(flat)
        for start in range(0, flat.numel(), AUTOGRAD_CHUNK):  # a few vectorised chunks, not samples
            part = flat[start:start + AUTOGRAD_CHUNK].clone().requires_grad_(True)
            (out[start:start + AUTOGRAD_CHUNK],) = torch.autograd.grad(self.f(part).sum(), part)
        return out.reshape(x.shape)

    # Draws and the evaluations of f that several estimators share.
    @property
    def eps(self) -> torch.Tensor:
        return self.shared("eps", lambda: self.draws.eps)

    @property
    def x(self) -> torch.Tensor:
        return self.shared("x", lambda: self.mu + self.sigma * self.eps)

    @property
    def f_x(self) -> torch.Tensor:
        return self.shared("f_x", lambda: self.f_at(self.x))

    @property
    def scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.eps
        return self.shared("scores", lambda: (e / self.sigma, (e * e - 1.0) / self.sigma))

    @property
    def f_plus_w(self) -> torch.Tensor:
        return self.shared("f_plus_w", lambda: self.f_at(self.mu + self.sigma * self.draws.w))

    @property
    def f_maxwell(self) -> torch.Tensor:
        return self.shared("f_maxwell", lambda: self.f_at(self.mu + self.sigma * self.draws.m))

    @property
    def L(self):
        """The number of samples per estimate: an int, or a (nL, 1) tensor in a sweep along L."""
        return self.draws.L if self.Ls is None else self._counts

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The L-sample average over the last axis: (..., reps, L) → (..., reps); in a
        sweep along L, (reps, Lmax) → (nL, reps), one row per L (nested prefixes)."""
        if self.Ls is None:
            return t.mean(dim=-1)
        partial = torch.cumsum(t, dim=-1).index_select(-1, self._columns)  # (..., reps, nL)
        return partial.movedim(-1, 0) / self._counts


# ---------------------------------------------------------------------------------------
# The estimators. Each returns (∂μ, ∂σ) estimates, one per replicate (and grid point).

def pathwise(b: Batch):
    """Pathwise (reparameterization): ∂μ ≈ f'(x), ∂σ ≈ f'(x)·ε, with x = μ + σε.

    f' comes from torch autograd at every sample (see Batch.derivative): the randomness ε enters as
    data, so x is a differentiable function of (μ, σ). Unbiased for continuous f; blind
    to jumps (the derivative of a step is 0 wherever it exists).
    """
    fp = b.derivative(b.x)
    return b.mean(fp), b.mean(fp * b.eps)


def score(b: Batch):
    """Score function (REINFORCE, likelihood ratio): f(x)·s(x), s = (ε/σ, (ε² − 1)/σ).

    Needs only values of f. Unbiased for any f with a finite gradient; often noisy.
    """
    f, (s_mu, s_sigma) = b.f_x, b.scores
    return b.mean(f * s_mu), b.mean(f * s_sigma)


def score_loo(b: Batch):
    """Score with a leave-one-out baseline (RLOO): (f(x_l) − mean_{j≠l} f(x_j))·s(x_l).

    The baseline never sees the sample it multiplies, so the estimate is unbiased. It is
    exactly L/(L − 1) times the batch-mean estimate; needs L ≥ 2.
    """
    d_mu, d_sigma = score_batchmean(b)
    shrink = (b.L - 1.0) / b.L
    return d_mu / shrink, d_sigma / shrink


def score_optimal(b: Batch):
    """Score with the optimal constant baseline: (f(x) − b*)·s(x), b* = E[f s²]/E[s²] per
    parameter, estimated on PILOT_SIZE independent draws (so it stays unbiased)."""
    pilot = b.draws.pilot
    f_pilot = b.f_at(b.mu + b.sigma * pilot)
    s2_mu, s2_sigma = pilot.square(), (pilot.square() - 1.0).square()
    b_mu = (f_pilot * s2_mu).sum(dim=-1, keepdim=True) / s2_mu.sum()
    b_sigma = (f_pilot * s2_sigma).sum(dim=-1, keepdim=True) / s2_sigma.sum()
    f, (s_mu, s_sigma) = b.f_x, b.scores
    return b.mean((f - b_mu) * s_mu), b.mean((f - b_sigma) * s_sigma)


def score_batchmean(b: Batch):
    """Score with the batch mean as baseline: (f(x_l) − f̄)·s(x_l), f̄ over the same L.

    f̄ includes the sample it multiplies, so the mean of the estimate is (1 − 1/L)·∇:
    biased. Written as mean(f s) − f̄·mean(s), which is the same number and lets a sweep
    along L average nested prefixes.
    """
    f, (s_mu, s_sigma) = b.f_x, b.scores
    f_bar = b.mean(f)
    return b.mean(f * s_mu) - f_bar * b.mean(s_mu), b.mean(f * s_sigma) - f_bar * b.mean(s_sigma)


def mvd(b: Batch):
    """Measure-valued (weak derivative), coupled ends:
    ∂μ ≈ [f(μ + σW) − f(μ − σW)] / (σ√(2π)), W ~ Rayleigh(1);
    ∂σ ≈ [f(μ + σM) − f(μ + σUM)] / σ, M ~ double-sided Maxwell, U ~ U(0, 1), UM ~ N(0, 1).
    Two evaluations of f per sample and parameter; unbiased for any f."""
    d = b.draws
    f_minus = b.f_at(b.mu - b.sigma * d.w)
    f_normal = b.f_at(b.mu + b.sigma * d.u * d.m)
    return b.mean((b.f_plus_w - f_minus) / (b.sigma * _SQRT_2PI)), b.mean((b.f_maxwell - f_normal) / b.sigma)


def mvd_uncoupled(b: Batch):
    """Measure-valued with independent ends: ∂μ ≈ [f(μ + σW) − f(μ − σW')] / (σ√(2π)),
    ∂σ ≈ [f(μ + σM) − f(μ + σε)] / σ, with W' independent of W and ε of M."""
    f_minus = b.f_at(b.mu - b.sigma * b.draws.w2)
    return b.mean((b.f_plus_w - f_minus) / (b.sigma * _SQRT_2PI)), b.mean((b.f_maxwell - b.f_x) / b.sigma)


def finite_difference(b: Batch):
    """Central differences on common random numbers, step h (σ/10 by default):
    ∂μ ≈ [f(x + h) − f(x − h)] / 2h, ∂σ ≈ [f(μ + (σ + h)ε) − f(μ + (σ − h)ε)] / 2h.
    Biased by O(h²); its variance explodes as h → 0 when f jumps."""
    x, e, h = b.x, b.eps, b.h
    d_mu = b.mean((b.f_at(x + h) - b.f_at(x - h)) / (2 * h))
    d_sigma = b.mean((b.f_at(b.mu + (b.sigma + h) * e) - b.f_at(b.mu + (b.sigma - h) * e)) / (2 * h))
    return d_mu, d_sigma


@dataclass(frozen=True)
class EstimatorInfo:
    """What the app says about an estimator, and the function that computes it."""

    name: str
    label: str
    short: str  # for pickers and chart rows on small screens
    unbiased: bool
    evals_per_sample: int  # evaluations of f per sample, per parameter
    summary: str
    latex_mu: str
    latex_sigma: str
    fn: Callable[[Batch], tuple] = field(repr=False, compare=False)
    min_L: int = 1


ESTIMATORS: dict[str, EstimatorInfo] = {
    e.name: e
    for e in [
        EstimatorInfo(
            "pathwise", "Pathwise (reparameterization)", "Pathwise", True, 1,
            "Write x = μ + σε and let autograd differentiate f(μ + σε). Unbiased when f is "
            "continuous; blind to jumps (a step function gets gradient 0).",
            r"f'(\mu+\sigma\epsilon)", r"f'(\mu+\sigma\epsilon)\,\epsilon", pathwise,
        ),
        EstimatorInfo(
            "score", "Score function (REINFORCE)", "Score", True, 1,
            "Differentiate the density, not f: f(x)·∇log p(x). Needs only values of f. Unbiased, often noisy.",
            r"f(x)\,\frac{\epsilon}{\sigma}", r"f(x)\,\frac{\epsilon^2-1}{\sigma}", score,
        ),
        EstimatorInfo(
            "score_loo", "Score, leave-one-out baseline", "Score + leave-one-out", True, 1,
            "Each sample's baseline is the mean f of the other L−1 samples, which it cannot see: "
            "unbiased (RLOO). Needs L ≥ 2.",
            r"\big(f(x_l)-\tfrac{1}{L-1}\textstyle\sum_{j\ne l} f(x_j)\big)\frac{\epsilon_l}{\sigma}",
            r"\big(f(x_l)-\tfrac{1}{L-1}\textstyle\sum_{j\ne l} f(x_j)\big)\frac{\epsilon_l^2-1}{\sigma}",
            score_loo, min_L=2,
        ),
        EstimatorInfo(
            "score_optimal", "Score, optimal baseline", "Score + optimal b*", True, 1,
            f"Baseline b* = E[f s²]/E[s²], different for μ and σ, estimated on {PILOT_SIZE} independent "
            "samples, so it stays unbiased.",
            r"\big(f(x)-b^*_\mu\big)\frac{\epsilon}{\sigma}", r"\big(f(x)-b^*_\sigma\big)\frac{\epsilon^2-1}{\sigma}",
            score_optimal,
        ),
        EstimatorInfo(
            "score_batchmean", "Score, batch-mean baseline (biased)", "Score + batch mean (biased)", False, 1,
            "Baseline = mean of the same L values of f, including the sample it multiplies. "
            "Biased: its mean is (1 − 1/L) × the gradient. Shown on purpose.",
            r"\big(f(x_l)-\bar f\big)\frac{\epsilon_l}{\sigma}", r"\big(f(x_l)-\bar f\big)\frac{\epsilon_l^2-1}{\sigma}",
            score_batchmean,
        ),
        EstimatorInfo(
            "mvd", "Measure-valued (coupled)", "Measure-valued", True, 2,
            "Differentiate the density as a difference of two densities and sample both: "
            "two evaluations of f per sample, ends coupled by shared randomness.",
            r"\frac{f(\mu+\sigma W)-f(\mu-\sigma W)}{\sigma\sqrt{2\pi}}",
            r"\frac{f(\mu+\sigma M)-f(\mu+\sigma U M)}{\sigma}", mvd,
        ),
        EstimatorInfo(
            "mvd_uncoupled", "Measure-valued (uncoupled)", "Measure-valued, uncoupled", True, 2,
            "The same weak derivative with independent draws for the two ends.",
            r"\frac{f(\mu+\sigma W)-f(\mu-\sigma W')}{\sigma\sqrt{2\pi}}",
            r"\frac{f(\mu+\sigma M)-f(\mu+\sigma \epsilon)}{\sigma}", mvd_uncoupled,
        ),
        EstimatorInfo(
            "finite_difference", "Finite differences (biased)", "Finite differences (biased)", False, 2,
            "Central differences with step h = σ/10 on the same ε: biased by O(h²), and "
            "its variance explodes as h → 0 for a step.",
            r"\frac{f(x+h)-f(x-h)}{2h}", r"\frac{f(\mu+(\sigma+h)\epsilon)-f(\mu+(\sigma-h)\epsilon)}{2h}",
            finite_difference,
        ),
    ]
}
# What the Lab shows before anyone picks: one of each family, and the biased baseline.
DEFAULT_ESTIMATORS = ("pathwise", "score", "score_loo", "score_optimal", "score_batchmean", "mvd")


@dataclass
class Estimates:
    """``reps`` independent L-sample estimates of (∂μ, ∂σ) by one estimator.

    ``f_evals`` counts evaluations of f per estimate of one parameter (L or 2L);
    ``seconds`` is the time this estimator took on its own, shared draws included.
    """

    name: str
    d_mu: np.ndarray
    d_sigma: np.ndarray
    L: int
    f_evals: int
    seconds: float
    info: EstimatorInfo = field(repr=False)


def _check(mu: float, sigma: float, L: int, reps: int, samples: int) -> None:
    if L < 1 or reps < 1:
        raise ValueError("L and the number of replicates must be at least 1.")
    if samples > MAX_SAMPLES:
        raise ValueError(f"{samples:,} samples in one call is too many (at most {MAX_SAMPLES:,}).")
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma <= 0:
        raise ValueError("μ must be finite and σ must be positive.")


def _names(estimators, L: int) -> list[str]:
    if estimators is None:
        return [n for n, info in ESTIMATORS.items() if L >= info.min_L]
    names = list(estimators)
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown:
        raise ValueError(f"Unknown estimator(s): {', '.join(unknown)}.")
    return names


def _run(batch: Batch, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """One estimator on a batch: its estimates as numpy arrays and the seconds it cost,
    the shared draws and evaluations it used included."""
    batch.used = set()
    before = set(batch._shared)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        d_mu, d_sigma = ESTIMATORS[name].fn(batch)
    new = set(batch._shared) - before
    own = time.perf_counter() - t0 - batch.cost(new)
    return (d_mu.detach().numpy().astype(np.float64, copy=False),
            d_sigma.detach().numpy().astype(np.float64, copy=False),
            max(own, 0.0) + batch.cost(batch.used))


def estimate(objective, mu: float, sigma: float, *, L: int, reps: int, seed: int = 0,
             estimators=None, fd_step: float | None = None) -> dict[str, Estimates]:
    """``reps`` independent L-sample estimates of (∂μ, ∂σ) E_{N(μ,σ²)}[f] per estimator.

    ``estimators`` is a list of names from :data:`ESTIMATORS` (all by default; with
    L = 1 the default leaves out ``score_loo``, which needs L ≥ 2). The same seed
    gives the same numbers, and each estimator's random numbers do not depend on
    which other estimators were asked for.
    """
    objective = parse_objective(objective)
    L, reps, seed = int(L), int(reps), int(seed)
    mu, sigma = float(mu), float(sigma)
    _check(mu, sigma, L, reps, L * reps)
    names = _names(estimators, L)
    short = [n for n in names if L < ESTIMATORS[n].min_L]
    if short:
        raise ValueError(f"{', '.join(short)} needs L ≥ 2.")
    batch = Batch(objective, mu, sigma, Draws(seed, reps, L), fd_step=fd_step)
    results: dict[str, Estimates] = {}
    for name in names:  # a handful of estimators, each batched over every sample
        d_mu, d_sigma, seconds = _run(batch, name)
        info = ESTIMATORS[name]
        results[name] = Estimates(name, d_mu, d_sigma, L, info.evals_per_sample * L, seconds, info)
    return results


@dataclass
class Sweep:
    """Estimates along one axis (``mu``, ``sigma`` or ``L``) on common random numbers.

    ``d_mu[name]`` and ``d_sigma[name]`` have shape (len(grid), reps): row i holds the
    replicates at grid value ``grid[i]`` (NaN where an estimator needs more samples than
    that L gives). ``exact`` has shape (len(grid), 2): the exact (∂μ, ∂σ) there.
    ``mus``, ``sigmas`` and ``Ls`` give every grid point's full setting.
    """

    axis: str
    grid: np.ndarray
    mus: np.ndarray
    sigmas: np.ndarray
    Ls: np.ndarray
    reps: int
    seed: int
    names: list[str]
    d_mu: dict[str, np.ndarray]
    d_sigma: dict[str, np.ndarray]
    exact: np.ndarray
    seconds: dict[str, float]

    def estimates(self, i: int) -> dict[str, Estimates]:
        """Grid point i as :func:`estimate` returns it (estimators usable at that L only)."""
        L = int(self.Ls[i])
        # Copies, not views: a view would keep every frame's arrays alive with it.
        return {n: Estimates(n, self.d_mu[n][i].copy(), self.d_sigma[n][i].copy(), L,
                             ESTIMATORS[n].evals_per_sample * L, self.seconds[n], ESTIMATORS[n])
                for n in self.names if L >= ESTIMATORS[n].min_L}


def grid_settings(axis: str, grid, mu: float, sigma: float, L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every grid point's full setting (μ, σ, L): the swept one from ``grid``, the others held."""
    grid = np.asarray(grid)
    G = grid.size
    mus = grid.astype(np.float64) if axis == "mu" else np.full(G, float(mu))
    sigmas = grid.astype(np.float64) if axis == "sigma" else np.full(G, float(sigma))
    Ls = grid.astype(np.int64) if axis == "L" else np.full(G, int(L))
    return mus, sigmas, Ls


def sweep(objective, mu: float, sigma: float, *, axis: str, grid, L: int, reps: int, seed: int = 0,
          estimators=None, fd_step: float | None = None, exact=None) -> Sweep:
    """Every estimator at every value of ``grid`` along ``axis`` ("mu", "sigma" or "L"),
    the other two held at ``mu``, ``sigma``, ``L``.

    The same draws serve every grid point (common random numbers): along μ or σ the grid
    is one more batch axis of shape (G, 1, 1) against draws of shape (reps, L); along L
    the estimates are averages of the first L columns of one (reps, max L) draw. Grid
    point i therefore equals ``estimate`` at that point with the same seed.
    ``exact``, of shape (len(grid), 2), gives the exact gradient at every grid point when
    it is known already (it depends on neither the seed nor the sample sizes); by default
    :func:`exact_along` computes it.
    """
    if axis not in SWEEP_AXES:
        raise ValueError(f"axis must be one of {', '.join(SWEEP_AXES)}.")
    objective = parse_objective(objective)
    mu, sigma, L, reps, seed = float(mu), float(sigma), int(L), int(reps), int(seed)
    grid = np.asarray(grid, dtype=np.float64 if axis != "L" else np.int64)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError("The grid must be a non-empty list of values.")
    G = grid.size
    if axis == "L" and (np.any(np.diff(grid) <= 0) or grid[0] < 1):
        raise ValueError("A sweep along L needs increasing sample counts of at least 1.")
    mus, sigmas, Ls = grid_settings(axis, grid, mu, sigma, L)
    width = int(Ls.max())
    _check(float(mus.min()), float(sigmas.min()), width, reps, reps * width * (1 if axis == "L" else G))
    if not (np.isfinite(mus).all() and np.isfinite(sigmas).all()):
        raise ValueError("μ must be finite and σ must be positive.")
    names = _names(estimators, int(Ls.max()))

    draws = Draws(seed, reps, width)
    if axis == "L":
        batches = [Batch(objective, mu, sigma, draws, Ls=tuple(int(v) for v in Ls), fd_step=fd_step)]
    else:
        # Blocks of grid points, each one batch: the same numbers as one batch of the whole grid,
        # with the tensors of at most SWEEP_BLOCK samples alive at once.
        per_block = max(1, SWEEP_BLOCK // (reps * width))
        as_grid = lambda v: torch.from_numpy(np.ascontiguousarray(v)).reshape(-1, 1, 1)  # noqa: E731
        batches = [Batch(objective, as_grid(mus[i:i + per_block]), as_grid(sigmas[i:i + per_block]), draws,
                         fd_step=None if fd_step is None else float(fd_step)) for i in range(0, G, per_block)]
    d_mu, d_sigma, seconds = {}, {}, {}
    for name in names:  # a handful of estimators, each batched over grid points, replicates and samples
        parts = [_run(batch, name) for batch in batches]
        a, b = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        seconds[name] = sum(p[2] for p in parts)
        too_few = Ls < ESTIMATORS[name].min_L
        a[too_few], b[too_few] = np.nan, np.nan
        d_mu[name], d_sigma[name] = a, b
    if exact is None:
        exact_values = exact_along(objective, mus, sigmas)
    else:
        exact_values = np.asarray(exact, dtype=np.float64).reshape(G, 2)
    return Sweep(axis, grid, mus, sigmas, Ls, reps, seed, names, d_mu, d_sigma, exact_values, seconds)


def exact_along(objective, mus, sigmas) -> np.ndarray:
    """The exact (∂μ, ∂σ) at each (μ, σ) pair, shape (len(mus), 2), by quadrature; repeated
    pairs (a sweep along L) are computed once."""
    from .quadrature import exact_gradient  # quadrature imports nothing from here; kept lazy for start-up

    objective = parse_objective(objective)
    pairs = list(zip(np.asarray(mus, dtype=float).tolist(), np.asarray(sigmas, dtype=float).tolist()))
    known = {pair: exact_gradient(objective, *pair) for pair in dict.fromkeys(pairs)}  # adaptive quadrature per point
    return np.array([known[pair] for pair in pairs], dtype=np.float64).reshape(len(pairs), 2)


def variance_by_L(objective, mu: float, sigma: float, Ls, *, reps: int, seed: int = 0,
                  estimators=None) -> dict[str, tuple[list[float], list[float]]]:
    """Measured variance of the L-sample estimates for each L in ``Ls``: {name: (var ∂μ, var ∂σ)}.

    Each L uses its own seed offset, so the points are independent. Estimators that
    need more samples than an L provides (leave-one-out at L = 1) get NaN there.
    """
    names = list(ESTIMATORS) if estimators is None else list(estimators)
    out: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    for i, L in enumerate(Ls):
        usable = [n for n in names if L >= ESTIMATORS[n].min_L]
        results = estimate(objective, mu, sigma, L=L, reps=reps, seed=seed + 7919 * (i + 1), estimators=usable)
        for n in names:
            if n in results:
                with np.errstate(all="ignore"):
                    out[n][0].append(float(np.var(results[n].d_mu, ddof=1)))
                    out[n][1].append(float(np.var(results[n].d_sigma, ddof=1)))
            else:
                out[n][0].append(float("nan"))
                out[n][1].append(float("nan"))
    return out
