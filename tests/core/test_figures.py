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


def _outlines(fig):
    return [t for t in fig.data if t.fill == "toself"]


def test_ridgeline_rows_are_stacked_top_down_inside_their_own_band():
    series = _rows()
    fig = labelled_histograms(series, exact=0.5, xlabel="x")
    rows = _outlines(fig)
    assert [r.name for r in rows] == ["a", "b", "c"]
    for row, outline in enumerate(rows):
        base = len(series) - 1 - row  # first series on top
        y = np.asarray(outline.y)
        assert y[0] == y[-1] == base  # the polygon starts and ends on its baseline
        assert y.min() >= base and y.max() == pytest.approx(base + 0.8)  # tallest bin fills 80 % of the band
    assert fig.layout.yaxis.range == (0, len(series))
    (line,) = fig.layout.shapes  # one dashed exact line across every row
    assert line.x0 == line.x1 == 0.5 and (line.y0, line.y1) == (0, len(series))


def test_outline_is_the_histogram_and_hover_and_csv_carry_true_densities():
    series = _rows()
    fig = labelled_histograms(series, exact=0.0, xlabel="x")
    table = list(csv.DictReader(io.StringIO(figure_csv(fig))))
    lo, hi = fig.layout.xaxis.range
    for row, ((label, _, values), outline) in enumerate(zip(series, _outlines(fig))):
        centres, density = np.asarray(outline.meta["bin_centres"]), np.asarray(outline.meta["density"])
        width = centres[1] - centres[0]
        counts, _ = np.histogram(values, bins=len(centres), range=(lo, hi))
        np.testing.assert_allclose(density, counts / (values.size * width))  # a density, normalised by all values
        # The outline's tops are the densities, rescaled into the row; hover shows the true ones.
        base = len(series) - 1 - row
        tops = np.asarray(outline.y)[1:-1:2] - base
        np.testing.assert_allclose(tops, density * 0.8 / density.max(), atol=1e-12)
        np.testing.assert_allclose(np.asarray(outline.customdata)[1:-1:2], density)
        written = [r for r in table if r["trace"] == label]
        np.testing.assert_allclose([float(r["x"]) for r in written], centres)
        np.testing.assert_allclose([float(r["y"]) for r in written], density)
        (mean_row,) = [r for r in table if r["trace"] == f"{label}: mean of estimates"]
        assert float(mean_row["x"]) == pytest.approx(values.mean()) and mean_row["y"] == ""  # not its drawn height
        # N(m, s²) peaks at 1/(s√(2π)): the densities are on the estimate's own scale.
        s = np.std(values)
        assert density.max() == pytest.approx(1 / (s * np.sqrt(2 * np.pi)), rel=0.15)


def test_mean_marker_sits_at_the_sample_mean_in_its_row():
    series = _rows()
    fig = labelled_histograms(series, exact=0.0, xlabel="x")
    (means,) = [t for t in fig.data if t.mode == "markers"]  # one trace holds every row's mean
    assert len(means.x) == len(series)
    for row, (label, color, values) in enumerate(series):
        assert means.x[row] == pytest.approx(values.mean())
        assert len(series) - 1 - row < means.y[row] < len(series) - row
        assert means.text[row] == label and means.marker.color[row] == color


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


def test_compact_spec_halves_arrays_and_keeps_huge_values():
    import numpy as np

    from core.figures import compact_spec
    spec = {"data": [{"x": np.linspace(0, 1, 20), "y": [float(v) for v in range(20)], "text": ["a"] * 20},
                     {"x": np.array([-1e300, 0.0, 1e300])}]}
    out = compact_spec(spec)
    assert out["data"][0]["x"].dtype == np.float32 and out["data"][0]["y"].dtype == np.float32
    assert out["data"][0]["text"] == ["a"] * 20
    assert out["data"][1]["x"].dtype == np.float64 and np.isfinite(out["data"][1]["x"]).all()


def test_tau_curves_give_every_estimator_a_legend_entry_and_error_bars():
    """Unbiased estimators without τ have no |bias| to draw; their variance line still needs a legend
    entry. Monte Carlo dots carry ±1 SE bars when the number of estimates is given."""
    import numpy as np

    from core.figures import tau_curves
    taus = np.geomspace(0.01, 10, 5)
    labels = {"gumbel_softmax": "GS", "score": "score function", "disarm": "DisARM"}
    fig = tau_curves(taus, {}, {"gumbel_softmax": (taus, np.full(5, 0.1), np.full(5, 2.0))},
                     {"score": (0.0, 3.0), "disarm": (0.0, 1.0)}, labels, mc_reps=4000)
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert "score function" in shown and "DisARM" in shown and shown.count("GS (Monte Carlo)") == 1
    dots = [t for t in fig.data if t.mode == "markers"]
    assert np.allclose(dots[0].error_y.array, np.sqrt(2.0 / 4000)) and np.allclose(dots[1].error_y.array, 2.0 * np.sqrt(2 / 3999))
