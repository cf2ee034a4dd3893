"""A tighter bound, a worse encoder gradient: IWAE, STL and DReG on a Gaussian model in closed form
(Rainforth et al. 2018; Roeder et al. 2017; Tucker et al. 2018)."""
import math

import numpy as np
import streamlit as st
import ui  # before core and torch: on a cold server ui sends its early chart first

from core.iwae import BOUND_Z, D, ESTIMATORS, GROUPS, RESOLVE_Z, problem, snr_curves, snr_k1
from core.iwae_figures import draws_figure, readout, snr_figure

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
st.markdown("**Theorem 1** (Rainforth et al.), for M averaged bounds of K samples each:")
st.latex(r"\begin{aligned}\mathrm{SNR}_\theta&=O\big(\sqrt{MK}\big)\\ \mathrm{SNR}_\phi&=O\big(\sqrt{M/K}\big)\end{aligned}")

# In a lecture, before Reveal, the scene is about these controls and the box that hides the answer:
# the view is aligned on both together, so the scene bar covers none of the controls.
asking = st.container(key="scene_subject") if not ui.revealed() else st.container()
c1, c2 = asking.columns([1, 2])
sweep = c1.segmented_control("sweep", ["K", "M"], default="K", key="sweep", bind="query-params",
                             format_func={"K": "K (M = 1)", "M": "M (K = 1)"}.get,
                             help="K tightens the bound; M averages M independent bounds of K = 1 (more samples, "
                                  "the same ELBO).") or "K"
shown = c2.multiselect("estimators", list(ESTIMATORS), default=list(ESTIMATORS), format_func=ESTIMATORS.get,
                       key="est", bind="query-params",
                       help="IWAE: the bound's own pathwise gradient. STL: its score term dropped (log q's parameters "
                            "detached). DReG: the score term replaced by a second reparameterization, weights w̃²")
with asking:
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


def resolved(e, g, i) -> bool:
    return bool(curves.resolved[(e, g)][i])


DRAWN = f"{2 * curves.pairs:,}"


def snr_cell(e, g, i) -> str:
    """An SNR for the table: its value where resolved, its upper bound where not."""
    if resolved(e, g, i):
        return ui.fmt(snr_of(e, g, i), 3)
    return f"unresolved: < {ui.fmt(float(curves.upper[(e, g)][i]), 2)}"


def values(points) -> str:
    return ", ".join(f"{v:,}" for v in points)


def slope_cell(e, g) -> str:
    slope, se = curves.slope[(e, g)]
    fitted = curves.fitted[(e, g)]
    if slope is None:
        return "— (fewer than 2 resolved points)"
    text = f"{slope:+.2f} ± {se:.2f}" if se >= 0.005 else f"{slope:+.2f} ± <0.01"
    if len(fitted) < len(curves.grid):
        text += f" ({sweep} = {values(fitted)})"
    return ui.for_people(text)


def last_resolved(e, g) -> int:
    return max(i for i in range(len(curves.grid)) if resolved(e, g, i))


