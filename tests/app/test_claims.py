"""Every sentence on a page that compares ("lower", "narrower", "falls", "is not E[f]") either holds
at every setting its controls allow, checked here over their grid, or is computed from the numbers
on screen, checked here against those numbers at settings where the old fixed sentence was false.

Pages whose claims are tested in their own file: the Variance landscape (coupling sentence,
test_landscape_page.py), Discrete (τ sentence, test_discrete_page.py), Weight noise (falls and
floors, test_weight_noise_page.py), VAE (SNR, tests/core/test_vae.py)."""
import json
import re

import numpy as np
import pytest

from core.baselines import baseline_moments
from core.policy import surrogate_pitfall, two_step_variances
from tests.app.conftest import open_page


def _all_text(at) -> str:
    return " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.success))


# ---- Policy gradients ---------------------------------------------------------------------------
def test_reward_to_go_has_the_lower_variance_at_every_setting():
    """Section 2 is titled "causality as variance reduction": over the page's offset slider (0 … 5 in
    steps of 0.25) and its θ axis (−4 … 4), reward-to-go is never the noisier one."""
    for c in np.arange(0.0, 5.0 + 1e-9, 0.25):
        for theta in np.linspace(-4.0, 4.0, 81):
            v = two_step_variances(float(theta), float(c))
            assert v["var_rtg"] <= v["var_full"] * (1 + 1e-12), (c, theta, v)


def test_the_surrogate_loss_keeps_falling_for_every_batch_seed():
    """Section 3 says the loss "keeps falling" on its fixed batch: at 401 of the seed control's values
    (test_claims_policy.py proves it for any batch whose mean reward is under 8, and checks that bound)."""
    means = (0.2, 0.5, 0.8, 0.4, 0.6)
    for seed in range(0, 10_001, 25):
        loss = np.asarray(surrogate_pitfall(means, noise=1.0, batch=8, steps=200, lr=0.5, seed=seed)["loss"])
        assert np.all(np.diff(loss) <= 1e-12), seed


def test_policy_metrics_state_the_ratio_they_show():
    at = open_page("pages/7_Policy_Gradients.py", c="0")
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    v_none = float(metrics["total variance of one sample, no baseline"].value)
    delta = metrics["… with b = E[R] (what the moving average learns)"]
    assert float(delta.value) / v_none == pytest.approx(float(delta.delta.split("%")[0]) / 100, rel=1e-3)


# ---- Baselines ----------------------------------------------------------------------------------
@pytest.mark.parametrize("f, mu, sigma, want", [
    ("x", "0", "1", "is the same for μ and σ, and E[f] is it"),  # linear f: b* = μ = E[f] for both
    ("x", "1.5", "0.5", "is the same for μ and σ, and E[f] is it"),
    ("cos", "0.5", "1", "differs between μ and σ, and neither is E[f]"),
    ("x2", "0", "1", "differs between μ and σ, and neither is E[f]"),
])
def test_the_best_baseline_sentence_follows_the_numbers(f, mu, sigma, want):
    """It used to say "The best baseline differs between μ and σ, and is not E[f]" at every setting:
    false for any linear f, where b*_μ = b*_σ = E[f] = μ."""
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f=f, mu=mu, sigma=sigma)
    assert not at.exception
    assert want in _all_text(at)
    m = baseline_moments({"x": "x", "cos": "cos(3*x)", "x2": "x**2"}[f], float(mu), float(sigma))
    same = np.isclose(m.b_star[0], m.b_star[1], rtol=1e-4, atol=1e-12)
    assert ("is the same for μ and σ" in want) == bool(same)


# ---- Estimator Lab ------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [{}, {"f": "x2", "sigma": "2"}, {"f": "step", "mu": "-2"}, {"reps": "100"}])
def test_the_lab_names_the_narrowest_estimator_only_beyond_its_uncertainty(query):
    at = open_page("pages/3_Estimator_Lab.py", **query)
    assert not at.exception
    text = next(c.value for c in at.caption if "where the figure's slider starts" in c.value)
    found = re.search(r"\), ([\d.]+)× narrower than .*?\(each sd within ±([\d.]+)%", text)
    if found:
        ratio, rel = float(found.group(1)), float(found.group(2)) / 100
        assert ratio > 1 + 3 * rel  # three standard errors of the ratio apart
    else:
        assert "narrowest" not in text


def test_the_lab_calls_no_row_unbiased_whose_numbers_say_otherwise():
    """Issue 25's case: f = 0.1x² + (x > 0) jumps, so pathwise averages 0.0999 against an exact 0.584
    (bias/SE −266). The sentence named it 'the narrowest unbiased estimator'."""
    at = open_page("pages/3_Estimator_Lab.py", f="custom", expr="0.1*x**2 + (x > 0)", mu="0.5", sigma="0.5", L="3")
    assert not at.exception
    text = next(c.value for c in at.caption if "where the figure's slider starts" in c.value)
    assert "narrowest unbiased estimator is Pathwise" not in text, text


# ---- Home ---------------------------------------------------------------------------------------
def test_home_counts_the_mus_where_the_score_function_is_narrower():
    import json

    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    caption = " ".join(c.value for c in at.caption)
    n = int(re.search(r"narrower of the two at (\d+) of the 61", caption).group(1))
    assert 0 < n <= 61 and len(fig["frames"]) == 61


