"""Figures that scrub: a Plotly slider inside the figure steps through precomputed frames in
the browser, with no Streamlit rerun and no message to the server.

Plotly animates trace data only (``redraw: false``), so everything that moves with the
slider is a trace: histogram outlines, mean markers, the exact-gradient line, the per-row
readouts (a ``mode="text"`` trace) and, on the stage, the x-axis's own tick marks and numbers.
Each frame carries only what changes, for the traces it names. The stage gives each frame its
own x-range (:func:`frame_ranges`), every row readable at every setting and all rows of a frame
on one scale, without changing Plotly's axis: its values are placed on a fixed axis counted in
bins, and the numbers under it are that frame's.
Pure: numbers in, ``go.Figure`` out; no Streamlit.
"""
from __future__ import annotations

import csv
import io
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .estimators import ESTIMATORS, Sweep
from .figures import COLORS, EXACT_COLOR, REPARAM_GRID, reparam_curves, reparam_map
from .stats import _nice_step, nice_range, summarize_rows

__all__ = ["SweepPlan", "plan_sweep", "SWEEP_SAMPLES", "AXIS_SYMBOL", "PARAM_SYMBOL", "anchored_grid", "sweep_values", "sweep_figure", "sweep_figure_spec", "sweep_readouts", "sweep_exact",
           "sweep_csv", "reparam_scrub_figure", "Stage"]

AXIS_SYMBOL = {"mu": "μ", "sigma": "σ", "L": "L"}
PARAM_SYMBOL = {"mu": "∂/∂μ", "sigma": "∂/∂σ", "log_sigma": "∂/∂log σ"}
# Step instantly to a frame, animating nothing in between: every step of a drag is drawn.
ANIMATE = dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0))
# Inside a row's band of height 1: the text's lower edge stays above the exact line's top at both
# sizes of Stage (presenter mode's taller letters included; tests/e2e/test_layout.py measures it).
_HIST_TOP, _MEAN_Y, _EXACT_TOP, _TEXT_Y = 0.52, 0.57, 0.6, 0.8
_HEADER = 0.1  # the line above the rows that says where the slider is
# Below the last row: the frame's tick marks (from _TICK_BOTTOM up to 0) and their labels.
_TICK_BOTTOM, _TICK_LABEL_Y, _Y_BOTTOM = -0.08, -0.3, -0.5


# Samples in one sweep, all grid points together: at the defaults (61 values of μ × 1,000
# replicates × L = 3) the sweep takes well under the 0.6 s a settled change may cost
# (bench/bench_stage.py), and a class of 30 changing settings every few seconds fits the
# server's two cores.
SWEEP_SAMPLES = 400_000
MIN_SWEEP_REPS = 200  # fewer replicates make histograms too ragged to read
GRID_STEP = {"mu": 0.1, "sigma": 0.05}


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will compute: the grid, the frame to start on, the replicates per frame,
    and, when the budget made it coarser than asked, a sentence saying so."""

    axis: str
    grid: tuple
    start: int
    reps: int
    note: str | None


def plan_sweep(axis: str, mu: float, sigma: float, L: int, reps: int, *, mu_range: tuple[float, float],
               sigma_range: tuple[float, float], L_options, budget: int = SWEEP_SAMPLES) -> SweepPlan:
    """The grid along ``axis`` over its control's whole range, containing the control's value
    (the starting frame), within ``budget`` samples in all.

    Along μ or σ the grid steps by 0.1 or 0.05 from the control's value; replicates per frame
    are cut to fit the budget, down to MIN_SWEEP_REPS, and past that the grid is coarsened.
    Along L the grid is the L options up to the largest that fits (draws are nested, so the
    cost is that of the largest L alone), the control's L always included.
    """
    if axis == "L":
        reps_used = max(min(reps, budget // int(L)), 1)
        options = [int(v) for v in L_options if v * reps_used <= budget or v == L]
        grid = tuple(sorted(set(options) | {int(L)}))
        note = None
        if reps_used < reps:
            note = f"To stay live, the sweep along L uses {reps_used:,} replicates per frame."
        if grid[-1] < max(L_options):
            note = (note + " " if note else "To stay live, ") + f"L goes up to {grid[-1]:,} in the sweep."
        return SweepPlan(axis, grid, grid.index(int(L)), reps_used, note)
    value, (lo, hi) = (mu, mu_range) if axis == "mu" else (sigma, sigma_range)
    step = GRID_STEP[axis]
    grid = anchored_grid(value, lo, hi, step)
    reps_used = min(reps, max(budget // (grid.size * L), MIN_SWEEP_REPS))
    note = None
    if grid.size * reps_used * L > budget:  # even the fewest replicates do not fit: a coarser grid
        frames = max(budget // (reps_used * L), 2)
        step = step * math.ceil(grid.size / frames)
        grid = anchored_grid(value, lo, hi, step)
        note = (f"To stay live with L = {L:,}, the sweep uses {reps_used:,} replicates per frame and steps of "
                f"{step:g} in {AXIS_SYMBOL[axis]}.")
    elif reps_used < reps:
        note = f"To stay live, the sweep uses {reps_used:,} replicates per frame (of {reps:,} asked for)."
    start = int(np.argmin(np.abs(grid - value)))
    return SweepPlan(axis, tuple(float(v) for v in grid), start, int(reps_used), note)


def anchored_grid(value: float, lo: float, hi: float, step: float) -> np.ndarray:
    """value + k·step for every whole k that stays in [lo, hi]: a grid over the whole range
    that contains ``value`` exactly, so the control's value is a frame of the sweep."""
    below = math.floor((value - lo) / step + 1e-9)
    above = math.floor((hi - value) / step + 1e-9)
    return np.round(value + step * np.arange(-below, above + 1), 10)


