"""Estimator Lab: every gradient estimator on the same random numbers, against the exact gradient."""
import math

import numpy as np

import streamlit as st

import core
import ui
from core.figures import estimate_histograms, variance_vs_L
from core.snippets import estimators_snippet
from core.stats import summarize, variance_ratio

ui.page_setup("Estimator Lab")

st.title("Estimator Lab")
st.markdown(
    r"We want $\nabla_{\mu,\sigma}\,\mathbb{E}_{x\sim\mathcal N(\mu,\sigma^2)}[f(x)]$. "
    "Each estimator below turns L random samples into one estimate of that gradient. "
    "Draw many such estimates (replicates) and look at their spread: the dashed line is the "
    "**exact** gradient (computed by quadrature), the triangle is the **mean** of the estimates. "
    "An unbiased estimator's triangle sits on the dashed line; a good one is also narrow."
)

VARIANCE_LS = (1, 2, 4, 8, 16, 32, 64, 128)
VARIANCE_REPS = 500


def _table(results, param: str, exact: float, scale: float, reference: str | None, continuous: bool) -> list[dict]:
    rows = []
    summaries = {
        name: summarize((r.d_mu if param == "mu" else r.d_sigma) * scale, exact) for name, r in results.items()
    }
    ref_var = summaries[reference].variance if reference in summaries else float("nan")
    for name, r in results.items():
        s = summaries[name]
        verdict = "yes" if r.info.unbiased else "no (biased)"
        if name == "pathwise" and not continuous:
            verdict = "no: f jumps"
        rows.append({
            "estimator": r.info.label,
            "unbiased?": verdict,
            "mean": ui.fmt(s.mean),
            "exact": ui.fmt(exact),
            "bias ± SE": f"{ui.fmt(s.bias, 3)} ± {ui.fmt(s.se, 2)}",
            "bias / SE": ui.fmt(s.z, 3),
            "std": ui.fmt(s.std),
            "variance": ui.fmt(s.variance),
            "SNR": ui.fmt(s.snr, 3),
            "var ÷ pathwise": ui.fmt(variance_ratio(s.variance, ref_var), 3),
            "f-evals": r.f_evals,
            "time (ms)": round(r.seconds * 1e3, 1),
        })
    return rows


def _variance_by_L(objective, mu: float, sigma: float, seed: int, chosen: list[str], scale: float,
                   sigma_param: str) -> None:
    st.caption(
        f"Dots: measured variance of the L-sample estimate ({VARIANCE_REPS} replicates per L). Dashed: the exact "
        "single-sample variance divided by L (quadrature). Every estimator falls like 1/L, so more samples "
        "never close the gap between estimators: the ratios stay."
    )
    curves = ui.cached_variance_by_L(objective.text, mu, sigma, VARIANCE_LS, VARIANCE_REPS, seed, tuple(chosen))
    exact_var = ui.cached_exact_variances(objective.text, mu, sigma)
    col_vmu, col_vsigma = st.columns(2)
    with col_vmu:
        fig = variance_vs_L(list(VARIANCE_LS), {n: c[0] for n, c in curves.items()},
                            {n: v[0] for n, v in exact_var.items() if n in curves}, param="mu")
        ui.chart(fig, key="var_mu", alt="Log-log plot of variance of the mu-gradient estimates against L")
    with col_vsigma:
        s2 = scale * scale
        fig = variance_vs_L(list(VARIANCE_LS), {n: [v * s2 for v in c[1]] for n, c in curves.items()},
                            {n: v[1] * s2 for n, v in exact_var.items() if n in curves}, param=sigma_param)
        ui.chart(fig, key="var_sigma", alt="Log-log plot of variance of the sigma-gradient estimates against L")


