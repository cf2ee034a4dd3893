"""Weight noise in a Bayesian layer: one shared sample, local reparameterization, Flipout."""
import numpy as np
import streamlit as st

import ui
from core.figures import WEIGHT_NOISE_COLORS, batch_variance_figure, training_curves
from core.snippets import flipout_snippet
from core.weight_noise import REPS_AT_1, WEIGHT_NOISE_METHODS, time_per_estimate, train_methods, variance_by_batch

ui.page_setup("Weight noise and Flipout", ":material/blur_on:")

st.title("Weight noise: local reparameterization and Flipout")
st.markdown(
    r"In a Bayesian layer the *weights* are random, $W=\mu+\sigma\circ\epsilon$. Drawing one $W$ per minibatch is "
    r"cheap, but then every example in the batch sees the same noise: averaging over more examples does not "
    "average it away. Flipout (Wen et al., 2018) is one fix. Here a Bayesian linear regression (8 inputs, 512 examples "
    r"made on the spot) with $q(w)=\mathcal N(\mu,\mathrm{diag}\,\sigma^2)$, and four pathwise estimators of the "
    "minibatch gradient — all unbiased, as the tests check against the closed form."
)
st.markdown(
    "- **one shared sample**: $W=\\mu+\\sigma\\circ\\epsilon$ for the whole minibatch;\n"
    "- **local reparameterization**: sample each pre-activation, $a_i=x_i\\cdot\\mu+\\sqrt{\\sum_j x_{ij}^2\\sigma_j^2}\\,\\zeta_i$;\n"
    "- **Flipout**: one shared $\\Delta=\\sigma\\circ\\epsilon$, decorrelated per example by random signs, "
    "$a_i=x_i\\cdot\\mu+((x_i\\circ s_i)\\cdot\\Delta)\\,r_i$;\n"
    "- **independent weights per example**: a fresh $W_i$ for every example (the expensive reference)."
)

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def variances(log_sigma: float, seed: int):
    """Variances by batch size, and this server's time per estimate at B = 128 (median of 5)."""
    return (variance_by_batch(BATCHES, reps=400, seed=seed, log_sigma=log_sigma),
            time_per_estimate(128, seed=seed, log_sigma=log_sigma))


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def training(batch: int, seed: int):
    return train_methods(steps=300, batch=batch, lr=0.05, seed=seed)


@st.fragment
def page() -> None:
    c1, c2, c3 = st.columns(3)
    log_sigma = c1.slider("log σ of every weight (how noisy q is)", -3.0, 1.0, -1.0, 0.25, key="ls", bind="query-params")
    batch = c2.select_slider("training batch size", [4, 16, 64], value=16, key="batch", bind="query-params")
    seed = c3.number_input("seed", 0, 10_000, 0, key="seed", bind="query-params")
    v, timing = variances(float(log_sigma), int(seed))
    st.subheader("1 · Gradient variance against the batch size")
    ui.chart(batch_variance_figure(BATCHES, v, WEIGHT_NOISE_METHODS), key="bvar",
                    alt="Log-log plot of minibatch gradient variance against batch size for four weight-noise estimators")
    st.caption(
        f"400 independent minibatches per batch size ({400 * REPS_AT_1:,} at B = 1, where one example's gradient is "
        "heavy-tailed), μ = 0; total variance summed over the 8 coordinates, with ±1 "
        "standard error. At B = 1 the estimators that coincide there share one pooled point (all four for μ; all but "
        "local reparameterization for log σ). " + _fall_sentence(v) + " " + _floor_sentence(v)
    )
    i128 = BATCHES.index(128)
    rows = []
    for m, label in WEIGHT_NOISE_METHODS.items():
        draws = {"shared": "D", "local": "B", "flipout": "D + B·(D + 1) signs", "independent": "B·D"}[m]
        rows.append({"method": label, "random numbers per minibatch": draws,
                     "variance ∂μ at B = 128": f"{ui.fmt(v[m]['mu'][i128], 3)} ± {ui.fmt(v[m]['mu_se'][i128], 2)}",
                     "variance ∂log σ at B = 128":
                         f"{ui.fmt(v[m]['log_sigma'][i128], 3)} ± {ui.fmt(v[m]['log_sigma_se'][i128], 2)}",
                     "this server's time per estimate at B = 128 (µs, median of 5)": round(1e6 * timing[m], 1)})
    ui.table(rows, key="batch_table", first=["method", "variance ∂μ at B = 128", "variance ∂log σ at B = 128"])
    with st.expander("Reproduce a Flipout gradient in PyTorch"):
        st.code(flipout_snippet(seed=int(seed)), language="python", wrap_lines=True)
    st.subheader("2 · A short training run")
    h = training(int(batch), int(seed))
    ui.chart(training_curves(h, WEIGHT_NOISE_METHODS, WEIGHT_NOISE_COLORS, "ELBO on all 512 examples (exact)",
                             zoom_after=ZOOM_AFTER),
             key="train", alt="ELBO during training with each weight-noise estimator")
    start = float(next(iter(h.values()))[0])
    st.caption(f"Adam, learning rate 0.05, batch {batch}, the same minibatches for every method. Every run starts at "
               f"ELBO {ui.for_people(ui.fmt(start, 4))}; the axis shows the range after step {ZOOM_AFTER}, where the runs "
               "differ. Final ELBO: " + "; ".join(f"{WEIGHT_NOISE_METHODS[m]} {ui.for_people(ui.fixed(x[-1], 1))}"
                                                  for m, x in h.items())
               + " (one run each: compare a few seeds before reading an order into them).")


