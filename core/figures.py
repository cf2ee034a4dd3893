"""Plotly figure builders. Pure: numbers in, ``go.Figure`` out; no Streamlit.

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies),
one colour per estimator everywhere in the app.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .estimators import ESTIMATORS
from .stats import histogram, nice_range, zeroed

__all__ = ["COLORS", "EXACT_COLOR", "compact_spec", "labelled_histograms", "reparam_map", "variance_vs_L",
           "decomposition_bars", "landscape_figure", "baseline_parabola", "tau_curves", "race_figure",
           "gumbel_max_figure", "soft_path_figure", "two_step_figure", "surrogate_figure", "batch_variance_figure",
           "training_curves", "WEIGHT_NOISE_COLORS", "vae_curves", "latent_scatter", "VAE_COLORS", "figure_csv",
           "PALETTE", "log_ticks", "log_tick_text", "label_log_axes"]

# Every colour keeps at least 3:1 contrast against both of Streamlit's backgrounds, white and
# dark (#0E1117): WCAG 2.1 non-text contrast (tests/core/test_figures.py, tests/e2e/test_layout.py).
COLORS = {
    "pathwise": "#0072B2",
    "score": "#D55E00",
    "score_loo": "#B47C00",
    "score_optimal": "#009E73",
    "score_batchmean": "#CC79A7",
    "mvd": "#7E57C2",
    "mvd_uncoupled": "#8C840B",
    "finite_difference": "#7B7B7B",
    # discrete estimators (score and score_loo keep their colours above)
    "straight_through": "#BB2F75",
    "gumbel_softmax": "#37887B",
    "st_gumbel_softmax": "#8E44AD",
    "gumbel_rao": "#938025",
    "arm": "#117733",
    "disarm": "#1D8FC8",
    "rebar": "#7A6FF0",
    "relax": "#AD5E99",
}
EXACT_COLOR = "#7F7F7F"
# Colours for series that are not estimators (categories, digits), in the order they are used.
PALETTE = ["#0072B2", "#B47C00", "#009E73", "#D55E00", "#CC79A7", "#7E57C2", "#8C840B", "#7B7B7B", "#BB2F75", "#117733"]
# A horizontal legend under the chart, placed from the bottom of the whole figure (not the plot
# area) so that it never lands on the x-axis title: Plotly grows the bottom margin to fit it.
BOTTOM_LEGEND = dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.0, xanchor="left")
_PARAM_LABEL = {"mu": "∂/∂μ", "sigma": "∂/∂σ", "log_sigma": "∂/∂log σ"}


# Heights inside a histogram row of height 1: the bars, the mean's triangle, the exact line's top;
# the label sits above them all.
_ROW_HIST, _ROW_MEAN, _ROW_EXACT = 0.6, 0.66, 0.7


def labelled_histograms(series: list[tuple[str, str, np.ndarray]], exact: float, xlabel: str,
                        bins: int = 60, title: str | None = None) -> go.Figure:
    """Stacked, pre-binned histograms (label, colour, values) on one shared x-axis, each
    with the exact value dashed and the sample mean as a triangle.

    Drawn as a ridgeline on a single pair of axes: row i (from the top) occupies
    y ∈ [n−1−i, n−i] and its histogram, scaled to 60 % of the row, is one filled step
    polygon; the mean's triangle and the exact line stop below the row's label, which has
    the top of the row to itself (no line or marker crosses the words). The true densities ride along: per corner in ``customdata`` (hover) and per
    bin in ``meta`` (``bin_centres``, ``density``; the CSV). Measured on the Estimator Lab
    (bench/bench_server.py): one pair of axes instead of a y-axis per row took a browser
    redraw from ~1.0 s to ~0.5 s, and one SVG path per row instead of a rectangle per bin
    from ~540 ms to ~400–500 ms.
    """
    lo, hi = nice_range([v for _, _, v in series], [exact])
    n_rows = len(series)
    traces, annotations, means = [], [], []
    for row, (label, color, values) in enumerate(series):
        base = float(n_rows - 1 - row)
        centres, density, width, outside = histogram(values, lo, hi, bins)
        finite = values[np.isfinite(values)]
        top = float(density.max()) if density.size and density.max() > 0 else 1.0
        # The histogram's outline as one filled polygon: one SVG path per row instead of a
        # rectangle per bin. Vertices: (left edge, base), each bin's top-left and top-right
        # corner, (right edge, base).
        edges = np.append(centres - 0.5 * width, centres[-1] + 0.5 * width)
        xs = np.concatenate([edges[:1], np.repeat(edges, 2)[1:-1], edges[-1:]])
        ys = np.concatenate([[base], np.repeat(base + density * (_ROW_HIST / top), 2), [base]])
        corner_density = np.concatenate([[np.nan], np.repeat(density, 2), [np.nan]])
        traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=color,
                           line=dict(color=color, width=0.5), name=label, showlegend=False,
                           customdata=corner_density, hoveron="points",
                           hovertemplate=f"{label}<br>%{{x:.4g}}: density %{{customdata:.3g}}<extra></extra>",
                           meta=dict(bin_centres=centres.tolist(), density=density.tolist())))
        if finite.size:
            mean = float(finite.mean())
            if lo <= mean <= hi:
                means.append((mean, base + _ROW_MEAN, color, label))
        annotations.append(dict(text=label, xref="paper", yref="y", x=1.0, y=base + 1.0, showarrow=False,
                                xanchor="right", yanchor="top", font=dict(size=12)))
        if outside:  # on the row's other side: after the label, a long name ran off a phone's chart
            annotations.append(dict(text=f"{100 * outside / max(finite.size, 1):.2g}% off-scale", xref="paper",
                                    yref="y", x=0.0, y=base + 1.0, showarrow=False, xanchor="left", yanchor="top",
                                    font=dict(size=12)))
    if means:
        # Every mean in one trace: a trace per mean cost the browser ~15 ms more per redraw of
        # the Lab's two charts (Plotly.newPlot: Streamlit remounts a chart whose data changed).
        x, y, colors, names = map(list, zip(*means))
        traces.append(dict(type="scatter", x=x, y=y, mode="markers", showlegend=False, text=names, name="means",
                           meta=dict(means_of=names),
                           marker=dict(symbol="triangle-down", size=10, color=colors,
                                       line=dict(width=1, color=EXACT_COLOR)),
                           hovertemplate="%{text}: mean of estimates %{x:.5g}<extra></extra>"))
    shapes = []
    if math.isfinite(exact):
        shapes += [dict(type="line", xref="x", yref="y", x0=exact, x1=exact, y0=base, y1=base + _ROW_EXACT,
                        line=dict(color=EXACT_COLOR, width=2, dash="dash")) for base in range(n_rows)]
    layout = dict(
        xaxis=dict(range=[lo, hi], title=dict(text=xlabel)),
        yaxis=dict(range=[0, n_rows], tickvals=list(range(n_rows + 1)), showticklabels=False, zeroline=False,
                   fixedrange=True),
        title=dict(text=title) if title else None, height=90 + 95 * n_rows, margin=dict(l=10, r=10, t=40 if title else 10, b=50),
        showlegend=False, shapes=shapes, annotations=annotations)
    return _unvalidated_figure(traces, layout)


def _unvalidated_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain dicts without Plotly's per-property validation, which costs
    more than building the histograms themselves (~20 ms a figure, on every slider move).
    tests/core/test_figures.py re-validates every such figure, so a typo still fails."""
    return go.Figure(data=traces, layout=layout, _validate=False)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_text(value: float) -> str:
    """A log axis's tick as a reader writes it: 0.002, 500, 20,000, or 2×10⁻⁵ and 10⁶ beyond."""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0 ** exponent)
    if -3 <= exponent <= 4:
        return f"{value:,.{max(-exponent, 0)}f}"
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa}×{power}"


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks for a log axis over [lo, hi]: decades when it spans 2.5 or more (every other one past
    eight, and so on), otherwise 1, 2 and 5 times each power of ten; every label written out in
    full, so that no bare "2" can mean 0.2 or 20 (Plotly's minor labels do)."""
    if not (0 < lo < math.inf and 0 < hi < math.inf):
        return [], []  # nothing to label in numbers (a variance that overflowed)
    lo_e, hi_e = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    span = math.log10(hi) - math.log10(lo)  # not log10(hi / lo): 1e300 / 1e-300 overflows
    steps = (1,) if span >= 2.5 else (1, 2, 5)
    every = max(1, math.ceil(span / 8))  # at most about eight decades labelled
    values = [float(f"{m}e{e}") for e in range(lo_e, hi_e + 1) if e % every == 0 for m in steps]
    values = [v for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    if len(values) < 2:  # less than a decade and no 1-2-5 inside: add the ends' neighbours
        values = sorted({float(f"{lo:.1g}"), float(f"{hi:.1g}")} | set(values))
        return values, [f"{v:g}" for v in values]
    return values, [log_tick_text(v) for v in values]


def label_log_axes(fig: go.Figure) -> go.Figure:
    """Give every log axis of ``fig`` the ticks of :func:`log_ticks` over the data drawn on it
    (or its fixed range). Call last, once every trace is in."""
    layout = fig.layout
    for key in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[key]
        if axis.type != "log" or axis.tickvals is not None:  # not log, or ticks chosen by the builder
            continue
        letter, number = key[0], key[5:]
        ref = letter + number
        if axis.range is not None and all(v is not None for v in axis.range):
            lo, hi = 10.0 ** min(axis.range), 10.0 ** max(axis.range)
        else:
            values = []
            for trace in fig.data:
                if (getattr(trace, f"{letter}axis", None) or letter) != ref:
                    continue
                data = getattr(trace, letter, None)
                if data is None:
                    continue
                v = np.asarray(data, dtype=float).ravel()
                error = getattr(trace, f"error_{letter}", None)
                if error is not None and error.visible and error.array is not None:
                    e = np.asarray(error.array, dtype=float).ravel()
                    if e.size == v.size:
                        v = np.concatenate([v, v + e, v - e])
                values.append(v[np.isfinite(v) & (v > 0)])
            values = np.concatenate(values) if values else np.array([])
            if values.size == 0:
                continue
            lo, hi = float(values.min()), float(values.max())
            if hi <= lo:
                lo, hi = lo / 2, hi * 2
        tickvals, ticktext = log_ticks(lo, hi)
        if tickvals:
            axis.update(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    return fig


REPARAM_GRID = 400  # points of the density curves in the ε → z picture


def reparam_curves(eps: np.ndarray, z: np.ndarray, mu: float, sigma: float, grid: np.ndarray, traced: int
                   ) -> tuple[np.ndarray, np.ndarray, list]:
    """What moves in the ε → z picture: the densities of ε (at height 0) and of z (at height 2),
    both scaled so the taller peaks at 0.8, and the x of the segments joining the first
    ``traced`` draws ε to their z (None between segments)."""
    phi = np.exp(-0.5 * grid ** 2) / math.sqrt(2 * math.pi)
    q = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    scale = 0.8 / max(phi.max(), q.max())
    k = min(traced, eps.size)
    segments_x = [v for e, zz in zip(eps[:k], z[:k]) for v in (float(e), float(zz), None)]
    return phi * scale, 2 + q * scale, segments_x


def reparam_map(eps: np.ndarray, z: np.ndarray, mu: float, sigma: float, traced: int = 12,
                x_range: tuple[float, float] = (-8.0, 8.0)) -> go.Figure:
    """The same draws ε (bottom line) mapped to z = μ + σε (top line), with the two
    densities, and segments tracing the first ``traced`` draws: moving μ shifts them,
    σ stretches them. Hovering a traced point shows its pathwise derivative (1, ε)."""
    fig = go.Figure()
    grid = np.linspace(x_range[0], x_range[1], REPARAM_GRID)
    eps_density, z_density, segments_x = reparam_curves(eps, z, mu, sigma, grid, traced)
    fig.add_trace(go.Scatter(x=grid, y=eps_density, mode="lines", line=dict(color=COLORS["mvd"]),
                             name="density of ε ~ N(0, 1)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=grid, y=z_density, mode="lines", line=dict(color=COLORS["pathwise"]),
                             name="density of z ~ N(μ, σ²)", hoverinfo="skip"))
    k = min(traced, eps.size)
    xs, ys = segments_x, [0, 2, None] * k
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=EXACT_COLOR, width=1),
                             name="the same draw, before and after", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=eps, y=np.zeros_like(eps), mode="markers",
                             marker=dict(symbol="line-ns-open", size=12, color=COLORS["mvd"]),
                             name="ε draws", hovertemplate="ε = %{x:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=z, y=np.full_like(z, 2.0), mode="markers", marker=dict(symbol="line-ns-open", size=12, color=COLORS["pathwise"]),
        name="z = μ + σε", customdata=eps,
        hovertemplate="z = %{x:.3f}<br>ε = %{customdata:.3f}<br>∂z/∂μ = 1, ∂z/∂σ = ε = %{customdata:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=z[:k], y=np.full(k, 2.0), mode="markers", showlegend=False,
                             marker=dict(size=8, color=COLORS["pathwise"]), customdata=eps[:k],
                             hovertemplate="traced draw: z = %{x:.3f}, ε = %{customdata:.3f}<br>∂z/∂σ = ε<extra></extra>"))
    fig.update_yaxes(tickvals=[0, 2], ticktext=["ε", "z = μ + σε"], range=[-0.3, 3.0], showgrid=False)
    fig.update_xaxes(range=list(x_range), zeroline=False)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10),
                      legend=BOTTOM_LEGEND)
    return fig