def sweep_values(sw: Sweep, name: str, param: str) -> np.ndarray:
    """The (G, reps) estimates of one estimator for ``param`` ("mu", "sigma" or "log_sigma",
    which is σ·∂/∂σ at each grid point's own σ)."""
    if param == "mu":
        return sw.d_mu[name]
    with np.errstate(over="ignore", invalid="ignore"):  # estimates that overflow stay ±∞ (the page warns)
        return sw.d_sigma[name] * (sw.sigmas[:, None] if param == "log_sigma" else 1.0)


def sweep_exact(sw: Sweep, param: str) -> np.ndarray:
    return sw.exact[:, 0] if param == "mu" else sw.exact[:, 1] * (sw.sigmas if param == "log_sigma" else 1.0)


def readout_number(v: float, digits: int = 3) -> str:
    """A number for a readout: 3 significant digits, a real minus sign, no '-0', and ×10ⁿ for a power."""
    if not math.isfinite(v):
        return "—" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    v = float(f"{v:.{digits}g}") + 0.0
    text = f"{v:.{digits}g}"
    if "e" in text:  # 1.22×10⁻⁸, not 1.22e−08
        mantissa, power = text.split("e")
        text = f"{mantissa}×10{str(int(power)).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sweep_readouts(sw: Sweep, param: str) -> dict[str, dict[str, np.ndarray]]:
    """Per estimator, the summary of every frame (arrays over the grid): mean, std, bias,
    SE, z = bias/SE (see :func:`core.stats.summarize_rows`)."""
    exact = sweep_exact(sw, param)
    return {n: summarize_rows(sweep_values(sw, n, param), exact) for n in sw.names}


def _tidy(v: float, scale: float) -> float:
    """0 for rounding residue: a value below 10⁻¹² of the frame's size (exact −2.7e−17 at μ = 0)."""
    return 0.0 if math.isfinite(v) and abs(v) <= 1e-12 * scale else float(v)


def _row_text(name: str, s: dict[str, np.ndarray], i: int, outside: int, L: int, scale: float = 0.0) -> str:
    info = ESTIMATORS[name]
    if L < info.min_L:
        return f"{info.short}: needs L ≥ {info.min_L}"
    mean, sd = _tidy(float(s['mean'][i]), scale), _tidy(float(s['std'][i]), scale)
    if sd == 0.0 and int(s['n_finite'][i]) > 1:
        # Every estimate the same: no standard error to divide by. Say what the numbers are instead of ±∞.
        bias = _tidy(float(s['bias'][i]), scale)
        tail = "no spread · exact" if bias == 0.0 else f"no spread · bias {readout_number(bias)}"
        text = f"{info.short}   mean {readout_number(mean)} · sd 0 · {tail}"
    else:
        text = f"{info.short}   mean {readout_number(mean)} · sd {readout_number(sd)} · bias/SE {readout_number(s['z'][i], 2)}"
    if outside:
        text += f" · {100 * outside / max(int(s['n_finite'][i]), 1):.2g}% off-scale"
    return text


