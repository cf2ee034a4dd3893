"""Policy gradients: every comparative or quantitative sentence and number, over settings a student
can reach (hypothesis over the page's controls), against computations written here — exact
enumeration with torch autograd for the score, closed forms for the two-step variances, and a
descent-lemma bound for the surrogate loss — never against core.policy, which the page uses."""
import itertools
import json
import math
import os
import re

import numpy as np
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.app.conftest import open_page
from tests.app.test_random_widgets import _array

PAGE = "pages/7_Policy_Gradients.py"
MEANS = np.array([0.2, 0.5, 0.8, 0.4, 0.6])  # the page's arm means (printed on it)
EXAMPLES = 250 if os.environ.get("NIGHTLY") else 8
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
grid = lambda lo, hi, step: st.integers(0, int(round((hi - lo) / step))).map(lambda i: round(lo + i * step, 10))  # noqa: E731
NUMBER = r"[−-]?\d+(?:\.\d+)?"


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", "").rstrip("%"))


def _traces(at) -> dict[str, np.ndarray]:
    out = {}
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            if trace.get("name"):
                out[trace["name"]] = {k: _array(trace[k]) for k in ("x", "y") if trace.get(k) is not None}
                if trace.get("error_y", {}).get("array") is not None:
                    out[trace["name"]]["error"] = _array(trace["error_y"]["array"])
    return out


# ---- 1 · The bandit at θ = 0: exact enumeration, the score by torch autograd ----------------------
def bandit_truth(offset: float, noise: float) -> dict[str, float]:
    """At θ = 0 (π uniform): ‖∇E[R]‖ and the total variance of one REINFORCE sample (R − b)∇log π(a),
    with and without b = E[R], by enumerating the 5 arms (noise enters through E[(R − b)²])."""
    theta = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    pi = torch.softmax(theta, 0).detach().numpy()
    scores = []
    for a in range(5):
        (g,) = torch.autograd.grad(torch.log_softmax(theta, 0)[a], theta)
        scores.append(g.numpy())
    rewards = MEANS + offset
    gradient = sum(pi[a] * rewards[a] * scores[a] for a in range(5))  # E[R ∇log π]

    def total_variance(b):
        second = sum(pi[a] * ((rewards[a] - b) ** 2 + noise ** 2) * scores[a] @ scores[a] for a in range(5))
        return second - gradient @ gradient  # a baseline does not move the mean: E[∇log π] = 0

    return dict(norm=float(np.linalg.norm(gradient)), none=total_variance(0.0),
                mean=total_variance(float(pi @ rewards)))


# ---- 2 · Two steps: the variances by hand -------------------------------------------------------
def two_step_truth(theta: float, c: float) -> dict[str, float]:
    """Enumerate the four outcomes (a₁, a₂); and, as a second check, the closed form of
    Var(full) − Var(reward-to-go) = E[(s₂r₁)²] + 2E[g_R s₂ r₁]
                                  = pq(p(1 + c)² + qc²) + 2(pq)² + 2pq(q + c)(p + c) ≥ 0 for c ≥ 0."""
    p = 1 / (1 + math.exp(-theta))
    q = 1 - p
    moments = np.zeros((2, 3))  # per estimator: E[1], E[g], E[g²]
    for a1, a2 in itertools.product((0, 1), repeat=2):
        prob = (p if a1 else q) * (p if a2 else q)
        r1, r2, s1, s2 = a1 + c, a2 + c, a1 - p, a2 - p
        for i, g in enumerate(((r1 + r2) * (s1 + s2), s1 * (r1 + r2) + s2 * r2)):
            moments[i] += prob * np.array([1.0, g, g * g])
    (_, mf, sf), (_, mr, sr) = moments
    gap = p * q * (p * (1 + c) ** 2 + q * c * c) + 2 * (p * q) ** 2 + 2 * p * q * (q + c) * (p + c)
    assert abs(mf - 2 * p * q) < 1e-12 and abs(mr - 2 * p * q) < 1e-12  # "Both are unbiased"
    assert abs((sf - mf ** 2) - (sr - mr ** 2) - gap) < 1e-9
    return dict(full=sf - mf ** 2, rtg=sr - mr ** 2)


