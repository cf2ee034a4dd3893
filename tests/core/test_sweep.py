"""core.sweep: every grid point is core.estimate at that point on the same random numbers, the
grid is a batch axis, and the scrubbing figure shows exactly the sweep's numbers."""
import json
import math
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import core
from core.estimators import Draws
from core.scrub import (_EXACT_TOP, _HIST_TOP, _MEAN_Y, _TEXT_Y, Stage, anchored_grid, plan_sweep, readout_number, reparam_scrub_figure, sweep_csv,
                        sweep_figure)
from core.stats import histogram, histogram_rows, summarize, summarize_rows
from tests.conftest import z_score

ALL = list(core.ESTIMATORS)
FORMULAS = ["cos(3*x)", "x > 0.5", "(x - 1)**2 + abs(x)"]


def _close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to 1e-12, relative to the size of the numbers (summation order may differ along L)."""
    scale = max(1.0, float(np.nanmax(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("axis, grid", [("mu", [-1.5, 0.0, 0.35, 2.0]), ("sigma", [0.2, 0.7, 1.9]),
                                        ("L", [1, 2, 3, 7, 16])])
def test_each_grid_point_is_core_estimate_on_the_same_random_numbers(formula, axis, grid):
    mu, sigma, L, reps, seed = 0.3, 0.8, 5, 300, 17
    sw = core.sweep(formula, mu, sigma, axis=axis, grid=grid, L=L, reps=reps, seed=seed, estimators=ALL)
    assert sw.exact.shape == (len(grid), 2)
    for i in range(len(grid)):
        m, s, n = float(sw.mus[i]), float(sw.sigmas[i]), int(sw.Ls[i])
        usable = [e for e in ALL if n >= core.ESTIMATORS[e].min_L]
        ref = core.estimate(formula, m, s, L=n, reps=reps, seed=seed, estimators=usable)
        for name in ALL:
            if name in ref:
                _close(sw.d_mu[name][i], ref[name].d_mu)
                _close(sw.d_sigma[name][i], ref[name].d_sigma)
            else:  # leave-one-out at L = 1
                assert np.isnan(sw.d_mu[name][i]).all() and np.isnan(sw.d_sigma[name][i]).all()
        np.testing.assert_allclose(sw.exact[i], core.exact_gradient(formula, m, s), rtol=1e-12, atol=1e-15)
        for name, est in sw.estimates(i).items():  # the frame as core.estimate returns it
            np.testing.assert_array_equal(est.d_mu, sw.d_mu[name][i])
            assert est.L == n


def test_draws_are_nested_in_L_and_shared_across_estimators():
    small, large = Draws(5, 200, 3), Draws(5, 200, 11)
    for attr in ("eps", "w", "w2", "m", "u"):
        np.testing.assert_array_equal(getattr(small, attr).numpy(), getattr(large, attr).numpy()[:, :3])
    np.testing.assert_array_equal(small.pilot.numpy(), large.pilot.numpy())
    assert not np.array_equal(Draws(6, 200, 3).eps.numpy(), small.eps.numpy())  # a new seed, new draws


def test_common_random_numbers_make_the_sweep_morph_not_flicker():
    """Along μ, f = x: pathwise is exactly 1 everywhere, and the score estimate at μ is
    mean((μ + ε) ε) with σ = 1 and the same ε in every frame."""
    sw = core.sweep("x", 0.0, 1.0, axis="mu", grid=[0.0, 0.5, 1.0], L=4, reps=500, seed=3,
                    estimators=["pathwise", "score"])
    assert np.all(sw.d_mu["pathwise"] == 1.0)
    eps = Draws(3, 500, 4).eps.numpy()
    for i, m in enumerate([0.0, 0.5, 1.0]):
        np.testing.assert_allclose(sw.d_mu["score"][i], ((m + eps) * eps).mean(axis=1), atol=1e-12)


@pytest.mark.parametrize("axis", ["mu", "sigma"])
def test_swept_estimates_are_unbiased_with_power(axis):
    """At every grid value the unbiased estimators land within 5 SE of the exact gradient, and
    5 SE is under 30 % of it: a wrong sign or a factor of 2 would fail."""
    grid = [0.2, 0.9] if axis == "mu" else [0.6, 1.3]
    sw = core.sweep("(x - 2)**2", 0.4, 0.9, axis=axis, grid=grid, L=4, reps=20_000, seed=2,
                    estimators=["pathwise", "score_optimal", "score_loo", "mvd"])
    for i in range(len(grid)):
        for name in sw.names:
            for values, target in ((sw.d_mu[name][i], sw.exact[i, 0]), (sw.d_sigma[name][i], sw.exact[i, 1])):
                z, se = z_score(values, target)
                assert abs(z) < 5 and 5 * se < 0.3 * abs(target), (name, i, z, se, target)


def test_batch_mean_bias_follows_one_minus_one_over_L_along_L():
    Ls = [2, 4, 10]
    sw = core.sweep("(x - 2)**2", 0.4, 0.9, axis="L", grid=Ls, L=2, reps=40_000, seed=4,
                    estimators=["score_batchmean"])
    g = sw.exact[0, 0]
    for i, L in enumerate(Ls):
        z, _ = z_score(sw.d_mu["score_batchmean"][i], (1 - 1 / L) * g)
        z_true, _ = z_score(sw.d_mu["score_batchmean"][i], g)
        assert abs(z) < 5 and abs(z_true) > 10


def test_sweep_refuses_bad_grids():
    for kwargs in (dict(axis="k", grid=[1.0]), dict(axis="L", grid=[3, 2]), dict(axis="L", grid=[0, 1]),
                   dict(axis="mu", grid=[]), dict(axis="sigma", grid=[0.5, -1.0])):
        with pytest.raises(ValueError):
            core.sweep("x", 0.0, 1.0, L=2, reps=10, **kwargs)
    with pytest.raises(ValueError):
        core.sweep("x", 0.0, 1.0, axis="mu", grid=np.linspace(-1, 1, 100), L=1000, reps=1000)  # too many samples


def test_rows_summaries_and_histograms_equal_the_one_row_versions():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((6, 700)) * np.arange(1, 7)[:, None]
    values[0, 3], values[1, :], values[2, 5], values[3, :] = np.nan, np.inf, -np.inf, 2.0
    exact = np.array([0.1, 0.0, 0.2, 2.0, 0.5, np.nan])
    rows = summarize_rows(values, exact)
    for i in range(6):
        one = summarize(values[i], exact[i])
        for key in ("mean", "bias", "se", "z", "std", "variance", "snr", "n_finite"):
            a, b = getattr(one, key), rows[key][i]
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12), (i, key)
    centres, density, outside = histogram_rows(values, -3.0, 3.0, 40)
    for i in range(6):
        c, d, _, o = histogram(values[i], -3.0, 3.0, 40)
        np.testing.assert_allclose(centres, c)
        np.testing.assert_allclose(density[i], d)
        assert outside[i] == o


def test_plan_keeps_the_controls_value_and_the_budget():
    kw = dict(mu_range=(-3.0, 3.0), sigma_range=(0.05, 3.0), L_options=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000])
    for axis, value in (("mu", 0.55), ("mu", -3.0), ("sigma", 0.05), ("sigma", 2.35)):
        for L in (1, 3, 100, 1000):
            plan = plan_sweep(axis, value if axis == "mu" else 0.5, value if axis == "sigma" else 1.0, L, 10_000, **kw)
            assert plan.grid[plan.start] == pytest.approx(value)
            assert len(plan.grid) >= 2 and len(plan.grid) * plan.reps * L <= 400_000
            assert (plan.note is None) == (plan.reps == 10_000 and len(plan.grid) == len(anchored_grid(value, *(
                kw["mu_range"] if axis == "mu" else kw["sigma_range"]), 0.1 if axis == "mu" else 0.05)))
    plan = plan_sweep("L", 0.5, 1.0, 3, 1000, **kw)
    assert plan.grid[plan.start] == 3 and plan.reps * max(plan.grid) <= 400_000


def _figure(param="mu", axis="mu", grid=(-0.5, 0.0, 0.5, 1.0), names=("pathwise", "score", "score_batchmean")):
    sw = core.sweep("cos(3*x)", 0.5, 0.5, axis=axis, grid=list(grid), L=3, reps=400, seed=1, estimators=list(names))
    return sw, sweep_figure(sw, param, start=2)


@pytest.mark.parametrize("param", ["mu", "sigma", "log_sigma"])
def test_every_frame_shows_that_frames_numbers(param):
    sw, fig = _figure(param)
    n = len(sw.names)
    assert len(fig.frames) == 4 and fig.layout.sliders[0].active == 2
    scale = sw.sigmas if param == "log_sigma" else np.ones(4)
    for i, frame in enumerate(fig.frames):
        data = frame.data
        exact = sw.exact[i, 0] if param == "mu" else sw.exact[i, 1] * scale[i]
        lo, hi = fig.layout.meta["x_ranges"][i]  # the frame's range, placed on the axis counted in 48 bins

        def at(v):
            return (v - lo) / (hi - lo) * 48

        assert data[n + 1].x[0] == pytest.approx(at(exact), abs=1e-3)
        header = data[-1].text[0]
        # The exact value, or 0 where it is rounding residue (−2.4e−17 for ∂μ of cos at μ = 0).
        assert (readout_number(exact, 4) in header or (abs(exact) < 1e-12 and header.endswith("= 0"))) and "μ = " in header
        for r, name in enumerate(sw.names):
            values = sw.d_mu[name][i] if param == "mu" else sw.d_sigma[name][i] * scale[i]
            s = summarize(values, exact)
            assert f"mean {readout_number(s.mean)} · sd {readout_number(s.std)} · bias/SE {readout_number(s.z, 2)}" \
                in data[n + 2].text[r]
            assert data[n].x[r] == pytest.approx(at(s.mean), abs=1e-3) and data[n].customdata[r] == pytest.approx(s.mean)
            # The outline is the histogram on the frame's own range, its tallest bin at _HIST_TOP of the row.
            _, density, _, _ = histogram(values, lo, hi, 48)
            tops = np.asarray(data[r].y)[1:-1:2] - (n - 1 - r)
            np.testing.assert_allclose(tops, (density * _HIST_TOP / density.max()).round(4), atol=1e-4)


def test_nothing_drawn_crosses_a_readout():
    """Histograms, means and the exact line stay in the lower part of each row; the readout sits
    above them, and the header above every row."""
    sw, fig = _figure()
    n = len(sw.names)
    for r in range(n):
        base = n - 1 - r
        assert max(np.asarray(fig.data[r].y)) <= base + _HIST_TOP + 1e-9
        assert fig.data[n].y[r] == pytest.approx(base + _MEAN_Y)
        segment = [y for y in fig.data[n + 1].y[3 * r:3 * r + 2]]
        assert segment == [base, base + _EXACT_TOP]
        assert fig.data[n + 2].y[r] == pytest.approx(base + _TEXT_Y)
    assert _HIST_TOP < _MEAN_Y < _EXACT_TOP < _TEXT_Y
    assert fig.data[-1].y[0] > n


def test_frames_only_carry_what_moves_and_the_figure_is_valid_plotly():
    sw, fig = _figure()
    n = len(sw.names)
    for frame in fig.frames:
        assert list(frame.traces) == list(range(n + 6))
        assert all(set(d.to_plotly_json()) - {"type"} <= {"x", "y", "text", "customdata", "textposition"}
                   for d in frame.data)
        assert "layout" not in frame.to_plotly_json()  # a frame that changes the axis redraws it: slow
    validated = go.Figure(fig.to_dict())  # raises on any invalid property
    assert json.loads(pio.to_json(validated)) == json.loads(pio.to_json(fig))
    presenter = sweep_figure(sw, "mu", 0, Stage(presenter=True))
    assert presenter.layout.font.size > fig.layout.font.size and presenter.layout.height > fig.layout.height


def test_sweep_csv_has_every_frame_and_estimator():
    sw, _ = _figure()
    lines = sweep_csv(sw, "mu").splitlines()
    assert lines[0].startswith("mu,estimator,exact,mean")
    assert len(lines) == 1 + 4 * 3
    first = lines[1].split(",")
    assert float(first[0]) == -0.5 and float(first[3]) == pytest.approx(sw.d_mu["pathwise"][0].mean())


def test_reparam_figure_moves_the_same_eps():
    eps = np.random.default_rng(0).standard_normal(50)
    mus, sigmas = anchored_grid(1.0, -3.0, 3.0, 0.5), anchored_grid(1.5, 0.1, 2.5, 0.5)
    fig = reparam_scrub_figure(eps, 1.0, 1.5, mus, sigmas)
    assert len(fig.frames) == len(mus) + len(sigmas) and len(fig.layout.sliders) == 2
    for i, m in enumerate(mus):  # the μ slider: z = m + 1.5 ε
        np.testing.assert_allclose(fig.frames[i].data[3].x, np.round(m + 1.5 * eps, 3))
    for j, s in enumerate(sigmas):  # the σ slider: z = 1 + s ε
        frame = fig.frames[len(mus) + j]
        np.testing.assert_allclose(frame.data[3].x, np.round(1.0 + s * eps, 3))
        assert f"σ = {s:.2f}" in frame.data[-1].text[0]
    assert list(fig.layout.sliders[1].steps[0].args[0]) == [str(len(mus))]
    go.Figure(fig.to_dict())


def test_anchored_grid_contains_the_value_and_stays_in_range():
    g = anchored_grid(0.55, -3.0, 3.0, 0.1)
    assert 0.55 in g and g.min() >= -3.0 and g.max() <= 3.0 and math.isclose(g[1] - g[0], 0.1)


# ---- The stage's text at the ends of the μ axis: no ±∞ and no rounding residue ------------------
def _stage_frames(formula: str, sigma: float) -> list[list[str]]:
    from core.scrub import sweep_figure_spec
    grid = np.round(np.arange(-3.0, 3.0001, 0.1), 10)
    sw = core.sweep(formula, 0.0, sigma, axis="mu", grid=grid, L=3, reps=300)
    spec = sweep_figure_spec(sw, "mu", 30)
    ticks = [i for i, d in enumerate(spec["data"]) if d.get("name") == "tick labels"]  # the axis's numbers
    return [[t for k, d in zip(frame["traces"], frame["data"]) if "text" in d and k not in ticks for t in d["text"]]
            for frame in spec["frames"]]


_NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:[eE][−+-]?\d+)?")


@pytest.mark.parametrize("key", ["abs", "step", "x2", "cos", "sigmoid"])
@pytest.mark.parametrize("sigma", [0.05, 0.5])
def test_stage_text_has_no_infinity_and_no_rounding_residue(key, sigma):
    """Issue 25: 'exact ∂/∂μ = −2.728e−17' at μ = 0, and 'bias/SE ∞' for a row whose sd is 0
    (pathwise for |x| at μ = ±3, every row for the step at μ = −3). Residue: a number below 10⁻¹²
    of the largest number in its frame (a frame whose numbers are all tiny, such as the step's
    gradient of 4e−31 far from the jump, is what is true, not residue)."""
    from core.presets import formula_for
    for texts in _stage_frames(formula_for(key), sigma):
        assert not [t for t in texts if "∞" in t], texts
        numbers = [abs(float(n.replace("−", "-"))) for t in texts for n in _NUMBER.findall(t.rsplit("=", 1)[-1])]
        numbers = [v for v in numbers if v > 0]
        if numbers:
            residue = [v for v in numbers if v < 1e-12 * max(numbers)]
            assert not residue, (residue, texts)


# ---- Every frame readable (issue 25): each row spans a readable share of its frame's axis ----------
def _readable_cases():
    from core.presets import PRESETS
    keys = [k for k in PRESETS if k != "custom"]
    return [(k, axis, L) for k in keys for axis in ("mu", "sigma") for L in (1, 100)]


@pytest.mark.parametrize("key, axis, L", _readable_cases())
def test_every_frame_is_readable_and_nothing_runs_off_scale_unmarked(key, axis, L):
    """At both ends of the sweep (and its middle), for every preset and both gradients: each
    row's central 99 % spans at least READABLE of its frame's x-range, unless the rows shown
    whole there (with the exact value) already need most of the width, so that no narrower
    range could hold them; and a row with estimates beyond the range says so in its readout.
    Checked from the figure spec against np.quantile of the sweep's own estimates."""
    from core.presets import formula_for
    from core.scrub import READABLE, sweep_exact, sweep_figure_spec, sweep_values
    grid = anchored_grid(0.5 if axis == "mu" else 1.0, -3.0, 3.0, 0.1) if axis == "mu" else \
        anchored_grid(1.0, 0.05, 3.0, 0.05)
    picks = [0, grid.size // 2, grid.size - 1]
    sw = core.sweep(formula_for(key), 0.5, 1.0, axis=axis, grid=grid[picks], L=L, reps=300, seed=2)
    for param in ("mu", "sigma"):
        spec = sweep_figure_spec(sw, param, 0)
        exact = sweep_exact(sw, param)
        n = len(sw.names)
        for i, frame in enumerate(spec["frames"]):
            lo, hi = spec["layout"]["meta"]["x_ranges"][i]
            # The numbers under the axis are this frame's: each label at its value's place.
            labels, places = frame["data"][n + 4]["text"], frame["data"][n + 4]["x"]
            # A label at either end of the axis is drawn inward, beside its tick, not across the edge.
            sides = frame["data"][n + 4]["textposition"]
            assert all(side != "middle center" for u, side in zip(places, sides) if u < 3 or u > 45)
            assert 2 <= len(labels) <= 13
            for label, u in zip(labels, places):
                assert float(label.replace("−", "-")) == pytest.approx(lo + u / 48 * (hi - lo), rel=1e-3, abs=1e-5 * (hi - lo))
            width = hi - lo
            readouts = frame["data"][n + 2]["text"]
            rows, lines = {}, []
            for r, name in enumerate(sw.names):
                v = sweep_values(sw, name, param)[i]
                v = v[np.isfinite(v)]
                if v.size < 2:
                    continue
                if np.any((v < lo) | (v > hi)):
                    assert "off-scale" in readouts[r], (key, param, name, readouts[r])
                a, b = np.quantile(v, [0.005, 0.995])
                size = max(abs(float(np.median(v))), float(np.std(v)), 1e-300)
                if b - a <= 1e-6 * size:  # a constant estimate, up to rounding: a line at any width,
                    if lo <= a and b <= hi:  # which the range keeps in view when it can
                        lines.append((a, b))
                    continue
                rows[name] = (a, b)
            whole = [(a, b) for a, b in rows.values() if a >= lo and b <= hi] + lines
            ends = [e for ab in whole for e in ab] + ([float(exact[i])] if math.isfinite(exact[i]) else [])
            needed = (max(ends) - min(ends)) / width if ends else 0.0
            for name, (a, b) in rows.items():
                share = (min(b, hi) - max(a, lo)) / width
                assert share >= READABLE or needed >= 0.6, (key, axis, L, param, float(sw.grid[i]), name,
                                                             round(share, 3), round(needed, 3))
