"""Monte Carlo estimators of ∇_θ E_{N(μ,σ²)}[f(x)], θ = (μ, σ), all replicates at once.

Every estimator returns ``reps`` independent estimates, each an average over L
samples, computed as (reps, L) tensors with no Python loop over replicates or
samples. Estimators that can use the same standard normals ε do (a paired
comparison: differences between them are not sampling luck). Write x = μ + σε and the
score s(x) = ∇_θ log N(x; μ, σ²) = (ε/σ, (ε² − 1)/σ).

``pathwise``          ∂μ ≈ f'(x),  ∂σ ≈ f'(x) ε — by torch autograd through x = μ + σε.
``score``             (f(x)) s(x)                         (REINFORCE, likelihood ratio)
``score_loo``         (f(x_l) − mean of the other L−1 f) s(x_l)        (unbiased, L ≥ 2)
``score_optimal``     (f(x) − b*) s(x), b* = E[f s²]/E[s²] per parameter, estimated on
                      an independent pilot batch (so it is unbiased)
``score_batchmean``   (f(x_l) − mean of all L f) s(x_l): its mean is (1 − 1/L) ∇ — biased
``mvd``               ∂μ ≈ [f(μ+σW) − f(μ−σW)]/(σ√(2π)), W ~ Rayleigh(1);
                      ∂σ ≈ [f(μ+σM) − f(μ+σUM)]/σ, M ~ double-sided Maxwell, U ~ U(0,1)
                      (U·M ~ N(0,1): the two ends are coupled)
``mvd_uncoupled``     the same with independent draws for the two ends
``finite_difference`` central differences, step h, on common random numbers — O(h²) bias
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .objective import Objective, parse_objective

__all__ = ["EstimatorInfo", "Estimates", "ESTIMATORS", "estimate", "variance_by_L", "MAX_SAMPLES", "PILOT_SIZE",
           "seeded_generator"]

MAX_SAMPLES = 4_000_000  # reps × L; beyond this one call needs too much memory
PILOT_SIZE = 1024  # independent samples used to estimate the optimal baseline
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class EstimatorInfo:
    """What the app says about an estimator."""

    name: str
    label: str
    unbiased: bool
    evals_per_sample: int  # evaluations of f per sample, per parameter
    summary: str
    latex_mu: str
    latex_sigma: str
    min_L: int = 1


ESTIMATORS: dict[str, EstimatorInfo] = {
    e.name: e
    for e in [
        EstimatorInfo(
            "pathwise", "Pathwise (reparameterization)", True, 1,
            "Write x = μ + σε and let autograd differentiate f(μ + σε). Unbiased when f is "
            "continuous; blind to jumps (a step function gets gradient 0).",
            r"f'(\mu+\sigma\epsilon)", r"f'(\mu+\sigma\epsilon)\,\epsilon",
        ),
        EstimatorInfo(
            "score", "Score function (REINFORCE)", True, 1,
            "Differentiate the density, not f: f(x)·∇log p(x). Needs only values of f. Unbiased, often noisy.",
            r"f(x)\,\frac{\epsilon}{\sigma}", r"f(x)\,\frac{\epsilon^2-1}{\sigma}",
        ),
        EstimatorInfo(
            "score_loo", "Score, leave-one-out baseline", True, 1,
            "Each sample's baseline is the mean f of the other L−1 samples, which it cannot see: "
            "unbiased (RLOO). Needs L ≥ 2.",
            r"\big(f(x_l)-\tfrac{1}{L-1}\textstyle\sum_{j\ne l} f(x_j)\big)\frac{\epsilon_l}{\sigma}",
            r"\big(f(x_l)-\tfrac{1}{L-1}\textstyle\sum_{j\ne l} f(x_j)\big)\frac{\epsilon_l^2-1}{\sigma}",
            min_L=2,
        ),
        EstimatorInfo(
            "score_optimal", "Score, optimal baseline", True, 1,
            f"Baseline b* = E[f s²]/E[s²], different for μ and σ, estimated on {PILOT_SIZE} independent "
            "samples, so it stays unbiased.",
            r"\big(f(x)-b^*_\mu\big)\frac{\epsilon}{\sigma}", r"\big(f(x)-b^*_\sigma\big)\frac{\epsilon^2-1}{\sigma}",
        ),
        EstimatorInfo(
            "score_batchmean", "Score, batch-mean baseline (biased)", False, 1,
            "Baseline = mean of the same L values of f, including the sample it multiplies. "
            "Biased: its mean is (1 − 1/L) × the gradient. Shown on purpose.",
            r"\big(f(x_l)-\bar f\big)\frac{\epsilon_l}{\sigma}", r"\big(f(x_l)-\bar f\big)\frac{\epsilon_l^2-1}{\sigma}",
        ),
        EstimatorInfo(
            "mvd", "Measure-valued (coupled)", True, 2,
            "Differentiate the density as a difference of two densities and sample both: "
            "two evaluations of f per sample, ends coupled by shared randomness.",
            r"\frac{f(\mu+\sigma W)-f(\mu-\sigma W)}{\sigma\sqrt{2\pi}}",
            r"\frac{f(\mu+\sigma M)-f(\mu+\sigma U M)}{\sigma}",
        ),
        EstimatorInfo(
            "mvd_uncoupled", "Measure-valued (uncoupled)", True, 2,
            "The same weak derivative with independent draws for the two ends.",
            r"\frac{f(\mu+\sigma W)-f(\mu-\sigma W')}{\sigma\sqrt{2\pi}}",
            r"\frac{f(\mu+\sigma M)-f(\mu+\sigma \epsilon)}{\sigma}",
        ),
        EstimatorInfo(
            "finite_difference", "Finite differences (biased)", False, 2,
            "Central differences with step h = σ/10 on the same ε: biased by O(h²), and "
            "its variance explodes as h → 0 for a step.",
            r"\frac{f(x+h)-f(x-h)}{2h}", r"\frac{f(\mu+(\sigma+h)\epsilon)-f(\mu+(\sigma-h)\epsilon)}{2h}",
        ),
    ]
}


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


def seeded_generator(seed: int, stream: int) -> torch.Generator:
    """An independent torch generator for (seed, stream), via numpy's SeedSequence."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, stream]).generate_state(2, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def _normal(shape, seed: int, stream: int) -> torch.Tensor:
    return torch.randn(shape, generator=seeded_generator(seed, stream), dtype=torch.float64)