class Stage:
    """Sizes of a scrubbing figure: presenter mode (a projector) gets larger text and rows."""

    def __init__(self, presenter: bool = False) -> None:
        self.font = 17 if presenter else 12
        self.row = 62 if presenter else 52  # six rows and the title fit a 1280×720 projector
        self.top = 64 if presenter else 56  # the slider
        self.bottom = 58 if presenter else 46  # the x-axis and its title


SLIDER_OUTLINE = "rgb(128, 132, 149)"


def _slider(labels: list[str], start: int, stage: Stage, y: float = 1.0) -> dict:
    return dict(
        active=int(start), x=0.0, len=1.0, y=y, yanchor="bottom", xanchor="left", pad=dict(t=0, b=8, l=0, r=0),
        # Per-step tick labels would overprint each other, and the slider's own current value
        # cannot take the theme's text colour: both are hidden, and a text trace in the
        # figure (which follows the frames) says where the slider is.
        currentvalue=dict(visible=False), font=dict(size=1, color="rgba(0,0,0,0)"), ticklen=4, minorticklen=2,
        # The handle's outline: Plotly's default (#bec8d9) is 1.7:1 on white; this grey is 3.7:1 on
        # white and 5.1:1 on the dark theme's background (a control needs 3:1).
        bordercolor=SLIDER_OUTLINE, borderwidth=1.5, tickcolor=SLIDER_OUTLINE,
        steps=[dict(method="animate", label=label, value=str(i), args=[[str(i)], ANIMATE])
               for i, label in enumerate(labels)],
    )


def sweep_figure(sw: Sweep, param: str, start: int, stage: Stage | None = None, bins: int = 48) -> go.Figure:
    """:func:`sweep_figure_spec` as a ``go.Figure``."""
    spec = sweep_figure_spec(sw, param, start, stage, bins)
    return go.Figure(data=spec["data"], layout=spec["layout"], frames=spec["frames"], skip_invalid=False,
                     _validate=False)