def variance_vs_L(Ls: list[int], variances: dict[str, list[float]],
                  exact_single: dict[str, float] | None = None, param: str = "mu") -> go.Figure:
    """Log–log variance of the L-sample estimate against L.

    Dots: measured variances (Monte Carlo). Dashed lines: the exact single-sample
    variance divided by L, where it is known, which has slope −1 on these axes.
    """
    traces = []
    Ls = np.asarray(Ls, dtype=float)
    for name, var in variances.items():
        v = np.asarray(var, dtype=float)
        ok = np.isfinite(v) & (v > 0)
        label = ESTIMATORS[name].label
        if ok.any():
            traces.append(dict(type="scatter", x=Ls[ok], y=v[ok], mode="markers+lines", name=label,
                               line=dict(color=COLORS[name], width=1), marker=dict(size=8, color=COLORS[name]),
                               hovertemplate=f"{label}<br>L=%{{x}}: variance %{{y:.3g}}<extra></extra>"))
        exact = (exact_single or {}).get(name)
        if exact is not None and math.isfinite(exact) and exact > 0:
            traces.append(dict(type="scatter", x=Ls, y=exact / Ls, mode="lines", showlegend=False, name=label + " (exact/L)",
                               line=dict(color=COLORS[name], width=1.5, dash="dash"),
                               hovertemplate=f"{label}: exact variance/L %{{y:.3g}}<extra></extra>"))
    layout = dict(height=380, margin=dict(l=10, r=10, t=10, b=40), legend=BOTTOM_LEGEND,
                  xaxis=dict(type="log", title=dict(text="L (samples per estimate)")),
                  yaxis=dict(type="log", title=dict(text=f"variance of<br>{_PARAM_LABEL[param]} estimate"), exponentformat="power"))
    return label_log_axes(_unvalidated_figure(traces, layout))