def _uniform_open(shape, seed: int, stream: int) -> torch.Tensor:
    """U(0, 1] (never exactly 0, so logs stay finite)."""
    return 1.0 - torch.rand(shape, generator=seeded_generator(seed, stream), dtype=torch.float64)


def _rayleigh(shape, seed: int, stream: int) -> torch.Tensor:
    """W ~ Rayleigh(1), density w e^{-w²/2}: W = √(−2 log U)."""
    return torch.sqrt(-2.0 * torch.log(_uniform_open(shape, seed, stream)))


def _double_sided_maxwell(shape, seed: int, stream: int) -> torch.Tensor:
    """M with density m² φ(m) on the real line.

    |M|² ~ χ²₃ = χ²₂ + χ²₁ = −2 log U + N², and the sign of N is a fair coin
    independent of N², so M = sign(N) √(−2 log U + N²): one uniform and one normal.
    """
    g = seeded_generator(seed, stream)
    n = torch.randn(shape, generator=g, dtype=torch.float64)
    u = 1.0 - torch.rand(shape, generator=g, dtype=torch.float64)
    return torch.sign(n) * torch.sqrt(n * n - 2.0 * torch.log(u))


_STREAM_EPS, _STREAM_PILOT, _STREAM_W, _STREAM_W2, _STREAM_M, _STREAM_U = range(6)


