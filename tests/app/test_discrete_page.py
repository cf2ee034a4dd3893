"""AppTest of the discrete-variables page."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.discrete import DISCRETE_PRESETS, exact_discrete_gradient, straight_through_moments
from tests.app.conftest import ENTRY, open_page

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
    # Printed for people: a minus sign, not a hyphen.
    assert at.metric[0].value == f"{exact_discrete_gradient(text, logits, values)[j]:.4g}".replace("-", "−")
    assert at.metric[1].value == f"{straight_through_moments(text, logits, values)[0][j]:.4g}".replace("-", "−")


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
    from tests.app.conftest import ENTRY, open_page

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
    from tests.app.conftest import ENTRY, open_page

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


def _sig(x: float, digits: int) -> str:
    """The page's way of writing a number in a sentence (8.333×10⁻⁸, never 8.333e-08)."""
    text = f"{x:.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return mantissa + "×10" + str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _ratio_holds(said: str, true: float, shown: float) -> bool:
    """A printed ratio is the true one and the printed numbers' one, to the digits it gives."""
    plain = said.replace(",", "")
    digits = len((plain.replace(".", "") if "." in plain else plain.rstrip("0")).lstrip("0"))
    return all(f"{float(f'{r:.{max(digits, 1)}g}'):g}" == f"{float(said.replace(',', '')):g}" for r in (true, shown))


def _comparison_holds(text: str, a: float, b: float, digits: int = 4) -> bool:
    """'… is N× lower/higher than …' or '… is level with … (within P %)', as the sentence says it:
    true of the exact numbers and of the printed ones."""
    a_s, b_s = float(f"{a:.{digits}g}"), float(f"{b:.{digits}g}")
    level = re.match(r"level with .*?\(within ([\d.]+) %\)", text)
    if level:
        bound = float(level.group(1)) / 100
        return abs(b / a - 1) <= bound and abs(b_s / a_s - 1) <= bound
    times = re.match(r"([\d.,]+)× (lower|higher) than", text)
    assert times, text
    if times.group(2) == "lower":
        return b > a and _ratio_holds(times.group(1), b / a, b_s / a_s)
    return a > b and _ratio_holds(times.group(1), a / b, a_s / b_s)


@pytest.mark.parametrize("t", ["0.45", "0.499"])
def test_relax_section_numbers_match_core_and_sentences_follow_them(t):
    """Section 6: the table's variances are core's exact ones at the page's seed, every comparison
    in the text is the one those numbers make, and each variance is printed once, with one rounding
    (4 significant digits) in the paragraph."""
    from core.discrete import ControlVariate
    from core.relax import toy_moments, tune_control

    at = run(section="relax", rt=t)
    assert not at.exception, [e.message for e in at.exception]
    assert [el.proto.id.rsplit("-", 1)[-1] for el in at.get("plotly_chart")] == ["dhist", "relax_var", "relax_race"]
    table = at.dataframe[-1].value
    assert list(table.columns[:2]) == ["estimator at θ = ½", "variance (one draw)"]  # the two that fit a phone
    assert max(len(x) for x in table["estimator at θ = ½"]) <= 16
    shown = dict(zip(table["estimator at θ = ½"], table["variance (one draw)"]))
    seed = int(at.number_input(key="seed").value) if any(w.key == "seed" for w in at.number_input) else 0
    tuned = tune_control(float(t), steps=2000, seed=seed)
    m = toy_moments(float(t), 0.5, {"untuned": ControlVariate(1.0, 0.5), **tuned})
    var = {k: v for k, (_, v) in m.items()}
    assert shown["DisARM"] == "0"
    assert "REINFORCE, ∂/∂θ" in shown and shown["ARM"] == _sig(var["arm"], 6)
    assert shown["REBAR untuned"] == shown["RELAX untuned"] == _sig(var["untuned"], 6)
    assert shown["RELAX tuned"] == _sig(var["relax"], 6) and shown["REBAR tuned"] == _sig(var["rebar"], 6)
    assert not any("e-" in str(x) for x in table.to_numpy().ravel())  # 8.33333×10⁻⁸, not 8.33333e-08
    assert max(len(x) for x in table["control variate"]) <= 30  # its cells fit their column (39 were cut off)
    assert any(md.value.startswith(f"**This section uses the papers' toy, whatever the setting above: f(b) = (b − {t})²")
               for md in at.markdown)
    text = next(md.value for md in at.markdown if "Tuned RELAX" in md.value)
    relax = re.search(r"Tuned RELAX's variance \(([^)]+)\) is (.*?), and (.*?)\.", text)
    assert relax and relax.group(1) == _sig(var["relax"], 4), text
    assert _comparison_holds(relax.group(2), var["relax"], var["score"])
    assert _comparison_holds(relax.group(3), var["relax"], var["rebar"])
    rebar = re.search(r"Tuned REBAR's variance \(([^)]+)\) is (.*?); its η went from 1 to", text)
    assert rebar and rebar.group(1) == _sig(var["rebar"], 4), text
    assert _comparison_holds(rebar.group(2), var["rebar"], var["score"])
    assert f"of variance {_sig(var['score'], 4)}," in text
    assert "DisARM (0)" in text and "REBAR with η = 0 is REINFORCE: the same variance." in text
    assert f"1 − 2t = {1 - 2 * float(t):.4g}" in text
    # One rounding per quantity: the paragraph's numbers are 4-digit ones, each variance once.
    said = [_sig(var[key], 4) for key in ("score", "rebar", "relax")]
    for key in ("score", "rebar", "relax"):
        assert text.count(_sig(var[key], 4)) == said.count(_sig(var[key], 4)), (key, text)
        for other in (3, 5, 6):  # no other rounding of it anywhere in the paragraph
            if f"{var[key]:.{other}g}" != _sig(var[key], 4):
                assert f"{var[key]:.{other}g}" not in re.findall(r"\d+(?:\.\d+)?", text), (key, other, text)
    assert "e-" not in text and "e+" not in text