def decomposition_bars(true: float, naive: float, missing: float,
                       naive_mc: float | None = None, reparam_mc: float | None = None) -> go.Figure:
    """The forum answer's decomposition as bars: true = naive (what autograd sees) + missing (∫ f ∇p).

    Optional diamonds mark what real torch returned from n samples through ``.sample()``
    (estimates the naive term) and through ``.rsample()`` (estimates the true gradient).
    """
    labels = ["true<br>gradient<br>∇θ E[f]", "autograd on<br>.sample()<br>E[∇θ f]", "the missing<br>term<br>∫ f ∇θ p"]
    colors = [COLORS["score_optimal"], COLORS["score"], COLORS["mvd"]]
    # The values are the metrics above the chart; printed on the bars they sat under torch's diamonds.
    fig = go.Figure(go.Bar(x=labels, y=[true, naive, missing], marker_color=colors,
                           hovertemplate="%{x}: %{y:.5g}<extra>exact</extra>", name="exact (quadrature)"))
    if naive_mc is not None and reparam_mc is not None:
        fig.add_trace(go.Scatter(x=[labels[0], labels[1]], y=[reparam_mc, naive_mc], mode="markers",
                                 marker=dict(symbol="diamond", size=14, color=EXACT_COLOR, line=dict(width=1, color="white")),
                                 name="torch, n samples (.rsample() / .sample())",
                                 hovertemplate="%{x}: %{y:.5g}<extra>torch</extra>"))
    values = [v for v in (true, naive, missing, naive_mc, reparam_mc) if v is not None and math.isfinite(v)]
    lo, hi = min(values + [0.0]), max(values + [0.0])
    pad = 0.2 * max(hi - lo, 1e-6)
    fig.update_yaxes(range=[lo - pad, hi + pad], zeroline=True, title_text="∂/∂θ")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), showlegend=True,
                      legend=BOTTOM_LEGEND)
    return fig