def _f(objective: Objective, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return objective(x)


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
    if L < 1 or reps < 1:
        raise ValueError("L and the number of replicates must be at least 1.")
    if L * reps > MAX_SAMPLES:
        raise ValueError(f"reps × L = {L * reps:,} is too large (at most {MAX_SAMPLES:,}).")
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma <= 0:
        raise ValueError("μ must be finite and σ must be positive.")
    if estimators is None:
        names = [n for n, info in ESTIMATORS.items() if L >= info.min_L]
    else:
        names = list(estimators)
        unknown = [n for n in names if n not in ESTIMATORS]
        if unknown:
            raise ValueError(f"Unknown estimator(s): {', '.join(unknown)}.")
        short = [n for n in names if L < ESTIMATORS[n].min_L]
        if short:
            raise ValueError(f"{', '.join(short)} needs L ≥ 2.")
    h = 0.1 * sigma if fd_step is None else float(fd_step)

    shared: dict[str, tuple[object, float]] = {}

    def once(key, make):
        """Compute a shared quantity once; remember how long it took."""
        if key not in shared:
            t0 = time.perf_counter()
            shared[key] = (make(), time.perf_counter() - t0)
        return shared[key]

    def eps():
        return once("eps", lambda: _normal((reps, L), seed, _STREAM_EPS))

    def f_eps():
        e, _ = eps()
        return once("f_eps", lambda: _f(objective, mu + sigma * e))

    def score_terms():
        e, _ = eps()
        return once("scores", lambda: (e / sigma, (e * e - 1.0) / sigma))

    def w():
        return once("w", lambda: _rayleigh((reps, L), seed, _STREAM_W))

    def f_plus_w():
        ww, _ = w()
        return once("f_plus_w", lambda: _f(objective, mu + sigma * ww))

    def m():
        return once("m", lambda: _double_sided_maxwell((reps, L), seed, _STREAM_M))

    def f_m():
        mm, _ = m()
        return once("f_m", lambda: _f(objective, mu + sigma * mm))

    def cost(*keys):
        return sum(shared[k][1] for k in keys)

    results: dict[str, Estimates] = {}
    for name in names:
        before = set(shared)
        t0 = time.perf_counter()
        uses: tuple[str, ...] = ()
        with np.errstate(all="ignore"):
            if name == "pathwise":
                e, _ = eps()
                uses = ("eps",)
                mu_t = torch.full((reps, 1), float(mu), dtype=torch.float64, requires_grad=True)
                sigma_t = torch.full((reps, 1), float(sigma), dtype=torch.float64, requires_grad=True)
                z = mu_t + sigma_t * e  # the reparameterization: randomness enters as data
                # Row r of the loss depends only on (mu_t[r], sigma_t[r]), so one backward
                # pass gives every replicate's own gradient.
                objective(z).mean(dim=1).sum().backward()
                d_mu, d_sigma = mu_t.grad[:, 0], sigma_t.grad[:, 0]
            elif name.startswith("score"):
                f, _ = f_eps()
                (s_mu, s_sigma), _ = score_terms()
                uses = ("eps", "f_eps", "scores")
                if name == "score":
                    centred_mu = centred_sigma = f
                elif name == "score_loo":
                    baseline = (f.sum(dim=1, keepdim=True) - f) / (L - 1)
                    centred_mu = centred_sigma = f - baseline
                elif name == "score_batchmean":
                    centred_mu = centred_sigma = f - f.mean(dim=1, keepdim=True)
                else:  # score_optimal: b* per parameter from an independent pilot batch
                    pilot = _normal((PILOT_SIZE,), seed, _STREAM_PILOT)
                    f_pilot = _f(objective, mu + sigma * pilot)
                    s2_mu, s2_sigma = pilot.square(), (pilot.square() - 1.0).square()
                    b_mu = (f_pilot * s2_mu).sum() / s2_mu.sum()
                    b_sigma = (f_pilot * s2_sigma).sum() / s2_sigma.sum()
                    centred_mu, centred_sigma = f - b_mu, f - b_sigma
                d_mu = (centred_mu * s_mu).mean(dim=1)
                d_sigma = (centred_sigma * s_sigma).mean(dim=1)
            elif name in ("mvd", "mvd_uncoupled"):
                ww, _ = w()
                f_plus, _ = f_plus_w()
                mm, _ = m()
                f_max, _ = f_m()
                uses = ("w", "f_plus_w", "m", "f_m")
                if name == "mvd":
                    f_minus = _f(objective, mu - sigma * ww)
                    u = _uniform_open((reps, L), seed, _STREAM_U)
                    f_normal = _f(objective, mu + sigma * u * mm)
                else:
                    w2 = _rayleigh((reps, L), seed, _STREAM_W2)
                    f_minus = _f(objective, mu - sigma * w2)
                    f_normal, _ = f_eps()
                    uses += ("eps", "f_eps")
                d_mu = (f_plus - f_minus).mean(dim=1) / (sigma * _SQRT_2PI)
                d_sigma = (f_max - f_normal).mean(dim=1) / sigma
            elif name == "finite_difference":
                e, _ = eps()
                uses = ("eps",)
                x = mu + sigma * e
                d_mu = (_f(objective, x + h) - _f(objective, x - h)).mean(dim=1) / (2 * h)
                d_sigma = (_f(objective, mu + (sigma + h) * e) - _f(objective, mu + (sigma - h) * e)).mean(dim=1) / (2 * h)
            else:  # pragma: no cover - names were validated above
                raise AssertionError(name)
        # Own work only; the shared draws and evaluations it used are added back below.
        own = time.perf_counter() - t0 - sum(v[1] for k, v in shared.items() if k not in before)
        info = ESTIMATORS[name]
        results[name] = Estimates(
            name=name,
            d_mu=d_mu.detach().numpy().astype(np.float64, copy=False),
            d_sigma=d_sigma.detach().numpy().astype(np.float64, copy=False),
            L=L,
            f_evals=info.evals_per_sample * L,
            seconds=max(own, 0.0) + cost(*uses),
            info=info,
        )
    return results


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
