"""Lecture mode as a lecturer meets it: every built-in scene opens on its page with the
controls it names, hides its answer until Reveal, asks only about what the page can show,
has a correct answer by the page's own numbers, and a broken lecture gives a clear message."""
import json
import math
import re

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import core
import core.lectures
import ui
from core.lectures import LAB_DEFAULTS, LAB_MU_RANGE, LAB_SIGMA_RANGE, PAGES, lab_sweep_plan, load_lecture
from core.presets import formula_for
from core.scrub import AXIS_SYMBOL, sweep_readouts
from tests.app.conftest import ENTRY, open_page

LECTURE = load_lecture("default")


def open_scene(index: int, lecture: str = "default") -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["lecture"] = lecture
    at.query_params["scene"] = str(index)
    return at.run()


def widget_value(at, key):
    """The value a control holds (a choice's slug, as the link writes it). Segmented controls and
    pills are left to the link guard: a value it refused would leave a notice."""
    for kind in ("selectbox", "radio", "slider", "number_input", "select_slider", "multiselect"):
        for w in getattr(at, kind):
            if w.key == key:
                return w.value
    return None


def same(got, want: str | list, key: str, page: str) -> bool:
    spec = PAGES[page][1][key]
    if isinstance(want, list):
        return got is not None and len(got) == len(want)
    if spec[0] == "range":
        return math.isclose(float(got), float(want), abs_tol=1e-9)
    return str(got) == want or want in str(got)


FRONTIER = load_lecture("frontier")
EVERY_SCENE = [("default", i) for i in range(1, len(LECTURE.scenes) + 1)] + \
              [("frontier", i) for i in range(1, len(FRONTIER.scenes) + 1)]


@pytest.mark.parametrize("lecture, index", EVERY_SCENE)
def test_every_scene_opens_with_its_controls_and_hides_its_answer(lecture, index):
    scene = load_lecture(lecture).scenes[index - 1]
    at = open_scene(index, lecture)
    assert not at.exception, [e.message for e in at.exception]
    assert not [e.value for e in at.error if "lecture" in e.value], [e.value for e in at.error]
    assert not [w.value for w in at.warning if "link" in w.value], "a scene's value was refused"
    assert any(scene.question[:40] in m.value.replace("\\", "") for m in at.markdown)
    for key, want in scene.params.items():
        got = widget_value(at, key)
        if got is not None:  # a control in a section the scene does not open
            assert same(got, want, key, scene.page), (key, got, want)
    assert any("hidden until you press" in i.value for i in at.info)
    assert not any("Press **Train**" in i.value for i in at.info), "the question must stand on its own"
    assert not any(scene.caption[:30] in s.value for s in at.success)
    at.button(key="_scene_reveal").click().run(timeout=300)  # the VAE's reveal trains what it shows
    assert not at.exception, [e.message for e in at.exception]
    assert any(scene.caption[:30] in s.value.replace("\\", "") for s in at.success)
    assert not any("hidden until you press" in i.value for i in at.info)
    assert not any("Press **Train**" in i.value for i in at.info), "no Press Train beside a revealed answer"


def test_the_guess_is_shown_beside_the_page_value_after_the_reveal():
    index = next(i for i, s in enumerate(LECTURE.scenes, 1) if s.guess and s.guess["truth"] == "mean:pathwise")
    at = open_scene(index)
    at.slider(key=f"_guess_default_{index}").set_value(0.5).run()
    at.button(key="_scene_reveal").click().run()
    shown = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "Your guess: **0.5**" in shown and "what the page computed: **0**" in shown


def test_the_scene_links_carry_the_neighbouring_scenes():
    """Next and Previous are links to the neighbouring scenes' pages with all their parameters
    (the arrow keys follow them); the first scene has no previous one."""
    def scene_links(at) -> dict:
        links = {el.proto.label: el.proto for el in at.get("page_link") if "scene=" in el.proto.query_string}
        return {("next" if "Next" in label else "previous"): link for label, link in links.items()}

    links = scene_links(open_scene(3))
    following = links["next"]
    assert following.page == "Estimator_Lab" and "scene=4" in following.query_string
    assert "f=step&" in following.query_string and "est=mvd" in following.query_string
    before = links["previous"]
    assert before.page == "Reparameterization_Trick" and "scene=2" in before.query_string
    assert scene_links(open_scene(1))["previous"].disabled


