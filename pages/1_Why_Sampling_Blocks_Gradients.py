"""Why sampling blocks gradients: the decomposition, and real torch, run on the page."""
import dataclasses

import streamlit as st

import ui
from core.blocking import (DECOMPOSITION_LABELS, DECOMPOSITIONS, autograd_dot, conv_sampling_demo, decomposition, decomposition_snippet,
                           naive_and_reparam_mc, sampling_demos)
from core.figures import decomposition_bars

ui.page_setup("Why sampling blocks gradients", ":material/block:")

st.title("Why sampling blocks gradients")
st.markdown(
    r"""
A sample is a number. Autograd records *operations*; drawing $z\sim p_\theta$ is not one it can
differentiate, so it treats the sample as a constant. When $\theta$ sits in both the density and in $f$,
the gradient splits in two (the answer to a classic forum question, “why can't we back-propagate through a random node?”):

$$
\nabla_\theta\,\mathbb{E}_{p_\theta(z)}[f_\theta(z)]
= \underbrace{\mathbb{E}_{p_\theta}\big[\nabla_\theta f_\theta(z)\big]}_{\text{autograd on a detached sample}}
+ \underbrace{\int f_\theta(z)\,\nabla_\theta p_\theta(z)\,dz}_{\text{what it never sees}} .
$$

For $z\sim\mathcal N(\theta,1)$ the second term is $\mathbb{E}[f_\theta(z)\,(z-\theta)]$: the score function.
"""
)


@st.fragment
def decomposition_section() -> None:
    st.subheader("1 · The decomposition, live")
    col_f, col_t, col_n = st.columns([2, 3, 2])
    with col_f:
        name = st.selectbox("f_θ(z)", list(DECOMPOSITIONS), format_func=DECOMPOSITION_LABELS.get, key="fz",
                            bind="query-params")
    with col_t:
        theta = st.slider("θ", -2.0, 2.0, 0.7, 0.05, key="theta", bind="query-params")
    with col_n:
        n = st.select_slider("torch samples n", [10, 100, 1000, 10000, 100000], value=10000, key="n",
                             bind="query-params")
    st.latex(DECOMPOSITIONS[name][0] + r",\qquad z\sim\mathcal N(\theta, 1)")
    d = decomposition(name, float(theta))
    size = max(abs(d.true), abs(d.naive), abs(d.missing), 1.0)  # the size of its terms: E[f] is O(1) here
    d = dataclasses.replace(d, **{k: ui.zeroed(getattr(d, k), size) for k in ("true", "naive", "missing")})
    naive_mc, reparam_mc = naive_and_reparam_mc(name, float(theta), int(n), seed=0)
    with ui.scene_subject():
        if not ui.revealed():  # a lecture scene asks first
            ui.hidden_answer("The decomposition")
            return
        ui.lecture_truth("naive_share", d.naive / d.true if d.true else float("nan"))
        c1, c2, c3 = st.columns(3)
        c1.metric("true gradient ∇θ E[f]", ui.for_people(ui.fixed(d.true)))
        wrong = abs(d.naive - d.true) > 1e-9
        c2.metric("autograd on .sample() → E[∇θ f]", ui.for_people(ui.fixed(d.naive)),
                  delta=f"wrong by {ui.for_people(ui.fixed(d.naive - d.true))}" if wrong
                  else "equal here: the missing term is 0 at this θ",
                  delta_color="red" if wrong else "gray", delta_arrow="off")
        c3.metric("missing term ∫ f ∇θ p", ui.for_people(ui.fixed(d.missing)))
    ui.chart(decomposition_bars(d.true, d.naive, d.missing, naive_mc, reparam_mc), key="decomp", alt="Bar chart: true gradient equals the naive autograd term plus the missing term")
    st.caption(
        f"Bars: exact, by quadrature. Diamonds: what torch returned from n = {n:,} samples — backward "
        f"through `.sample()` gave {ui.for_people(ui.fixed(naive_mc))} (it estimates the naive term), through "
        f"`.rsample()` gave {ui.for_people(ui.fixed(reparam_mc))} (it estimates the true gradient)."
    )
    with st.expander("Reproduce this in PyTorch"):
        st.code(decomposition_snippet(name, float(theta), int(n)) + f"# prints {naive_mc:.6g} and {reparam_mc:.6g}\n"
                f"# exact: naive term {d.naive:.6g}, true gradient {d.true:.6g}", language="python", wrap_lines=True)


decomposition_section()


def _operations(tensor) -> int:
    """The number of operations in ``tensor``'s autograd graph."""
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return len(seen)


