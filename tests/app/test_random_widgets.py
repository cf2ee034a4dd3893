"""Pages driven by random widget values (hypothesis over AppTest): no exception, and no
non-finite number drawn without a visible warning."""
import base64
import json
import os
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.presets import PRESETS
from tests.app.conftest import open_page

# NIGHTLY=1 (with `-m nightly` or not) runs ten times as many examples of every page.
EXAMPLES = 250 if os.environ.get("NIGHTLY") else 25
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _array(value):
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return np.zeros(0)


# A number printed as infinite or not-a-number (issue 25: say "no spread", "—" or what is true instead).
NOT_A_NUMBER = re.compile(r"(?<![\w\\])(?:nan|NaN|inf|Infinity)(?!\w)|∞")


def _texts(at) -> list[str]:
    """Every sentence, caption, notice and metric, and every cell of every table on the page."""
    texts = [str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.success, *at.metric)]
    for frame in at.dataframe:
        texts += [str(v) for v in frame.value.to_numpy().ravel()] + [str(c) for c in frame.value.columns]
    return texts


def check(at, nan_is_the_lesson: bool = False) -> None:
    """``nan_is_the_lesson``: a page that shows PyTorch's own NaN on purpose ("Why sampling blocks
    gradients": x_var.sqrt() of a negative draw); ∞ is still refused there."""
    assert not at.exception, [e.message for e in at.exception]
    # Outside warnings (which may say that a spread overflowed), no text shows ∞ or nan; LaTeX's
    # \infty and words such as "info" do not count.
    pattern = re.compile("∞") if nan_is_the_lesson else NOT_A_NUMBER
    shown = [t for t in _texts(at) if pattern.search(t.replace("\\infty", ""))]
    assert not shown, shown[:3]
    warned = bool(at.warning) or bool(at.error)
    for el in at.get("plotly_chart"):
        fig = json.loads(el.proto.spec)
        for trace in fig["data"]:
            for axis in ("x", "y"):
                if trace.get(axis) is not None:
                    values = _array(trace[axis])
                    if values.size and not np.isfinite(values[~np.isnan(values)] if values.dtype.kind == "f" else values).all():
                        assert warned, f"non-finite {axis} in {trace.get('name')} without a warning"


grid = lambda lo, hi, step: st.integers(0, int(round((hi - lo) / step))).map(lambda i: round(lo + i * step, 10))  # noqa: E731


@SETTINGS
@given(preset=st.sampled_from([p.key for p in PRESETS.values() if p.key != "custom"]),
       mu=grid(-3.0, 3.0, 0.05), sigma=grid(0.05, 3.0, 0.05), k=grid(-5.0, 5.0, 0.1),
       L=st.sampled_from([1, 2, 3, 5, 10, 100, 1000]), reps=st.sampled_from([100, 1000, 10000]),
       seed=st.integers(0, 2**31 - 1), axis=st.sampled_from(["mu", "sigma", "L"]))
def test_estimator_lab(preset, mu, sigma, k, L, reps, seed, axis):
    check(open_page("pages/3_Estimator_Lab.py", f=preset, mu=str(mu), sigma=str(sigma), k=str(k), L=str(L),
                    reps=str(reps), seed=str(seed), axis=axis))


# Formulas that overflow, are undefined for some x, or have no expectation.
HOSTILE = ["exp(1000*x)", "exp(x**2)", "1/x", "log(x)", "sqrt(x)", "x**1000", "0*x", "tan(x)", "exp(exp(x))",
           "step(x) * 1e308 * 10", "(x > 0) / x"]


@SETTINGS
@given(formula=st.sampled_from(HOSTILE), mu=grid(-3.0, 3.0, 0.05), sigma=st.sampled_from([0.05, 0.1, 1.0, 3.0]),
       L=st.sampled_from([1, 2, 1000]), view=st.sampled_from(["numbers", "by_L"]),
       axis=st.sampled_from(["mu", "sigma", "L"]), of=st.sampled_from(["mu", "sigma", "log_sigma"]))
