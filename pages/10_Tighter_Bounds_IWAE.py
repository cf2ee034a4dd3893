"""A tighter bound, a worse encoder gradient: IWAE, STL and DReG on a Gaussian model in closed form
(Rainforth et al. 2018; Roeder et al. 2017; Tucker et al. 2018)."""
import math

import streamlit as st
import ui  # before core and torch: on a cold server ui sends its early chart first

from core.iwae import D, ESTIMATORS, GROUPS, problem, snr_curves, snr_k1
from core.iwae_figures import draws_figure, snr_figure

ui.page_setup("Tighter bounds: IWAE, STL, DReG", ":material/compress:")

st.title("A tighter bound, a worse encoder gradient")
st.markdown(
    f"The importance-weighted bound log (1/K) Σᵢ wᵢ, wᵢ = p(x, zᵢ)/q(zᵢ | x), gets tighter as K grows. Does its gradient "
    f"get better too? Here on Rainforth et al.'s Gaussian example, where every gradient is a formula: a latent "
    f"z ~ N(θ, I) in {D} dimensions, data x | z ~ N(z, I), and an encoder q(z | x) = N(Ax + b, ⅔ I) whose variance "
    "cannot match the posterior's ½. Data are drawn from the model (fixed seed), every parameter starts at its optimum "
    "and is nudged by N(0, 0.01²); the gradients are for one data point. The signal-to-noise ratio (SNR) of a group "
    "of gradients is the length of their mean over the root of their total variance: below 1, one estimate mostly "
    "says which way the noise went."
)
st.latex(r"\mathrm{IWAE}_K=\log\frac1K\sum_{i=1}^K w_i")
st.latex(r"\text{Theorem 1: }\ \mathrm{SNR}_\theta=O(\sqrt{MK}),\quad \mathrm{SNR}_\phi=O(\sqrt{M/K})")

c1, c2 = st.columns([1, 2])
sweep = c1.segmented_control("sweep", ["K", "M"], default="K", key="sweep", bind="query-params",
                             format_func={"K": "K (M = 1)", "M": "M (K = 1)"}.get,
                             help="K tightens the bound; M averages M independent bounds of K = 1 (more samples, "
                                  "the same ELBO).") or "K"
shown = c2.multiselect("estimators", list(ESTIMATORS), default=list(ESTIMATORS), format_func=ESTIMATORS.get,
                       key="est", bind="query-params",
                       help="IWAE: the bound's own pathwise gradient. STL: its score term dropped (log q's parameters "
                            "detached). DReG: the score term replaced by a second reparameterization, weights w̃²")
seed = ui.seed_control("seed")


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner="Drawing 8,000 gradient estimates at each setting…")
def curves_for(sweep: str, seed: int):
    return snr_curves(sweep, seed=seed)


if not shown:
    st.info("Pick at least one estimator.")
    ui.next_step()
    st.stop()
shown = [e for e in ESTIMATORS if e in shown]
curves = curves_for(sweep, int(seed))
first, last = curves.grid[0], curves.grid[-1]


def snr_of(e, g, i):
    return float(curves.snr[(e, g)][i])


if not ui.revealed():
    with ui.scene_subject():
        ui.hidden_answer("The SNR curves")