_SWEEP_LABEL = {"k": "k (cost parameter)", "mu": "μ", "sigma": "σ"}


def landscape_figure(values: np.ndarray, curves: dict[str, np.ndarray], variable: str, param_label: str,
                     mc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                     marks: list[float] | None = None, log_x: bool = True, y_title: str = "variance of one-sample estimate"
                     ) -> go.Figure:
    """Exact variance curves against the sweep variable (log y), Monte Carlo dots with ±2 SE
    bars on top, and dotted vertical lines at the crossing points."""
    fig = go.Figure()
    for name, y in curves.items():
        y = np.where(y > 0, y, np.nan)
        fig.add_trace(go.Scatter(x=values, y=y, mode="lines", name=ESTIMATORS[name].label,
                                 line=dict(color=COLORS[name], width=2.5),
                                 hovertemplate=f"{ESTIMATORS[name].label}<br>{variable} = %{{x:.3g}}: %{{y:.3g}}<extra>exact</extra>"))
    for name, (x, y, se) in (mc or {}).items():
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", showlegend=False, name=ESTIMATORS[name].label + " (Monte Carlo)",
                                 marker=dict(color=COLORS[name], size=9, symbol="circle-open", line=dict(width=2)),
                                 error_y=dict(type="data", array=2 * se, visible=True, color=COLORS[name], thickness=1),
                                 hovertemplate=f"{ESTIMATORS[name].label}<br>{variable} = %{{x:.3g}}: %{{y:.3g}}<extra>Monte Carlo</extra>"))
    # A crossing's value over its dotted line; crossings that print the same share one label,
    # and a label too close to the one before it goes up a line (they would overprint).
    span = np.ptp(np.log10(values) if log_x else values) or 1.0
    placed: list[tuple[float, str]] = []
    level = raised = 0
    for x in sorted(marks or []):
        fig.add_vline(x=x, line=dict(color=EXACT_COLOR, dash="dot", width=1.5))
        text, at = f"{x:.3g}", math.log10(x) if log_x else x
        if placed and placed[-1][1] == text:
            continue
        level = level + 1 if placed and at - placed[-1][0] < 0.08 * span and level < 1 else 0
        placed.append((at, text))
        raised = max(raised, level)
        fig.add_annotation(x=at, xref="x", y=1.0, yref="paper", text=text, showarrow=False, yanchor="bottom",
                           yshift=16 * level, font=dict(size=11))
    fig.update_xaxes(type="log" if log_x else "linear", title_text=_SWEEP_LABEL.get(variable, variable))
    fig.update_yaxes(type="log", title_text=f"{y_title}, {param_label}", exponentformat="power")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30 + 16 * raised, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def baseline_parabola(bs: np.ndarray, v_mu: np.ndarray, v_sigma: np.ndarray, b_star: tuple[float, float],
                      f_mean: float, b: float, mc: tuple[float, float, float, float] | None = None) -> go.Figure:
    """Exact single-sample variance of (f − b)s against b for ∂μ and ∂σ, with the optimal b*
    of each (they differ), E[f], the chosen b, and Monte Carlo variances (±2 SE) at b."""
    # Which gradient is in each panel's x title: a subplot title above the plot overprinted b*.
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08)
    for col, (v, star) in enumerate(((v_mu, b_star[0]), (v_sigma, b_star[1])), start=1):
        fig.add_trace(go.Scatter(x=bs, y=v, mode="lines", line=dict(color=COLORS["score"], width=2.5),
                                 name="exact variance", showlegend=col == 1,
                                 hovertemplate="b = %{x:.3g}: variance %{y:.4g}<extra>exact</extra>"), row=1, col=col)
        fig.add_vline(x=star, line=dict(color=COLORS["score_optimal"], width=2), row=1, col=col)
        fig.add_annotation(x=star, y=1.0, yref="y domain" if col == 1 else "y2 domain", xref=f"x{'' if col == 1 else 2}",
                           # In the theme's text colour: the line's green is 3.4:1 on white, under text's 4.5:1.
                           text=f"b* = {zeroed(star, np.abs(bs).max()):.3g}", showarrow=False, yanchor="bottom")
        fig.add_vline(x=f_mean, line=dict(color=EXACT_COLOR, width=1.5, dash="dot"), row=1, col=col)
        fig.add_vline(x=b, line=dict(color=COLORS["pathwise"], width=1.5, dash="dash"), row=1, col=col)
        if mc is not None:
            var, se = (mc[0], mc[1]) if col == 1 else (mc[2], mc[3])
            fig.add_trace(go.Scatter(x=[b], y=[var], mode="markers", name="Monte Carlo at your b (±2 SE)",
                                     showlegend=col == 1, marker=dict(color=COLORS["pathwise"], size=11),
                                     error_y=dict(type="data", array=[2 * se], visible=True)), row=1, col=col)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=EXACT_COLOR, dash="dot"),
                             name=f"E[f] = {f_mean:.3g}"))
    fig.update_xaxes(title_text="baseline b, for ∂/∂μ", col=1)
    fig.update_xaxes(title_text="baseline b, for ∂/∂σ", col=2)
    fig.update_yaxes(title_text="variance of one-sample estimate", col=1)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=40), legend=BOTTOM_LEGEND)
    return fig


