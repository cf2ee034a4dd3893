"""AppTest of the Estimator Lab: every control reruns cleanly and the numbers shown are core's."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.presets import PRESETS
from core.scrub import plan_sweep, readout_number
from core.stats import summarize
from tests.app.conftest import open_page

PAGE = "pages/3_Estimator_Lab.py"


def number(cell: str) -> float:
    """A table cell written for people (−0.5, 1.2×10⁻⁵, 3.4×10⁸) as a float."""
    text = cell.replace("−", "-").replace(",", "")
    if "×10" in text:
        mantissa, power = text.split("×10")
        return float(mantissa) * 10.0 ** int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    return float(text)


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def array(value) -> np.ndarray:
    """A Plotly JSON array: a list, or a base64 typed array {"dtype": ..., "bdata": ...}."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def table(at: AppTest, index: int = 0) -> list[dict]:
    """Every column of the table: its "All columns" switch is turned on first."""
    key = ("table_mu", "table_sigma")[index] + "_all"
    if not at.toggle(key=key).value:
        at.toggle(key=key).set_value(True).run()
    return at.dataframe[index].value.to_dict("records")


MU, SIGMA, L, REPS, SEED = 0.5, 0.5, 3, 1000, 0  # the Lab's defaults
F = PRESETS["cos"].template.replace("{k}", "3")
DEFAULT = list(core.DEFAULT_ESTIMATORS)


def stage(at: AppTest) -> dict:
    (fig,) = [f for f in charts(at) if f["layout"].get("sliders")]
    return fig


def expected_sweep(axis: str = "mu", param: str = "mu", f: str = F, **settings):
    s = dict(mu=MU, sigma=SIGMA, L=L, reps=REPS)
    s.update(settings)
    plan = plan_sweep(axis, s["mu"], s["sigma"], s["L"], s["reps"], mu_range=(-3.0, 3.0), sigma_range=(0.05, 3.0),
                      L_options=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000])
    sw = core.sweep(f, s["mu"], s["sigma"], axis=axis, grid=plan.grid, L=s["L"], reps=plan.reps, seed=SEED,
                    estimators=settings.get("estimators", DEFAULT))
    return plan, sw