else:
    st.subheader(f"1 · Signal-to-noise ratio against {sweep}")
    with ui.scene_subject():
        ui.chart(snr_figure(curves, shown), key="iwae_snr",
                 alt=f"Log-log SNR of the theta and phi gradients against {sweep}, per estimator, with slope ±1/2 lines")
    rows = []
    for e in shown:
        for g in GROUPS:
            if g == "theta" and e != shown[0]:
                continue
            slope, se = curves.slope[(e, g)]
            theory = curves.theory[(e, g)]
            rows.append({"estimator": "all three (same θ-gradient)" if g == "theta" else ESTIMATORS[e],
                         "parameters": GROUPS[g],
                         f"SNR at {sweep} = {first}": ui.fmt(snr_of(e, g, 0), 3),
                         f"SNR at {sweep} = {last}": ui.fmt(snr_of(e, g, -1), 3),
                         "fitted slope ± SE": (f"{slope:+.2f} ± {se:.2f}" if se >= 0.005 else f"{slope:+.2f} ± <0.01").replace("-", "−"),
                         "theory": ("none (biased for K > 1)" if theory is None
                                    else f"{'+' if theory > 0 else '−'}½" + (" (asymptotic)" if (e, g, sweep) == ("dreg", "phi", "K") else ""))})
    ui.table(rows, key="iwae_slopes")
    st.caption(f"Each point: {2 * curves.pairs:,} estimates ({curves.pairs:,} antithetic pairs ε, −ε, shared by the "
               "three estimators). Error bars and the slopes' SEs: a jackknife over 20 blocks of pairs. The slope is "
               f"least squares of log SNR on log {sweep} over {', '.join(str(v) for v in curves.grid)}.")

    # Every comparative sentence from the numbers above.
    sentences = []
    th0, th1 = snr_of(shown[0], "theta", 0), snr_of(shown[0], "theta", -1)
    sentences.append(f"From {sweep} = {first} to {last}, θ's SNR {'grows' if th1 > th0 else 'falls'} "
                     f"{ui.ratio(max(th1, th0) / min(th1, th0))}-fold (√{last} = {math.sqrt(last):.0f}).")
    for e in shown:
        p0, p1 = snr_of(e, "phi", 0), snr_of(e, "phi", -1)
        if p0 > 0 and p1 > 0:
            sentences.append(f"{ESTIMATORS[e]}: the encoder's SNR {'grows' if p1 > p0 else 'falls'} "
                             f"{ui.ratio(max(p0, p1) / min(p0, p1))}-fold, from {ui.fmt(p0, 2)} to {ui.fmt(p1, 2)}.")
    if sweep == "K" and "dreg" in shown and "iwae" in shown:
        ratio = snr_of("dreg", "phi", -1) / snr_of("iwae", "phi", -1) if snr_of("iwae", "phi", -1) > 0 else math.inf
        sentences.append(f"At K = {last}, DReG's encoder SNR is {ui.ratio(ratio)} times IWAE's, for the same mean "
                         "gradient (DReG is unbiased for it).")
    if sweep == "K" and "stl" in shown:
        sentences.append("But for K > 1 STL's mean is not the bound's gradient (it tends to −1.5 r instead of 0, see the "
                         "closed forms below): it is biased, so its SNR is measured against another target.")
    if sweep == "M":
        fitted = [curves.slope[(e, "phi")][0] for e in shown] + [curves.slope[(shown[0], "theta")][0]]
        sentences.append(f"Averaging M bounds of K = 1 averages M independent ELBO gradients: the fitted slopes are "
                         f"{min(fitted):.2f} to {max(fitted):.2f}, the encoder's included, where theory says ½.")
    st.markdown(" ".join(sentences))

    st.subheader("2 · The draws behind one point")
    st.caption(f"Each draw's encoder gradient along the direction of its mean (b's part), divided by its standard "
               f"deviation at that {sweep}: the spread is 1 at every {sweep}, and the vertical line, mean / sd, is what "
               f"is left of the signal. **Drag the slider inside the figure** to move {sweep}.")
    ui.chart(draws_figure(curves, shown, start=len(curves.grid) - 1, presenter=ui.presenter_mode()), key="iwae_draws",
             sized=True, download=False,
             alt=f"Histograms of standardized encoder-gradient draws with their mean, with a slider over {sweep}")

k1_snr = snr_k1(problem(), "iwae")["phi"]
with st.expander("The closed forms, and how the SNR is measured"):
    st.markdown(
        r"""
With $z_i=m+s\epsilon_i$, $m=a\odot x+b$, $s^2=\tfrac23$, the posterior mean $c=(\theta+x)/2$ and $r=m-c$:
$\log w_i=-(s^2-\tfrac12)\lVert\epsilon_i\rVert^2-2s\,r\cdot\epsilon_i+\text{const}$, $\tilde w=\mathrm{softmax}(\log w)$,
$S_1=\sum_i\tilde w_i\epsilon_i$, $S_2=\sum_i\tilde w_i^2\epsilon_i$, $Q=\sum_i\tilde w_i^2$.

| | $\nabla_b$ (and $\nabla_a=x\odot\nabla_b$) |
|---|---|
| IWAE | $-2r-2s\,S_1$ |
| STL | $-2r-(2s-1/s)\,S_1$ |
| DReG | $-2r\,Q-(2s-1/s)\,S_2$ |

and $\nabla_\theta=(x-\theta)/2+r+s\,S_1$ for all three. As $K\to\infty$, $E[S_1]\to-r/s$, so IWAE's encoder gradient
has mean $O(r/K)$ and spread $O(1/\sqrt K)$. STL's mean tends to $-\tfrac32 r$ instead: biased. Each formula is
checked against torch autograd of the bound on the same draws (`tests/core/test_iwae.py`).

The mean of the encoder gradient is tiny against its spread: IWAE's encoder SNR is exactly """ + f"{k1_snr:.3f}" + r"""
at $K=1$ (a closed form there) and smaller beyond, which a few hundred independent draws cannot resolve: the SNR's
noise is about $1/\sqrt{\text{draws}}$. Each point therefore uses
antithetic pairs ($\epsilon$ and $-\epsilon$: their average cancels the part of the gradient that is odd in
$\epsilon$), and averages only the component along the mean's direction, known by symmetry ($\parallel r$).
"""
    )

ui.next_step()
