"""Baselines and control variates: the variance parabola, baselines that go wrong, and policy-gradient language."""
import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import ui  # before core and torch: on a cold server ui sends its early chart first
import core
from core.baselines import (BIAS_FACTOR, SEQUENTIAL, baseline_moments, constant_baseline, delta_method_cv,
                            sequential_baselines)
from core.figures import COLORS, baseline_parabola, compact_spec, labelled_histograms
from core.snippets import baseline_snippet
from core.stats import summarize, variance_and_se

ui.page_setup("Baselines and control variates", ":material/tune:")

st.title("Baselines and control variates")
st.markdown(
    r"The score function's noise comes from multiplying *values* of f by a zero-mean score $s(x)=\nabla\log p(x)$. "
    r"Subtracting a baseline $b$ changes nothing on average, because $\mathbb E[s]=0$ — as long as $b$ does not "
    r"depend on the sample it multiplies:"
)
st.latex(r"\mathbb E\big[(f(x)-b)\,s(x)\big]=\nabla_\theta\mathbb E[f],\qquad "
         r"\mathrm{Var}(b)=\mathbb E[f^2s^2]-2b\,\mathbb E[fs^2]+b^2\,\mathbb E[s^2]-g^2,\qquad "
         r"b^*=\frac{\mathbb E[f s^2]}{\mathbb E[s^2]}.")

def _best_baseline_sentence(b_star: tuple[float, float], f_mean: float, scale: float) -> str:
    """Whether the best baselines for μ and σ differ, and whether E[f] is one of them, from the
    numbers shown above (equal means equal to 4 significant digits, as printed)."""
    same = lambda a, b: abs(a - b) <= 5e-5 * max(abs(a), abs(b), 1e-12 * scale)  # noqa: E731
    text = ("Here the best baseline is the same for μ and σ" if same(*b_star)
            else "Here the best baseline differs between μ and σ")
    hits = [name for name, v in (("μ", b_star[0]), ("σ", b_star[1])) if same(v, f_mean)]
    if len(hits) == 2:
        return text + ", and E[f] is it."
    if hits:
        return text + f", and E[f] is the best only for {hits[0]}."
    return text + ", and neither is E[f]."


REPS = 20_000


def _z(summary) -> str:
    return "no spread" if summary.std == 0 else f"bias/SE = {ui.for_people(f'{summary.z:+.2f}')}"



@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def moments(text: str, mu: float, sigma: float):
    return baseline_moments(text, mu, sigma)


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def at_baseline(text: str, mu: float, sigma: float, b: float, L: int, seed: int):
    return constant_baseline(text, mu, sigma, b, L=L, reps=REPS, seed=seed)


STREAM_LABELS = dict({k: v[0] for k, v in SEQUENTIAL.items()}, delta="delta-method control variate (optimal c)")
STREAM_UNBIASED = dict({k: v[1] for k, v in SEQUENTIAL.items()}, delta=True)
STREAM_COLORS = dict(none=COLORS["score"], batch_mean=COLORS["score_batchmean"], ema_before="#BB2F75",
                     ema_after=COLORS["mvd"], loo=COLORS["score_loo"], delta=COLORS["score_optimal"])


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def streams(text: str, mu: float, sigma: float, L: int, beta: float, seed: int) -> dict:
    """What section 2 shows of each baseline's μ-gradient estimates: their summary against the
    exact gradient and their histograms (a few kB, where the 50,000 estimates per baseline
    took over 2 MB a cache entry)."""
    raw = {name: d_mu for name, (d_mu, _) in
           sequential_baselines(text, mu, sigma, L=L, steps=250, chains=200, beta=beta, seed=seed).items()}
    exact = float(moments(text, mu, sigma).g[0])
    exact = ui.zeroed(exact, max(abs(exact), float(np.std(raw["none"]))))  # 2μ at μ = 0 read −1.567e-17
    if core.parse_objective(text).smooth:
        raw["delta"] = delta_method_cv(text, mu, sigma, L=L, reps=40_000, seed=seed)[0]
    figure = labelled_histograms([(STREAM_LABELS[n], STREAM_COLORS[n], raw[n]) for n in raw], exact,
                                 f"estimates of ∂/∂μ (dashed: exact = {exact:.4g})")
    return {"summaries": {n: summarize(a, exact) for n, a in raw.items()},
            "none_var": float(np.var(raw["none"])), "figure": compact_spec(figure.to_dict())}


