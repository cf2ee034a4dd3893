"""Figures for REBAR and RELAX on the papers' toy (core/relax.py). Pure: numbers in, ``go.Figure``
out; no Streamlit.

Colours are core.figures.COLORS (one per estimator everywhere in the app, each at 3:1 or more
against Streamlit's light and dark backgrounds). No text colour is set here: titles, ticks and
legends take the theme's text colour (``ui.chart`` draws with Streamlit's theme), which Streamlit
keeps readable on both backgrounds.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .figures import _SUPERSCRIPT, BOTTOM_LEGEND, COLORS, label_log_axes, race_figure

__all__ = ["variance_steps_figure", "toy_race_figure", "smooth_variance", "decade_ticks", "power_of_ten"]

WINDOW = 25  # steps per point of the variance curves (mean over chains, then over the window)


def smooth_variance(variance: np.ndarray, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """(steps, mean variance) of a (steps, chains) history: the mean over chains, averaged over
    consecutive windows of ``window`` steps (each point is the window's centre)."""
    per_step = np.asarray(variance, dtype=float).mean(axis=1)
    n = per_step.size // window
    if n == 0:
        return np.arange(per_step.size, dtype=float), per_step
    means = per_step[:n * window].reshape(n, window).mean(axis=1)
    return np.arange(n) * window + (window - 1) / 2, means


def variance_steps_figure(runs: dict[str, dict[str, np.ndarray]], labels: dict[str, str],
                          window: int = WINDOW) -> go.Figure:
    """Single-draw variance of each estimator's gradient against the training step (log y), as in
    the RELAX paper's Fig. 1: per step, the sample variance of fresh draws at every run's current
    θ (and φ), averaged over the runs and over ``window`` steps. A variance of 0 has no place on
    a log axis and is left out (DisARM's is exactly 0 at θ = ½)."""
    fig = go.Figure()
    shown = []
    for name, run in runs.items():
        x, y = smooth_variance(run["variance"], window)
        y = np.where(y > 1e-300, y, np.nan)
        shown.append(y[np.isfinite(y)])
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=labels[name],
                                 line=dict(color=COLORS[name], width=2.5),
                                 hovertemplate=f"{labels[name]}<br>step %{{x:.0f}}: variance %{{y:.3g}}<extra></extra>"))
    fig.update_xaxes(title_text="gradient step")
    fig.update_yaxes(type="log", title_text="variance of one draw's gradient (∂/∂α)")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=10, b=40), legend=BOTTOM_LEGEND)
    values = np.concatenate(shown) if shown else np.array([])
    if values.size:
        (lo, hi), tickvals, ticktext = decade_ticks(float(values.min()), float(values.max()))
        fig.update_yaxes(range=[lo, hi])
        if tickvals:  # else label_log_axes labels the range 1-2-5
            fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    return label_log_axes(fig)


def power_of_ten(exponent: int) -> str:
    """10ⁿ as a reader writes it: 1, 10, 10⁻³ (one style for every tick of an axis)."""
    return "1" if exponent == 0 else "10" if exponent == 1 else "10" + str(exponent).translate(_SUPERSCRIPT)


def decade_ticks(lo: float, hi: float, pad: float = 0.1) -> tuple[tuple[float, float], list[float], list[str]]:
    """A log axis over [lo, hi] with headroom (``pad`` of its span, in decades, above and below, so
    that no line runs along the frame) and its ticks at whole decades, all written as powers of ten:
    ((low, high) in log10 units, tick values, tick labels); empty ticks if fewer than two decades fall
    inside (no tick values: the caller's default ticks then)."""
    a, b = float(np.log10(lo)), float(np.log10(hi))
    margin = pad * max(b - a, 1.0)
    low, high = a - margin, b + margin
    exponents = list(range(int(np.ceil(low)), int(np.floor(high)) + 1))
    if len(exponents) < 2:
        return (low, high), [], []
    every = max(1, int(np.ceil(len(exponents) / 8)))  # about eight labels at most
    exponents = [e for e in exponents if e % every == 0]
    return (low, high), [10.0 ** e for e in exponents], [power_of_ten(e) for e in exponents]


def toy_race_figure(runs: dict[str, dict[str, np.ndarray]], labels: dict[str, str]) -> go.Figure:
    """θ = p(b = 1) against the step for every estimator (mean over runs, 10–90 % band); the
    optimum of E[(b − t)²] for t < ½ is θ = 0, drawn dashed."""
    fig = race_figure({n: r["theta"] for n, r in runs.items()}, 0.0, labels, colors=COLORS,
                      y_title="θ = p(b = 1)", optimum_label="best θ")
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig
