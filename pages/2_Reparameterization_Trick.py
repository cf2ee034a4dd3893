"""The reparameterization trick (the Keras VAE example's sampling layer): ε → z, other families, and the L-sample ELBO."""

import numpy as np
import streamlit as st

import ui
from core.figures import COLORS, compact_spec, labelled_histograms
from core.scrub import Stage, anchored_grid, reparam_scrub_figure
from core.snippets import elbo_snippet
from core.reparam import FAMILIES, discrete_rsample_message, elbo_estimates, elbo_exact, eps_to_z, family_checks

ui.page_setup("The reparameterization trick", ":material/swap_horiz:")

st.title("The reparameterization trick")
st.markdown(
    r"Move the randomness *out* of the parameters: draw $\epsilon\sim\mathcal N(0,1)$, which does not depend "
    r"on anything, and compute $z=\mu+\sigma\epsilon$. Now $z$ is an ordinary differentiable function of $\mu$ "
    r"and $\sigma$, with $\partial z/\partial\mu = 1$ and $\partial z/\partial\sigma = \epsilon$, and"
)
st.latex(r"\nabla_{\mu,\sigma}\,\mathbb E_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]"
         r"=\mathbb E_{\epsilon\sim\mathcal N(0,1)}\big[\nabla_{\mu,\sigma} f(\mu+\sigma\epsilon)\big].")
st.markdown("This is the `Sampling` layer of the Keras VAE example: `z_mean + exp(0.5 * z_log_var) * epsilon`.")


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def _map_figure(mu: float, sigma: float, n: int, seed: int, presenter: bool) -> dict:
    """The ε → z picture with every frame of both sliders, as a plain dict (building its
    110 frames as Plotly objects took most of this page's rerun)."""
    eps, _ = eps_to_z(mu, sigma, n, seed)
    return compact_spec(reparam_scrub_figure(eps, mu, sigma, anchored_grid(mu, -3.0, 3.0, 0.1), anchored_grid(sigma, 0.1, 2.5, 0.05),
                                stage=Stage(presenter)).to_dict())


def _map_csv(eps, z) -> str:
    return "eps,z\n" + "".join(f"{e!r},{v!r}\n" for e, v in zip(eps, z))


@st.fragment
def mapping_section() -> None:
    st.subheader("1 · The same ε, moved by μ and stretched by σ")
    c1, c2, c3, c4 = st.columns(4)
    mu = c1.slider("μ", -3.0, 3.0, 1.0, 0.1, key="mu", bind="query-params")
    sigma = c2.slider("σ", 0.1, 2.5, 1.5, 0.05, key="sigma", bind="query-params")
    n = c3.select_slider("draws", [20, 50, 100, 200, 500], value=100, key="n", bind="query-params")
    seed = c4.number_input("seed", 0, 10_000, 0, key="seed", bind="query-params")
    eps, z = eps_to_z(float(mu), float(sigma), int(n), int(seed))
    with ui.scene_subject():
        if not ui.revealed():  # a lecture scene asks first
            ui.hidden_answer("The picture")
            return
        spec = _map_figure(float(mu), float(sigma), int(n), int(seed), ui.presenter_mode())
        ui.chart(ui.PrebuiltFigure(spec), key="map", sized=True, csv=lambda: _map_csv(eps, z),
                 alt="The same epsilon draws mapped to z = mu + sigma * epsilon, with traced lines and two sliders")
    st.caption(
        "**Drag the two sliders inside the figure**: the left one moves μ, the right one stretches σ (each starts "
        "at the value set above, and the other is held there). Bottom: the draws ε, which never change. "
        "Top: z = μ + σε. Grey lines follow the first 12 draws. Each z moves by exactly 1 per unit of μ and by ε per "
        "unit of σ: that per-draw derivative is what backprop uses."
    )
    st.caption(f"The first draws at μ = {ui.for_people(f'{mu:g}')}, σ = {sigma:g} (the values set above):")
    rows = [{"draw": i + 1, "ε": round(float(e), 4), "z = μ + σε": round(float(v), 4), "∂z/∂μ": 1.0,
             "∂z/∂σ = ε": round(float(e), 4)} for i, (e, v) in enumerate(zip(eps[:6], z[:6]))]
    ui.table(rows, key="families")