def _band_color(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def tau_curves(taus: np.ndarray, exact: dict[str, tuple[np.ndarray, np.ndarray]],
               mc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], flat: dict[str, tuple[float, float]],
               labels: dict[str, str], mc_reps: int | None = None) -> go.Figure:
    """|bias| and variance of relaxed estimators against the temperature τ (log–log).

    ``exact``: name → (|bias| curve, variance curve) on ``taus`` (lines); ``mc``: name →
    (τ values, |bias|, variance) Monte Carlo dots, with ±1 standard-error bars when
    ``mc_reps`` (the estimates behind each dot) is given: √(variance/n) for the bias,
    variance·√(2/(n−1)) for the variance; ``flat``: name → (|bias|, variance) of
    estimators that do not depend on τ (dotted horizontal lines). Every name has one
    legend entry, from whichever panel draws it first."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("|bias|", "variance (one draw)"),
                        horizontal_spacing=0.1)
    in_legend: set[str] = set()

    def first(entry: str) -> bool:
        new = entry not in in_legend
        in_legend.add(entry)
        return new

    for col in (1, 2):
        for name, (b, v) in exact.items():
            y = b if col == 1 else v
            fig.add_trace(go.Scatter(x=taus, y=np.where(y > 0, y, np.nan), mode="lines", name=labels[name] + " (exact)",
                                     line=dict(color=COLORS[name], width=2.5), showlegend=first(name + " exact"),
                                     hovertemplate=f"{labels[name]}<br>τ = %{{x:.3g}}: %{{y:.3g}}<extra>exact</extra>"),
                          row=1, col=col)
        for name, (t, b, v) in mc.items():
            y = b if col == 1 else v
            error = None
            if mc_reps:
                se = np.sqrt(v / mc_reps) if col == 1 else v * np.sqrt(2.0 / (mc_reps - 1))
                error = dict(type="data", array=se, color=COLORS[name], thickness=1.5, width=4)
            fig.add_trace(go.Scatter(x=t, y=np.where(y > 0, y, np.nan), mode="markers", name=labels[name] + " (Monte Carlo)",
                                     marker=dict(color=COLORS[name], size=9, symbol="circle-open", line=dict(width=2)),
                                     error_y=error, showlegend=first(name + " mc"),
                                     hovertemplate=f"{labels[name]}<br>τ = %{{x:.3g}}: %{{y:.3g}}<extra>Monte Carlo</extra>"),
                          row=1, col=col)
        for name, (b, v) in flat.items():
            y = b if col == 1 else v
            if y > 1e-14 and math.isfinite(y):  # a 0 (to rounding) has no place on a log axis
                fig.add_trace(go.Scatter(x=[taus[0], taus[-1]], y=[y, y], mode="lines", name=labels[name],
                                         line=dict(color=COLORS[name], dash="dot", width=2),
                                         showlegend=first(name + " flat"),
                                         hovertemplate=f"{labels[name]}: %{{y:.3g}} (no τ)<extra></extra>"),
                              row=1, col=col)
    fig.update_xaxes(type="log", title_text="temperature τ")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def race_bands(histories: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """What :func:`race_figure` draws of each (steps, runs) history: the 10th and 90th
    percentiles and the mean at every step (a few kB where the runs take MB)."""
    out = {}
    for name, h in histories.items():
        lo, hi = np.percentile(h, [10, 90], axis=1)
        out[name] = (lo, hi, h.mean(axis=1))
    return out


def race_figure(histories: dict[str, np.ndarray], optimum: float, labels: dict[str, str],
                colors: dict[str, str] | None = None, y_title: str = "exact E[f] at the current logits",
                optimum_label: str = "best possible E[f]") -> go.Figure:
    """Exact objective along training, per estimator: mean over runs with a band from the
    10th to the 90th percentile; the best achievable value dashed. ``histories`` holds
    (steps, runs) arrays, or their :func:`race_bands`."""
    colors = colors or COLORS
    fig = go.Figure()
    for name, h in histories.items():
        lo, hi, mean = h if isinstance(h, tuple) else race_bands({name: h})[name]
        steps = np.arange(mean.shape[0])
        fig.add_trace(go.Scatter(x=np.concatenate([steps, steps[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                 fill="toself", fillcolor=_band_color(colors[name], 0.15), line=dict(width=0),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=steps, y=mean, mode="lines", name=labels[name],
                                 line=dict(color=colors[name], width=2.5),
                                 hovertemplate=f"{labels[name]}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
    # The optimum's value goes in the legend: written on its line, the curves that reach it crossed it.
    fig.add_hline(y=optimum, line=dict(color=EXACT_COLOR, dash="dash"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=EXACT_COLOR, dash="dash"),
                             name=f"{optimum_label} = {optimum:.4g}"))
    fig.update_xaxes(title_text="gradient step")
    fig.update_yaxes(title_text=y_title)
    # On a phone the legend stacks one entry to a line under the plot: room for each of them.
    fig.update_layout(height=max(420, 300 + 26 * (len(histories) + 1)), margin=dict(l=10, r=10, t=10, b=40),
                      legend=BOTTOM_LEGEND)
    return fig


def gumbel_max_figure(freq: np.ndarray, plain: np.ndarray, pi: np.ndarray, n: int) -> go.Figure:
    """Argmax frequencies with Gumbel noise against softmax(θ), and without noise."""
    cats = [f"category {k}" for k in range(len(pi))]
    fig = go.Figure([
        go.Bar(x=cats, y=pi, name="softmax(θ) = π", marker_color=EXACT_COLOR),
        go.Bar(x=cats, y=freq, name=f"argmax(θ + g), {n:,} draws", marker_color=COLORS["gumbel_softmax"]),
        go.Bar(x=cats, y=plain, name="argmax(θ), no noise", marker_color=COLORS["straight_through"]),
    ])
    fig.update_yaxes(title_text="probability / frequency", range=[0, 1.05])
    fig.update_layout(barmode="group", height=340, margin=dict(l=10, r=10, t=10, b=10),
                      legend=BOTTOM_LEGEND)
    return fig


def soft_path_figure(taus, soft: np.ndarray, hard: np.ndarray) -> go.Figure:
    """Stacked bars of softmax((θ + g)/τ) for one Gumbel draw, one bar per τ, and the one-hot limit."""
    labels = [f"τ = {t:g}" for t in taus] + ["τ → 0 (argmax)"]
    rows = np.vstack([soft, hard[None, :]])
    palette = PALETTE[:8]
    fig = go.Figure([go.Bar(x=labels, y=rows[:, k], name=f"y[{k}]", marker_color=palette[k % len(palette)])
                     for k in range(rows.shape[1])])
    fig.update_layout(barmode="stack", height=320, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(range=[0, 1], title_text="soft sample y"), legend=BOTTOM_LEGEND)
    return fig


def two_step_figure(thetas: np.ndarray, var_full: np.ndarray, var_rtg: np.ndarray,
                    mc: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None) -> go.Figure:
    """Exact single-episode variance of the full-return and reward-to-go estimators against θ
    (log y), with Monte Carlo dots (θ, var_full, se_full, var_rtg, se_rtg)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=thetas, y=var_full, mode="lines", name="full return (exact)",
                             line=dict(color=COLORS["score"], width=2.5)))
    fig.add_trace(go.Scatter(x=thetas, y=var_rtg, mode="lines", name="reward-to-go (exact)",
                             line=dict(color=COLORS["score_optimal"], width=2.5)))
    if mc is not None:
        t, vf, sf, vr, sr = mc
        fig.add_trace(go.Scatter(x=t, y=vf, mode="markers", name="full return (Monte Carlo ±2 SE)",
                                 marker=dict(color=COLORS["score"], size=9, symbol="circle-open", line=dict(width=2)),
                                 error_y=dict(type="data", array=2 * sf, visible=True)))
        fig.add_trace(go.Scatter(x=t, y=vr, mode="markers", name="reward-to-go (Monte Carlo ±2 SE)",
                                 marker=dict(color=COLORS["score_optimal"], size=9, symbol="circle-open", line=dict(width=2)),
                                 error_y=dict(type="data", array=2 * sr, visible=True)))
    fig.update_xaxes(title_text="policy parameter θ  (P(a = 1) = σ(θ))")
    fig.update_yaxes(type="log", title_text="variance of one-episode estimate", exponentformat="power")
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=10, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def surrogate_figure(loss: np.ndarray, reward: np.ndarray) -> go.Figure:
    """The surrogate loss falling while the true expected reward does what it likes."""
    # One above the other on a shared step axis: side by side, a phone overprinted their titles.
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    steps = np.arange(loss.size)
    fig.add_trace(go.Scatter(x=steps, y=loss, mode="lines", line=dict(color=COLORS["score"], width=2.5),
                             name="surrogate loss"), row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=reward, mode="lines", line=dict(color=COLORS["score_optimal"], width=2.5),
                             name="expected reward"), row=2, col=1)
    fig.update_yaxes(title_text="surrogate loss<br>on the batch", row=1, col=1)
    fig.update_yaxes(title_text="true expected<br>reward π · m", row=2, col=1)
    fig.update_xaxes(title_text="optimisation step on the same batch", row=2, col=1)
    fig.update_layout(height=440, margin=dict(l=10, r=10, t=10, b=40), showlegend=False)
    return fig