@st.fragment
def torch_section() -> None:
    st.subheader("2 · What torch actually does")
    st.markdown("Each box below is run on this page, with these values:")
    col_mu, col_sigma, col_seed = st.columns(3)
    with col_mu:
        mu = st.slider("mu", -2.0, 2.0, 0.5, 0.1, key="mu", bind="query-params")
    with col_sigma:
        sigma = st.slider("sigma", 0.1, 3.0, 1.2, 0.1, key="sigma", bind="query-params")
    with col_seed:
        seed = st.number_input("torch.manual_seed", 0, 10_000, 0, key="seed", bind="query-params")
    demos = sampling_demos(float(mu), float(sigma), int(seed))
    blurbs = {
        "sample": ("`Normal(mu, sigma).sample()`: a number with no history",
                   "No `grad_fn`, `requires_grad=False`: `backward()` has nothing to follow. "
                   "Adding `requires_grad_()` to it would not help — it would make the *sample* a leaf, still "
                   "cut off from mu and sigma."),
        "reparam": ("`mu + sigma * torch.randn(())`: the reparameterization trick by hand",
                    "ε comes from `randn` and needs no gradient; z is an ordinary function of mu and sigma, "
                    "so ∂z/∂mu = 1 and ∂z/∂sigma = ε."),
        "rsample": ("`Normal(mu, sigma).rsample()`: the same thing, inside torch.distributions",
                    "Same graph, same numbers: `rsample` is `loc + scale * eps`."),
        "silent": ("The silent bug: a loss built on `.sample()` still backpropagates",
                   "No error, but the gradient only sees the explicit mu: E[loss] = σ² + μ, so the true ∂/∂mu is 1. "
                   "Averaged over samples, this code gives 0."),
        "logprob_rsample": ("`log_prob(rsample())` is not the score-function gradient",
                            "With a reparameterized sample, log p(mu + sigma·ε) = −ε²/2 − log sigma − ½ log 2π: "
                            "mu cancels, so its gradient is exactly 0. The score function needs a *detached* sample."),
    }
    for key, (title, explanation) in blurbs.items():
        demo = demos[key]
        # A graph of more than a few operations gets the box's whole width, below the code.
        wide = demo["tensor"].grad_fn is not None and _operations(demo["tensor"]) > 5
        with st.container(border=True):
            st.markdown(f"**{title}**")
            left, right = st.columns([1, 1]) if not wide else (st.container(), None)
            with left:
                st.code(demo["code"], language="python", wrap_lines=True)
                facts = [f"{demo['value_name']} = {demo['x']:.4f}", f"requires_grad = {demo['requires_grad']}",
                         f"grad_fn = {demo['grad_fn']}"]
                if demo.get("error"):
                    facts.append(f"backward() → RuntimeError: {demo['error']}")
                if "d_mu" in demo:
                    facts.append(f"mu.grad = {demo['d_mu']:.4f}")
                if "d_sigma" in demo:
                    facts.append(f"sigma.grad = {demo['d_sigma']:.4f}")
                if "eps" in demo:
                    facts.append(f"ε = (z − mu)/sigma = {demo['eps']:.4f}")
                if "true_d_mu" in demo:
                    facts.append(f"true ∂E[loss]/∂mu = {demo['true_d_mu']:.4f}")
                st.code("\n".join(facts), language="text", wrap_lines=True)
                st.caption(explanation)
            # At its own size (its text as large as the page's), shrunk only where the column is narrower.
            with right or st.container(key=f"widegraph_{key}"):
                st.graphviz_chart(autograd_dot(demo["tensor"], demo["names"]),
                                  width="content")
                if wide:
                    st.html('<p class="narrow-only">← This graph scrolls sideways →</p>')


torch_section()


@st.fragment
def network_section() -> None:
    st.subheader("3 · A forum question's network: sampling inside a conv net")
    st.markdown(
        "Two maps, `x_mean` and `x_var`, are turned into a sampled `z` that feeds a `Conv2d`. "
        "Gradients never go through `randn`, and they do not need to: they reach `x_mean` and `x_var` "
        "through the add and the multiply. But the question's code draws `x_var` from `randn`, so about half of its "
        "entries are negative, and `x_var.sqrt()` is NaN there."
    )
    seed = st.number_input("seed", 0, 10_000, 0, key="netseed", bind="query-params")
    left, right = st.columns(2)
    for column, param, code in (
        (left, "variance", "eps = torch.randn(x_mean.size())\nz = x_var.sqrt() * eps + x_mean"),
        (right, "log_variance", "eps = torch.randn(x_mean.size())\nz = x_mean + torch.exp(0.5 * x_logvar) * eps"),
    ):
        r = conv_sampling_demo(int(seed), param)
        with column:
            st.markdown("**The forum question's version**" if param == "variance" else "**The fix: log-variance (the Keras VAE example's `Sampling` layer)**")
            st.code(code + "\nloss = conv(z).pow(2).mean()\nloss.backward()", language="python", wrap_lines=True)
            a, b, c = st.columns(3)
            a.metric("loss", f"{r['loss']:.4g}")  # NaN is shown as NaN here: that is the point
            b.metric("‖∂loss/∂x_mean‖", f"{r['grad_norm_mean']:.4g}")
            c.metric("‖∂loss/∂x_var‖" if param == "variance" else "‖∂loss/∂x_logvar‖", f"{r['grad_norm_second']:.4g}")
            if r["nan_in_z"]:
                st.error(f"{r['nan_in_z']} of {r['entries']} entries of z are NaN (negative variances), and the NaN "
                         f"spreads through the convolution to the loss and every gradient.", icon=":material/error:")
            else:
                st.success("Every entry is finite: exp(½·log σ²) is positive for any input.", icon=":material/check_circle:")


network_section()

ui.next_step()
