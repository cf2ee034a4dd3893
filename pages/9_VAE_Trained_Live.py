"""A VAE trained live on the 8×8 digits (the Keras VAE example), with the encoder's gradient from different estimators."""
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st
import ui  # before core and torch: on a cold server ui sends its early chart first
import torch

from core.figures import latent_scatter, vae_curves
from core.snippets import vae_snippet
from core.vae import IWAE_ESTIMATORS, VAE_ESTIMATORS, decode_mean, encode_mean, image_grid, load_digits, train_vae

ui.page_setup("VAE, trained live", ":material/neurology:")

st.title("A VAE, trained live")
st.markdown(
    "A common question — how does backprop get through a VAE's sampling layer? — answered by training. The encoder "
    "outputs μ and log σ²; the sampling layer is the Keras VAE example's `Sampling` layer in PyTorch, "
    "`z = z_mean + exp(0.5 * z_log_var) * eps`; the decoder gives Bernoulli probabilities for the 64 pixels of the "
    "8×8 handwritten digits (1,797 images shipped with the app; UCI, via scikit-learn). The loss is the Keras example's "
    "L-sample ELBO with the KL term in closed form. Only the encoder's gradient estimator changes between runs: "
    "same data, same seed, same decoder updates."
)
# Three short lines: one long formula would run past a phone's screen with no cue.
st.latex(r"\begin{aligned}\widetilde{\mathcal L}(x)&=\frac1L\sum_{l=1}^{L}\log p(x\mid z^{(l)})\\"
         r"&\quad-D_{KL}\big(q(z\mid x)\,\|\,\mathcal N(0,I)\big),\\"
         r"z^{(l)}&=\mu(x)+e^{\frac12\log\sigma^2(x)}\epsilon^{(l)}\end{aligned}")

MAX_RUNS = 12

with st.expander("Reproduce the sampling layer and both encoder gradients in PyTorch"):
    st.code(vae_snippet(), language="python", wrap_lines=True)


@st.cache_resource(show_spinner=False)
def run_store() -> dict:
    """Trained runs shared by every session, keyed by their settings (at most MAX_RUNS, oldest dropped)."""
    return {"lock": threading.Lock(), "train": threading.Lock(), "runs": OrderedDict()}


@st.cache_resource(show_spinner=False)
def digits():
    return load_digits()


def cached(key):
    store = run_store()
    with store["lock"]:
        return store["runs"].get(key)


def train_shared(key, estimator: str, wait, **settings):
    """Train one run, one at a time on the whole server: a class pressing Train together
    queues instead of running 30 trainings on two cores, which would stall every
    slider; a run someone else just trained with the same settings is reused.
    ``wait()`` is called while queued: its Streamlit call lets Stop interrupt the wait."""
    store = run_store()
    ui.leave_run_gate()  # a long wait or a long training: other students' pages go ahead meanwhile
    while not store["train"].acquire(timeout=0.25):
        wait()
    try:
        result = cached(key)
        if result is None:
            with ui.background_priority():
                result = train_vae(estimator, **settings)
            remember(key, result)
        return result
    finally:
        store["train"].release()


def remember(key, result) -> None:
    store = run_store()
    with store["lock"]:
        store["runs"][key] = result
        store["runs"].move_to_end(key)
        while len(store["runs"]) > MAX_RUNS:
            store["runs"].popitem(last=False)


def measured_run(estimators, samples: int) -> tuple[int, float] | None:
    """(steps, seconds) of the longest run of ``estimators`` at this L (or K) already trained on this
    server (its own clock: queueing excluded; the median over the runs of that length), None before
    the first one."""
    store = run_store()
    with store["lock"]:
        runs = [(int(r.steps[-1]), float(r.seconds[-1])) for (e, _, k, _, _), r in store["runs"].items()
                if e in estimators and k == samples and r.steps[-1] > 0 and not r.stopped]
    if not runs:
        return None
    longest = max(n for n, _ in runs)
    return longest, float(np.median([t for n, t in runs if n == longest]))