# ---- 3 · The surrogate on its fixed batch -------------------------------------------------------
def surrogate_run(actions, rewards, steps=200, lr=0.5):
    """Gradient descent on L(θ) = −mean_i r_i log π_θ(a_i), by hand: ∇L = W π − w, with w_k the
    batch's reward on arm k over its size and W = Σ w_k. Returns the loss and π·m along the way."""
    w = np.zeros(5)
    np.add.at(w, actions, rewards)
    w /= len(actions)
    theta, loss, reward = np.zeros(5), [], []
    for _ in range(steps + 1):
        log_pi = theta - theta.max() - math.log(np.exp(theta - theta.max()).sum())
        loss.append(-(w * log_pi).sum())
        reward.append(float(np.exp(log_pi) @ MEANS))
        theta = theta - lr * (w.sum() * np.exp(log_pi) - w)
    return np.array(loss), np.array(reward)


def check_page(at, c, noise, c2):
    assert not at.exception, [e.message for e in at.exception]
    printed = [str(e.value) for e in at.caption] + [f"{m.value} {m.delta or ''}" for m in at.metric]
    for text in printed:  # numbers for people carry a minus sign, not a hyphen
        assert not re.search(r"(?<![\w`])-\d", text), text

    # 1 · Metrics: the gradient (the same at every offset: "the offset changes nothing about … the true
    # gradient"), the two variances, and the delta's ratio.
    truth = bandit_truth(c, noise)
    assert abs(truth["norm"] - bandit_truth(0.0, 0.0)["norm"]) < 1e-12
    m = {mt.label: mt for mt in at.metric}
    assert abs(_number(m["‖∇E[R]‖ at the start (exact)"].value) - truth["norm"]) <= 6e-5
    none = _number(m["total variance of one sample, no baseline"].value)
    assert none == float(f"{truth['none']:.4g}")
    with_mean = m["… with b = E[R] (what the moving average learns)"]
    assert _number(with_mean.value) == float(f"{truth['mean']:.4g}")
    assert abs(_number(with_mean.delta.split(" of it")[0]) / 100 - truth["mean"] / truth["none"]) <= 6e-5

    # 2 · Reward-to-go: the exact curves are the enumeration's, lower everywhere (the section's title),
    # and each Monte Carlo point is within 5 of its standard errors of the exact variance.
    traces = _traces(at)
    full, rtg = traces["full return (exact)"], traces["reward-to-go (exact)"]
    exact = [two_step_truth(float(t), c2) for t in full["x"]]
    assert np.allclose(full["y"], [e["full"] for e in exact], rtol=1e-9, atol=1e-12)
    assert np.allclose(rtg["y"], [e["rtg"] for e in exact], rtol=1e-9, atol=1e-12)
    assert all(e["rtg"] < e["full"] for e in exact)
    for name, key in (("full return (Monte Carlo ±2 SE)", "full"), ("reward-to-go (Monte Carlo ±2 SE)", "rtg")):
        dots = traces[name]
        want = np.array([two_step_truth(float(t), c2)[key] for t in dots["x"]])
        assert np.all(np.abs(dots["y"] - want) <= 5 * dots["error"] / 2), (name, dots["y"], want)

    # 3 · The surrogate "keeps falling": on the chart at every step, and provably. Its Hessian is
    # mean(r)·(diag π − ππᵀ), whose eigenvalues lie in [0, ½]·mean(r): concave for mean(r) ≤ 0, where every
    # gradient step lowers it, and ½ mean(r)-smooth otherwise, where a step of 0.5 lowers it while
    # 0.5 < 2 / (½ mean(r)), i.e. mean(r) < 8.
    caption = next(e.value for e in at.caption if e.value.startswith("The batch"))
    found = re.search(rf"actions \[([\d, ]+)\], rewards \[([^\]]+)\]\. Loss ({NUMBER}) → ({NUMBER}); "
                      rf"expected reward ({NUMBER}) → ({NUMBER}) \(best arm: 0\.8\)", caption)
    assert found, caption
    actions = np.array([int(a) for a in found.group(1).split(",")])
    rewards = np.array([_number(r) for r in found.group(2).split(", ")])
    loss0, loss1, reward0, reward1 = (_number(found.group(i)) for i in range(3, 7))
    assert rewards.mean() < 8 - 0.005
    chart_loss, chart_reward = traces["surrogate loss"]["y"], traces["expected reward"]["y"]
    assert np.all(np.diff(chart_loss) < 0), "the chart's loss rises somewhere"
    assert abs(loss0 - math.log(5) * rewards.mean()) <= 0.005 * math.log(5) + 6e-4  # θ = 0: −mean(r)·log ⅕
    assert reward0 == MEANS.mean()
    # The whole run again from the printed batch. Its rewards are rounded to 2 decimals: the tolerance is
    # three times the largest change that rounding-sized nudges of them (±0.005) make to the run.
    mine_loss, mine_reward = surrogate_run(actions, rewards)
    assert np.all(np.diff(mine_loss) < 0)
    nudged = [surrogate_run(actions, rewards + 0.005 * np.sign(np.random.default_rng(i).standard_normal(len(rewards))))
              for i in range(8)]
    loss_tol = 3 * max(np.max(np.abs(n[0] - mine_loss)) for n in nudged) + 1e-3
    reward_tol = 3 * max(np.max(np.abs(n[1] - mine_reward)) for n in nudged) + 1e-3
    assert np.max(np.abs(chart_loss - mine_loss)) <= loss_tol
    assert np.max(np.abs(chart_reward - mine_reward)) <= reward_tol
    assert (loss0, loss1, reward0, reward1) == tuple(round(float(v), 3) for v in
                                                     (chart_loss[0], chart_loss[-1], chart_reward[0], chart_reward[-1]))


