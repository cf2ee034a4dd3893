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
        assert y.min() >= base and y.max() == pytest.approx(base + 0.6)  # tallest bin fills 60 % of the band
    assert fig.layout.yaxis.range == (0, len(series))
    # A dashed exact line in every row, stopping below the row's label (the top 30 % of the band).
    assert sorted((line.x0, line.x1, line.y0, line.y1) for line in fig.layout.shapes) == [
        (0.5, 0.5, base, base + 0.7) for base in range(len(series))]
    assert all(a.y == b + 1 and a.yanchor == "top" for a, b in zip(fig.layout.annotations, range(len(series) - 1, -1, -1)))


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
        np.testing.assert_allclose(tops, density * 0.6 / density.max(), atol=1e-12)  # below the label
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


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_chart_colour_reads_on_both_backgrounds():
    """WCAG 2.1 non-text contrast, 3:1, against Streamlit's light and dark backgrounds: the
    charts follow the viewer's theme, so one palette must serve both."""
    from core.figures import COLORS, EXACT_COLOR, PALETTE, WEIGHT_NOISE_COLORS
    assert _contrast("#7F7F7F", "#FFFFFF") == pytest.approx(4.0, abs=0.01)  # the formula itself
    colors = {**COLORS, "exact": EXACT_COLOR, **{f"weight noise {k}": v for k, v in WEIGHT_NOISE_COLORS.items()},
              **{f"palette {k}": v for k, v in enumerate(PALETTE)}}
    for name, color in colors.items():
        for background in ("#FFFFFF", "#0E1117"):
            assert _contrast(color, background) >= 3, (name, color, background)


def _read(label: str) -> float:
    """A tick label read back as a number: '0.002', '1,000', '10⁻⁵', '2×10⁻⁶'."""
    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    label = label.replace(",", "")
    if "10" in label and label.translate(digits) != label:
        mantissa, _, power = label.rpartition("10")
        return float(mantissa.rstrip("×") or 1) * 10.0 ** int(power.translate(digits))
    return float(label)


@pytest.mark.parametrize("lo, hi", [(1, 128), (1, 1000), (0.003, 0.6), (2e-6, 3e-4), (0.3, 3), (0.05, 0.09),
                                    (1e-35, 1e2), (4e-7, 2e5), (0.9, 1.1)])
def test_log_ticks_read_as_their_own_values(lo, hi):
    from core.figures import log_ticks
    values, labels = log_ticks(lo, hi)
    assert len(values) >= 2 and values == sorted(values)
    assert len(values) <= 12  # thinned: at most about eight decades, or 1-2-5 inside 2.5 decades
    for value, label in zip(values, labels):
        assert _read(label) == pytest.approx(value, rel=1e-9), (label, value)
    mantissas = {round(v / 10 ** np.floor(np.log10(v) + 1e-9)) for v in values}
    assert mantissas <= ({1} if np.log10(hi / lo) >= 2.5 else {1, 2, 5}) or len(values) == 2


def test_every_log_axis_gets_labels_written_out():
    from core.figures import batch_variance_figure, landscape_figure
    fig = variance_vs_L([1, 2, 4, 8, 16], {"pathwise": [1.0, 0.5, 0.25, 0.125, 0.0625]})
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.tickmode == "array" and [_read(t) for t in axis.ticktext] == pytest.approx(list(axis.tickvals))
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 5, 10]
    values = np.geomspace(0.1, 10, 30)
    fig = landscape_figure(values, {"pathwise": values ** 2, "score": 1 + 0 * values}, "k", "∂/∂μ")
    assert list(fig.layout.xaxis.ticktext) == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    # A builder's own ticks are kept: the weight-noise batch sizes.
    Bs = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    v = {"mu": 1 / Bs, "log_sigma": 2 / Bs, "mu_se": 0.1 / Bs, "log_sigma_se": 0.1 / Bs}
    fig = batch_variance_figure(Bs, {"shared": v}, {"shared": "one shared sample"})
    assert list(fig.layout.xaxis.tickvals) == [1, 4, 16, 64, 256]


def test_a_b_star_that_is_zero_up_to_rounding_reads_zero():
    from core.figures import baseline_parabola
    bs = np.linspace(-5, 5, 11)
    fig = baseline_parabola(bs, bs ** 2, bs ** 2 + 1, (-1.699e-17, 2.5), 0.0, 0.0)
    assert [a.text for a in fig.layout.annotations] == ["b* = 0", "b* = 2.5"]


def test_a_rows_off_scale_share_sits_on_the_other_side_of_its_label():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 1, 5000), [1e6]])  # one far outlier
    fig = labelled_histograms([("a long estimator name (biased)", "#0072B2", values)], exact=0.0, xlabel="x")
    label, share = fig.layout.annotations
    assert label.text == "a long estimator name (biased)" and (label.x, label.xanchor) == (1.0, "right")
    assert share.text.endswith("% off-scale") and (share.x, share.xanchor) == (0.0, "left") and share.y == label.y


def test_log_ticks_over_an_overflowed_range_leave_the_axis_to_plotly():
    """Found by the random-settings tests (exp(1000x) on the Lab): a variance of inf reached
    log_ticks and raised 'cannot convert float infinity to integer' on the page."""
    from core.figures import log_ticks
    assert log_ticks(1.0, float("inf")) == ([], [])
    values, labels = log_ticks(1e-300, 1e300)  # 1e300 / 1e-300 overflows; the decades do not
    assert values[0] == 1e-300 and values[-1] == 1e300 and len(values) <= 10 and "10³⁰⁰" in labels