@st.fragment
def lab() -> None:
    text, objective, error = ui.objective_controls(default="cos")
    mu, sigma = ui.gaussian_controls()
    L, reps = ui.sample_size_controls()
    col_seed, col_est, col_log = st.columns([3, 5, 1.6], vertical_alignment="bottom")
    with col_seed:
        seed = ui.seed_control()
    with col_est:
        chosen = st.multiselect(
            "Estimators", list(core.ESTIMATORS), default=list(core.ESTIMATORS), key="est",
            format_func=lambda n: core.ESTIMATORS[n].label, bind="query-params",
        )
    with col_log:
        log_sigma = st.toggle("∂/∂ log σ", key="logsig", bind="query-params",
                              help="Show the gradient with respect to log σ (= σ·∂/∂σ), the parameter a VAE's encoder outputs.")

    if error:
        st.error(f"**Formula not understood.** {ui.escape_markdown(error)}", icon=":material/edit:")
        return
    if not chosen:
        st.info("Pick at least one estimator.")
        return
    st.caption(f"f(x) = `{objective.text}`")

    usable = [n for n in chosen if L >= core.ESTIMATORS[n].min_L]
    if len(usable) < len(chosen):
        st.info("Leave-one-out needs at least two samples per estimate: set L ≥ 2 to see it.")
    if not usable:
        return
    reps_used = ui.live_reps(L, reps)

    exact = ui.cached_exact(objective.text, mu, sigma)
    g_mu, g_sigma = exact["gradient"]
    if not (math.isfinite(g_mu) and math.isfinite(g_sigma)):
        st.warning(
            "The exact gradient cannot be computed here: E[f(x)] does not exist or f is not finite "
            "for some x (for example 1/x near 0, sqrt or log of negative numbers, or exp(x²)). "
            "The estimates below have no true value to aim at.",
            icon=":material/warning:",
        )
    if not objective.continuous:
        pm_mu, pm_sigma = exact["pathwise_mean"]
        st.warning(
            "**f has jumps, so the pathwise estimator is wrong here.** Autograd differentiates f "
            "sample by sample and never sees a jump (the derivative of a step is 0 wherever it exists): "
            f"it averages to ∂μ ≈ {pm_mu:.4g} and ∂σ ≈ {pm_sigma:.4g}, while the true gradient is "
            f"({g_mu:.4g}, {g_sigma:.4g}). The score-function and measure-valued estimators only need "
            "values of f and stay unbiased.",
            icon=":material/warning:",
        )
    elif not objective.smooth:
        st.info("f has corners (abs, relu, min, max) but no jumps: the pathwise estimator is still unbiased.")

    results = ui.cached_estimate(objective.text, mu, sigma, L, reps_used, seed, tuple(usable))
    bad = [r.info.label for r in results.values()
           if not (np.isfinite(r.d_mu).all() and np.isfinite(r.d_sigma).all())]
    if bad:
        st.warning(
            "Some estimates are not finite (f overflowed or is undefined at some samples) for: "
            + ", ".join(bad) + ". They are left out of the histograms and the table.",
            icon=":material/warning:",
        )
    with np.errstate(all="ignore"):
        huge = [r.info.label for r in results.values() if r.info.label not in bad
                and not (np.isfinite(np.var(r.d_mu)) and np.isfinite(np.var(r.d_sigma)))]
    if huge:
        st.warning(
            "Some estimates are so large that their variance overflows double precision: "
            + ", ".join(huge) + ". Their spread is shown as ∞; try smaller values of f.",
            icon=":material/warning:",
        )

    scale = sigma if log_sigma else 1.0
    sigma_param = "log_sigma" if log_sigma else "sigma"
    g_sig_shown = g_sigma * scale
    reference = "pathwise" if "pathwise" in results else None

    col_mu, col_sigma = st.columns(2)
    with col_mu:
        st.subheader("Gradient with respect to μ")
        fig = estimate_histograms(results, "mu", g_mu)
        ui.chart(fig, key="hist_mu",
                        alt=f"Histograms of {len(results)} estimators' estimates of d/dmu, exact value {g_mu:.4g}")
    with col_sigma:
        st.subheader("Gradient with respect to " + ("log σ" if log_sigma else "σ"))
        fig = estimate_histograms(results, "sigma", g_sig_shown, scale=scale)
        fig.update_xaxes(title_text=f"estimate of {'∂/∂log σ' if log_sigma else '∂/∂σ'}   (dashed: exact = {g_sig_shown:.4g})")
        ui.chart(fig, key="hist_sigma",
                        alt=f"Histograms of estimates of the sigma gradient, exact value {g_sig_shown:.4g}")

    # Lazy tabs: only the open tab's content is computed and sent, so a slider move does
    # not pay for the variance-against-L study unless it is on screen.
    numbers, by_L = st.tabs(["The numbers", "Variance against L"], key="view", on_change="rerun",
                            bind="query-params")
    if numbers.open:
        with numbers:
            st.caption(
                f"{reps_used:,} replicates of L = {L}. **bias / SE** is the bias in standard errors: an unbiased "
                "estimator stays within about ±3; a biased one grows with the number of replicates. "
                "**SNR** = |mean| / std. **f-evals**: evaluations of f per estimate of one parameter."
            )
            tab_mu, tab_sigma = st.tabs(["∂/∂μ", "∂/∂log σ" if log_sigma else "∂/∂σ"])  # both cheap: not lazy
            with tab_mu:
                st.dataframe(_table(results, "mu", g_mu, 1.0, reference, objective.continuous), hide_index=True,
                             width="stretch")
            with tab_sigma:
                st.dataframe(_table(results, "sigma", g_sig_shown, scale, reference, objective.continuous),
                             hide_index=True, width="stretch")
    if by_L.open:
        with by_L:
            _variance_by_L(objective, mu, sigma, seed, chosen, scale, sigma_param)

    with st.expander("Reproduce the pathwise and score-function estimates in PyTorch"):
        st.code(estimators_snippet(objective.text, mu, sigma, L, seed)
                + f"# exact gradient: {g_mu:.6g}, {g_sigma:.6g}", language="python")


lab()

with st.expander("The estimators, in maths"):
    st.markdown(
        r"With $x=\mu+\sigma\epsilon$, $\epsilon\sim\mathcal N(0,1)$, each estimate averages L samples of:"
    )
    for info in core.ESTIMATORS.values():
        st.markdown(f"**{info.label}** — {info.summary}")
        st.latex(r"\widehat{\partial_\mu} = " + info.latex_mu + r",\qquad \widehat{\partial_\sigma} = " + info.latex_sigma)
    st.markdown(
        r"$W\sim$ Rayleigh(1), $M\sim$ double-sided Maxwell (density $m^2\phi(m)$), $U\sim\mathcal U(0,1)$; "
        r"$U M\sim\mathcal N(0,1)$, which couples the two ends of the σ-estimator."
    )