def test_estimator_lab_hostile_formulas(formula, mu, sigma, L, view, axis, of):
    at = open_page("pages/3_Estimator_Lab.py", f="custom", expr=formula, mu=str(mu), sigma=str(sigma),
                   L=str(L), reps="1000", view=view, axis=axis, of=of)
    check(at)


@SETTINGS
@given(th0=grid(-4.0, 4.0, 0.1), th1=grid(-4.0, 4.0, 0.1), tau=st.sampled_from([0.01, 0.1, 1.0, 10.0]),
       L=st.sampled_from([1, 2, 50]), preset=st.integers(0, 2),
       section=st.sampled_from(["tau", "race", "gumbel"]))
def test_discrete_variables(th0, th1, tau, L, preset, section):
    from core.discrete import DISCRETE_PRESETS
    check(open_page("pages/6_Discrete_Variables.py", preset=list(DISCRETE_PRESETS)[preset], th0=str(th0),
                    th1=str(th1), tau=str(tau), L=str(L), section=section))


@SETTINGS
@given(preset=st.sampled_from(["x", "x2", "step", "expk", "cos", "abs"]), mu=grid(-3.0, 3.0, 0.05),
       sigma=grid(0.05, 3.0, 0.05), L=st.sampled_from([1, 10]), L2=st.sampled_from([2, 20]),
       beta=grid(0.0, 0.99, 0.01))
def test_baselines(preset, mu, sigma, L, L2, beta):
    check(open_page("pages/5_Baselines_and_Control_Variates.py", f=preset, mu=str(mu), sigma=str(sigma), L=str(L),
                    L2=str(L2), beta=str(beta)))


@SETTINGS
@given(function=st.sampled_from(["xk2", "gauss", "cos"]), sweep=st.sampled_from(["k", "mu", "sigma"]),
       mu=grid(-3.0, 3.0, 0.1), sigma=grid(0.1, 3.0, 0.05), k=grid(0.1, 10.0, 0.1))
def test_variance_landscape(function, sweep, mu, sigma, k):
    check(open_page("pages/4_Variance_Landscape.py", f=function, sweep=sweep, mu=str(mu), sigma=str(sigma), k=str(k)))


@SETTINGS
@given(data=st.data(), theta=grid(-2.0, 2.0, 0.05), n=st.sampled_from([10, 100000]), mu=grid(-2.0, 2.0, 0.1),
       sigma=grid(0.1, 3.0, 0.1), seed=st.integers(0, 10_000), netseed=st.integers(0, 10_000))
def test_why_sampling_blocks(data, theta, n, mu, sigma, seed, netseed):
    from core.blocking import DECOMPOSITIONS
    at = open_page("pages/1_Why_Sampling_Blocks_Gradients.py", theta=str(theta), n=str(n), mu=str(mu),
                   sigma=str(sigma), seed=str(seed), netseed=str(netseed))
    check(at, nan_is_the_lesson=True)
    check(at.selectbox(key="fz").set_value(data.draw(st.sampled_from(list(DECOMPOSITIONS)))).run(), nan_is_the_lesson=True)


@SETTINGS
@given(mu=grid(-3.0, 3.0, 0.1), sigma=grid(0.1, 2.5, 0.05), n=st.sampled_from([20, 500]), seed=st.integers(0, 10_000),
       x=grid(-3.0, 3.0, 0.1), s=grid(0.2, 2.0, 0.05), qmu=grid(-3.0, 3.0, 0.05), qsigma=grid(0.05, 2.0, 0.05),
       L=st.sampled_from([1, 2, 50]), c=grid(-2.0, 2.0, 0.1))
def test_reparameterization_trick(mu, sigma, n, seed, x, s, qmu, qsigma, L, c):
    check(open_page("pages/2_Reparameterization_Trick.py", mu=str(mu), sigma=str(sigma), n=str(n), seed=str(seed),
                    x=str(x), s=str(s), qmu=str(qmu), qsigma=str(qsigma), L=str(L), c=str(c)))


