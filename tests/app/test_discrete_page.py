"""AppTest of the discrete-variables page."""
import pytest
from streamlit.testing.v1 import AppTest

from core.discrete import DISCRETE_PRESETS, exact_discrete_gradient, straight_through_moments
from tests.app.conftest import open_page

PAGE = "pages/6_Discrete_Variables.py"


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


@pytest.mark.parametrize("preset", list(DISCRETE_PRESETS))
def test_every_preset_renders_and_numbers_are_exact(preset):
    at = run()
    at.selectbox(key="preset").set_value(preset).run()
    assert not at.exception
    text, values, logits = DISCRETE_PRESETS[preset]
    j = len(values) - 1
    assert at.metric[0].value == f"{exact_discrete_gradient(text, logits, values)[j]:.4g}"
    assert at.metric[1].value == f"{straight_through_moments(text, logits, values)[0][j]:.4g}"


def test_wrong_sign_is_flagged():
    at = run()
    at.selectbox(key="preset").set_value("bernoulli_sin").run()
    assert any("wrong sign" in e.value for e in at.error)


def test_custom_values_and_formula():
    at = run()
    at.selectbox(key="preset").set_value("custom").run()
    at.text_input(key="vals").set_value("-2, 0, 1, 3").run()
    assert not at.exception and len(at.slider) == 4
    at.text_input(key="expr").set_value("abs(x) + (x > 0)").run()
    assert not at.exception
    assert any("not differentiable" in i.value for i in at.info)
    at.text_input(key="vals").set_value("1").run()
    assert not at.exception and at.error
    at.text_input(key="vals").set_value("0, 1").run()
    at.text_input(key="expr").set_value("x.__class__").run()
    assert not at.exception and any("Formula not understood" in e.value for e in at.error)


def test_controls_to_their_ends():
    at = run()
    for tau in (0.01, 10.0):
        at.select_slider(key="tau").set_value(tau).run()
        assert not at.exception
    at.select_slider(key="L").set_value(1).run()
    at.select_slider(key="reps").set_value(5000).run()
    at.slider(key="th0").set_value(-4.0).run()
    at.slider(key="th1").set_value(4.0).run()
    at.radio(key="j").set_value(0).run()
    assert not at.exception


def test_lazy_tabs_draw_only_the_open_section():
    at = run()
    assert not at.exception
    assert [el.proto.id.rsplit("-", 1)[-1] for el in at.get("plotly_chart")] == ["dhist", "tau_chart"]
    at = run(section="race")
    assert [el.proto.id.rsplit("-", 1)[-1] for el in at.get("plotly_chart")] == ["dhist", "race"]
    for lr in (0.1, 3.0):
        at.select_slider(key="lr").set_value(lr).run()
        assert not at.exception
    at = run(section="race", L="50")
    assert any("L is capped at 10" in c.value for c in at.caption)  # said, not silently changed
    at = run(section="gumbel")
    assert [el.proto.id.rsplit("-", 1)[-1] for el in at.get("plotly_chart")] == ["dhist", "gmax", "soft"]
    assert not at.exception


def test_samples_are_capped_with_a_message():
    at = run(L="50", reps="5000")
    assert not at.exception
    assert any("capped at 100,000" in i.value and "2,000 replicates" in i.value for i in at.info)
    assert "2,000 replicates of L = 50" in " ".join(c.value for c in at.caption)


def test_the_temperature_sentence_is_computed_from_the_chart():
    """"Lowering τ shrinks the Gumbel-softmax bias" is false for the 3-category setting; the sentence
    now reads the chart's own numbers: exact for two categories, Monte Carlo with ± SE for three."""
    from core.discrete import DISCRETE_PRESETS
    from tests.app.conftest import open_page

    texts = {}
    for preset in list(DISCRETE_PRESETS)[:3]:
        at = open_page("pages/6_Discrete_Variables.py", preset=preset, section="tau")
        assert not at.exception
        texts[preset] = next(c.value for c in at.caption if "Gumbel-softmax here" in c.value)
    assert all("shrinks the Gumbel-softmax bias" not in t for t in texts.values())
    three = texts[list(DISCRETE_PRESETS)[2]]
    assert "±" in three and "steadily" not in three
    assert "does not shrink steadily" in texts[list(DISCRETE_PRESETS)[0]]


