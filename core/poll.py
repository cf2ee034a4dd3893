"""The class's answers to a scene's question, tallied and drawn: a histogram for a number, bars
for a choice, with the value the page computed on the same axis after the reveal.

Pure: numbers in, numbers and a Plotly figure out. Where the answers are kept (SQLite, Redis)
is :mod:`classroom.store`'s business, and how they reach the screen is the pages'.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .figures import EXACT_COLOR, PALETTE

__all__ = ["Tally", "tally_numbers", "tally_choices", "poll_figure", "NUMBER_BINS"]

NUMBER_BINS = 20
ANSWER_COLOR = PALETTE[0]  # the class's answers
MINE_COLOR = PALETTE[3]  # a student's own answer
CORRECT_COLOR = PALETTE[2]  # the right choice, after the reveal


@dataclass(frozen=True)
class Tally:
    """Counts of answers: per bin of [lo, hi] for a number (``labels`` are bin centres), per
    choice for a choice. ``n`` is how many answers were counted."""

    kind: str  # "number" or "choice"
    counts: tuple[int, ...]
    labels: tuple  # bin centres (number) or choice texts (choice)
    lo: float = 0.0
    hi: float = 1.0
    n: int = 0
    median: float | None = None  # numbers only

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / max(len(self.counts), 1)


def tally_numbers(values, lo: float, hi: float, bins: int = NUMBER_BINS) -> Tally:
    """Answers in [lo, hi] counted in ``bins`` equal bins (the top edge belongs to the last bin).
    Values outside the range or not finite are not counted (the store refuses them anyway)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or bins < 1:
        raise ValueError("a number question needs finite lo < hi and at least one bin")
    x = np.asarray([v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)], dtype=float)
    x = x[np.isfinite(x) & (x >= lo) & (x <= hi)]
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    return Tally("number", tuple(int(c) for c in counts), tuple(float(c) for c in centres), float(lo), float(hi),
                 int(x.size), float(np.median(x)) if x.size else None)


def tally_choices(values, choices) -> Tally:
    """How many answers name each choice (values are 0-based indices; others are not counted)."""
    choices = tuple(str(c) for c in choices)
    counts = [0] * len(choices)
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(choices):
            counts[v] += 1
    return Tally("choice", tuple(counts), choices, n=sum(counts))


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def poll_figure(t: Tally, truth=None, mine=None, height: int = 150, font_size: int = 12,
                title: str | None = None) -> go.Figure:
    """The class's answers. A number: a histogram over the question's range, with the page's
    computed value (``truth``) as a dashed line and a student's own answer (``mine``) as a solid
    one. A choice: horizontal bars, the right one (``truth``, an index) in another colour."""
    fig = go.Figure()
    if t.kind == "number":
        colors = [ANSWER_COLOR] * len(t.counts)
        fig.add_bar(x=list(t.labels), y=list(t.counts), width=t.width * 0.92, marker_color=colors,
                    hovertemplate="%{x:.3g}: %{y} answers<extra></extra>", name="answers")
        top = max(max(t.counts, default=0), 1)
        shapes, notes = [], []
        has_truth = isinstance(truth, (int, float)) and not isinstance(truth, bool) and math.isfinite(truth)
        has_mine = isinstance(mine, (int, float)) and not isinstance(mine, bool) and math.isfinite(mine)
        # Both labels sit above the plot, each on its own side of its line, so they never cross a bar or each other.
        truth_left = has_truth and has_mine and truth <= mine
        if has_truth:
            shown = min(max(float(truth), t.lo), t.hi)
            shapes.append(dict(type="line", x0=shown, x1=shown, y0=0, y1=1, yref="paper",
                               line=dict(color=EXACT_COLOR, width=3, dash="dash")))
            off = "" if t.lo <= truth <= t.hi else " (off the scale)"
            notes.append(dict(x=shown, y=1, yref="paper", yanchor="bottom", showarrow=False,
                              xanchor=("right" if truth_left else "left") if has_mine else "center",
                              text=f"computed: {truth:.3g}{off}", font=dict(size=font_size)))
        if has_mine:
            shapes.append(dict(type="line", x0=mine, x1=mine, y0=0, y1=1, yref="paper",
                               line=dict(color=MINE_COLOR, width=3)))
            notes.append(dict(x=mine, y=1, yref="paper", yanchor="bottom", showarrow=False,
                              xanchor="left" if truth_left or not has_truth else "right",
                              # The word in the theme's text colour (the line's orange is 3.9:1 on white,
                              # under text's 4.5:1); the orange line beside it says whose it is.
                              text="you", font=dict(size=font_size)))
        fig.update_layout(shapes=shapes, annotations=notes,
                          xaxis=dict(range=[t.lo, t.hi], fixedrange=True, automargin=True),
                          yaxis=dict(range=[0, top * 1.1], fixedrange=True, title=dict(text="answers"),
                                     rangemode="tozero", automargin=True, nticks=4))
    else:
        right = truth if isinstance(truth, int) and not isinstance(truth, bool) else None
        colors = [CORRECT_COLOR if i == right else ANSWER_COLOR for i in range(len(t.counts))]
        labels = [("✓ " if i == right else "") + ("▶ " if i == mine else "") + _short(c)
                  for i, c in enumerate(t.labels)]
        fig.add_bar(y=labels, x=list(t.counts), orientation="h", marker_color=colors, text=list(t.counts),
                    textposition="outside", cliponaxis=False, hovertemplate="%{y}: %{x} answers<extra></extra>")
        fig.update_layout(yaxis=dict(autorange="reversed", fixedrange=True, automargin=True),
                          xaxis=dict(range=[0, max(max(t.counts, default=0), 1) * 1.25], fixedrange=True,
                                     showticklabels=False))
    if title:
        fig.update_layout(title=dict(text=title, x=0, xref="paper", xanchor="left", y=0.97, yanchor="top",
                                     yref="container", pad=dict(t=2, l=2),
                                     font=dict(size=font_size + 2)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=44 if title else 24, b=10, autoexpand=True),
                      showlegend=False, bargap=0.1,
                      font=dict(size=font_size))
    return fig
