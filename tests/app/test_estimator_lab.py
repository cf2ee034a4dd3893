"""AppTest of the Estimator Lab: every control reruns cleanly and the numbers shown are core's."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.presets import PRESETS
from tests.app.conftest import open_page

PAGE = "pages/1_Estimator_Lab.py"


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
    return at.dataframe[index].value.to_dict("records")


def test_default_page_renders_histograms_and_tables_not_the_closed_tab():
    at = run()
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 2  # two histogram panels; the variance-vs-L tab is lazy and closed
    hist_mu = figs[0]
    rows = [t for t in hist_mu["data"] if t.get("fill") == "toself"]
    assert len(rows) == len(core.ESTIMATORS)
    # Pre-binned on the server, not raw samples: 60 bins, drawn as a 122-corner outline.
    assert all(len(r["meta"]["density"]) == 60 and array(r["x"]).size == 122 for r in rows)
    assert len(table(at)) == len(core.ESTIMATORS)


def test_numbers_shown_agree_with_core():
    at = run()
    mu, sigma, L, reps, seed = 0.5, 1.0, 10, 2000, 0
    text = PRESETS["cos"].template.replace("{k}", "3")
    exact = core.exact_gradient(text, mu, sigma)
    results = core.estimate(text, mu, sigma, L=L, reps=reps, seed=seed)
    for index, (param, target) in enumerate((("d_mu", exact[0]), ("d_sigma", exact[1]))):
        rows = {r["estimator"]: r for r in table(at, index)}
        for name, est in results.items():
            row = rows[est.info.label]
            assert float(row["exact"]) == pytest.approx(target, rel=1e-3)
            assert float(row["mean"]) == pytest.approx(getattr(est, param).mean(), rel=1e-3, abs=1e-6)
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
    assert any("L ≥ 2" in i.value for i in at.info)
    assert "Score, leave-one-out baseline" not in {r["estimator"] for r in table(at)}


def test_large_L_caps_replicates_with_a_note():
    at = run(L="1000", reps="10000")
    assert_clean(at)
    assert any("capped at 250,000" in i.value and "250 replicates" in i.value for i in at.info)
    assert "250 replicates of L = 1000" in " ".join(c.value for c in at.caption)


def test_resample_moves_the_seed_and_changes_the_numbers():
    at = run()
    before = table(at)[1]["mean"]
    at.button(key="seed_resample").click().run()
    assert_clean(at)
    assert at.number_input(key="seed").value == 1
    assert table(at)[1]["mean"] != before


def test_estimator_selection_and_log_sigma_toggle():
    at = run()
    at.multiselect(key="est").set_value(["pathwise", "score"]).run()
    assert_clean(at)
    assert len(table(at)) == 2
    at.toggle(key="logsig").set_value(True).run()
    assert_clean(at)
    rows = {r["estimator"]: r for r in table(at, 1)}
    d_sigma = core.exact_gradient("cos(3*x)", 0.5, 1.0)[1]
    assert float(rows["Pathwise (reparameterization)"]["exact"]) == pytest.approx(1.0 * d_sigma, rel=1e-3)
    at.multiselect(key="est").set_value([]).run()
    assert_clean(at)
    assert any("at least one" in i.value for i in at.info)


@pytest.mark.parametrize("formula", ["__import__('os').system('ls')", "x.__class__", "sin(", "y**2", "x ==", "1e999"])
def test_bad_formula_shows_a_message_not_a_traceback(formula):
    at = run(f="custom formula")
    at.text_input(key="expr").set_value(formula).run()
    assert_clean(at)
    assert at.error and "Formula not understood" in at.error[0].value


def test_step_warns_that_pathwise_is_wrong():
    at = run(f="step x>0")
    assert_clean(at)
    assert any("pathwise estimator is wrong" in w.value for w in at.warning)
    rows = {r["estimator"]: r for r in table(at)}
    assert rows["Pathwise (reparameterization)"]["unbiased?"].startswith("no")


@pytest.mark.parametrize("formula", ["1/x", "exp(x**3)", "sqrt(x)", "exp(1000*x)", "9" * 300 + " * x"])
def test_undefined_or_overflowing_objectives_warn(formula):
    at = run(f="custom formula")
    at.text_input(key="expr").set_value(formula).run()
    assert_clean(at)
    assert at.warning, "expected a visible warning"
    for fig in charts(at):
        for trace in fig["data"]:
            for axis in ("x", "y"):
                if trace.get(axis) is not None:
                    assert np.isfinite(array(trace[axis])).all(), (formula, trace.get("name"))


def test_deep_link_reproduces_the_view():
    at = run(f="x^2", mu="1", sigma="0.5", L="5", reps="500", seed="7")
    assert_clean(at)
    assert at.slider(key="mu").value == 1.0 and at.number_input(key="seed").value == 7
    results = core.estimate("x**2", 1.0, 0.5, L=5, reps=500, seed=7)
    rows = {r["estimator"]: r for r in table(at)}
    assert float(rows["Score function (REINFORCE)"]["mean"]) == pytest.approx(results["score"].d_mu.mean(), rel=1e-3)


def test_variance_tab_shows_measured_and_exact_variances_against_L():
    at = run(f="x^2", mu="1", sigma="0.5", view="Variance against L")
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 4 and not at.dataframe  # the numbers tab is closed now
    exact = core.exact_variances("x**2", 1.0, 0.5)
    # x²: pathwise ∂μ = 2x, Var = 4σ² = 1 for one sample; the dashed line is exact / L.
    assert exact["pathwise"][0] == pytest.approx(1.0, rel=1e-10)
    for fig, param in zip(figs[2:], (0, 1)):
        for trace in fig["data"]:
            if trace["name"].endswith("(exact/L)"):
                label = trace["name"][: -len(" (exact/L)")]
                name = next(n for n, info in core.ESTIMATORS.items() if info.label == label)
                Ls = array(trace["x"])
                np.testing.assert_allclose(array(trace["y"]), exact[name][param] / Ls, rtol=1e-12)
    measured = {t["name"]: t for t in figs[2]["data"] if t["mode"] == "markers+lines"}
    dots = measured[core.ESTIMATORS["pathwise"].label]
    # 500 replicates per L: each measured variance is within 5 SE (SE ≈ var·√(2/499)) of 1/L.
    Ls, v = array(dots["x"]), array(dots["y"])
    assert np.all(np.abs(v - 1.0 / Ls) <= 5 * np.sqrt(2 / 499) / Ls)