ZOOM_AFTER = 20  # the training chart's y-axis covers the steps after this one


def _fall_sentence(v: dict) -> str:
    """How far each variance falls from the smallest batch to the largest, against 1/B, from the
    chart's own numbers, and which of them have hit a floor at this setting."""
    first, last = 0, len(BATCHES) - 1
    ideal = BATCHES[last] / BATCHES[first]
    parts, floors, worst, why = [], [], 0.0, {}
    for key, name in (("mu", "∂μ"), ("log_sigma", "∂log σ")):
        falls = []
        for m, label in WEIGHT_NOISE_METHODS.items():
            a, b = v[m][key][first], v[m][key][last]
            rel = float(np.hypot(v[m][f"{key}_se"][first] / a, v[m][f"{key}_se"][last] / b))
            worst = max(worst, rel)
            falls.append(f"{label} {a / b:.3g}×")
            if a / b * (1 + 2 * rel) < ideal / 4:  # clearly short of 1/B, beyond its own uncertainty
                floors.append(f"{label} ({name})")
                why[m] = True
        parts.append(f"for {name}, " + ", ".join(falls))
    text = (f"From B = {BATCHES[first]} to B = {BATCHES[last]}, 1/B would divide a variance by {ideal:g}; here it "
            f"falls " + "; ".join(parts) + f" (the least certain of these ±{100 * worst:.0f}%). ")
    if floors:
        text += ("Falling less than a quarter as far means a floor, noise the whole batch shares: "
                 + ", ".join(floors) + ".")
        if why.get("shared"):
            text += " One shared sample gives every example the same weight noise."
        if why.get("flipout"):
            text += (" Flipout's log σ-gradient shares the terms quadratic in the perturbation (Δ_j², which random "
                     "signs cannot flip).")
        text += " A floor shows once the weight noise outweighs the noise of picking the minibatch."
    else:
        text += ("None falls less than a quarter as far at this log σ: the weight noise is small next to the noise of "
                 "picking the minibatch. Raise log σ and the shared sample's floor appears.")
    return text


def _floor_sentence(v: dict) -> str:
    """Where Flipout's log σ-gradient ends up against one shared sample, from the table's own numbers."""
    i = BATCHES.index(max(BATCHES))
    flip, shared = float(v["flipout"]["log_sigma"][i]), float(v["shared"]["log_sigma"][i])
    if not (np.isfinite(flip) and np.isfinite(shared)) or shared <= 0:
        return ""
    ratio = flip / shared
    rel = float(np.hypot(v["flipout"]["log_sigma_se"][i] / flip, v["shared"]["log_sigma_se"][i] / shared))
    return (f"At B = {max(BATCHES)}, Flipout's log σ-gradient variance is {ui.fmt(flip, 3)} against {ui.fmt(shared, 3)} "
            f"with one shared sample ({ratio:.2g}× that, ±{100 * rel:.0f}%).")


page()

ui.next_step()
