"""Summaries of replicate estimates: bias, spread and signal-to-noise, and histograms.

For ``reps`` independent estimates g_1..g_R of a gradient whose exact value is g:

    mean  ḡ = Σ g_r / R,         bias = ḡ − g,     SE = sd / √R,   z = bias / SE,
    SNR = |ḡ| / sd               (how many standard deviations the signal is).

An unbiased estimator has |z| below about 3 in all but rare cases; a biased one has
|z| growing like √R.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Summary", "summarize", "summarize_rows", "histogram", "histogram_rows", "nice_range", "variance_ratio", "variance_and_se",
           "ROUNDING", "zeroed", "size_of"]


@dataclass(frozen=True)
class Summary:
    mean: float
    bias: float
    se: float
    z: float
    std: float
    variance: float
    snr: float
    n_finite: int
    n_total: int


def summarize(values: np.ndarray, exact: float) -> Summary:
    """Mean, bias against ``exact``, standard error, z-score, spread and SNR (finite values only).

    Spreads too large for double precision come out as ∞ (no warning is raised).
    """
    with np.errstate(all="ignore"):
        return _summarize(values, exact)


def _summarize(values: np.ndarray, exact: float) -> Summary:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    n = finite.size
    if n == 0:
        nan = float("nan")
        return Summary(nan, nan, nan, nan, nan, nan, nan, 0, values.size)
    mean = float(finite.mean())
    std = float(finite.std(ddof=1)) if n > 1 else 0.0
    se = std / math.sqrt(n) if n > 1 else float("nan")
    bias = mean - exact if math.isfinite(exact) else float("nan")
    if abs(bias) <= 1e-12 * max(1.0, abs(exact), abs(mean)):
        z = 0.0  # equal to rounding: an estimator with (almost) no spread that is exactly right
    elif se > 0:
        z = bias / se
    else:
        # No spread at all: the estimate is a constant, exact or not.
        z = 0.0 if abs(bias) <= 1e-12 * max(1.0, abs(exact)) else math.copysign(math.inf, bias)
    snr = abs(mean) / std if std > 0 else math.inf if mean != 0 else float("nan")
    return Summary(mean, bias, se, z, std, std * std, snr, n, values.size)


def summarize_rows(values: np.ndarray, exact: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`summarize` for every row of ``values`` (shape (G, R)) at once, against
    ``exact`` (shape (G,)): a dict of arrays of shape (G,) with the fields of
    :class:`Summary`. Non-finite values are left out row by row, as in ``summarize``.
    """
    values = np.asarray(values, dtype=np.float64)
    exact = np.broadcast_to(np.asarray(exact, dtype=np.float64), values.shape[:1])
    with np.errstate(all="ignore"):
        ok = np.isfinite(values)
        n = ok.sum(axis=1)
        v = np.where(ok, values, 0.0)
        mean = np.where(n > 0, v.sum(axis=1) / np.maximum(n, 1), np.nan)
        dev = np.where(ok, values - mean[:, None], 0.0)
        var = np.where(n > 1, (dev * dev).sum(axis=1) / np.maximum(n - 1, 1), np.where(n == 1, 0.0, np.nan))
        std = np.sqrt(var)
        se = np.where(n > 1, std / np.sqrt(np.maximum(n, 1)), np.nan)
        bias = np.where(np.isfinite(exact), mean - exact, np.nan)
        tiny = np.abs(bias) <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(exact), np.abs(mean)))
        z = np.where(tiny, 0.0, np.where(se > 0, bias / se, np.copysign(np.inf, bias)))
        z = np.where(np.isnan(bias) | (n == 0), np.nan, z)
        snr = np.where(std > 0, np.abs(mean) / std, np.where((mean != 0) & (n > 0), np.inf, np.nan))
        # The sd's own relative standard error, from the sample's kurtosis κ = m₄/m₂²:
        # Var(s²) ≈ (m₄ − m₂²(n−3)/(n−1))/n, and s errs by half of s²'s relative error. With light
        # tails (κ = 3) this is 1/√(2(n−1)); heavy tails make it much larger.
        m2 = np.where(n > 0, (dev * dev).sum(axis=1) / np.maximum(n, 1), np.nan)
        m4 = np.where(n > 0, (dev ** 4).sum(axis=1) / np.maximum(n, 1), np.nan)
        kurtosis = np.where(m2 > 0, m4 / (m2 * m2), np.nan)
        sd_rel_se = np.where(n > 3, 0.5 * np.sqrt(np.maximum(kurtosis - (n - 3) / np.maximum(n - 1, 1), 0.0)
                                                   / np.maximum(n, 1)), np.nan)
    return dict(mean=mean, bias=bias, se=se, z=z, std=std, variance=var, snr=snr, n_finite=n,
                n_total=np.full(values.shape[0], values.shape[1]), sd_rel_se=sd_rel_se, kurtosis=kurtosis)