mapping_section()

st.subheader("2 · Beyond the Gaussian: what `rsample` does")
st.markdown(
    "A family can be reparameterized when a draw can be written as a differentiable function of its "
    "parameters and parameter-free noise. Below, torch's `rsample()` is differentiated by autograd, and the "
    "result is checked against the method's own formula on the same five draws."
)
checks = family_checks(n=5, seed=0)
ui.table(
    [{
        "family": c.family, "method": c.method, "θ": f"{c.parameter} = {c.theta:g}",
        "first draw z": round(float(c.z[0]), 4),
        "dz/dθ by autograd": round(float(c.dz_autograd[0]), 5),
        "dz/dθ by the formula": round(float(c.dz_formula[0]), 5),
        "max relative difference (5 draws)": ui.for_people(f"{c.max_rel_error:.1e}") if c.max_rel_error >= 1e-13
        else "≈ 0 (rounding)",
    } for c in checks],
    key="rsample_checks",
    first=["family", "dz/dθ by autograd", "dz/dθ by the formula", "max relative difference (5 draws)"],
)
with st.expander("The formulas"):
    for name, fam in FAMILIES.items():
        st.markdown(f"**{name}** — {fam.method}")
        st.latex(fam.formula)
    st.markdown(
        "Implicit reparameterization (Gamma, Beta) differentiates the equation F_θ(z) = U at fixed U. The "
        "formula column computes ∂F/∂θ by central differences of the CDF (torch's `gammainc`, or quadrature "
        "for the Beta); torch's own implicit gradients are accurate approximations, hence differences of "
        + ", ".join(f"{ui.for_people(f'{c.max_rel_error:.0e}')} for the {c.family.split('(')[0]}" for c in checks
                    if c.method == "implicit")
        + " in the table, where the closed forms agree to rounding."
    )
st.markdown(
    f"**Discrete families have no `rsample`.** `Bernoulli(0.3).has_rsample` is "
    f"`{__import__('torch').distributions.Bernoulli.has_rsample}`, and calling `rsample()` raises "
    f"`{discrete_rsample_message()}`. A draw of 0 or 1 cannot move by a small amount when the probability "
    "does, so there is no ∂z/∂p: use the score function, or a relaxation such as Gumbel-softmax."
)