# ---- Discrete -----------------------------------------------------------------------------------
def test_the_discrete_intro_promises_no_lower_variance():
    """Straight-through and Gumbel-softmax are not always less noisy (Gumbel-softmax at τ = 0.01 has
    variance 0.86 on the toy, far above the score function's): the intro no longer says they are."""
    at = open_page("pages/6_Discrete_Variables.py")
    text = _all_text(at)
    assert "trade bias for lower variance" not in text and "in the hope of a lower variance" in text


# ---- Numbers printed for people, on every page --------------------------------------------------
UGLY = [(re.compile(r"(?<![\w.])[-−]0\.0+(?![\d.])"), "a negative zero"),
        (re.compile(r"(?<!order )(?<!order of )\b\d(\.\d+)?[eE][-−](1[3-9]|[2-9]\d|\d{3})\b"),
         "a rounding residue such as 1e-17"),
        (re.compile(r"array\(|\[\s*[-\d.]+e[-+]\d+\s+[-\d.]"), "a raw numpy array")]
SETTINGS = [
    ("pages/1_Why_Sampling_Blocks_Gradients.py", {"fz": "density_only", "theta": "0"}),
    ("pages/2_Reparameterization_Trick.py", {"mu": "0", "qmu": "0"}),
    ("pages/3_Estimator_Lab.py", {"f": "x", "mu": "0"}),
    ("pages/3_Estimator_Lab.py", {"f": "step", "mu": "0", "of": "log_sigma"}),
    ("pages/4_Variance_Landscape.py", {"f": "xk2", "sweep": "mu", "mu": "0"}),
    ("pages/5_Baselines_and_Control_Variates.py", {"f": "x2", "mu": "0"}),
    ("pages/5_Baselines_and_Control_Variates.py", {"f": "sin", "mu": "0"}),
    ("pages/3_Estimator_Lab.py", {"f": "x", "mu": "0", "of": "sigma", "view": "maths"}),
    ("pages/3_Estimator_Lab.py", {"f": "x3", "mu": "0", "view": "code"}),
    ("pages/2_Reparameterization_Trick.py", {"x": "0", "qmu": "0", "L": "50"}),
    ("pages/6_Discrete_Variables.py", {"th0": "0", "th1": "0"}),
    ("pages/6_Discrete_Variables.py", {"preset": "three_categories", "th0": "0", "th1": "0", "th2": "0"}),
    ("pages/6_Discrete_Variables.py", {"section": "gumbel", "tau": "0.01"}),
    ("pages/7_Policy_Gradients.py", {"c": "0", "noise": "0"}),
    ("pages/8_Weight_Noise_Flipout.py", {"ls": "-3"}),
]


def _shown_numbers(at) -> str:
    parts = [_all_text(at)]
    parts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    for frame in at.dataframe:
        parts.append(frame.value.astype(str).to_string())
    for code in at.code:
        parts.append(code.value)
    for chart in at.get("plotly_chart"):  # the words in a chart: titles, axis titles, annotations
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        parts += [str(a.get("text", "")) for a in layout.get("annotations", [])]
        parts += [str((layout.get(k) or {}).get("title", {}).get("text", "")) if isinstance(layout.get(k), dict)
                  else "" for k in layout if k.startswith(("xaxis", "yaxis", "title"))]
        if isinstance(layout.get("title"), dict):
            parts.append(str(layout["title"].get("text", "")))
    return " ".join(parts)


HYPHEN_MINUS = re.compile(r"(?<![\w)\]}.])-\d")


def _prose(at) -> list[str]:
    """The sentences, notices and metrics a reader reads, without LaTeX and code spans (formulas
    and code keep Python's "-")."""
    texts = [str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error)]
    texts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    return [re.sub(r"`[^`]*`", "", re.sub(r"\$[^$]*\$", "", t)) for t in texts]


@pytest.mark.parametrize("page, query", SETTINGS + [
    ("pages/5_Baselines_and_Control_Variates.py", {}), ("pages/7_Policy_Gradients.py", {}),
    ("pages/8_Weight_Noise_Flipout.py", {}), ("pages/2_Reparameterization_Trick.py", {}),
    ("pages/1_Why_Sampling_Blocks_Gradients.py", {}), ("pages/10_Tighter_Bounds_IWAE.py", {})])
def test_a_negative_number_in_prose_has_a_minus_sign(page, query):
    """One typography on every page: "−1.015", never "-1.015" beside "−0.97" (a hyphen is also
    where a line may break, splitting the sign from its number)."""
    at = open_page(page, **query)
    assert not at.exception, [e.message for e in at.exception]
    for text in _prose(at):
        found = HYPHEN_MINUS.search(text)
        assert not found, f"a hyphen for a minus: …{text[max(found.start() - 60, 0):found.end() + 30]}…"


@pytest.mark.parametrize("page, query", SETTINGS)
def test_no_number_on_screen_is_printed_for_a_machine(page, query):
    at = open_page(page, **query)
    assert not at.exception, [e.message for e in at.exception]
    shown = _shown_numbers(at)
    for pattern, what in UGLY:
        found = pattern.search(shown)
        assert not found, f"{what}: …{shown[max(found.start() - 80, 0):found.end() + 40]}…"
