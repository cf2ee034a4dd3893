"""Figures of the IWAE page: SNR against K or M (log–log) with the theory's slopes, and the
encoder-gradient draws at each K behind a slider inside the figure. Pure: numbers in,
``go.Figure`` out; no Streamlit."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import BOTTOM_LEGEND, EXACT_COLOR, label_log_axes
from .iwae import ESTIMATORS, RESOLVE_Z, Curves
from .scrub import ANIMATE, Stage, _slider

__all__ = ["IWAE_COLORS", "SHORT", "snr_figure", "readout", "draws_figure"]

# Okabe–Ito colours already used across the app (3:1 on white and on the dark theme): vermillion,
# bluish green and blue, which stay apart for the common colour-vision deficiencies too.
IWAE_COLORS = {"iwae": "#D55E00", "stl": "#009E73", "dreg": "#0072B2"}
DASH = {"iwae": "solid", "stl": "dash", "dreg": "dot"}
SHORT = {"iwae": "IWAE", "stl": "STL", "dreg": "DReG"}


def snr_figure(curves: Curves, shown: list[str]) -> go.Figure:
    """log SNR against log K (or M) for θ (left) and φ (right), one line per estimator with
    jackknife error bars over its resolved points, an open triangle at the upper bound of each
    point whose mean is not resolved from 0 (no line through it), and the theory's slope drawn
    through the first point of the curve it is the theory for, in that curve's colour. θ's
    gradient is the same for the three estimators: one line, named so."""
    n = np.asarray(curves.grid, float)
    axis = curves.sweep
    fig = make_subplots(rows=1, cols=2, subplot_titles=("θ (model)", "φ (encoder)"),
                        horizontal_spacing=0.12)
    unresolved_named = False
    for col, group in ((1, "theta"), (2, "phi")):
        names = shown[:1] if group == "theta" else shown
        for e in names:
            ok = curves.resolved[(e, group)]
            y = np.where(ok, curves.snr[(e, group)], np.nan)
            se = np.where(ok, curves.log_se[(e, group)], 0.0)
            label = "θ: same for all three" if group == "theta" else ESTIMATORS[e]
            color = IWAE_COLORS[e] if group == "phi" else EXACT_COLOR
            fig.add_trace(go.Scatter(
                x=n, y=[float(v) if np.isfinite(v) else None for v in y], mode="lines+markers", name=label,
                legendgroup=e if group == "phi" else "theta", connectgaps=False,
                line=dict(color=color, width=2.5, dash=DASH[e] if group == "phi" else "solid"),
                error_y=dict(type="data", array=np.nan_to_num(y * (np.exp(se) - 1)),
                             arrayminus=np.nan_to_num(y * (1 - np.exp(-se))), visible=True, thickness=1.5, width=4),
                hovertemplate=f"{label}<br>{axis} = %{{x}}: SNR %{{y:.3g}}<extra></extra>"), row=1, col=col)
            if not ok.all():
                fig.add_trace(go.Scatter(
                    x=n[~ok], y=curves.upper[(e, group)][~ok], mode="markers",
                    name=f"not resolved by {2 * curves.pairs:,} draws: SNR below ▽", showlegend=not unresolved_named,
                    legendgroup="unresolved", legendrank=1001,
                    marker=dict(symbol="triangle-down-open", size=11, color=color, line=dict(width=2, color=color)),
                    hovertemplate=f"{label}<br>{axis} = %{{x}}: mean not resolved from 0; SNR below %{{y:.2g}}"
                                  "<extra></extra>"), row=1, col=col)
                unresolved_named = True
            # The theory's slope through this curve's own first point (where it has one).
            slope = curves.theory[(e, group)]
            if slope is None or not ok[0]:
                continue
            text = "½" if slope > 0 else "−½"
            asymptotic = (e, group, axis) == ("dreg", "phi", "K")
            fig.add_trace(go.Scatter(
                x=n, y=curves.snr[(e, group)][0] * (n / n[0]) ** slope, mode="lines", name=f"theory: slope {text}",
                line=dict(color=color, dash="dashdot", width=1.2), opacity=0.9, showlegend=False,
                hovertemplate=(f"theory for {'θ' if group == 'theta' else SHORT[e]}: {axis}^{text}"
                               f"{' (asymptotic)' if asymptotic else ''}, through its first point<extra></extra>")),
                row=1, col=col)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="theory: slope ±½ through its curve's first point",
                             legendrank=1002,
                             line=dict(color=EXACT_COLOR, dash="dashdot", width=1.2)))
    fig.update_xaxes(type="log", title_text=axis,
                     tickmode="array", tickvals=list(curves.grid), ticktext=[f"{v:,}" for v in curves.grid])
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="SNR", col=1)
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=40, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def readout(curves: Curves, e: str, j: int) -> str:
    """The histogram's mean / sd at grid point j, for a sentence: signed where its mean is resolved
    (2 SE from 0), "≈ 0 (unresolved)" where not."""
    sd = float(curves.projection[e][j].std(ddof=1))
    mean, se = float(curves.mean_projection[e][j]), float(curves.projection_se[e][j])
    if mean < RESOLVE_Z * se:
        return "≈ 0 (unresolved)"
    return f"{mean / sd:.2g}"


def draws_figure(curves: Curves, shown: list[str], start: int = 0, presenter: bool = False, bins: int = 60) -> go.Figure:
    """Histograms of each draw's encoder gradient (b's part) along the direction of its mean, u·Δ_b
    with u = −r/‖r‖, divided by its standard deviation at that K, with a slider over K inside the
    figure; a vertical line marks the mean/sd (the SNR of that one number): where the spread is 1,
    the mean is what is left of the signal."""
    stage = Stage(presenter)
    means = [curves.mean_projection[e][j] / curves.projection[e][j].std(ddof=1)
             for e in shown for j in range(len(curves.grid))]
    lo, hi = float(np.floor(min(-4.0, min(means) - 3.5))), float(np.ceil(max(4.0, max(means) + 3.5)))
    edges = np.linspace(lo, hi, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    axis = curves.sweep
    frames_data = []
    tops = []
    for j in range(len(curves.grid)):
        data = []
        for e in shown:
            d = curves.projection[e][j]
            sd = float(d.std(ddof=1))
            dens, _ = np.histogram(d / sd, bins=edges, density=True)
            tops.append(float(dens.max()))
            mean = curves.mean_projection[e][j] / sd
            data.append(dict(x=centres.round(4).tolist(), y=dens.round(4).tolist()))
            data.append(dict(x=[mean, mean], y=[0.0, 0.0]))  # height set below, once the top is known
        frames_data.append(data)
    top = max(tops) * 1.05
    traces = []
    for i, e in enumerate(shown):
        traces.append(dict(type="scatter", mode="lines", line=dict(shape="hvh", color=IWAE_COLORS[e], width=2,
                                                                  dash=DASH[e]),
                           name=ESTIMATORS[e], hoverinfo="skip"))
        traces.append(dict(type="scatter", mode="lines", line=dict(color=IWAE_COLORS[e], width=3), showlegend=False,
                           name=f"{SHORT[e]}: mean / sd", hovertemplate="mean / sd = %{x:.3g}<extra></extra>"))
    for data in frames_data:
        for i in range(len(shown)):
            data[2 * i + 1]["y"] = [0.0, top * 0.95]
    texts = []
    for j, n in enumerate(curves.grid):
        parts = [f"{SHORT[e]} {readout(curves, e, j)}".replace("-", "−") for e in shown]
        texts.append(f"{axis} = {n}: mean / sd  " + " · ".join(parts))
    traces.append(dict(type="scatter", mode="text", x=[lo], y=[top * 1.02], text=[texts[start]], textposition="top right",
                       showlegend=False, hoverinfo="skip", textfont=dict(size=stage.font)))
    for k, patch in enumerate(frames_data[start]):
        traces[k].update(patch)
    moving = list(range(len(traces)))
    frames = [dict(name=str(j), traces=moving, data=frames_data[j] + [dict(text=[texts[j]])])
              for j in range(len(curves.grid))]
    layout = dict(
        height=360 + (stage.top - 74), margin=dict(l=10, r=10, t=stage.top + 20, b=40), dragmode=False,
        xaxis=dict(range=[lo, hi], title=dict(text="b-gradient along its mean, ÷ sd"),
                   zeroline=True),
        yaxis=dict(range=[0.0, top * 1.25], title=dict(text="density"), fixedrange=True),
        sliders=[_slider([f"{n}" for n in curves.grid], start, stage)], legend=BOTTOM_LEGEND, showlegend=True,
        annotations=[dict(text=f"drag to change {axis}", x=0.0, xanchor="left", xref="paper", yref="paper", y=1.0,
                          yanchor="bottom", yshift=stage.top - 6, showarrow=False, font=dict(size=stage.font))])
    return go.Figure(data=traces, layout=layout, frames=frames, skip_invalid=False, _validate=False)
