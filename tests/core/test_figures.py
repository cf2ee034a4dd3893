"""Figure builders: what is drawn matches the numbers it claims to show."""
import csv
import io
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from core.figures import figure_csv, labelled_histograms, variance_vs_L


def _rows():
    rng = np.random.default_rng(0)
    return [("a", "#000000", rng.normal(0.0, 1.0, 5000)), ("b", "#111111", rng.normal(2.0, 0.5, 5000)),
            ("c", "#222222", rng.normal(-1.0, 2.0, 5000))]


def test_ridgeline_rows_are_stacked_top_down_inside_their_own_band():
    series = _rows()
    fig = labelled_histograms(series, exact=0.5, xlabel="x")
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["a", "b", "c"]
    for row, bar in enumerate(bars):
        base = len(series) - 1 - row  # first series on top
        assert bar.base == base
        heights = np.asarray(bar.y)
        assert heights.min() >= 0 and heights.max() == pytest.approx(0.8)  # tallest bar fills 80 % of the band
    assert fig.layout.yaxis.range == (0, len(series))
    (line,) = fig.layout.shapes  # one dashed exact line across every row
    assert line.x0 == line.x1 == 0.5 and (line.y0, line.y1) == (0, len(series))


def test_hover_and_csv_carry_true_densities_not_drawn_heights():
    series = _rows()
    fig = labelled_histograms(series, exact=0.0, xlabel="x")
    bars = [t for t in fig.data if t.type == "bar"]
    table = list(csv.DictReader(io.StringIO(figure_csv(fig))))
    for (label, _, values), bar in zip(series, bars):
        density = np.asarray(bar.customdata)
        width = float(bar.width)
        lo, hi = fig.layout.xaxis.range
        inside = np.mean((values >= lo) & (values <= hi))
        assert density.sum() * width == pytest.approx(inside, abs=1e-12)  # a density, normalised by all values
        written = np.array([float(r["y"]) for r in table if r["trace"] == label])
        np.testing.assert_allclose(written, density)
        # N(m, s²) peaks at 1/(s√(2π)): the densities are on the estimate's own scale.
        s = np.std(values)
        assert density.max() == pytest.approx(1 / (s * np.sqrt(2 * np.pi)), rel=0.15)


def test_mean_marker_sits_at_the_sample_mean_in_its_row():
    series = _rows()
    fig = labelled_histograms(series, exact=0.0, xlabel="x")
    markers = [t for t in fig.data if t.type == "scatter"]
    assert len(markers) == len(series)
    for row, ((_, _, values), marker) in enumerate(zip(series, markers)):
        assert marker.x[0] == pytest.approx(values.mean())
        assert len(series) - 1 - row < marker.y[0] < len(series) - row


def _figures_built_without_validation():
    series = _rows()
    yield labelled_histograms(series, exact=0.5, xlabel="x", title="t")
    yield variance_vs_L([1, 2, 4], {"pathwise": [1.0, 0.5, 0.25], "score": [3.0, 1.6, 0.7]},
                        {"pathwise": 1.0, "score": 3.1}, param="sigma")


@pytest.mark.parametrize("index", [0, 1])
def test_fast_figures_are_valid_plotly_and_draw_the_same_as_validated_ones(index):
    """The hot-path figures skip Plotly's validation for speed; validate them here."""
    fig = list(_figures_built_without_validation())[index]
    validated = go.Figure(fig.to_dict())  # raises ValueError on any invalid property
    assert json.loads(pio.to_json(validated)) == json.loads(pio.to_json(fig))


def test_validation_would_catch_a_typo():
    with pytest.raises(ValueError):
        go.Figure({"data": [{"type": "bar", "x": [1], "y": [1], "colour": "red"}], "layout": {}})