@st.fragment
def page() -> None:
    text, objective, error = ui.objective_controls(default="xk2")
    mu, sigma = ui.gaussian_controls()
    if error:
        st.error(f"**Formula not understood.** {ui.escape_markdown(error)}", icon=":material/edit:")
        return
    m = moments(objective.text, mu, sigma)
    if not all(map(math.isfinite, (*m.g, *m.ff_ss, *m.f_ss))):
        st.warning("**No trustworthy exact values for this f here:** its moments do not exist or overflow (f grows "
                   "too fast, or is undefined for some x), or the quadrature could not pin them down. Pick another "
                   "f, μ or σ.", icon=":material/warning:")
        return
    st.code(f"f(x) = {objective.text}", language=None)  # the user's text, shown literally (never as markdown)

    st.subheader("1 · A constant baseline: the mean stays, the variance traces a parabola")
    # b* is a ratio of two quadratures: where it is 0 by symmetry it comes out as ±1e-17. Values
    # below 1e-10 of the scale of f are 0 up to rounding, and are shown as 0.
    scale = max(abs(m.b_star[0]), abs(m.b_star[1]), abs(m.f_mean), 1.0)
    b_star = tuple(0.0 if abs(v) <= 1e-10 * scale else float(v) for v in m.b_star)
    span = scale * 2.5
    lo, hi = -span, span
    col_b, col_L, col_seed = st.columns([4, 2, 3], vertical_alignment="bottom")
    with col_b:
        b = st.slider("baseline b", float(round(lo, 1)), float(round(hi, 1)), 0.0, float(round(span / 100, 3)) or 0.01,
                      key="b", bind="query-params")
    with col_L:
        L = st.select_slider("L", [1, 2, 5, 10], value=1, key="L", bind="query-params")
    with col_seed:
        seed = ui.seed_control()
    d_mu, d_sigma = at_baseline(objective.text, mu, sigma, float(b), int(L), int(seed))
    v_mu, se_mu = variance_and_se(d_mu)
    v_sigma, se_sigma = variance_and_se(d_sigma)
    bs = np.linspace(lo, hi, 201)
    ui.chart(
        baseline_parabola(bs, m.variance(bs, 0) / L, m.variance(bs, 1) / L, b_star, m.f_mean, float(b),
                          mc=(v_mu, se_mu, v_sigma, se_sigma)),
        key="parabola", alt="Variance of the score-function estimate against the baseline b",
    )
    s_mu, s_sigma = summarize(d_mu, m.g[0]), summarize(d_sigma, m.g[1])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("b*_μ (best for ∂μ)", ui.for_people(f"{b_star[0]:.4g}"))
    c2.metric("b*_σ (best for ∂σ)", ui.for_people(f"{b_star[1]:.4g}"))
    c3.metric("E[f]", ui.for_people(f"{0.0 if abs(m.f_mean) <= 1e-10 * scale else m.f_mean:.4g}"))
    # Both variances are 0 for an f that is 0 (sin(kx) at k = 0): no ratio then.
    v_mean, v_zero = (ui.zeroed(float(m.variance(v, 0)), m.ff_ss[0]) for v in (m.f_mean, 0.0))
    c4.metric("variance at b = E[f] vs b = 0 (∂μ)", ui.for_people(f"{v_mean / v_zero:.3g}") + "×" if v_zero > 0 else "—",
              help="Above 1 means the 'obvious' baseline E[f] makes the μ-gradient noisier than no baseline"
                   + ("." if v_zero > 0 else "; here both variances are 0."))
    st.markdown(
        f"At b = {ui.for_people(f'{b:g}')}: mean of {REPS:,} estimates ∂μ = {ui.for_people(ui.fmt(s_mu.mean, scale=s_mu.std))} "
        f"(exact {ui.for_people(ui.fmt(m.g[0], scale=scale))}, {_z(s_mu)}); "
        f"∂σ = {ui.for_people(ui.fmt(s_sigma.mean, scale=s_sigma.std))} (exact {ui.for_people(ui.fmt(m.g[1], scale=scale))}, "
        f"{_z(s_sigma)}). "
        "Move b: the means stay on the exact gradient while the variance moves along the parabola. "
        + _best_baseline_sentence(b_star, 0.0 if abs(m.f_mean) <= 1e-10 * scale else m.f_mean, scale)
    )

    st.subheader("2 · Baselines that see their own sample, and ones that do not" if ui.revealed()
                 else "2 · Baselines in a stream of minibatches")  # a lecture's question asks which are biased
    st.markdown(
        "A stream of minibatches of L samples, as in training, with the parameters held fixed so the true "
        "gradient is known." + (" A baseline that has seen the sample it multiplies is biased." if ui.revealed() else "")
    )
    col_L2, col_beta = st.columns(2)
    L2 = col_L2.select_slider("L (samples per minibatch)", [2, 3, 5, 10, 20], value=3, key="L2", bind="query-params")
    beta = col_beta.slider("moving-average decay β", 0.0, 0.99, 0.8, 0.01, key="beta", bind="query-params")
    with ui.scene_subject():
        if not ui.revealed():  # a lecture scene asks first
            ui.hidden_answer("The table and the histograms")
            return
        results = streams(objective.text, mu, sigma, int(L2), float(beta), int(seed))
        none_var = results["none_var"]
        # As for b* above: a variance below (1e-10 of the gradient's scale)² is 0 up to rounding (the
        # delta method is exact for a quadratic f, and its estimates differ only in the last bits).
        tiny = (1e-10 * max(math.sqrt(none_var), abs(m.g[0]), 1.0)) ** 2
        size = max(abs(m.g[0]), math.sqrt(none_var))  # of the table's means: a residue below it reads 0
        # A biased baseline scales the gradient: where the gradient is 0 (f = 0, sin(kx) at k = 0) it is unbiased.
        flat = all(ui.zeroed(g, scale) == 0 for g in m.g)
        rows = []
        for name, s in results["summaries"].items():
            factor = BIAS_FACTOR(name, int(L2), float(beta)) if name in SEQUENTIAL else 1.0
            variance = 0.0 if s.variance <= tiny else s.variance
            rows.append({
                "baseline": STREAM_LABELS[name],
                "unbiased?": "yes" if STREAM_UNBIASED[name] else
                             f"yes here: the gradient is 0 (mean × {factor:.3g})" if flat else f"no (mean × {factor:.3g})",
                "mean ∂μ": ui.for_people(ui.fmt(s.mean, scale=size)), "exact ∂μ": ui.for_people(ui.fmt(m.g[0], scale=size)),
                # a spread that is 0 up to rounding has no bias/SE (the delta method's 1e-13 gave 13,400)
                "bias / SE": "no spread" if variance == 0 else ui.for_people(ui.fmt(s.z, 3)),
                "variance": ui.for_people(ui.fmt(variance)),
                "variance ÷ no baseline": ui.for_people(ui.fmt(variance / none_var if none_var > 0 else math.nan, 3)),
            })
        ui.table(rows, key="streams_table")
    if "delta" not in results["summaries"]:
        st.caption("The delta-method control variate needs a twice-differentiable f; it is left out for this f.")
    ui.chart(go.Figure(results["figure"]), key="baseline_hist",
             alt="Histograms of the mu-gradient estimates with each baseline")
    st.caption(
        "Moving average before use: b_t = β·b_{t−1} + (1−β)·mean(f in batch t), then used on batch t — the batch "
        "leaks into its own baseline, and the mean shrinks by (1 − (1−β)/L). After use: batch t is estimated with "
        "b_{t−1}, then b is updated — unbiased. Delta method: h(x) = f(μ) + f′(μ)(x−μ) + ½f″(μ)(x−μ)², whose "
        "gradient is known exactly, subtracted with the coefficient c* = Cov(f s, h s)/Var(h s) estimated on "
        "independent samples."
    )

    with st.expander("Reproduce this in PyTorch (REINFORCE with a baseline)"):
        st.code(baseline_snippet(objective.text, mu, sigma, float(b), int(L), int(seed))
                + f"# exact: {ui.fmt(m.g[0], scale=scale)}, {ui.fmt(m.g[1], scale=scale)}", language="python", wrap_lines=True)


page()

if ui.revealed():  # the table says which baseline biases the gradient: a lecture's answer
    st.subheader("3 · The same thing in policy-gradient language")
    st.markdown(
        """
| here | in reinforcement learning |
|---|---|
| x ~ p_θ | an action (or trajectory) sampled from the policy π_θ |
| f(x) | the return R |
| s(x) = ∇θ log p_θ(x) | ∇θ log π_θ(a \\| s) |
| (f − b)·s | REINFORCE with a baseline |
| b | a value-function baseline V(s) — fitted on *other* episodes, or it biases the gradient |
| f − b | the advantage A = R − V(s) |
| leave-one-out | RLOO: each sample's baseline is the mean return of the other samples |
"""
    )

ui.next_step()