def how_long(estimators, samples: int, name: str, steps: int) -> str:
    """How long one run will take, from a run already timed on this server."""
    measured = measured_run(estimators, samples)
    if measured is None:
        return (f"no run at {name} = {samples} has been timed on this server yet, so the first one measures how long "
                "a run takes")
    n_done, took = measured
    each = steps * took / n_done
    return ("under 1 s each" if each < 1 else f"about {each:.0f} s each") + (
        f", going by a run of {n_done} steps at {name} = {samples} on this server, which took {took:.1f} s")


c1, c2, c3, c4 = st.columns(4)
latent = c1.select_slider("latent size", [2, 4, 8], value=2, key="d", bind="query-params")
L = c2.select_slider("L (samples per image)", [1, 2, 5], value=2, key="L", bind="query-params")
steps = c3.select_slider("training steps", [50, 300, 600, 1500], value=600, key="steps", bind="query-params")
seed = c4.number_input("seed", 0, 10_000, 0, key="seed", bind="query-params")
chosen = st.multiselect("encoder gradient estimators", list(VAE_ESTIMATORS), default=list(VAE_ESTIMATORS),
                        format_func=VAE_ESTIMATORS.get, key="vest", bind="query-params")
usable = [e for e in chosen if e != "score_loo" or L >= 2]
if len(usable) < len(chosen):
    st.info("The leave-one-out baseline needs L ≥ 2: it is left out.")
keys = {e: (e, int(latent), int(L), int(steps), int(seed)) for e in usable}
missing = [e for e, k in keys.items() if cached(k) is None]
# In a lecture scene the curves are the answer: before Reveal they stay hidden (trained or not), and
# Reveal itself trains the runs that are missing, so the answer never waits for a Train press.
in_scene = bool(getattr(ui._RUN, "scene", None))
reveal_trains = in_scene and ui.revealed()


def train_missing(stoppable: bool) -> None:
    """Train the missing runs with a progress bar, then draw the page again with them."""
    if stoppable:  # any click reruns the page, which interrupts this run: that is what Stop does
        st.button("Stop", icon=":material/stop:", key="stop")
    bar = st.progress(0.0, text="training…")
    for i, e in enumerate(missing):
        def progress(step, total, i=i, e=e):
            bar.progress((i + step / total) / len(missing), text=f"{VAE_ESTIMATORS[e]}: step {step} of {total}")
            return True

        def queued(i=i, e=e):
            bar.progress(i / len(missing), text=f"{VAE_ESTIMATORS[e]}: waiting for another session's training "
                                                 "to finish (one run at a time on this server)")

        train_shared(keys[e], e, queued, latent=int(latent), L=int(L), steps=int(steps), seed=int(seed),
                     progress=progress)
    bar.empty()
    st.rerun()  # draw the results without the Train button


if missing:
    runs = f"{len(missing)} run(s) ({', '.join(VAE_ESTIMATORS[e] for e in missing)})"
    each = f"{how_long(VAE_ESTIMATORS, int(L), 'L', int(steps))} (one training runs at a time; others queue)"
    if reveal_trains:
        st.caption(f"Training the {runs} this scene's answer needs: {each}. Trained runs are kept for everyone.")
        train_missing(stoppable=False)
    col_train, col_stop = st.columns([1, 4])
    go = col_train.button("Train", type="primary", icon=":material/play_arrow:", key="train")
    col_stop.caption(f"{runs} to train; {each}. Trained runs are kept for everyone, so a class demo replays instantly. "
                     "Stop (or any other control) interrupts a run; nothing half-trained is kept.")
    if go:
        train_missing(stoppable=True)

if not usable:
    st.info("Pick at least one estimator.")
elif not ui.revealed():  # a lecture scene asks first, whether or not the runs are trained
    with ui.scene_subject():
        ui.hidden_answer("The training curves")
elif missing:
    st.info("Press **Train** to run the comparison.")
