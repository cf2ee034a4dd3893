"""Home page: the question, the map of names, the learning path and a live teaser."""
import numpy as np
import streamlit as st

import ui  # before core and torch: on a cold server ui sends its early chart first
import core
from core.scrub import anchored_grid

ui.page_setup("Home", ":material/home:")

st.title("How do gradients get through random sampling?")
st.markdown(
    "**Many models learn from random draws: a VAE from a random code, an agent from a random action. To "
    "improve them we need to know how the *average* result changes when we change the distribution the "
    "draws come from. This app shows the ways to compute that, and why some are much noisier than others.**"
)
st.page_link(ui.PAGES[1][0], label="Start here: a ten-step path, one idea per page →", icon=":material/flag:")
st.markdown(
    r"""
Training a VAE, a policy or a Bayesian network means differentiating an **expectation**:

$$\nabla_\theta\,\mathbb{E}_{z\sim p_\theta}[f(z)].$$

Autograd differentiates the operations it recorded. Drawing $z \sim p_\theta$ is not such an operation:
a sample is a number, and nothing in it says how it would have moved had $\theta$ been a little different.
There are three honest ways out. **Rewrite the sample** as a differentiable function of $\theta$ and noise
that does not depend on $\theta$ — for a Gaussian, $z=\mu+\sigma\epsilon$ — and differentiate through it
(*pathwise*). Or **differentiate the density** instead of the sample: $\nabla_\theta \log p_\theta(z)$ says how
fast the log-probability of the drawn $z$ changes with $\theta$, and weighting $f(z)$ by it gives the gradient
on average (*score function*). Or write $\nabla_\theta p_\theta$ as the difference of two other distributions,
draw from both and compare $f$ there (*measure-valued*). All three are unbiased (right on average); they
differ, sometimes by orders of magnitude, in variance (how far one estimate strays).
"""
)

st.subheader("One picture")
HOME_F, HOME_MU, HOME_SIGMA, HOME_L, HOME_REPS = "cos(3*x)", 0.5, 0.5, 10, 1000
st.caption(f"f(x) = cos(3x), x ~ N(μ, {HOME_SIGMA:g}²), {HOME_L} samples per estimate, {HOME_REPS:,} estimates each. "
           "**Drag the slider inside the figure** to move μ. Above each row: the mean of its estimates, their "
           "standard deviation (sd), and bias/SE, how many standard errors that mean sits from the exact gradient "
           "(chance alone keeps it within about ±2).")
home_grid = anchored_grid(HOME_MU, ui.MU_MIN, ui.MU_MAX, 0.1)
home_start = int(np.argmin(np.abs(home_grid - HOME_MU)))
teaser = ui.cached_stage(HOME_F, HOME_MU, HOME_SIGMA, "mu", tuple(home_grid), home_start, HOME_L, HOME_REPS, 0,
                         ("pathwise", "score"), "mu", ui.presenter_mode())
ui.chart(ui.PrebuiltFigure(teaser["figure"]), key="teaser", sized=True, download=False,
         alt="Histograms of pathwise and score-function estimates of the mu-gradient for f = cos(3x), with a slider "
             "along mu")
sd = {n: teaser["readouts"][n]["std"] for n in teaser["names"]}
narrower = int(np.sum(sd["score"] < sd["pathwise"]))
st.caption(
    f"Both are centred on the exact gradient (dashed) at every μ. At μ = {HOME_MU:g} the score function's spread is "
    f"{sd['score'][home_start]:.2g} against pathwise's {sd['pathwise'][home_start]:.2g}, and it is the narrower of "
    f"the two at {narrower} of the {home_grid.size} values of μ on the slider: reparameterization is not always the "
    "low-variance choice."
    if narrower else
    "Both are centred on the exact gradient (dashed) at every μ."
)

st.subheader("The learning path")
for step, (script, label, icon, what) in enumerate(ui.PAGES[1:], start=1):
    st.page_link(script, label=f"{ui.step_label(step)} — {what}", icon=icon)

st.subheader("One idea, many names")
st.markdown(
    """
| this app says | also called |
|---|---|
| **pathwise** | reparameterization trick, "fully reparameterized" (TensorFlow Probability), `rsample()` in PyTorch |
| **score function** | REINFORCE, likelihood-ratio estimator, the policy gradient of reinforcement learning |
| **measure-valued** | weak derivative |
| **baseline** | control variate; in reinforcement learning the value function of an advantage |
"""
)
st.caption(f"The exact gradients come from quadrature in the `core` package; estimators: {', '.join(core.ESTIMATORS)}.")