WEIGHT_NOISE_COLORS = {"shared": "#D55E00", "local": "#0072B2", "flipout": "#009E73", "independent": "#7B7B7B"}


def batch_variance_figure(batch_sizes, variances: dict[str, dict[str, np.ndarray]], labels: dict[str, str]) -> go.Figure:
    """Log–log total gradient variance against batch size for μ and log σ, with a 1/B guide."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("gradient w.r.t. μ", "gradient w.r.t. log σ"),
                        horizontal_spacing=0.1)
    b = np.asarray(batch_sizes, dtype=float)
    for col, key in ((1, "mu"), (2, "log_sigma")):
        for name, d in variances.items():
            se = d.get(f"{key}_se")
            fig.add_trace(go.Scatter(x=b, y=d[key], mode="lines+markers", name=labels[name], showlegend=col == 1,
                                     line=dict(color=WEIGHT_NOISE_COLORS[name], width=2.5),
                                     error_y=None if se is None else dict(type="data", array=se, visible=True,
                                                                          thickness=1.5, width=3),
                                     customdata=se,
                                     hovertemplate=f"{labels[name]}<br>B = %{{x}}: %{{y:.3g}}"
                                                   + (" ± %{customdata:.2g}" if se is not None else "")
                                                   + "<extra></extra>"), row=1, col=col)
        ref = max(d[key][0] for d in variances.values())
        fig.add_trace(go.Scatter(x=b, y=ref / b, mode="lines", name="1/B", showlegend=col == 1,
                                 line=dict(color=EXACT_COLOR, dash="dot")), row=1, col=col)
    ticks = [v for v in np.asarray(batch_sizes).tolist() if math.log(v, 4) % 1 < 1e-9]  # 1, 4, 16, 64, 256
    fig.update_xaxes(type="log", title_text="batch size B", tickmode="array", tickvals=ticks,
                     ticktext=[f"{v:,}" for v in ticks])
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="total variance of the minibatch gradient", col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def training_curves(histories: dict[str, np.ndarray], labels: dict[str, str], colors: dict[str, str],
                    y_title: str, zoom_after: int = 0) -> go.Figure:
    """One line per method against the step. With ``zoom_after``, the y-axis spans the values
    after that step (a steep start would flatten the differences that matter)."""
    fig = go.Figure([go.Scatter(x=np.arange(h.size), y=h, mode="lines", name=labels[n],
                                line=dict(color=colors[n], width=2.5)) for n, h in histories.items()])
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=y_title)
    tails = [h[zoom_after:] for h in histories.values() if h[zoom_after:].size and np.all(np.isfinite(h[zoom_after:]))]
    if zoom_after and tails:
        lo, hi = min(float(t.min()) for t in tails), max(float(t.max()) for t in tails)
        pad = 0.05 * (hi - lo or abs(hi) or 1.0)
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=40), legend=BOTTOM_LEGEND)
    return fig


VAE_COLORS = {"pathwise": COLORS["pathwise"], "score": COLORS["score"], "score_loo": COLORS["score_loo"]}


def vae_curves(results: dict, labels: dict[str, str]) -> go.Figure:
    """ELBO against step and against wall-clock time, and the encoder gradient's variance and SNR."""
    # Short titles: two of them share a phone's width (the SNR's definition is in the page's caption).
    fig = make_subplots(rows=2, cols=2, subplot_titles=("ELBO vs step", "ELBO vs seconds", "gradient variance",
                                                        "gradient SNR"),
                        vertical_spacing=0.24, horizontal_spacing=0.12)
    for name, r in results.items():
        style = dict(color=VAE_COLORS[name], width=2.5)
        fig.add_trace(go.Scatter(x=r.steps, y=r.elbo, mode="lines", name=labels[name], line=style), row=1, col=1)
        fig.add_trace(go.Scatter(x=r.seconds, y=r.elbo, mode="lines", name=labels[name], line=style, showlegend=False),
                      row=1, col=2)
        fig.add_trace(go.Scatter(x=r.grad_steps, y=r.grad_variance, mode="lines+markers", name=labels[name], line=style,
                                 showlegend=False), row=2, col=1)
        # An unbiased SNR from 16 draws can be ≤ 0 where the truth is below what they resolve: no point
        # on the log axis there.
        snr = np.where(np.asarray(r.grad_snr) > 0, r.grad_snr, np.nan)
        fig.add_trace(go.Scatter(x=r.grad_steps, y=snr, mode="lines+markers", name=labels[name], line=style,
                                 showlegend=False), row=2, col=2)
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    fig.update_xaxes(title_text="step", row=2)
    fig.update_yaxes(title_text="ELBO (nats per image)", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=2)
    fig.update_layout(height=680, margin=dict(l=10, r=10, t=40, b=40), legend=BOTTOM_LEGEND)
    return label_log_axes(fig)


