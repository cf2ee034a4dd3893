""""Why sampling blocks gradients": every number the page prints, checked over settings a student can
reach (hypothesis over the page's controls) against closed forms written here, never against
core.blocking, which the page uses to produce them.

For z ~ N(θ, 1) and the five f_θ of the picker, E[f], E[∂θ f] (naive autograd on a detached
sample) and ∇θ E[f] are elementary; the Monte Carlo diamonds are checked against them within five
standard errors of n samples, the per-sample spread by Gauss–Hermite quadrature. (The page's draws
use seed 0 at every setting, so the test is deterministic; over all 2,025 (f, θ, n) the largest
deviation is 2.5 standard errors.)"""
import math
import os
import re

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.app.conftest import open_page

PAGE = "pages/1_Why_Sampling_Blocks_Gradients.py"
EXAMPLES = 250 if os.environ.get("NIGHTLY") else 15
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
grid = lambda lo, hi, step: st.integers(0, int(round((hi - lo) / step))).map(lambda i: round(lo + i * step, 10))  # noqa: E731
NAMES = ["shift", "scale", "density_only", "sine", "double_shift"]  # the picker's options (?fz=)
NUMBER = r"([−-]?\d+(?:\.\d+)?)"


def closed_form(name: str, t: float) -> dict[str, float]:
    """E[f_θ(z)], ∇θ E[f] and E[∂θ f_θ(z)] (z held fixed) for z ~ N(θ, 1), by hand."""
    g = math.exp(-t * t / 2)
    return {
        "shift": dict(value=1 + t, true=1.0, naive=0.0),  # (z − θ)² + z
        "scale": dict(value=t * (1 + t * t), true=1 + 3 * t * t, naive=1 + t * t),  # θ z²
        "density_only": dict(value=1 + t * t, true=2 * t, naive=0.0),  # z²
        # E[sin(θz)] = sin(θ²) e^{−θ²/2};  E[z cos(θz)] = Re[(θ + iθ) e^{iθ² − θ²/2}]
        "sine": dict(value=math.sin(t * t) * g, true=(2 * t * math.cos(t * t) - t * math.sin(t * t)) * g,
                     naive=t * (math.cos(t * t) - math.sin(t * t)) * g),
        "double_shift": dict(value=1 + t * t, true=2 * t, naive=4 * t),  # (z − 2θ)²
    }[name]


def per_sample(name: str, t: float, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sample's gradient through .sample() (∂θ f at a fixed z) and through .rsample() (d/dθ of
    f_θ(θ + ε)), written out by hand."""
    z = t + eps
    return {
        "shift": (-2 * (z - t), np.ones_like(eps)),
        "scale": (z ** 2, z ** 2 + 2 * t * z),
        "density_only": (0 * eps, 2 * z),
        "sine": (z * np.cos(t * z), np.cos(t * z) * (2 * t + eps)),
        "double_shift": (-4 * (z - 2 * t), -2 * (eps - t)),
    }[name]


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


def _prose(at) -> list[str]:
    """What is printed for people: metrics, captions, notices (code blocks are exempt from the minus rule)."""
    texts = [f"{m.value} {m.delta or ''}" for m in at.metric]
    return texts + [str(e.value) for e in (*at.caption, *at.error, *at.success)]


def _facts(at) -> list[dict[str, str]]:
    """The five torch boxes' fact blocks, in order: {name: printed value}."""
    out = []
    for code in at.code:
        if "requires_grad = " in code.value:
            lines = code.value.splitlines()
            out.append({line.split(" = ")[0]: line.split(" = ")[-1] for line in lines if " = " in line and "→" not in line})
            out[-1]["text"] = code.value
    return out


