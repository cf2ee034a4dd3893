"""AppTest of the baselines page."""
import pytest
from streamlit.testing.v1 import AppTest

from core.baselines import baseline_moments
from tests.app.conftest import open_page

PAGE = "pages/5_Baselines_and_Control_Variates.py"


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


def test_numbers_shown_are_cores():
    at = run()
    assert not at.exception
    m = baseline_moments("(x - 1)**2", 0.5, 1.0)
    assert [x.value for x in at.metric[:3]] == [f"{m.b_star[0]:.4g}", f"{m.b_star[1]:.4g}", f"{m.f_mean:.4g}"]
    rows = {r["baseline"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert rows["batch mean, including its own sample"]["unbiased?"].startswith("no")
    assert rows["leave-one-out"]["unbiased?"] == "yes"
    assert "delta-method control variate (optimal c)" in rows


@pytest.mark.parametrize("preset", ["step", "cos", "x", "expk", "abs"])
def test_presets(preset):
    at = run(f=preset if preset != "step" else "step x>0")
    assert not at.exception


def test_controls_move_cleanly():
    at = run()
    slider = at.slider(key="b")
    for v in (slider.min, slider.max, 0.0):
        at.slider(key="b").set_value(v).run()
        assert not at.exception
    at.select_slider(key="L").set_value(10).run()
    at.select_slider(key="L2").set_value(20).run()
    at.slider(key="beta").set_value(0.0).run()
    at.slider(key="beta").set_value(0.99).run()
    at.slider(key="sigma").set_value(0.05).run()
    at.slider(key="mu").set_value(3.0).run()
    at.button(key="seed_resample").click().run()
    assert not at.exception


def test_bad_and_overflowing_formulas():
    at = run(f="custom")
    at.text_input(key="expr").set_value("y + 1").run()
    assert not at.exception and at.error
    at.text_input(key="expr").set_value("exp(x**2)").run()
    assert not at.exception and at.warning


def test_a_baseline_that_is_zero_by_symmetry_reads_zero():
    """For f = x at μ = 0, b* and E[f] are 0; quadrature gives ±1e-17, which the page used to print."""
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f="x", mu="0")
    shown = {m.label: m.value for m in at.metric}
    assert shown["b*_μ (best for ∂μ)"] == "0" and shown["b*_σ (best for ∂σ)"] == "0" and shown["E[f]"] == "0"


def test_a_variance_that_is_zero_up_to_rounding_reads_zero():
    """The delta-method control variate is exact for f = x²: its estimates differ in the last bits
    only, and the table printed 7.4e-32 (and a ratio of 1.2e-32) for a variance of 0."""
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f="x2")
    table = at.dataframe[0].value
    row = table[table["baseline"].str.startswith("delta-method")].iloc[0]
    assert row["variance"] == "0" and row["variance ÷ no baseline"] == "0", row.to_dict()