@pytest.mark.parametrize("axis, param", [("mu", "mu"), ("sigma", "log_sigma"), ("L", "sigma")])
def test_the_figure_has_a_frame_per_grid_value_with_readouts_from_core_stats(axis, param):
    # Choices are bound to the URL by the labels the page shows.
    at = run(axis=axis, of=param)
    assert_clean(at)
    fig = stage(at)
    plan, sw = expected_sweep(axis)
    (slider,) = fig["layout"]["sliders"]
    assert len(fig["frames"]) == len(slider["steps"]) == len(plan.grid) > 5
    assert slider["active"] == plan.start and sw.grid[plan.start] == pytest.approx({"mu": MU, "sigma": SIGMA, "L": L}[axis])
    # Every step animates its own frame, client-side, without redrawing the layout.
    for i, step in enumerate(slider["steps"]):
        assert step["method"] == "animate" and step["args"][0] == [str(i)]
        assert step["args"][1]["frame"]["redraw"] is False
    n = len(DEFAULT)
    for i in sorted({0, plan.start, len(plan.grid) // 2, len(plan.grid) - 1}):
        frame = fig["frames"][i]
        readouts = frame["data"][n + 2]["text"]
        exact_line = frame["data"][n + 1]["x"]
        for r, name in enumerate(DEFAULT):
            values = sw.d_mu[name][i] if param == "mu" else sw.d_sigma[name][i] * (
                sw.sigmas[i] if param == "log_sigma" else 1.0)
            exact = sw.exact[i, 0] if param == "mu" else sw.exact[i, 1] * (sw.sigmas[i] if param == "log_sigma" else 1.0)
            if sw.Ls[i] < core.ESTIMATORS[name].min_L:
                assert "needs L ≥ 2" in readouts[r]
                continue
            s = summarize(values, exact)
            if s.std == 0:  # every estimate the same: no bias/SE (it would be 0/0 or ±∞), the row says so
                assert f"mean {readout_number(s.mean)} · sd 0 · no spread" in readouts[r], (i, name)
            else:
                assert (f"mean {readout_number(s.mean)} · sd {readout_number(s.std)} · "
                        f"bias/SE {readout_number(s.z, 2)}") in readouts[r], (i, name)
            lo, hi = fig["layout"]["meta"]["x_ranges"][i]  # the frame's range, on an axis counted in bins
            assert exact_line[3 * r] == pytest.approx((exact - lo) / (hi - lo) * 48, abs=1e-3)
        assert frame["data"][-1]["text"][0].startswith(f"{ {'mu': 'μ', 'sigma': 'σ', 'L': 'L'}[axis]} = ")
    # The first frame drawn is the starting frame.
    assert fig["data"][n + 2]["text"] == fig["frames"][plan.start]["data"][n + 2]["text"]


def test_defaults_teach_a_visible_gradient_bias_and_spread():
    """The default f, μ, σ: the exact ∂/∂μ is clearly non-zero, the biased baseline sits more than
    10 standard errors off, and the unbiased estimators' spreads differ at a glance."""
    at = run()
    assert_clean(at)
    plan, sw = expected_sweep()
    i = plan.start
    g = sw.exact[i, 0]
    assert abs(g) > 0.5
    s = {n: summarize(sw.d_mu[n][i], g) for n in DEFAULT}
    assert abs(s["score_batchmean"].z) > 10
    unbiased = [s[n].std for n in DEFAULT if core.ESTIMATORS[n].unbiased]
    assert max(unbiased) / min(unbiased) > 2
    # The page says so, from these numbers.
    sentence = " ".join(c.value for c in at.caption)
    assert f"exact ∂/∂μ is {readout_number(g)}" in sentence and "standard errors above" in sentence


def test_the_numbers_tab_is_the_starting_frame_and_equals_core_estimate():
    at = run()
    assert_clean(at)
    results = core.estimate(F, MU, SIGMA, L=L, reps=REPS, seed=SEED, estimators=DEFAULT)
    exact = core.exact_gradient(F, MU, SIGMA)
    for index, (param, target) in enumerate((("d_mu", exact[0]), ("d_sigma", exact[1]))):
        rows = {r["estimator"]: r for r in table(at, index)}
        assert len(rows) == len(DEFAULT)
        for name, est in results.items():
            row = rows[est.info.label]
            assert number(row["exact"]) == pytest.approx(target, rel=1e-3)
            assert number(row["mean"]) == pytest.approx(getattr(est, param).mean(), rel=1e-3, abs=1e-6)
            assert row["unbiased?"] == ("yes" if est.info.unbiased else "no (biased)")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset(preset):
    at = run()
    at.selectbox(key="f").set_value(preset).run()
    assert_clean(at)
    assert not at.error


@pytest.mark.parametrize("key, values", [
    ("mu", [-3.0, 3.0, 0.0]),
    ("sigma", [0.05, 3.0]),
    ("k", [-5.0, 10.0, 0.0]),
])
def test_sliders_to_their_ends(key, values):
    at = run()
    for v in values:
        at.slider(key=key).set_value(v).run()
        assert_clean(at)


@pytest.mark.parametrize("key, values", [("L", [1, 2, 1000]), ("reps", [100, 10000])])
def test_sample_size_controls(key, values):
    at = run()
    for v in values:
        at.select_slider(key=key).set_value(v).run()
        assert_clean(at)


def test_L_equal_one_explains_leave_one_out():
    at = run(L="1")
    assert_clean(at)
    assert any("L ≥ 2" in c.value for c in at.caption)
    assert "Score, leave-one-out baseline" not in {r["estimator"] for r in table(at)}


def test_large_L_coarsens_the_sweep_with_a_note():
    at = run(L="1000", reps="10000")
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "the sweep uses 200 replicates per frame and steps of" in captions
    assert "200 replicates of L = 1000" in captions
    assert len(stage(at)["frames"]) >= 2


def test_resample_moves_the_seed_and_changes_the_numbers():
    at = run()
    before = table(at)[1]["mean"]
    at.button(key="seed_resample").click().run()
    assert_clean(at)
    assert at.number_input(key="seed").value == 1
    assert table(at)[1]["mean"] != before


def test_estimator_selection_and_log_sigma():
    at = run()
    at.button_group(key="est").set_value(["score", "pathwise"]).run()
    assert_clean(at)
    assert len(table(at)) == 2
    rows = [t for t in stage(at)["data"] if t.get("fill") == "toself"]
    assert [r["name"] for r in rows] == [core.ESTIMATORS[n].label for n in ("pathwise", "score")]  # picker order
    at.button_group(key="of").set_value("log_sigma").run()
    assert_clean(at)
    rows = {r["estimator"]: r for r in table(at, 1)}
    d_sigma = core.exact_gradient("cos(3*x)", MU, SIGMA)[1]
    assert number(rows["Pathwise (reparameterization)"]["exact"]) == pytest.approx(SIGMA * d_sigma, rel=1e-3)
    at.button_group(key="est").set_value([]).run()
    assert_clean(at)
    assert any("at least one" in i.value for i in at.info)


@pytest.mark.parametrize("formula", ["__import__('os').system('ls')", "x.__class__", "sin(", "y**2", "x ==", "1e999"])
def test_bad_formula_shows_a_message_not_a_traceback(formula):
    at = run(f="custom")
    at.text_input(key="expr").set_value(formula).run()
    assert_clean(at)
    assert at.error and "Formula not understood" in at.error[0].value


def test_step_warns_that_pathwise_is_wrong():
    at = run(f="step")
    assert_clean(at)
    assert any("pathwise estimator is wrong" in w.value for w in at.warning)
    rows = {r["estimator"]: r for r in table(at)}
    assert rows["Pathwise (reparameterization)"]["unbiased?"].startswith("no")


@pytest.mark.parametrize("formula", ["1/x", "exp(x**3)", "sqrt(x)", "exp(1000*x)", "9" * 300 + " * x"])
def test_undefined_or_overflowing_objectives_warn(formula):
    at = run(f="custom")
    at.text_input(key="expr").set_value(formula).run()
    assert_clean(at)
    assert at.warning, "expected a visible warning"
    for fig in charts(at):
        for trace in fig["data"]:
            for axis in ("x", "y"):
                if trace.get(axis) is not None:
                    values = trace[axis]
                    if isinstance(values, list):  # None marks a gap between line segments
                        values = [v for v in values if v is not None]
                    assert np.isfinite(array(values)).all(), (formula, trace.get("name"))


def test_deep_link_reproduces_the_view():
    at = run(f="x2", mu="1", sigma="0.5", L="5", reps="500", seed="7")
    assert_clean(at)
    assert at.slider(key="mu").value == 1.0 and at.number_input(key="seed").value == 7
    results = core.estimate("x**2", 1.0, 0.5, L=5, reps=500, seed=7, estimators=DEFAULT)
    rows = {r["estimator"]: r for r in table(at)}
    assert stage(at)["layout"]["sliders"][0]["active"] == 40  # μ = 1 on the grid from −3 in steps of 0.1
    assert number(rows["Score function (REINFORCE)"]["mean"]) == pytest.approx(results["score"].d_mu.mean(), rel=1e-3)


def test_variance_tab_shows_measured_and_exact_variances_against_L():
    at = run(f="x2", mu="1", sigma="0.5", view="by_L")
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 3 and not at.dataframe  # the stage and two variance charts; the numbers tab is closed
    exact = core.exact_variances("x**2", 1.0, 0.5)
    # x²: pathwise ∂μ = 2x, Var = 4σ² = 1 for one sample; the dashed line is exact / L.
    assert exact["pathwise"][0] == pytest.approx(1.0, rel=1e-10)
    for fig, param in zip(figs[1:], (0, 1)):
        for trace in fig["data"]:
            if trace["name"].endswith("(exact/L)"):
                label = trace["name"][: -len(" (exact/L)")]
                name = next(n for n, info in core.ESTIMATORS.items() if info.label == label)
                Ls = array(trace["x"])
                np.testing.assert_allclose(array(trace["y"]), exact[name][param] / Ls, rtol=1e-12)
    measured = {t["name"]: t for t in figs[1]["data"] if t["mode"] == "markers+lines"}
    dots = measured[core.ESTIMATORS["pathwise"].label]
    # 500 replicates per L: each measured variance is within 5 SE (SE ≈ var·√(2/499)) of 1/L.
    Ls, v = array(dots["x"]), array(dots["y"])
    assert np.all(np.abs(v - 1.0 / Ls) <= 5 * np.sqrt(2 / 499) / Ls)


def test_the_table_shows_the_columns_a_reader_needs_first_and_the_rest_on_request():
    at = run()
    first = ["estimator", "mean", "bias ± SE", "std", "var ÷ pathwise"]
    assert [list(at.dataframe[i].value.columns) for i in (0, 1)] == [first, first]
    switch = at.toggle(key="table_mu_all")
    assert "unbiased?" in switch.help and "f-evals" in switch.help
    switch.set_value(True).run()
    columns = list(at.dataframe[0].value.columns)
    assert columns[:2] == ["estimator", "unbiased?"] and {"exact", "bias / SE", "variance", "SNR", "f-evals"} <= set(columns)
    assert list(at.dataframe[1].value.columns) == first  # each tab has its own switch


@pytest.mark.parametrize("expr", ["x + 9**9**9**9", "x*(2**2**2**2**2**2)", "x + sin(1) + 1/0*0"])
def test_a_tower_of_powers_in_a_link_does_not_freeze_the_code_tab(expr):
    """The link that froze the server: the Lab's code tab draws the snippet at once, and the
    snippet's constants are floats (a tower of powers is math.inf, never Python integer work)."""
    at = open_page(PAGE, timeout=60, f="custom", expr=expr, view="code")
    assert_clean(at)
    code = "\n".join(c.value for c in at.code)
    assert "def f(x):" in code and "9 ** 9" not in code and "2 ** 2" not in code


def test_draws_that_never_reach_fs_mass_are_said_to_and_no_sd_reads_0():
    """Review: exp(−5x) at μ = −3, σ = 3, L = 1. The exact ∂/∂μ is −1.2×10⁵⁶ while the samples' sds
    are 10²³ to 10³¹: every row read "mean 0 · sd 0 · no spread" (tidied against 10⁵⁶) with no word
    of why. Now the rows give their own numbers and a warning says the draws are too rare."""
    import json
    at = open_page(PAGE, f="expk", k="-5", mu="-3", sigma="3", L="1")
    assert not at.exception
    assert any("draws too rare" in w.value for w in at.warning), [w.value for w in at.warning]
    spec = json.loads(next(el.proto.spec for el in at.get("plotly_chart") if '"readouts"' in el.proto.spec))
    readouts = next(t for t in spec["data"] if t.get("name") == "readouts")["text"]
    # (Score + batch mean is exactly 0 at L = 1: its "sd 0" is true.)
    assert not any("sd 0 " in r for r in readouts if not r.startswith("Score + batch mean")), readouts
    calm = open_page(PAGE)  # the default setting: no such warning
    assert not any("draws too rare" in w.value for w in calm.warning)