# Beyond this sample kurtosis the sample itself understates the tails (a lognormal's κ of 114 reads
# as about 25 from 1,000 draws) and so understates the sd's uncertainty: pages double it there
# (tests/core/test_stats.py measures both).
HEAVY_KURTOSIS = 10.0


def sd_uncertainty(sd_rel_se: float, kurtosis: float) -> float:
    """The relative uncertainty of an sd to print: the kurtosis estimate, doubled for heavy tails."""
    return 2.0 * sd_rel_se if kurtosis > HEAVY_KURTOSIS else sd_rel_se


def variance_and_se(values: np.ndarray) -> tuple[float, float]:
    """The (population) variance of independent values and its standard error,
    SE = √((m₄ − v²)/n) with m₄ the fourth central moment."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        c = values - values.mean()
        var = float(np.mean(c * c))
        return var, math.sqrt(max(float(np.mean(c ** 4)) - var * var, 0.0) / values.size)


def variance_ratio(variance: float, reference: float) -> float:
    """variance / reference, NaN when the reference is 0 or not finite."""
    if not (math.isfinite(reference) and reference > 0):
        return float("nan")
    return variance / reference


def _nice_step(span: float) -> float:
    """A 1-2-5 step about a tenth of ``span``."""
    raw = span / 10.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * power:
            return m * power
    return 10.0 * power


def nice_range(samples: list[np.ndarray], include: list[float], coverage: float = 0.99) -> tuple[float, float]:
    """A shared axis range covering the central ``coverage`` of every sample set and ``include``.

    The ends are rounded outwards to a 1-2-5 grid so small changes of the inputs do not
    make the axis jump.
    """
    lo_q, hi_q = (1.0 - coverage) / 2.0, 1.0 - (1.0 - coverage) / 2.0
    lows, highs = [], []
    for s in samples:
        s = np.asarray(s)[np.isfinite(s)]
        if s.size:
            lows.append(float(np.quantile(s, lo_q)))
            highs.append(float(np.quantile(s, hi_q)))
    for v in include:
        if math.isfinite(v):
            lows.append(v)
            highs.append(v)
    if not lows:
        return -1.0, 1.0
    # Beyond ±1e300 the span of the range itself would overflow (estimates of exp(1000x), say).
    lo, hi = max(min(lows), -1e300), min(max(highs), 1e300)
    span = hi - lo
    if not span > 1e-12 * max(1.0, abs(lo), abs(hi)):
        pad = max(abs(lo) * 0.1, 1e-3)
        return lo - pad, hi + pad
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def histogram(values: np.ndarray, lo: float, hi: float, bins: int = 60
              ) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Pre-binned density on [lo, hi]: (bin centres, densities, bin width, count outside).

    Densities are per unit of the estimate and normalised by *all* finite values, so
    the visible bars integrate to the fraction that lies inside the range.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(finite, bins=edges)
    width = (hi - lo) / bins
    density = counts / (max(finite.size, 1) * width)
    outside = int(finite.size - counts.sum())
    return 0.5 * (edges[:-1] + edges[1:]), density, width, outside


def histogram_rows(values: np.ndarray, lo: float, hi: float, bins: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`histogram` for every row of ``values`` (shape (G, R)) at once, on one set of
    bins: (bin centres (bins,), densities (G, bins), counts outside [lo, hi] (G,))."""
    values = np.asarray(values, dtype=np.float64)
    G = values.shape[0]
    width = (hi - lo) / bins
    with np.errstate(all="ignore"):
        finite = np.isfinite(values)
        idx = np.floor((values - lo) / width)
        idx = np.where(values == hi, bins - 1, idx)  # np.histogram's last bin is closed on the right
        inside = finite & (idx >= 0) & (idx < bins)
    rows = np.broadcast_to(np.arange(G)[:, None], values.shape)
    flat = (rows * bins + np.where(inside, idx, 0).astype(np.int64))[inside]
    counts = np.bincount(flat, minlength=G * bins).reshape(G, bins)
    n = finite.sum(axis=1)
    density = counts / (np.maximum(n, 1)[:, None] * width)
    edges = np.linspace(lo, hi, bins + 1)
    return 0.5 * (edges[:-1] + edges[1:]), density, n - counts.sum(axis=1)


ROUNDING = 1e-12  # a value this small next to the numbers around it is 0 up to rounding


def zeroed(value: float, scale: float) -> float:
    """``value``, or 0 when it is 0 up to rounding next to ``scale`` (the size of the numbers it
    is shown with): −1.6e-17 for an exact gradient of 0, a variance of 1.8e-31 beside 39."""
    try:
        return 0.0 if math.isfinite(value) and abs(value) <= ROUNDING * abs(scale) else value
    except TypeError:
        return value


def size_of(exact: float, summaries) -> float:
    """The size of a table of estimates: the largest of |exact| and each row's |mean| and std
    (non-finite ones left out). A number far below it is 0 up to rounding (:func:`zeroed`)."""
    return max([abs(exact)] + [v for s in summaries for v in (abs(s.mean), s.std) if math.isfinite(v)])