@SETTINGS
@given(c=grid(0.0, 10.0, 0.5), noise=grid(0.0, 3.0, 0.1), batch=st.sampled_from([2, 32]),
       lr=st.sampled_from([0.05, 1.0]), seed=st.integers(0, 10_000), c2=grid(0.0, 5.0, 0.25),
       sseed=st.integers(0, 10_000))
def test_policy_gradients(c, noise, batch, lr, seed, c2, sseed):
    check(open_page("pages/7_Policy_Gradients.py", c=str(c), noise=str(noise), batch=str(batch), lr=str(lr),
                    seed=str(seed), c2=str(c2), sseed=str(sseed)))


@SETTINGS
@given(ls=grid(-3.0, 1.0, 0.25), batch=st.sampled_from([4, 16, 64]), seed=st.integers(0, 10_000))
def test_weight_noise(ls, batch, seed):
    check(open_page("pages/8_Weight_Noise_Flipout.py", ls=str(ls), batch=str(batch), seed=str(seed)))


@settings(SETTINGS, max_examples=6)
@given(latent=st.sampled_from([2, 4, 8]), L=st.sampled_from([1, 2, 5]), seed=st.integers(0, 10_000),
       z0=grid(-3.0, 3.0, 0.1))
def test_vae_trained_live(latent, L, seed, z0):
    at = open_page("pages/9_VAE_Trained_Live.py", d=str(latent), L=str(L), steps="50", seed=str(seed), z0=str(z0))
    check(at)
    at.button(key="train").click()
    check(at.run(timeout=300))


@SETTINGS
@given(mu=grid(-2.0, 2.0, 0.1))
def test_home(mu):
    from tests.app.conftest import ENTRY
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["home_mu"] = str(mu)
    check(at.run())


# Sequences of widget changes on one session: extreme values, then preset switches (a value
# kept from one preset may be outside the next one's range), never an exception.
def _lab_action():
    return st.one_of(
        st.tuples(st.just("selectbox"), st.just("f"), st.sampled_from([k for k in PRESETS if k != "custom"])),
        st.tuples(st.just("slider"), st.sampled_from(["k", "mu", "sigma"]), st.sampled_from(["min", "max", "mid"])),
        st.tuples(st.just("select_slider"), st.sampled_from(["L", "reps"]), st.sampled_from(["min", "max"])),
    )


def _apply(at, action):
    kind, key, what = action
    if kind == "selectbox":
        return at.selectbox(key=key).set_value(what).run()
    widgets = getattr(at, kind)
    matches = [w for w in widgets if w.key == key]
    if not matches:  # a control this preset does not show (k of x^2)
        return at
    w = matches[0]
    if kind == "slider":
        value = w.min if what == "min" else w.max if what == "max" else (w.min + w.max) / 2
        return w.set_value(round(value, 2)).run()
    options = list(w.options)
    return w.set_value(type(w.value)(options[0] if what == "min" else options[-1])).run()


@settings(SETTINGS, max_examples=12)
@given(actions=st.lists(_lab_action(), min_size=3, max_size=8))
def test_estimator_lab_sequences(actions):
    at = open_page("pages/3_Estimator_Lab.py")
    for action in actions:
        at = _apply(at, action)
        check(at)


@settings(SETTINGS, max_examples=12)
@given(actions=st.lists(st.one_of(
    st.tuples(st.just("selectbox"), st.just("f"), st.sampled_from(["x", "x2", "x3", "expk", "cos", "abs", "step"])),
    st.tuples(st.just("slider"), st.sampled_from(["b", "mu", "sigma", "k"]), st.sampled_from(["min", "max", "mid"]))),
    min_size=3, max_size=8))
def test_baselines_sequences(actions):
    at = open_page("pages/5_Baselines_and_Control_Variates.py")
    for action in actions:
        at = _apply(at, action)
        check(at)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sweep=st.sampled_from(["K", "M"]), est=st.lists(st.sampled_from(["iwae", "stl", "dreg"]), unique=True),
       seed=st.integers(0, 12))
def test_tighter_bounds(sweep, est, seed):
    at = open_page("pages/10_Tighter_Bounds_IWAE.py", sweep=sweep, seed=str(seed), **({"est": est} if est else {}))
    check(at)