@SETTINGS
@given(c=grid(0.0, 10.0, 0.5), noise=grid(0.0, 3.0, 0.1), batch=st.sampled_from([2, 4, 8, 16, 32]),
       lr=st.sampled_from([0.05, 0.1, 0.2, 0.5, 1.0]), seed=st.integers(0, 10_000), c2=grid(0.0, 5.0, 0.25),
       sseed=st.integers(0, 10_000))
# Negative rewards and losses were printed with a hyphen: "rewards [1.45, -0.66, …]. Loss -0.151 → -9.604".
@example(c=5.0, noise=1.0, batch=8, lr=0.2, seed=0, c2=1.0, sseed=2)
def test_every_number_on_the_page_is_true(c, noise, batch, lr, seed, c2, sseed):
    at = open_page(PAGE, c=str(c), noise=str(noise), batch=str(batch), lr=str(lr), seed=str(seed), c2=str(c2),
                   sseed=str(sseed))
    check_page(at, c, noise, c2)


def test_the_expected_reward_can_drop_while_the_loss_falls():
    """The sentence's "can": at the default batch seed (2) the expected reward goes 0.500 → 0.200."""
    at = open_page(PAGE, sseed="2")
    traces = _traces(at)
    assert traces["expected reward"]["y"][-1] < traces["expected reward"]["y"][0] - 0.1
    assert np.all(np.diff(traces["surrogate loss"]["y"]) < 0)


def test_reward_to_go_is_lower_over_the_whole_offset_slider():
    """The closed-form gap, over c ∈ 0 … 5 (step 0.25) and θ ∈ −4 … 4: never 0 or below."""
    for c in np.arange(0.0, 5.0 + 1e-9, 0.25):
        for theta in np.linspace(-4.0, 4.0, 81):
            v = two_step_truth(float(theta), float(c))
            assert v["rtg"] < v["full"], (c, theta)