def latent_scatter(z: np.ndarray, labels: np.ndarray) -> go.Figure:
    """Encoder means of every image in latent dimensions 0 and 1, coloured by digit (named in the legend)."""
    palette = PALETTE
    fig = go.Figure()
    for d in range(10):
        sel = labels == d
        # Full colour: every digit's colour is 3:1 or more on both themes' backgrounds, which a
        # translucent marker was not. The legend names the digits (a label at each cloud's centre
        # was covered by that cloud's own points).
        fig.add_trace(go.Scatter(x=z[sel, 0], y=z[sel, 1], mode="markers", name=str(d),
                                   marker=dict(size=5, color=palette[d]),
                                   hovertemplate=f"digit {d}<br>z₀ = %{{x:.2f}}, z₁ = %{{y:.2f}}<extra></extra>"))
    fig.update_xaxes(title_text="z₀", zeroline=False)
    fig.update_yaxes(title_text="z₁", zeroline=False, scaleanchor="x")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=10, b=10), legend=dict(title="digit"))
    return fig


def compact_spec(spec):
    """A figure dict with its float64 arrays (and long lists of floats) stored as float32: a
    half to an eighth of the memory of a cached
    figure and of the message to the browser. Seven significant digits are beyond what a
    chart shows (its hover and readout texts are formatted strings, computed in float64). Arrays
    with values beyond float32's range stay float64."""
    if isinstance(spec, dict):
        return {k: compact_spec(v) for k, v in spec.items()}
    if isinstance(spec, list) and len(spec) >= 16 and all(type(v) is float for v in spec):
        spec = np.asarray(spec)  # a list of Python floats takes 32 bytes a number
    elif isinstance(spec, (list, tuple)):
        return type(spec)(compact_spec(v) for v in spec)
    if isinstance(spec, np.ndarray) and spec.dtype == np.float64:
        with np.errstate(invalid="ignore"):
            fits = not np.any(np.abs(spec[np.isfinite(spec)]) > 1e37)
        return spec.astype(np.float32) if fits else spec  # float32 ends near 3.4e38
    return spec