if not ui.revealed():
    with asking:
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
            theory = curves.theory[(e, g)]
            rows.append({"estimator": "all three (same θ-gradient)" if g == "theta" else ESTIMATORS[e],
                         "parameters": GROUPS[g],
                         f"SNR at {sweep} = {first}": snr_cell(e, g, 0),
                         f"SNR at {sweep} = {last}": snr_cell(e, g, -1),
                         "fitted slope ± SE": slope_cell(e, g),
                         "theory": ("none (biased for K > 1)" if theory is None
                                    else f"{'+' if theory > 0 else '−'}½" + (" (asymptotic)" if (e, g, sweep) == ("dreg", "phi", "K") else ""))})
    ui.table(rows, key="iwae_slopes")
    keys_shown = [(e, "phi") for e in shown] + [(shown[0], "theta")]
    gaps = [(k, i) for k in keys_shown for i in range(len(curves.grid)) if not resolved(*k, i)]
    caption = (f"Each point: {DRAWN} estimates ({curves.pairs:,} antithetic pairs ε, −ε, shared by the "
               "three estimators). Error bars and the slopes' SEs: a jackknife over 20 blocks of pairs. The slope is "
               f"least squares of log SNR on log {sweep} over {values(curves.grid)}")
    if gaps:
        caption += (f", resolved points only. Unresolved (▽, no line through it): the measured mean is within "
                    f"{RESOLVE_Z:g} standard errors of 0, or on the wrong side of it, so {DRAWN} draws cannot tell its SNR "
                    f"from 0; the triangle is where a mean {BOUND_Z:g} SE higher would put it, an upper bound.")
    else:
        caption += (f"; every point shown is resolved (its mean stands at least {RESOLVE_Z:g} standard errors from 0).")
    st.caption(caption + " Dash-dot lines: the theory's slope through the first point of the curve it is for, "
                         "in that curve's colour.")

    # Every comparative sentence from the numbers above.
    sentences = []
    th = shown[0]
    j = last_resolved(th, "theta")
    th0, th1 = snr_of(th, "theta", 0), snr_of(th, "theta", j)
    sentences.append(f"From {sweep} = {first} to {curves.grid[j]}, θ's SNR {'grows' if th1 > th0 else 'falls'} "
                     f"{ui.ratio(max(th1, th0) / min(th1, th0))}-fold (√{curves.grid[j]} = {math.sqrt(curves.grid[j]):.3g}).")
    for e in shown:
        j = last_resolved(e, "phi")
        p0, p1 = snr_of(e, "phi", 0), snr_of(e, "phi", j)
        if j > 0:
            sentence = (f"{ESTIMATORS[e]}: the encoder's SNR {'grows' if p1 > p0 else 'falls'} "
                        f"{ui.ratio(max(p0, p1) / min(p0, p1))}-fold from {sweep} = {first} to {curves.grid[j]}, "
                        f"from {ui.fmt(p0, 2)} to {ui.fmt(p1, 2)}")
        else:
            sentence = f"{ESTIMATORS[e]}: the encoder's SNR is {ui.fmt(p0, 2)} at {sweep} = {first}"
        missing = [i for i in range(len(curves.grid)) if not resolved(e, "phi", i)]
        if missing:
            sentence += (f"; at {sweep} = {values(curves.grid[i] for i in missing)} it is below what {DRAWN} draws "
                         f"resolve (under {', '.join(ui.fmt(float(curves.upper[(e, 'phi')][i]), 2) for i in missing)})")
        sentences.append(sentence + ".")
    if sweep == "K" and "dreg" in shown and "iwae" in shown and resolved("dreg", "phi", -1):
        if resolved("iwae", "phi", -1):
            ratio = snr_of("dreg", "phi", -1) / snr_of("iwae", "phi", -1)
            how = f"{ui.ratio(ratio)} times"
        else:
            ratio = snr_of("dreg", "phi", -1) / float(curves.upper[("iwae", "phi")][-1])
            how = f"more than {ui.ratio(ratio)} times"
        sentences.append(f"At K = {last}, DReG's encoder SNR is {how} IWAE's, for the same mean "
                         "gradient (DReG is unbiased for it).")
    if sweep == "K" and "stl" in shown:
        sentences.append("But for K > 1 STL's mean is not the bound's gradient (it tends to −1.5 r instead of 0, see the "
                         "closed forms below): it is biased, so its SNR is measured against another target.")
    if sweep == "M":
        fitted = [curves.slope[k][0] for k in keys_shown if curves.slope[k][0] is not None]
        lo_s, hi_s = ui.for_people(f"{min(fitted):.2f}"), ui.for_people(f"{max(fitted):.2f}")
        sentences.append("Averaging M bounds of K = 1 averages M independent ELBO gradients: the fitted slopes are "
                         + (f"all {lo_s}" if lo_s == hi_s else f"{lo_s} to {hi_s}")
                         + ", the encoder's included, where theory says ½.")
    st.markdown(" ".join(sentences))

    st.subheader("2 · The draws behind one point")
    prob = problem()
    r = prob.r
    # At K = 1 (or M = 1) every estimator is linear in ε, with noise c·I in b: the one-direction SNR
    # over the group SNR is then exactly this (c and the mean's scale cancel).
    factor = float(np.linalg.norm(r) * math.sqrt((prob.x ** 2).sum() + D) / np.linalg.norm(np.concatenate([prob.x * r, r])))
    ratios = [float(curves.mean_projection[e][j] / curves.projection[e][j].std(ddof=1)) / snr_of(e, "phi", j)
              for e in shown for j in range(len(curves.grid))
              if resolved(e, "phi", j) and readout(curves, e, j) != "≈ 0 (unresolved)"]
    lo, hi = float(f"{min(ratios):.2g}"), float(f"{max(ratios):.2g}")
    spread = f"{lo:g} times it" if lo == hi else f"{lo:g} to {hi:g} times it"
    st.caption(
        f"Each draw's encoder gradient, b's part, projected on the direction of its mean (−r, the same for the three "
        f"estimators by symmetry), divided by its standard deviation at that {sweep}: the spread is 1 at every {sweep}, "
        f"and the vertical line, mean / sd, is what is left of the signal. That is the SNR of one number, with one "
        f"coordinate's noise. The table's group SNR divides the length of the whole mean, all {2 * D} coordinates "
        f"(a and b), by the root of the variance summed over all {2 * D}: at {sweep} = 1, where both are closed forms, the "
        f"readout here is {factor:.2g} times it; measured, it is {spread} wherever both are resolved, so the two change "
        f"with {sweep} at about the same rate. "
        f"**Drag the slider inside the figure** to move {sweep}.")
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
$\epsilon$), and averages only the component along the mean's direction, known by symmetry ($\parallel -r$). Where that average is
within two standard errors of 0 (or below it), the point is marked unresolved and left out of the slope's fit.
"""
    )

ui.next_step()