def test_the_hard_gumbel_softmax_demo_shows_a_gradient():
    """At τ = 0.1 the soft sample is one-hot to many digits and the Jacobians are ~0: the demo used to
    print a table of "-0.0000" and a raw numpy array. It now falls back to τ = 1 and says so."""
    from tests.app.conftest import open_page

    at = open_page("pages/6_Discrete_Variables.py", tau="0.1", section="gumbel")
    assert not at.exception
    text = next(m.value for m in at.markdown if "hard=True" in m.value)
    assert "tau=1," in text and "nearly one-hot" in text and "[" not in text.split("hard=True")[1]
    table = at.dataframe[-1].value
    assert not any(str(v) == "-0.0000" for v in table.to_numpy().ravel())
    assert any(abs(float(v)) > 0.01 for v in table.to_numpy().ravel())


def test_choosing_theta0_survives_the_link():
    """Issue 25: choosing θ0 removed j from the link while the page's default is the last θ, so the
    link opened on θ1 and every sign flipped."""
    at = open_page("pages/6_Discrete_Variables.py")
    assert at.radio(key="j").value == 1
    at.radio(key="j").set_value(0).run()
    link = {k: at.query_params[k] for k in at.query_params}
    assert "j" in link
    again = open_page("pages/6_Discrete_Variables.py", **link)
    assert again.radio(key="j").value == 0 and not again.exception


@pytest.mark.parametrize("t", ["0.45", "0.499"])
def test_relax_section_numbers_match_core_and_sentences_follow_them(t):
    """Section 6: the table's variances are core's exact ones at the page's seed, and every
    comparison in the text is the one those numbers make."""
    from core.discrete import ControlVariate
    from core.relax import toy_moments, tune_control

    at = run(section="relax", rt=t)
    assert not at.exception, [e.message for e in at.exception]
    assert [el.proto.id.rsplit("-", 1)[-1] for el in at.get("plotly_chart")] == ["dhist", "relax_var", "relax_race"]
    table = at.dataframe[-1].value
    shown = dict(zip(table["estimator at θ = ½"], table["variance (one draw)"]))
    seed = int(at.number_input(key="seed").value) if any(w.key == "seed" for w in at.number_input) else 0
    tuned = tune_control(float(t), steps=2000, seed=seed)
    m = toy_moments(float(t), 0.5, {"untuned": ControlVariate(1.0, 0.5), **tuned})
    assert shown["DisARM"] == "0"
    assert "REINFORCE, ∂/∂θ" in shown and [v for k, v in shown.items() if k == "ARM"] == [f"{m['arm'][1]:.6g}"]
    assert next(v for k, v in shown.items() if k.startswith("REBAR untuned")) == f"{m['untuned'][1]:.6g}"
    assert next(v for k, v in shown.items() if k.startswith("RELAX tuned")) == f"{m['relax'][1]:.6g}"
    assert next(v for k, v in shown.items() if k.startswith("REBAR tuned")) == f"{m['rebar'][1]:.6g}"
    text = next(md.value for md in at.markdown if "Tuned RELAX" in md.value)
    ratio = m["score"][1] / m["relax"][1]
    assert f"{ratio:.3g}× lower than REINFORCE" in text  # measured: RELAX tuned is ~100× below REINFORCE
    r = m["score"][1] / m["rebar"][1]
    assert (f"{r:.3g}× lower" if r > 1.005 else f"{1 / r:.3g}× higher" if r < 0.995 else "level with") in text
    assert "DisARM (0)" in text and "REBAR with η = 0 is REINFORCE" in text
    assert f"1 − 2t = {1 - 2 * float(t):.4g}" in text


def test_relax_section_with_every_setting_and_odd_links():
    at = run(preset="three_categories", section="relax", rt="0.45", seed="123")
    assert not at.exception
    at = run(section="relax", rt="0.7")  # not a choice: a message, the default, no traceback
    assert not at.exception and at.radio(key="rt").value == 0.499
    at = run(preset="custom", expr="(x > 0.5)", section="race")  # REBAR/RELAX in the race; f jumps: flagged biased
    assert not at.exception
    table = at.dataframe[0].value
    flags = dict(zip(table["estimator"], table["unbiased?"]))
    assert flags["REBAR (K = 2)"] == "no (biased)" and flags["DisARM (K = 2)"] == "yes"