else:
    results = {e: cached(k) for e, k in keys.items()}
    rows = [{"estimator": VAE_ESTIMATORS[e], "final ELBO (nats/image)": f"{r.elbo[-1]:.2f}",
             "seconds": f"{r.seconds[-1]:.1f}",
             "encoder-gradient variance (last check)": ui.fmt(float(r.grad_variance[-1]), 3),
             "SNR (last check)": ui.fmt(float(r.grad_snr[-1]), 3) if r.grad_snr[-1] > 0
             else "≈ 0 (below what 16 draws resolve)"} for e, r in results.items()]
    st.subheader("1 · Does the estimator matter? Training curves")
    if in_scene:  # the scene asks for the final ELBO: the table first, where the view aligns
        with ui.scene_subject():
            ui.table(rows, key="vae_table")
    ui.chart(vae_curves(results, VAE_ESTIMATORS), key="curves",
             alt="ELBO against step and wall-clock time, and encoder gradient variance and SNR, per estimator")
    if not in_scene:
        ui.table(rows, key="vae_table")
    st.caption("ELBO on 512 fixed images (4 fixed noise draws). Gradient variance and SNR: 16 independent noise "
               "draws on a fixed batch of 64 images, every 100 steps; the SNR's numerator ‖E g‖² is estimated "
               "without bias as ‖mean‖² − variance/16.")

    st.subheader("2 · What the model learned")
    inspect = st.radio("inspect the model trained with", list(results), format_func=VAE_ESTIMATORS.get,
                       horizontal=True, key="inspect", bind="query-params")
    model = results[inspect].model
    images, labels = digits()
    left, right = st.columns(2)
    with left:
        st.markdown("**Inputs (top) and reconstructions from μ(x) (bottom)**")
        x = images[:10]
        recon = decode_mean(model, torch.from_numpy(encode_mean(model, x)))
        st.image(image_grid(np.vstack([x.numpy(), recon]), cols=10, scale=5), clamp=True, width="stretch")
        st.markdown("**Samples from the prior, z ~ N(0, I)**")
        z = torch.randn((20, model.latent), generator=torch.Generator().manual_seed(int(seed)))
        st.image(image_grid(decode_mean(model, z), cols=10, scale=5), clamp=True, width="stretch")
    with right:
        mu = encode_mean(model, images)
        ui.chart(latent_scatter(mu, labels), key="latent",
                        alt="Encoder means of all digits in the first two latent dimensions, coloured by digit")
        if model.latent > 2:
            st.caption(f"The first two of {model.latent} latent dimensions.")
    st.markdown("**Latent traversal**: move along latent dimension 0 (the others at 0).")
    z0 = st.slider("z₀", -3.0, 3.0, 0.0, 0.1, key="z0", bind="query-params")
    grid = np.linspace(-3, 3, 13)
    z = torch.zeros((grid.size + 1, model.latent))
    z[:-1, 0] = torch.from_numpy(grid).float()
    z[-1, 0] = float(z0)
    pictures = decode_mean(model, z)
    col_a, col_b = st.columns([5, 1])
    col_a.image(image_grid(pictures[:-1], cols=13, scale=5), clamp=True, width="stretch",
                caption="z₀ from −3 to 3")
    col_b.image(image_grid(pictures[-1:], cols=1, scale=10), clamp=True, width="stretch", caption=f"z₀ = {z0:g}")