def figure_csv(fig: go.Figure) -> str:
    """The data behind a figure as CSV: one row per plotted point (trace, axes, x, y, ±error).

    Rows of :func:`labelled_histograms` report their bins (centre, density) from ``meta``,
    not the corners of their rescaled outline, and their means as x with no y."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trace", "axes", "x", "y", "error"])
    for i, trace in enumerate(fig.data):
        x, y = getattr(trace, "x", None), getattr(trace, "y", None)
        axes = f"{getattr(trace, 'xaxis', None) or 'x'}/{getattr(trace, 'yaxis', None) or 'y'}"
        meta = getattr(trace, "meta", None)
        if isinstance(meta, dict) and "density" in meta:  # a ridgeline row: write its bins, not its outline
            x, y = meta["bin_centres"], meta["density"]
        if isinstance(meta, dict) and "means_of" in meta:  # ridgeline means: the mean, not its drawn height
            for label, xv in zip(meta["means_of"], x):
                writer.writerow([f"{label}: mean of estimates", axes, xv, "", ""])
            continue
        if x is None or y is None:
            continue
        name = trace.name or f"trace {i}"
        err = None
        error_y = getattr(trace, "error_y", None)
        if error_y is not None and error_y.array is not None:
            err = list(error_y.array)
        for j, (xv, yv) in enumerate(zip(x, y)):
            if xv is None or yv is None:
                continue
            writer.writerow([name, axes, xv, yv, "" if err is None else err[j]])
    return out.getvalue()
