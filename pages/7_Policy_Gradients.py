"""Policy gradients are score-function gradients: a bandit, reward-to-go, and the surrogate-loss pitfall."""
import numpy as np
import streamlit as st

import ui
from core.snippets import reinforce_snippet
from core.stats import variance_and_se
from core.figures import COLORS, race_bands, race_figure, surrogate_figure, two_step_figure
from core.policy import (BANDIT_BASELINES, bandit_exact_gradient, bandit_single_sample_variance, bandit_training,
                         surrogate_pitfall, two_step_monte_carlo, two_step_variances)

ui.page_setup("Policy gradients", ":material/sports_esports:")

st.title("Policy gradients are score-function gradients")
st.markdown(
    r"Sample an action $a\sim\pi_\theta$, observe a reward $R$: the policy gradient $\nabla_\theta\mathbb E[R]="
    r"\mathbb E[R\,\nabla_\theta\log\pi_\theta(a)]$ is the score-function estimator with $f = R$. Everything on the "
    "Baselines page carries over: a baseline that does not see its own sample keeps the gradient unbiased, "
    "whether or not it lowers the variance (that depends on how well it tracks the reward), and the advantage "
    "R − b is just f − b."
)

MEANS = (0.2, 0.5, 0.8, 0.4, 0.6)
BASELINE_COLORS = {"none": COLORS["score"], "ema_after": COLORS["mvd"], "loo": COLORS["score_loo"]}


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def train(offset, noise, batch, lr, seed):
    # Only what the chart draws is kept (kB per entry, where the 200 runs take 1.4 MB).
    return race_bands(bandit_training(MEANS, noise=noise, steps=300, batch=batch, lr=lr, chains=200, offset=offset,
                                      seed=seed))


@st.fragment
def bandit_section() -> None:
    st.subheader("1 · A 5-armed bandit with a softmax policy")
    st.markdown(f"Arm means m = {', '.join(f'{m:g}' for m in MEANS)}, plus Gaussian noise and an offset c added to "
                "every reward. The offset changes nothing about which arm is best, or about the true gradient.")
    c1, c2, c3, c4, c5 = st.columns(5)
    offset = c1.slider("reward offset c", 0.0, 10.0, 5.0, 0.5, key="c", bind="query-params")
    noise = c2.slider("reward noise sd", 0.0, 3.0, 1.0, 0.1, key="noise", bind="query-params")
    batch = c3.select_slider("actions per update", [2, 4, 8, 16, 32], value=8, key="batch", bind="query-params")
    lr = c4.select_slider("learning rate", [0.05, 0.1, 0.2, 0.5, 1.0], value=0.2, key="lr", bind="query-params")
    seed = c5.number_input("seed", 0, 10_000, 0, key="seed", bind="query-params")
    with ui.scene_subject():
        if not ui.revealed():  # a lecture scene asks first
            ui.hidden_answer("The learning curves")
            return
        histories = train(float(offset), float(noise), int(batch), float(lr), int(seed))
        ui.chart(race_figure(histories, max(MEANS), BANDIT_BASELINES, BASELINE_COLORS,
                                    y_title="expected reward π·m (without the offset)", optimum_label="best arm"),
                        key="bandit", alt="Learning curves of REINFORCE with and without baselines")
    st.caption("200 independent runs per baseline, 300 updates each (line: mean; band: 10–90%).")
    theta0 = np.zeros(len(MEANS))
    shifted = np.array(MEANS) + offset
    v_none = bandit_single_sample_variance(theta0, shifted, noise, 0.0).sum()
    v_mean = bandit_single_sample_variance(theta0, shifted, noise, float(np.mean(shifted))).sum()
    g = bandit_exact_gradient(theta0, shifted)
    c1, c2, c3 = st.columns(3)
    c1.metric("‖∇E[R]‖ at the start (exact)", f"{np.linalg.norm(g):.4f}")
    c2.metric("total variance of one sample, no baseline", f"{v_none:.4g}")
    c3.metric("… with b = E[R] (what the moving average learns)", f"{v_mean:.4g}",
              delta=f"{v_mean / v_none:.2%} of it", delta_arrow="off", delta_color="gray")
    with st.expander("Reproduce one REINFORCE gradient in PyTorch"):
        st.code(reinforce_snippet(MEANS, float(offset), float(noise), seed=int(seed))
                + f"# exact: [{', '.join(ui.fmt(v, 6, scale=np.abs(g).max()) for v in g)}]", language="python", wrap_lines=True)


bandit_section()


@st.fragment
def two_step_section() -> None:
    st.subheader("2 · Reward-to-go: causality as variance reduction")
    st.markdown(
        r"Two steps, each $a_t\sim\mathrm{Bernoulli}(\sigma(\theta))$, reward $r(a)=a+c$. The full-return estimator "
        r"$(r_1+r_2)(s_1+s_2)$ credits the first reward to the second action too; reward-to-go "
        r"$s_1(r_1+r_2)+s_2 r_2$ drops that term, whose mean is 0. Both are unbiased; the variances below are exact "
        "sums over the four outcomes."
    )
    c = st.slider("reward offset c (two-step problem)", 0.0, 5.0, 1.0, 0.25, key="c2", bind="query-params")
    thetas = np.linspace(-4.0, 4.0, 81)
    exact = [two_step_variances(float(t), float(c)) for t in thetas]
    mc_t = np.array([-3.0, -1.5, 0.0, 1.5, 3.0])
    rows = []
    for t in mc_t:
        sample = two_step_monte_carlo(float(t), float(c), 20_000, seed=int(10 * t + 50))
        rows.append([*variance_and_se(sample["full"]), *variance_and_se(sample["rtg"])])
    rows = np.array(rows)
    ui.chart(two_step_figure(thetas, np.array([e["var_full"] for e in exact]), np.array([e["var_rtg"] for e in exact]),
                                    (mc_t, rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])),
                    key="two_step", alt="Variance of full-return and reward-to-go estimators against theta")


two_step_section()


@st.fragment
def surrogate_section() -> None:
    st.subheader("3 · “The loss went down, so the policy improved” — not so")
    st.markdown(
        "The REINFORCE loss −mean(R·log π(a)) is a *surrogate*: its gradient at the current θ is the policy gradient, "
        "but its value is not the return. Optimise it for many steps on one fixed batch and it keeps falling — by "
        "piling probability on whatever the batch happened to reward — while the true expected reward can drop."
    )
    seed = st.number_input("batch seed", 0, 10_000, 2, key="sseed", bind="query-params")
    result = surrogate_pitfall(MEANS, noise=1.0, batch=8, steps=200, lr=0.5, seed=int(seed))
    ui.chart(surrogate_figure(result["loss"], result["reward"]), key="surrogate",
                    alt="Surrogate loss falling while the true expected reward changes")
    rewards = ", ".join(ui.for_people(ui.fixed(float(r), 2)) for r in result["rewards"])
    st.caption(
        f"The batch: actions {result['actions'].tolist()}, rewards [{rewards}]. "
        f"Loss {ui.for_people(ui.fixed(result['loss'][0], 3))} → {ui.for_people(ui.fixed(result['loss'][-1], 3))}; expected reward "
        f"{result['reward'][0]:.3f} → {result['reward'][-1]:.3f} (best arm: {max(MEANS)})."
    )


surrogate_section()

ui.next_step()