def iwae_section() -> None:
    """Section 3: IWAE training with plain and DReG encoder gradients."""
    st.subheader("3 · A tighter bound: IWAE with K samples")
    st.markdown(
        "The importance-weighted bound log (1/K) Σₖ wₖ, wₖ = p(x, zₖ) / q(zₖ | x), is tighter than the ELBO for K > 1 "
        "(Burda et al. 2016). Rainforth et al. (2018) showed its pathwise encoder gradient gets *noisier relative to its "
        "mean* as K grows; DReG (Tucker et al. 2018) drops the score part of it with a reparameterization of it, and keeps "
        "the same mean. Two runs at the K you pick, same data, seed and decoder gradient (the bound's own); the "
        "next page measures the rates on a model where everything is in closed form."
    )
    K = st.select_slider("K (samples in the bound)", [1, 5, 20], value=5, key="K", bind="query-params")
    iwae_keys = {e: (e, int(latent), int(K), int(steps), int(seed)) for e in IWAE_ESTIMATORS}
    iwae_missing = [e for e, k in iwae_keys.items() if cached(k) is None]
    IWAE_SHORT = {"iwae": "pathwise", "iwae_dreg": "DReG"}


    if iwae_missing:
        col_go, col_note = st.columns([1, 4])
        go_iwae = col_go.button("Train IWAE runs", icon=":material/play_arrow:", key="train_iwae")
        col_note.caption(f"{len(iwae_missing)} run(s) to train at K = {K}, {steps} steps; "
                         f"{how_long(IWAE_ESTIMATORS, int(K), 'K', int(steps))} (one training at a "
                         "time on this server; others queue). Any other control interrupts them.")
        if go_iwae:
            bar = st.progress(0.0, text="training…")
            n_runs = len(iwae_missing)
            for i, e in enumerate(iwae_missing):
                def progress(step, total, i=i, e=e):
                    bar.progress((i + step / total) / n_runs,
                                 text=f"run {i + 1} of {n_runs} ({IWAE_SHORT[e]}), step {step} of {total}")
                    return True

                def queued(i=i, e=e):
                    bar.progress(i / n_runs, text=f"run {i + 1} of {n_runs} ({IWAE_SHORT[e]}): waiting for another "
                                                  "session's training")

                train_shared(iwae_keys[e], e, queued, latent=int(latent), L=int(K), steps=int(steps), seed=int(seed),
                             progress=progress)
            bar.empty()
            st.rerun()
        st.info("Press **Train IWAE runs** to compare the two encoder gradients.")
    else:
        iwae_results = {e: cached(k) for e, k in iwae_keys.items()}
        ui.table([{"encoder gradient": IWAE_ESTIMATORS[e], f"final IWAE bound, K = {K} (nats/image)": f"{r.elbo[-1]:.2f}",
                   "encoder-gradient variance (last check)": ui.fmt(float(r.grad_variance[-1]), 3),
                   "SNR (last check)": ui.fmt(float(r.grad_snr[-1]), 3) if r.grad_snr[-1] > 0
                   else "≈ 0 (below what 16 draws resolve)"} for e, r in iwae_results.items()], key="iwae_table")
        plain, dreg = iwae_results["iwae"], iwae_results["iwae_dreg"]
        gap = dreg.elbo[-1] - plain.elbo[-1]
        snr_p, snr_d = float(plain.grad_snr[-1]), float(dreg.grad_snr[-1])
        if snr_p > 0 and snr_d > 0:
            ratio = (f"DReG's encoder-gradient SNR at the last check is {ui.ratio(snr_d / snr_p)} times the pathwise one's"
                     if K > 1 else f"At K = 1, DReG is STL (sticking the landing), and its SNR at the last check is "
                                   f"{ui.ratio(snr_d / snr_p)} times the pathwise one's")
        else:
            ratio = "An SNR at or below what 16 draws resolve is not compared"
        level = abs(gap) < 0.005  # what two decimals can tell apart
        st.caption(f"{ratio}. The final bound is "
                   + ("the same to 0.01 nats per image" if level else
                      f"{abs(gap):.2f} nats per image {'higher' if gap > 0 else 'lower'}")
                   + " with DReG. The bound is evaluated at the "
                   f"same K = {K} on the first 512 training images with fixed noise; the gradient checks use 16 noise draws "
                   "on a fixed batch of 64 images, every 100 steps.")



# A lecture scene on this page asks about section 1 alone: section 3 and its Train button stay out of it.
if not in_scene:
    iwae_section()

ui.next_step()