def check_page(at, name, theta, n, mu, sigma):
    assert not at.exception, [e.message for e in at.exception]
    # No ASCII hyphen as a minus sign in anything printed for people.
    for text in _prose(at):
        assert not re.search(r"(?<![\w`])-\d", text), text

    # 1 · The decomposition: metrics against the closed forms (4 decimals).
    exact = closed_form(name, theta)
    missing = exact["true"] - exact["naive"]
    m = {mt.label: mt for mt in at.metric}
    assert abs(_number(m["true gradient ∇θ E[f]"].value) - exact["true"]) <= 6e-5
    naive = m["autograd on .sample() → E[∇θ f]"]
    assert abs(_number(naive.value) - exact["naive"]) <= 6e-5
    assert abs(_number(m["missing term ∫ f ∇θ p"].value) - missing) <= 6e-5
    if naive.delta.startswith("equal here"):
        assert abs(missing) < 1e-9, (name, theta, missing)  # "the missing term is 0 at this θ"
    else:
        wrong = _number(re.fullmatch(r"wrong by " + NUMBER, naive.delta).group(1))
        assert abs(wrong - (exact["naive"] - exact["true"])) <= 6e-5 and wrong != 0, naive.delta

    # The diamonds: each Monte Carlo estimate of n samples lies within 5 standard errors of what it estimates.
    caption = next(c.value for c in at.caption if c.value.startswith("Bars: exact"))
    found = re.search(rf"n = ([\d,]+) samples .*?`\.sample\(\)` gave {NUMBER} \(it estimates the naive term\), "
                      rf"through `\.rsample\(\)` gave {NUMBER} \(it estimates the true gradient\)", caption)
    assert found, caption
    assert int(found.group(1).replace(",", "")) == n
    eps, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    for shown, target, g in zip(found.groups()[1:], (exact["naive"], exact["true"]), per_sample(name, theta, eps)):
        assert abs((w * g).sum() - target) < 1e-9  # the per-sample gradient has the mean the caption says
        sd = math.sqrt(max((w * g * g).sum() - (w * g).sum() ** 2, 0.0))
        assert abs(_number(shown) - target) <= 5 * sd / math.sqrt(n) + 6e-5, (shown, target, sd, n)

    # 2 · What torch does, box by box: the facts against what the captions say they are.
    sample, reparam, rsample, silent, logprob = _facts(at)
    assert sample["requires_grad"] == "False" and sample["grad_fn"] == "None"
    assert "backward() → RuntimeError" in sample["text"]  # "backward() has nothing to follow"
    z, eps1 = _number(reparam["z"]), _number(reparam["ε"])
    assert _number(reparam["mu.grad"]) == 1.0  # ∂z/∂mu = 1
    assert reparam["sigma.grad"] == reparam["ε"]  # ∂z/∂sigma = ε
    assert abs(z - (mu + sigma * eps1)) <= 5e-5 * (1 + sigma)
    assert {k: v for k, v in rsample.items() if k != "text"} == {k: v for k, v in reparam.items() if k != "text"}  # "Same graph, same numbers"
    x = _number(silent["x"])
    assert abs(_number(silent["mu.grad"]) + 2 * (x - mu)) <= 2e-4  # ∂/∂mu of (x − mu)² + x with x detached
    assert _number(silent["true ∂E[loss]/∂mu"]) == 1.0  # E[(x − μ)² + x] = σ² + μ
    assert _number(logprob["mu.grad"]) == 0.0  # −ε²/2 − log σ − ½ log 2π: no mu
    assert abs(_number(logprob["sigma.grad"]) + 1 / sigma) <= 6e-5  # its σ-derivative, ε held fixed: −1/σ

    # 3 · The forum question's network: "about half" of randn's 256 entries are negative (binomial,
    # five standard deviations), and their NaN reaches the loss and both gradients; the fix is finite.
    (error,) = at.error
    nan, entries = map(int, re.match(r"(\d+) of (\d+) entries of z are NaN", error.value).groups())
    assert entries == 256 and abs(nan - entries / 2) <= 5 * math.sqrt(entries) / 2, error.value
    net = [mt.value for mt in at.metric[3:]]
    assert net[:3] == ["nan"] * 3 and all(math.isfinite(_number(v)) for v in net[3:]), net
    assert any("Every entry is finite" in s.value for s in at.success)


@SETTINGS
@given(name=st.sampled_from(NAMES), theta=grid(-2.0, 2.0, 0.05), n=st.sampled_from([10, 100, 1000, 10000, 100000]),
       mu=grid(-2.0, 2.0, 0.1), sigma=grid(0.1, 3.0, 0.1), seed=st.integers(0, 10_000), netseed=st.integers(0, 10_000))
# Negative gradients were printed with an ASCII hyphen ("wrong by -0.3059", "gave -3.98").
@example(name="density_only", theta=-2.0, n=10, mu=-2.0, sigma=0.1, seed=0, netseed=0)
@example(name="sine", theta=-1.5, n=10000, mu=0.5, sigma=1.2, seed=0, netseed=0)
def test_every_number_on_the_page_is_true(name, theta, n, mu, sigma, seed, netseed):
    at = open_page(PAGE, fz=name, theta=str(theta), n=str(n), mu=str(mu), sigma=str(sigma), seed=str(seed),
                   netseed=str(netseed))
    check_page(at, name, theta, n, mu, sigma)


def test_the_missing_term_is_zero_only_where_the_page_says_equal():
    """Over the θ grid: the metric says "equal here" exactly at the θ where ∫ f ∇θ p = 0 (θ = 0 for
    θz², z² and (z − 2θ)²; never for (z − θ)² + z; for sin(θz) at θ = 0 and θ² = π/2, off the grid)."""
    at = open_page(PAGE)
    for name in NAMES:
        at.selectbox(key="fz").set_value(name).run()
        for theta in (-2.0, -0.05, 0.0, 1.25, 1.3):
            at.slider(key="theta").set_value(theta).run()
            exact = closed_form(name, theta)
            equal = at.metric[1].delta.startswith("equal here")
            assert equal == (abs(exact["true"] - exact["naive"]) < 1e-9), (name, theta)