@st.fragment
def elbo_section() -> None:
    st.subheader("3 · The Keras VAE example's ELBO estimator, with the KL term in closed form")
    st.markdown(
        r"Model: $p(z)=\mathcal N(0,1)$, $p(x\mid z)=\mathcal N(x; z, s^2)$, one observation $x$; "
        r"encoder $q(z)=\mathcal N(\mu,\sigma^2)$. The estimator of Kingma & Welling:"
    )
    st.latex(r"\widetilde{\mathcal L}=-D_{KL}\big(q\,\|\,p\big)+\frac1L\sum_{l=1}^{L}\log p(x\mid z^{(l)}),"
             r"\qquad z^{(l)}=\mu+\sigma\epsilon^{(l)},\quad D_{KL}=\tfrac12(\sigma^2+\mu^2-1-\log\sigma^2).")
    c1, c2, c3, c4, c5 = st.columns(5)
    x = c1.slider("observed x", -3.0, 3.0, 1.0, 0.1, key="x", bind="query-params")
    s = c2.slider("likelihood s", 0.2, 2.0, 0.5, 0.05, key="s", bind="query-params")
    mu = c3.slider("encoder μ", -3.0, 3.0, 0.3, 0.05, key="qmu", bind="query-params")
    sigma = c4.slider("encoder σ", 0.05, 2.0, 0.8, 0.05, key="qsigma", bind="query-params")
    L = c5.select_slider("L", [1, 2, 5, 10, 50], value=1, key="L", bind="query-params")
    value, g_mu, g_sigma = elbo_exact(x, s, mu, sigma)
    elbo, d_mu, d_sigma = elbo_estimates(x, s, mu, sigma, L=int(L), reps=4000, seed=0)
    m1, m2, m3 = st.columns(3)
    m1.metric("ELBO (exact)", ui.for_people(ui.fixed(value)), delta="mean of estimates " + ui.for_people(ui.fixed(elbo.mean())), delta_color="off", delta_arrow="off")
    m2.metric("∂ELBO/∂μ (exact)", ui.for_people(ui.fixed(g_mu)), delta="mean of estimates " + ui.for_people(ui.fixed(d_mu.mean())), delta_color="off", delta_arrow="off")
    m3.metric("∂ELBO/∂σ (exact)", ui.for_people(ui.fixed(g_sigma)), delta="mean of estimates " + ui.for_people(ui.fixed(d_sigma.mean())), delta_color="off", delta_arrow="off")
    left, right = st.columns(2)
    with left:
        ui.chart(labelled_histograms([("pathwise, L-sample ELBO", COLORS["pathwise"], d_mu)], g_mu,
                                            ui.for_people(f"∂ELBO/∂μ estimates (dashed: exact {g_mu:.4g})")),
                        key="elbo_mu", alt="Histogram of ELBO gradient estimates for mu")
    with right:
        ui.chart(labelled_histograms([("pathwise, L-sample ELBO", COLORS["pathwise"], d_sigma)], g_sigma,
                                            ui.for_people(f"∂ELBO/∂σ estimates (dashed: exact {g_sigma:.4g})")),
                        key="elbo_sigma", alt="Histogram of ELBO gradient estimates for sigma")
    st.caption("4,000 independent L-sample estimates, each one backward pass through z = μ + σε.")
    size = max(abs(g_mu), abs(g_sigma), float(np.std(d_mu)), float(np.std(d_sigma)))
    with st.expander("Reproduce this in PyTorch"):
        st.code(elbo_snippet(x, s, mu, sigma, int(L))
                + f"# exact: ELBO = {ui.fmt(value, 5)}, dmu = {ui.fmt(g_mu, 4, scale=size)}, "
                f"dsigma = {ui.fmt(g_sigma, 4, scale=size)}", language="python", wrap_lines=True)


elbo_section()


@st.fragment
def failure_section() -> None:
    st.subheader("4 · Where pathwise fails: a step")
    st.markdown(
        "If f jumps, f(μ + σε) is flat almost everywhere: every per-sample derivative is 0, so the pathwise "
        "estimate is exactly 0 however many samples you take — while moving μ does change E[f]. The score "
        "function needs only values of f and gets it right."
    )
    c = st.slider("threshold c in f(z) = 1[z > c]", -2.0, 2.0, 0.5, 0.1, key="c", bind="query-params")
    text = f"x > {c:g}" if c >= 0 else f"x > ({c:g})"
    exact = ui.cached_exact(text, 0.0, 1.0)["gradient"][0]
    res = ui.cached_estimate(text, 0.0, 1.0, 10, 4000, 0, ("pathwise", "score"))
    a, b, d = st.columns(3)
    a.metric("exact ∂E[f]/∂μ at μ = 0, σ = 1", f"{exact:.4f}")
    b.metric("pathwise (mean of 4,000 estimates, L = 10)", ui.for_people(ui.fixed(res['pathwise'].d_mu.mean())))
    d.metric("score function (same)", ui.for_people(ui.fixed(res['score'].d_mu.mean())),
             delta=f"± {res['score'].d_mu.std() / np.sqrt(res['score'].d_mu.size):.4f} (SE)", delta_color="off", delta_arrow="off")


failure_section()

ui.next_step()