def sweep_figure_spec(sw: Sweep, param: str, start: int, stage: Stage | None = None, bins: int = 48,
                      readouts: dict | None = None) -> dict:
    """The Estimator Lab's stage as a plain Plotly figure dict (data, layout, frames), cheap to
    cache and to send (building ``go.Frame`` objects costs more than the histograms): one row
    per estimator, a histogram of its estimates of the gradient w.r.t. ``param`` on the frame's
    x-axis (one range for all rows of a frame: :func:`frame_ranges`), the exact gradient dashed, the mean as a triangle and a readout (mean, sd,
    bias/SE) above each row; a slider inside the figure
    steps along the sweep's axis. Frame i shows grid point ``sw.grid[i]``; ``start`` is the
    frame drawn first. ``readouts`` is :func:`sweep_readouts` for ``param``, when the caller
    has it already.

    Row r (from the top) occupies y ∈ [n−1−r, n−r]: its histogram fills the lower part,
    scaled so its tallest bin reaches the same height in every frame, and its readout the
    upper part, so no line or marker crosses the text.
    """
    stage = stage or Stage()
    names = sw.names
    n, G = len(names), sw.grid.size
    values = {name: sweep_values(sw, name, param) for name in names}
    exact = sweep_exact(sw, param)
    los, his = frame_ranges(values, exact)  # each frame's own range, the same for all its rows
    readouts = readouts or sweep_readouts(sw, param)

    # Each frame's size: the largest exact value, mean or sd in it (what rounding residue is small against).
    sizes = np.stack([np.abs(exact)] + [np.abs(readouts[nm][key]) for nm in names for key in ("mean", "std")])
    finite = np.where(np.isfinite(sizes), sizes, -np.inf)  # a frame of NaN only has size 0, without a warning
    frame_size = np.maximum(finite.max(axis=0), 0.0)
    # The rows' own size, without the exact value: where every draw misses where f's mass is (exp(−5x)
    # at μ = −3, σ = 3: an exact 10⁵⁶ against sds of 10²³ to 10³¹) an sd of 5×10²³ is no residue.
    row_size = np.maximum(finite[1:].max(axis=0), 0.0) if len(names) else frame_size
    outlines, text, means_x = [], [], []
    for r, name in enumerate(names):
        base = n - 1 - r
        density, outside = _frame_histograms(values[name], los, his, bins)
        top = density.max(axis=1, keepdims=True)
        height = np.where(top > 0, density * (_HIST_TOP / np.where(top > 0, top, 1.0)), 0.0)
        # Outline as one filled polygon per row: (left edge, base), each bin's two top corners, (right edge, base).
        outlines.append(np.concatenate([np.full((G, 1), base), np.repeat(base + height, 2, axis=1),
                                        np.full((G, 1), base)], axis=1).round(4))
        text.append([_row_text(name, readouts[name], i, int(outside[i]), int(sw.Ls[i]), float(row_size[i]))
                     for i in range(G)])
        m = readouts[name]["mean"]
        means_x.append(np.where(np.isfinite(m) & (m >= los) & (m <= his), m, np.nan))
    # Every trace is drawn on one fixed x-axis counted in bins (0 … bins), and each frame's values
    # are placed on it by that frame's range; the axis's numbers are drawn as traces too (ticks and
    # their labels). A frame that changed the axis's own range redrew the axis: such a step of a drag
    # took 120 ms against 32 ms for a step that only moves traces (bench/bench_stage.py).
    span = np.where(his > los, his - los, 1.0)

    def place(v, i: int):
        """Values of frame i on the bin-counted axis (None where not finite)."""
        u = (np.asarray(v, dtype=float) - los[i]) / span[i] * bins
        return [None if not math.isfinite(x) else round(float(x), 4) for x in np.atleast_1d(u)]

    edges = np.arange(bins + 1, dtype=float)
    xs = np.concatenate([edges[:1], np.repeat(edges, 2)[1:-1], edges[-1:]])
    means_x = np.array(means_x).T  # (G, n)
    bases = np.arange(n - 1, -1, -1, dtype=float)

    def exact_x(i: int) -> list:
        g = float(exact[i])
        return place([g, g, np.nan] * n, i) if math.isfinite(g) else [None] * (3 * n)

    def mean_x(i: int) -> list:
        return place(means_x[i], i)

    def mean_values(i: int) -> list:
        return [None if not math.isfinite(v) else float(v) for v in means_x[i]]

    ticks = [_ticks(float(los[i]), float(his[i])) for i in range(G)]

    def tick_x(i: int) -> list:
        return place([t for t, _ in ticks[i]], i)

    def tick_marks(i: int) -> list:
        return [x for u in tick_x(i) for x in (u, u, None)]

    def tick_side(i: int) -> list:
        """A label centred on its tick, or beside it at the axis's ends (centred there, half of
        "−0.1" fell outside the figure and read "0.1")."""
        return ["middle right" if u is not None and u < 3 else "middle left" if u is not None and u > bins - 3
                else "middle center" for u in tick_x(i)]

    k_max = max(len(t) for t in ticks)
    tick_y = [v for _ in range(k_max) for v in (_TICK_BOTTOM, 0.0, None)]

    traces = []
    for r, name in enumerate(names):
        color = COLORS[name]
        traces.append(dict(type="scatter", x=xs, y=outlines[r][start], mode="lines", fill="toself", fillcolor=color,
                           line=dict(color=color, width=0.5), name=ESTIMATORS[name].label, hoverinfo="skip"))
    labels = [ESTIMATORS[name].label for name in names]
    traces.append(dict(type="scatter", x=mean_x(start), y=bases + _MEAN_Y, mode="markers", name="means", text=labels,
                       customdata=mean_values(start),
                       marker=dict(symbol="triangle-down", size=10, color=[COLORS[nm] for nm in names],
                                   line=dict(width=1, color=EXACT_COLOR)),
                       hovertemplate="%{text}: mean of estimates %{customdata:.4g}<extra></extra>"))
    traces.append(dict(type="scatter", x=exact_x(start), y=[v for b in bases for v in (b, b + _EXACT_TOP, None)],
                       mode="lines", name="exact", line=dict(color=EXACT_COLOR, width=2, dash="dash"),
                       hoverinfo="skip"))
    traces.append(dict(type="scatter", x=[0.004 * bins] * n, y=bases + _TEXT_Y, mode="text",
                       text=[t[start] for t in text], textposition="middle right", name="readouts",
                       textfont=dict(size=stage.font), hoverinfo="skip", cliponaxis=False))
    symbol = AXIS_SYMBOL[sw.axis]
    headers = [f"{symbol} = {_axis_value(sw, i)}    exact {PARAM_SYMBOL[param]} = "
               f"{readout_number(_tidy(float(exact[i]), float(frame_size[i])), 4)}" for i in range(G)]
    # The x-axis's numbers for the frame: tick marks under the last row and their labels.
    traces.append(dict(type="scatter", x=tick_marks(start), y=tick_y[:3 * len(ticks[start])], mode="lines",
                       name="ticks", line=dict(color=SLIDER_OUTLINE, width=1), hoverinfo="skip", cliponaxis=False))
    traces.append(dict(type="scatter", x=tick_x(start), y=[_TICK_LABEL_Y] * len(ticks[start]), mode="text",
                       text=[label for _, label in ticks[start]], textposition=tick_side(start), name="tick labels",
                       textfont=dict(size=stage.font), hoverinfo="skip", cliponaxis=False))
    # Where the slider is (the last trace), and the exact value there: a trace, so that it moves with the frames.
    traces.append(dict(type="scatter", x=[0.0], y=[n + _HEADER], mode="text", text=[headers[start]],
                       textposition="top right", name="setting", textfont=dict(size=stage.font + 2), hoverinfo="skip",
                       cliponaxis=False))
    moving = list(range(n + 6))
    frames = [dict(name=str(i), traces=moving,
                   data=[dict(y=outlines[r][i]) for r in range(n)]
                   + [dict(x=mean_x(i), customdata=mean_values(i)), dict(x=exact_x(i)),
                      dict(text=[t[i] for t in text]),
                      dict(x=tick_marks(i), y=tick_y[:3 * len(ticks[i])]),
                      dict(x=tick_x(i), y=[_TICK_LABEL_Y] * len(ticks[i]), text=[label for _, label in ticks[i]],
                           textposition=tick_side(i)),
                      dict(text=[headers[i]])])
              for i in range(G)]
    layout = dict(
        height=stage.top + stage.bottom + int(stage.row * (n + _HEADER + 0.45 - _Y_BOTTOM)),
        margin=dict(l=8, r=8, t=stage.top, b=stage.bottom),
        font=dict(size=stage.font), showlegend=False, dragmode=False, hovermode="closest",
        xaxis=dict(range=[0, bins], fixedrange=True, showticklabels=False, showgrid=False, zeroline=False, ticks="",
                   title=dict(text=f"estimate of {PARAM_SYMBOL[param]}  (dashed: exact · ▼: mean)")),
        yaxis=dict(range=[_Y_BOTTOM, n + _HEADER + 0.45], showticklabels=False, zeroline=False, showgrid=False,
                   fixedrange=True),
        sliders=[_slider([_axis_value(sw, i) for i in range(G)], start, stage)],
        # Each frame's x-range, [lo, hi] of the estimate: what the bin-counted axis stands for there.
        meta=dict(x_ranges=[[float(los[i]), float(his[i])] for i in range(G)]),
    )
    return dict(data=traces, layout=layout, frames=frames)