def test_outside_a_lecture_nothing_is_hidden():
    at = open_page("pages/3_Estimator_Lab.py")
    assert not any("hidden until" in i.value for i in at.info)
    assert at.get("plotly_chart")


def test_a_scene_number_out_of_range_opens_the_first_with_a_notice():
    at = open_scene(99)
    assert not at.exception
    assert any("scene=99" in w.value for w in at.warning)
    assert dict(at.query_params)["scene"] == "1"


@pytest.mark.parametrize("text, words", [
    ('title = "T"\n[[scenes]]\npage = "labb"\ntitle = "t"\nquestion = "q"\ncaption = "c"', ["bad.toml, scene 1", "labb"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "q"\ncaption = "c"\nparams = { mu = 9.0 }',
     ["scene 1", "out of range"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "q"\ncaption = "c"\nparams = { zz = 1 }',
     ["no parameter 'zz'"]),
    ("title = [", ["not valid TOML"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "From L = 1 to L = 1000?"\ncaption = "c"\n'
     'params = { L = 1, axis = "L" }', ["scene 1", "names L = 1000", "does not reach"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "q"\ncaption = "c"\nchoices = ["a", "b"]',
     ["scene 1", "'choices' needs 'answer'"]),
])
def test_a_broken_lecture_file_gives_a_clear_message(tmp_path, monkeypatch, text, words):
    (tmp_path / "bad.toml").write_text(text)
    monkeypatch.setattr(core.lectures, "LECTURE_DIR", tmp_path)
    at = open_page("pages/3_Estimator_Lab.py", lecture="bad")
    assert not at.exception, [e.message for e in at.exception]
    message = " ".join(e.value for e in at.error).replace("\\", "")
    assert "This lecture cannot be shown" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("slug", [s for s in PAGES if s != "home"])
def test_the_lecture_parameter_list_matches_each_page(slug):
    """core.lectures.PAGES says what each page's link parameters accept; the page's own widgets
    must agree (a range or a choice that drifted would let a lecture set what the page refuses)."""
    script, params = PAGES[slug]
    at = open_page(script)
    assert not at.exception
    checked = 0
    for kind in ("slider", "number_input"):
        for w in getattr(at, kind):
            spec = params.get(w.key)
            if spec and spec[0] == "range":
                assert (spec[1], spec[2]) == (w.min, w.max), (w.key, spec, w.min, w.max)
                checked += 1
    for kind in ("select_slider", "selectbox", "radio"):
        for w in getattr(at, kind):
            spec = params.get(w.key)
            if spec and spec[0] == "choice":
                assert len(w.options) == len(spec[1]), (w.key, spec[1], w.options)
                if kind == "select_slider":
                    assert tuple(str(o) for o in w.options) == spec[1], (w.key, spec[1], w.options)
                checked += 1
    assert checked >= 1
    # Every choice the list names is one the page takes from a link, silently, and keeps in the URL.
    defaults = {key: str(widget_value(at, key)) for key in params}
    choices = {key: spec[1][-1] if spec[1][-1] != defaults[key] else spec[1][0]
               for key, spec in params.items() if spec[0] == "choice" and not spec[2]}
    at = open_page(script, **choices)
    assert not at.exception, [e.message for e in at.exception]
    assert not [w.value for w in at.warning if "link" in w.value], [w.value for w in at.warning]
    for key, want in choices.items():
        got = widget_value(at, key)
        if got is not None:
            assert str(got) == want, (key, got, want)
            assert at.query_params.get(key) in ([want], want), (key, at.query_params.get(key))


# ---------------------------------------------------------------------------------------
# A scene asks only about what its page can show, and its answer is the page's own.
# ---------------------------------------------------------------------------------------

def scene_index(page: str, **params) -> int:
    """The built-in scene on ``page`` whose parameters include ``params`` (1-based)."""
    found = [i for i, s in enumerate(LECTURE.scenes, 1)
             if s.page == page and all(s.params.get(k) == v for k, v in params.items())]
    assert len(found) == 1, (page, params, found)
    return found[0]


def figure_sliders(at, index: int = 0) -> list[tuple[list[str], int]]:
    """Each slider inside a page's ``index``-th chart: its step labels and where it starts."""
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return [([step["label"] for step in s["steps"]], s["active"]) for s in spec["layout"].get("sliders", [])]


def test_the_lecture_checks_mirror_the_lab():
    """core.lectures plans a Lab scene's sweep with the Lab's own defaults, ranges and L options."""
    assert list(core.lectures._L_OPTIONS) == list(ui.L_OPTIONS)
    assert LAB_MU_RANGE == (ui.MU_MIN, ui.MU_MAX) and LAB_SIGMA_RANGE == (ui.SIGMA_MIN, ui.SIGMA_MAX)
    at = open_page("pages/3_Estimator_Lab.py")
    read = {key: widget_value(at, key) for key in LAB_DEFAULTS}  # segmented controls (of) read as None
    assert {key for key, got in read.items() if got is not None} >= {"f", "mu", "sigma", "L", "reps"}
    for key, got in read.items():
        assert got is None or str(got) == str(LAB_DEFAULTS[key]), (key, got, LAB_DEFAULTS[key])


@pytest.mark.parametrize("index", [i for i, s in enumerate(LECTURE.scenes, 1) if s.page == "lab" and "axis" in s.params])
def test_a_lab_scene_names_only_values_its_figure_slider_reaches(index):
    """Every "L = …" (or μ, σ) a swept scene's question or caption names is a step of the figure's
    slider as the page draws it, and the slider starts at the scene's value."""
    scene = LECTURE.scenes[index - 1]
    axis = scene.params["axis"]
    at = open_scene(index)
    at.button(key="_scene_reveal").click().run()
    (labels, active), = figure_sliders(at)
    plan = lab_sweep_plan(scene.params)
    assert [float(v.replace("−", "-")) for v in labels] == pytest.approx([float(v) for v in plan.grid])
    assert float(labels[active].replace("−", "-")) == pytest.approx(float(scene.params.get(axis, LAB_DEFAULTS[axis])))
    symbol = re.escape(AXIS_SYMBOL[axis])
    named = [float(v.replace(",", "")) for v in re.findall(rf"(?<![\w∂]){symbol} = ([\d,.]+\d)", scene.question + scene.caption)]
    for value in named:
        assert any(math.isclose(float(v.replace("−", "-")), value) for v in labels), (value, labels)
    if axis == "L":
        assert named and max(named) == max(plan.grid), "the question says where the sweep along L stops"
        if plan.note:
            assert any(plan.note in c.value for c in at.caption)


def test_the_reparameterization_scene_reaches_the_sigma_it_names():
    """Scene 2 doubles σ from 1.2 to 2.4: the figure's σ slider starts at 1.2 and has a step at 2.4
    (the page's σ slider ends at 2.5)."""
    index = scene_index("reparam")
    scene = LECTURE.scenes[index - 1]
    assert "from 1.2 to 2.4" in scene.question and scene.params["sigma"] == "1.2"
    at = open_scene(index)
    at.button(key="_scene_reveal").click().run()
    _, (sigmas, active) = figure_sliders(at)
    assert sigmas[active] == "1.20" and "2.40" in sigmas


def test_the_vae_scene_asks_first_and_its_reveal_trains():
    """Before Reveal the VAE scene shows the hidden-answer box and no 'Press Train'; Reveal trains
    the missing runs itself and shows the curves and the table the caption quotes."""
    st.cache_resource.clear()  # no run trained by an earlier test
    index = scene_index("vae")
    scene = LECTURE.scenes[index - 1]
    at = open_scene(index)
    assert not at.exception, [e.message for e in at.exception]
    assert any("hidden until you press" in i.value for i in at.info)
    assert not any("Train" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe
    at.button(key="_scene_reveal").click().run(timeout=300)
    assert not at.exception, [e.message for e in at.exception]
    assert not any("Train" in i.value for i in at.info)
    assert at.get("plotly_chart") and at.dataframe
    table = at.dataframe[0].value
    elbo = dict(zip(table["estimator"], table["final ELBO (nats/image)"].astype(float)))
    label = {"Reparameterization": "reparameterization (pathwise)", "Score function": "score function (REINFORCE)",
             "Score + leave-one-out": "score function, leave-one-out baseline"}
    best = max(elbo, key=elbo.get)
    assert [label[c] == best for c in scene.choices] == [i == scene.answer for i in range(len(scene.choices))]
    quoted = [float(v.replace("−", "-")) for v in re.findall(r"−\d+\.\d", scene.caption)]
    assert sorted(quoted) == sorted(round(v, 1) for v in elbo.values()), (quoted, elbo)


def _lab_sweep(scene) -> dict[str, dict[str, np.ndarray]]:
    """Every frame's readouts of a Lab scene's figure, computed as the page computes them."""
    p = scene.params
    text = formula_for(p.get("f", LAB_DEFAULTS["f"]), float(p["k"]) if "k" in p else None)
    mu, sigma = float(p.get("mu", LAB_DEFAULTS["mu"])), float(p.get("sigma", LAB_DEFAULTS["sigma"]))
    L, plan = int(p.get("L", LAB_DEFAULTS["L"])), lab_sweep_plan(p)
    sw = core.sweep(text, mu, sigma, axis=plan.axis, grid=list(plan.grid), L=L, reps=plan.reps,
                    seed=int(p.get("seed", 0)), estimators=p["est"])
    return sweep_readouts(sw, p.get("of", LAB_DEFAULTS["of"]))


def _which_spreads_wider(scene) -> list[bool]:
    sd = {n: r["std"] for n, r in _lab_sweep(scene).items()}
    ratio = sd["score"] / sd["pathwise"]
    return [bool(np.all(ratio < 1 / 1.3)), bool(np.all(ratio > 1.3)), bool(np.all(abs(np.log(ratio)) < np.log(1.3)))]


def _which_is_narrower(scene) -> list[bool]:
    pathwise_wider, score_wider, same_width = _which_spreads_wider(scene)
    return [score_wider, pathwise_wider, same_width]


def _more_samples(scene) -> list[bool]:
    readouts = _lab_sweep(scene)
    Ls = np.array(lab_sweep_plan(scene.params).grid, float)
    shrink = {n: r["std"] / r["std"][0] for n, r in readouts.items()}  # against L = 1
    like = {power: all(np.all(abs(s * Ls ** power - 1) < 0.2) for s in shrink.values()) for power in (0.5, 1.0)}
    winners = {min(readouts, key=lambda n: readouts[n]["std"][i]) for i in range(Ls.size)}
    stays = len(winners) == 1
    return [like[1.0] and not stays, like[1.0] and stays, like[0.5] and not stays, like[0.5] and stays]


def _which_baselines_bias(scene) -> list[bool]:
    from core.baselines import baseline_moments, delta_method_cv, sequential_baselines
    from core.stats import summarize

    p = scene.params
    text, mu, sigma = formula_for(p["f"], float(p["k"])), 0.5, 1.0  # the page's μ and σ where a scene sets none
    L2, beta = int(p["L2"]), float(p["beta"])
    raw = {n: d for n, (d, _) in sequential_baselines(text, mu, sigma, L=L2, steps=250, chains=200, beta=beta,
                                                     seed=0).items()}
    exact = float(baseline_moments(text, mu, sigma).g[0])
    z = {n: summarize(a, exact).z for n, a in raw.items()}
    biased = {n for n, v in z.items() if abs(v) > 3}
    assert all(abs(v) < 2.5 for n, v in z.items() if n not in biased), z  # nothing in between
    # The caption: both unbiased baselines that have not seen their sample raise the variance here.
    none_var = np.var(raw["none"])
    assert np.var(raw["loo"]) > none_var and np.var(raw["ema_after"]) > none_var
    delta = summarize(delta_method_cv(text, mu, sigma, L=L2, reps=40_000, seed=0)[0], exact)
    assert abs(delta.z) < 3
    five = {"none", "batch_mean", "ema_before", "ema_after", "loo"}
    return [biased == set(), biased == {"batch_mean", "ema_before"}, biased == {"batch_mean"}, biased == five - {"loo"}]


def _temperature(scene) -> list[bool]:
    from core.discrete import DISCRETE_PRESETS, binary_relaxed_moments, exact_discrete_gradient

    formula, values, logits = DISCRETE_PRESETS[scene.params["preset"]]
    j = len(values) - 1  # the θ the page shows

    def moments(tau):
        mean, var = binary_relaxed_moments(formula, list(logits), list(values), float(tau))["gumbel_softmax"]
        return float(mean[j] - exact_discrete_gradient(formula, list(logits), list(values))[j]), float(var[j])

    taus = np.geomspace(0.01, 10.0, 40)  # the τ chart's grid, low τ first
    bias, var = np.array([moments(t) for t in taus]).T
    var_climbs, var_falls = bool(np.all(np.diff(var) < 0)), bool(np.all(np.diff(var) > 0))  # as τ falls
    bias_falls, bias_climbs = bool(np.all(np.diff(abs(bias)) >= 0)), bool(np.all(np.diff(abs(bias)) <= 0))
    # The caption's numbers, at the τ slider's values.
    assert round(moments(1.0)[1], 3) == 0.005 and round(moments(0.01)[1], 2) == 0.86
    assert moments(1.0)[0] * moments(2.0)[0] < 0, "the bias changes sign between τ = 1 and τ = 2"
    return [bias_falls and var_falls, bias_falls and var_climbs, var_climbs and not (bias_falls or bias_climbs),
            var_climbs and bias_climbs]


def _policy_baseline(scene) -> list[bool]:
    from core.policy import bandit_training

    p = scene.params
    runs = bandit_training((0.2, 0.5, 0.8, 0.4, 0.6), noise=float(p["noise"]), steps=300, batch=int(p["batch"]),
                           lr=float(p["lr"]), chains=200, offset=float(p["c"]), seed=int(p["seed"]))
    final = {n: float(h[-1].mean()) for n, h in runs.items()}
    # The caption: about 0.77 with either baseline, 0.68 without.
    assert round(final["ema_after"], 2) == round(final["loo"], 2) == 0.77 and round(final["none"], 2) == 0.68
    gain = min(final["ema_after"], final["loo"]) - final["none"]
    return [gain < -0.02, gain > 0.02, abs(gain) <= 0.02]


def _reparam_doubling(scene) -> list[bool]:
    from core.reparam import eps_to_z

    mu, sigma = float(scene.params["mu"]), float(scene.params["sigma"])
    eps, z = eps_to_z(mu, sigma, 100, 0)  # the page's draws at its default n and seed
    eps2, z2 = eps_to_z(mu, 2 * sigma, 100, 0)
    return [bool(np.allclose(z2, 2 * z)), bool(np.allclose(z2 - mu, 2 * (z - mu))),
            bool(np.allclose(z2 - z, (z2 - z)[0])), not np.array_equal(eps, eps2)]


# Per choice scene: which of its choices the page's own numbers make true, in the file's order.
JUDGES = {
    ("reparam", ()): _reparam_doubling,
    ("lab", (("f", "x2"),)): _which_spreads_wider,
    ("lab", (("f", "cos"), ("axis", "mu"))): _which_is_narrower,
    ("lab", (("axis", "L"),)): _more_samples,
    ("baselines", ()): _which_baselines_bias,
    ("discrete", (("section", "tau"),)): _temperature,
    ("policy", ()): _policy_baseline,
}


def _judge(scene):
    found = [judge for (page, params), judge in JUDGES.items()
             if page == scene.page and all(scene.params.get(k) == v for k, v in params)]
    return found[0] if len(found) == 1 else None


@pytest.mark.parametrize("index", [i for i, s in enumerate(LECTURE.scenes, 1) if s.choices and s.page != "vae"])
def test_each_choice_scene_has_one_true_choice_and_it_is_the_answer(index):
    """Exactly one choice is true by the page's own numbers at the scene's settings, and the file's
    answer names it (the VAE's is checked on the page, after its reveal trains)."""
    scene = LECTURE.scenes[index - 1]
    judge = _judge(scene)
    assert judge, f"scene {index} ({scene.title}) has choices but no judge here"
    truths = judge(scene)
    assert len(truths) == len(scene.choices), (scene.choices, truths)
    assert truths == [i == scene.answer for i in range(len(scene.choices))], list(zip(scene.choices, truths))


def test_every_guess_brackets_what_its_page_reports():
    """A guess's slider range holds the value the page reports (checked when the file loads, from
    the exact value; here against the scene's own page)."""
    for index, scene in enumerate(LECTURE.scenes, 1):
        if not scene.guess:
            continue
        at = open_scene(index)
        at.button(key="_scene_reveal").click().run()
        shown = " ".join(m.value for m in [*at.markdown, *at.caption])
        match = re.search(r"what the page computed: \*\*([^*]+)\*\*", shown)
        assert match, (index, "no truth shown")
        value = float(match.group(1).replace("−", "-"))
        assert scene.guess["min"] <= value <= scene.guess["max"], (index, value, scene.guess)


# ---- The frontier lecture: each answer and each number by the page's own computation ------------
def _numbers(text: str) -> list[str]:
    return re.findall(r"−?\d+(?:\.\d+)?", text.replace("1/√K", "").replace("√K", ""))


def test_the_learning_control_variate_scene():
    """RELAX, tuned at θ = ½ as the page tunes it, against REINFORCE: the file's answer is the one
    choice true by the exact (quadrature) variances, and the caption's numbers are those variances."""
    from core.relax import toy_moments, tune_control

    scene = FRONTIER.scenes[0]
    t = float(scene.params["rt"])
    m = toy_moments(t, 0.5, tune_control(t, steps=2000, seed=0))
    var = {n: v for n, (_, v) in m.items()}
    ratio = var["score"] / var["relax"]
    truths = [ratio < 1 / 1.3, abs(math.log(ratio)) < math.log(1.3), 3 < ratio < 30, ratio > 100]
    assert truths == [i == scene.answer for i in range(len(scene.choices))], (ratio, truths)
    said = _numbers(scene.caption)
    for value in (var["relax"], var["score"], var["rebar"]):  # as the page writes them: 4 digits
        assert f"{value:.4g}" in said, (value, said)
    assert abs(var["rebar"] / var["score"] - 1) < 0.002 and "within 0.2 %" in scene.caption
    assert var["disarm"] < 1e-12 * var["score"] and "exactly 0" in scene.caption
    assert f"{m['score'][0]:.1g}" in _numbers(scene.question)  # ∂E/∂α = θ(1 − θ)(1 − 2t)


def test_the_tighter_bound_scene():
    """IWAE's encoder SNR against K, as page 10 computes it at its default seed: the fitted slope
    makes the file's answer the one true choice, and the caption's numbers are the page's."""
    from core.iwae import snr_curves

    scene = FRONTIER.scenes[1]
    c = snr_curves("K", seed=0)
    slope, se = c.slope[("iwae", "phi")]
    truths = [slope > 0.35, abs(slope) < 0.15, slope < -0.35]
    assert truths == [i == scene.answer for i in range(len(scene.choices))], (slope, truths)
    iwae, dreg = c.snr[("iwae", "phi")], c.snr[("dreg", "phi")]
    said = _numbers(scene.caption)
    import ui  # the page's own formatting of a ratio ("180 times")
    for shown in (f"{iwae[0]:.2g}", f"{iwae[-1]:.2g}", f"{slope:.2f}".replace("-", "−"), f"{se:.1g}",
                  f"{dreg[-1]:.2g}", ui.ratio(dreg[-1] / iwae[-1])):
        assert shown in said, (shown, said)
    assert c.grid[0] == 1 and c.grid[-1] == 256