@pytest.mark.parametrize("t", ["0.45", "0.499"])
def test_relax_charts_are_explained_where_they_stand(t):
    """The variance chart's explanation stands with it (θ moves along those runs, unlike the
    table's θ = ½), and the race's final θ names every estimator tied with the best within the
    runs' spread, never one of two equal-looking numbers."""
    import numpy as np

    at = run(section="relax", rt=t)
    assert not at.exception
    caps = [c.value for c in at.caption]
    var_cap = next(c for c in caps if c.startswith("Variance: the sample variance"))
    race_cap = next(c for c in caps if "Mean θ after 2,000 steps" in c)
    assert any(md.value.startswith("**Along training, θ moves.**") for md in at.markdown)
    assert "RELAX's is " in var_cap and "e-0" not in var_cap
    finals = {n: v for n, v in re.findall(r"\b(REINFORCE|REBAR|RELAX|ARM|DisARM) ([\d.]+) ±", race_cap)}
    assert set(finals) == {"REINFORCE", "REBAR", "RELAX", "ARM", "DisARM"}, race_cap
    lead = race_cap.split("closest to the optimum θ = 0: ")[1]
    named = [n for n in ("REINFORCE", "REBAR", "RELAX", "DisARM", "ARM") if re.search(rf"\b{n}\b", lead.split(",")[0])]
    shown = sorted(finals.items(), key=lambda p: float(p[1]))
    if len(named) == 1:  # one winner: its printed number is strictly the lowest
        assert shown[0][0] == named[0] and float(shown[0][1]) < float(shown[1][1])
    else:
        assert "level within their run-to-run spread" in lead
    assert np.isfinite([float(v) for v in finals.values()]).all()


def test_relax_tab_label_is_short_and_the_section_has_its_title():
    at = run(section="relax")
    assert not at.exception
    labels = [t.label for t in at.tabs]
    assert labels[-1] == "6 · REBAR and RELAX"  # the full title ran past the tab strip at 1400 px
    assert any(h.value == "6 · REBAR and RELAX: a control variate that learns" for h in at.subheader)


def _subject(at):
    """What a lecture scene aligns the view on: the elements inside the scene_subject container."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if str(getattr(getattr(child, "proto", None), "id", "")).endswith("-scene_subject"):
                found.append(child)
            walk(child)
    walk(at.main)
    assert len(found) == 1, "exactly one scene subject"
    out = []

    def flat(node):
        for child in getattr(node, "children", {}).values():
            out.append(child)
            flat(child)
    flat(found[0])
    return out


def test_a_lecture_scene_on_section_6_shows_its_toy_and_aligns_on_its_table():
    """The frontier lecture's first scene opens section 6: before Reveal the view is on the
    section's title and its toy with the scene's t (the setting above is another f), the variances
    hidden; after Reveal it is on the table the answer quotes."""
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.query_params["lecture"] = "frontier"
    at.query_params["scene"] = "1"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    inside = _subject(at)
    kinds = [type(e).__name__ for e in inside]
    texts = " ".join(str(getattr(e, "value", "")) for e in inside)
    assert "6 · REBAR and RELAX: a control variate that learns" in texts
    assert "f(b) = (b − 0.499)²" in texts and "hidden until you press" in texts
    assert "Dataframe" not in kinds and not at.dataframe and not at.get("plotly_chart")
    at.button(key="_scene_reveal").click().run(timeout=300)
    assert not at.exception, [e.message for e in at.exception]
    inside = _subject(at)
    frames = [e for e in inside if type(e).__name__ == "Dataframe"]
    assert len(frames) == 1 and "RELAX tuned" in list(frames[0].value["estimator at θ = ½"])
    assert not any("hidden until you press" in i.value for i in at.info)


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


def test_a_logit_at_the_sliders_minimum_stays_in_the_link():
    """θ = −4 is the sliders' minimum. Streamlit's binding compared a slider without value= with its
    minimum and left −4 out of the link, which then opened on the preset's 0.3 with no notice."""
    at = open_page("pages/6_Discrete_Variables.py", th1="-4")
    assert not at.exception
    assert at.slider(key="th1").value == -4.0
    assert at.query_params.get("th1") in ("-4", ["-4"])
    fresh = open_page("pages/6_Discrete_Variables.py")
    fresh.slider(key="th1").set_value(-4.0).run()
    assert fresh.query_params.get("th1") in ("-4", ["-4"])
    fresh.slider(key="th1").set_value(0.3).run()  # back at the preset's own value: the link drops it
    assert "th1" not in fresh.query_params
    bad = open_page("pages/6_Discrete_Variables.py", th1="abc", th0="9")
    assert not bad.exception
    notices = " ".join(w.value for w in bad.warning)
    assert "is not a number" in notices and "is outside" in notices
    assert bad.slider(key="th0").value == 4.0


@pytest.mark.parametrize("values, expr, what", [("-1, 0, 2, 5", "1/x", "f is not a finite number at v = 0"),
                                                ("0, 1", "sqrt(x)", "f′ is not a finite number at v = 0")])
def test_a_value_where_f_is_undefined_is_refused_with_the_reason(values, expr, what):
    """Review: custom f = 1/x with 0 among the values printed "exact ∂E[f]/∂θ = (−inf, nan, …)", nan and
    −inf metrics and a wrong-sign box; now one clear message and nothing computed."""
    at = open_page("pages/6_Discrete_Variables.py", preset="custom", vals=values, expr=expr)
    assert not at.exception
    assert any(what in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric and not at.dataframe