def _frame_histograms(values: np.ndarray, los: np.ndarray, his: np.ndarray, bins: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of every frame of one row, each on its frame's own range: densities (G, bins),
    per unit of the estimate and normalised by all finite values, and the count outside (G,)."""
    values = np.asarray(values, dtype=np.float64)
    G = values.shape[0]
    width = ((his - los) / bins)[:, None]
    with np.errstate(all="ignore"):
        finite = np.isfinite(values)
        idx = np.floor((values - los[:, None]) / width)
        idx = np.where(values == his[:, None], bins - 1, idx)  # the last bin is closed on the right
        inside = finite & (idx >= 0) & (idx < bins)
    rows = np.broadcast_to(np.arange(G)[:, None], values.shape)
    flat = (rows * bins + np.where(inside, idx, 0).astype(np.int64))[inside]
    counts = np.bincount(flat, minlength=G * bins).reshape(G, bins)
    n = finite.sum(axis=1)
    return counts / (np.maximum(n, 1)[:, None] * width), n - counts.sum(axis=1)


def _ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """About five round values inside [lo, hi] and their labels (a real minus sign, no residue)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        return []
    step = _nice_step(2.0 * (hi - lo))  # a 1-2-5 step about a fifth of the width
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    if last - first > 12:  # (a range far from 0, say [1e6, 1e6 + 1]): its ends only
        values = [lo, hi]
    else:
        values = [k * step for k in range(first, last + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    out = []
    for v in values:
        v = 0.0 if abs(v) < 1e-9 * step else v
        label = f"{v:.{decimals}f}" if 1e-4 <= step and abs(v) < 1e6 else f"{v:.3g}"
        out.append((v, label.replace("-", "−")))
    return out


READABLE = 0.1  # the share of the axis a row's central 99 % should span, to read its shape (≈ 5 of 48 bins)


def frame_ranges(values: dict[str, np.ndarray], exact: np.ndarray, coverage: float = 0.99
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's x-range, (lo, hi) arrays over the grid: one range for every row of that
    frame, so the rows stay comparable, chosen so that each row is readable.

    A frame's full range covers the central ``coverage`` of every row and the exact value (as
    :func:`core.stats.nice_range` does for one set). Where that leaves the narrowest row (of
    those with any spread) under ``READABLE`` of the width, the range is cut down until it
    spans at least that share, but never below what holds the exact value and the central
    ``coverage`` of every row narrower than the cut range. What a cut range leaves out of the wider rows is counted and said in their
    readouts ("% off-scale"): they fill the width, marked, instead of the narrow row being a
    spike.
    The ends are rounded outwards to a 1-2-5 step of the width.
    """
    stack = np.stack([np.asarray(v, dtype=np.float64) for v in values.values()])  # (n, G, R)
    if os.environ.get("STAGE_FRAME_RANGES") == "off":  # bench/bench_stage.py's comparison: one range for all frames
        lo, hi = nice_range([row.ravel() for row in stack], [float(x) for x in exact], coverage)
        return np.full(stack.shape[1], lo), np.full(stack.shape[1], hi)
    lo_q, hi_q = (1.0 - coverage) / 2.0, 1.0 - (1.0 - coverage) / 2.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row of NaN only (L below its minimum)
        finite = np.where(np.isfinite(stack), stack, np.nan)
        q = np.nanquantile(finite, [lo_q, 0.25, 0.5, 0.75, hi_q], axis=2)  # (5, n, G)
    low, _, median, _, high = q
    e = np.where(np.isfinite(exact), exact, np.nan)
    G = stack.shape[1]
    los, his = np.empty(G), np.empty(G)
    for i in range(G):  # one frame's few numbers: a loop over the grid, not over samples
        lows = np.concatenate([low[:, i], [e[i]]])
        highs = np.concatenate([high[:, i], [e[i]]])
        if not np.isfinite(lows).any():
            los[i], his[i] = -1.0, 1.0
            continue
        full_lo, full_hi = max(np.nanmin(lows), -1e300), min(np.nanmax(highs), 1e300)
        spans = high[:, i] - low[:, i]
        # Rows with no spread beyond rounding (a constant estimate) are a line at any width.
        tiny = 1e-9 * max(full_hi - full_lo, float(np.nanmax(np.abs(median[:, i]))) if np.isfinite(median[:, i]).any() else 0.0)
        spread = spans[np.isfinite(spans) & (spans > tiny)]
        lo, hi = full_lo, full_hi
        if spread.size and spread.min() < 1.8 * READABLE * (full_hi - full_lo):
            # Margin for the 5 % padding and the rounding out to a 1-2-5 step below (at most 1.1 × 1.5).
            width = spread.min() / (1.8 * READABLE)
            # Every row narrower than that window is shown whole, with the exact value; the
            # wider rows fill the window and say how much of them lies beyond it.
            narrow = np.isfinite(spans) & (spans < width)
            keep_lo = np.nanmin(np.concatenate([low[narrow, i], [e[i]]]))
            keep_hi = np.nanmax(np.concatenate([high[narrow, i], [e[i]]]))
            width = max(width, keep_hi - keep_lo)
            if width < full_hi - full_lo:
                mid = min(max(0.5 * (keep_lo + keep_hi), full_lo + width / 2), full_hi - width / 2)
                lo, hi = mid - width / 2, mid + width / 2
        span = hi - lo
        if not span > 1e-12 * max(1.0, abs(lo), abs(hi)):
            pad = max(abs(lo) * 0.1, 1e-3)
            los[i], his[i] = lo - pad, hi + pad
            continue
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
        step = _nice_step(hi - lo)
        los[i], his[i] = math.floor(lo / step) * step, math.ceil(hi / step) * step
    return los, his


def _axis_value(sw: Sweep, i: int) -> str:
    v = sw.grid[i]
    return f"{int(v)}" if sw.axis == "L" else f"{float(v) + 0.0:.2f}".replace("-", "−")


def sweep_csv(sw: Sweep, param: str, readouts: dict | None = None) -> str:
    """Every frame's numbers as CSV: one row per grid value and estimator (``readouts`` as in
    :func:`sweep_figure_spec`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([sw.axis, "estimator", "exact", "mean", "std", "bias", "se", "bias_over_se", "replicates"])
    exact = sweep_exact(sw, param)
    for name, s in (readouts or sweep_readouts(sw, param)).items():
        for i in range(sw.grid.size):
            writer.writerow([sw.grid[i], ESTIMATORS[name].label, exact[i], s["mean"][i], s["std"][i], s["bias"][i],
                             s["se"][i], s["z"][i], int(s["n_finite"][i])])
    return out.getvalue()


def reparam_scrub_figure(eps: np.ndarray, mu: float, sigma: float, mus: np.ndarray, sigmas: np.ndarray,
                         traced: int = 12, x_range: tuple[float, float] = (-8.0, 8.0),
                         stage: Stage | None = None) -> go.Figure:
    """:func:`core.figures.reparam_map` with two sliders inside the figure: one moves μ along
    ``mus`` (σ held at ``sigma``), the other stretches σ along ``sigmas`` (μ held at ``mu``).
    The draws ε stay the same; only z = μ + σε, its density and the traced segments move."""
    stage = stage or Stage()
    fig = reparam_map(eps, mu + sigma * eps, mu, sigma, traced=traced, x_range=x_range)
    grid = np.linspace(x_range[0], x_range[1], REPARAM_GRID)
    k = min(traced, eps.size)

    def moving(m: float, s: float) -> list[dict]:
        z = m + s * eps
        eps_density, z_density, segments_x = reparam_curves(eps, z, m, s, grid, traced)
        return [dict(y=eps_density.round(3).tolist()), dict(y=z_density.round(3).tolist()), dict(x=segments_x),
                dict(x=z.round(3).tolist()), dict(x=z[:k].round(3).tolist()),
                dict(text=[f"z = μ + σε,  μ = {m:.2f},  σ = {s:.2f}"])]

    # The setting on screen, as a trace: it follows whichever slider moved last.
    fig.add_trace(go.Scatter(x=[x_range[1]], y=[2.95], mode="text", text=[""], textposition="bottom left",
                             showlegend=False, hoverinfo="skip", name="setting", textfont=dict(size=stage.font + 1)))
    moved = [0, 1, 2, 4, 5, len(fig.data) - 1]
    settings = [(float(m), float(sigma)) for m in mus] + [(float(mu), float(s)) for s in sigmas]
    frames = [dict(name=str(i), traces=moved, data=moving(m, s)) for i, (m, s) in enumerate(settings)]
    start_mu = int(np.argmin(np.abs(np.asarray(mus) - mu)))
    start_sigma = int(np.argmin(np.abs(np.asarray(sigmas) - sigma)))
    first = moving(mu, sigma)
    for index, patch in zip(moved, first):
        fig.data[index].update(patch)
    mu_slider = _slider([f"{m:.2f}" for m in mus], start_mu, stage, y=1.0)
    sigma_slider = _slider([f"{s:.2f}" for s in sigmas], start_sigma, stage, y=1.0)
    mu_slider.update(len=0.47)
    sigma_slider.update(len=0.47, x=0.53)
    for j, step in enumerate(sigma_slider["steps"]):
        name = str(len(mus) + j)
        step.update(value=name, args=[[name], ANIMATE])
    # Static names over the two rails (layout annotations do not animate, and need not).
    names = [dict(text="drag to move μ", x=0.0, xanchor="left"), dict(text="drag to stretch σ", x=0.53, xanchor="left")]
    fig.update_layout(sliders=[mu_slider, sigma_slider], height=420 + (stage.top - 74), margin=dict(t=stage.top + 20),
                      dragmode=False,
                      annotations=[dict(a, xref="paper", yref="paper", y=1.0, yanchor="bottom", yshift=stage.top - 6,
                                        showarrow=False, font=dict(size=stage.font)) for a in names])
    fig.frames = [go.Frame(**f) for f in frames]
    return fig
