"""Discrete variables: REINFORCE, straight-through, Gumbel-softmax, ARM/DisARM against exact enumeration."""

import math

import numpy as np
import streamlit as st

import ui  # before core and torch: on a cold server ui sends its early chart first
import core
from core.discrete import (_BINARY_ONLY, DISCRETE_ESTIMATORS, ControlVariate, DISCRETE_PRESET_LABELS, DISCRETE_PRESETS, binary_relaxed_moments, descent_race,
                           estimate_discrete, exact_discrete_gradient, gumbel_max_frequencies,
                           hard_gumbel_softmax_jacobians, objective_derivatives, parse_values, probabilities,
                           soft_samples, straight_through_moments)
from core.snippets import discrete_snippet
from core.figures import COLORS, gumbel_max_figure, labelled_histograms, race_figure, soft_path_figure, tau_curves
from core.figures_relax import WINDOW, smooth_variance, toy_race_figure, variance_steps_figure
from core.relax import TOY_LABELS, TOY_TARGETS, relax_moments, toy_moments, train_toy, tune_control
from core.stats import summarize

ui.page_setup("Discrete variables", ":material/category:")

st.title("Discrete variables: when there is no rsample")
st.markdown(
    r"A category $k\sim\mathrm{Categorical}(\pi)$, $\pi=\mathrm{softmax}(\theta)$, cannot move a little when "
    r"$\theta$ does, so there is no pathwise derivative. The exact gradient is a finite sum, "
    r"$\partial_{\theta_j}\mathbb E[f] = \pi_j\big(f(v_j)-\sum_k \pi_k f(v_k)\big)$, computed here by enumeration. "
    "Unbiased estimators (score function, leave-one-out, ARM, DisARM) hit it on average; the popular "
    "shortcuts (straight-through, Gumbel-softmax) accept a bias in the hope of a lower variance. Whether they get "
    "it depends on f, θ and τ: the table and section 3 measure both."
)

LABELS = {n: lab for n, (lab, _) in DISCRETE_ESTIMATORS.items()}
MAX_K = 6
RACE_MAX_L = 10  # 200 steps × 8 estimators: 0.25–0.3 s at L = 10, 0.4–0.6 s at L = 50 (core alone)
TAUS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
TAU_MC_REPS = 4000  # one-draw estimates behind each Monte Carlo dot of the τ chart


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def estimates(text, logits, values, L, reps, seed, tau):
    return estimate_discrete(text, list(logits), list(values), L=L, reps=reps, seed=seed, tau=tau)


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def biased_means(text, logits, values, tau, continuous) -> dict[str, np.ndarray]:
    """The exact means of the estimators that are not unbiased for every f, where they have one:
    straight-through (any K, a finite sum), Gumbel-softmax and its straight-through version for
    K = 2 (quadrature; Gumbel-Rao averages the latter over conditional draws: the same mean), and
    REBAR/RELAX's untuned control variate (quadrature) when f jumps."""
    out = {"straight_through": straight_through_moments(text, list(logits), list(values))[0]}
    if len(values) == 2:
        rel = binary_relaxed_moments(text, list(logits), list(values), tau)
        out["gumbel_softmax"] = rel["gumbel_softmax"][0]
        out["st_gumbel_softmax"] = out["gumbel_rao"] = rel["st_gumbel_softmax"][0]
        if not continuous:
            f = core.parse_objective(text).numpy(np.array(values, dtype=float))
            mean, _ = relax_moments(objective_derivatives(core.parse_objective(text)), tuple(f), tuple(values),
                                    logits[1] - logits[0], UNTUNED.eta, UNTUNED.lam)
            out["rebar"] = out["relax"] = np.array([-mean, mean])
    return out


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def tau_study(text, logits, values, j, seed):
    K = len(values)
    exact = exact_discrete_gradient(text, list(logits), list(values))
    relaxed = ["gumbel_softmax", "st_gumbel_softmax", "gumbel_rao"]
    grid = np.geomspace(0.01, 10.0, 40)
    exact_curves = {}
    if K == 2:
        for name in ("gumbel_softmax", "st_gumbel_softmax"):
            b, v = [], []
            for t in grid:
                mean, var = binary_relaxed_moments(text, list(logits), list(values), float(t))[name]
                b.append(abs(mean[j] - exact[j]))
                v.append(var[j])
            exact_curves[name] = (np.array(b), np.array(v))
    mc_taus = np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0])
    mc = {n: ([], [], []) for n in relaxed}
    for i, t in enumerate(mc_taus):
        res = estimate_discrete(text, list(logits), list(values), L=1, reps=TAU_MC_REPS, seed=seed + i, tau=float(t),
                                estimators=relaxed)
        for n in relaxed:
            mc[n][0].append(t)
            mc[n][1].append(abs(res[n][:, j].mean() - exact[j]))
            mc[n][2].append(res[n][:, j].var())
    st_mean, st_var = straight_through_moments(text, list(logits), list(values))
    flat = {"straight_through": (abs(st_mean[j] - exact[j]), st_var[j])}
    base = estimate_discrete(text, list(logits), list(values), L=1, reps=20000, seed=seed,
                             estimators=["score"] + (["disarm"] if K == 2 else []))
    for n, a in base.items():
        flat[n] = (0.0, float(a[:, j].var()))
    return grid, exact_curves, {n: tuple(np.array(x) for x in t) for n, t in mc.items()}, flat


@st.cache_data(max_entries=16, show_spinner=False)
@ui.admitted
def race(text, logits, values, L, tau, lr, seed):
    names = [n for n in DISCRETE_ESTIMATORS if (n not in _BINARY_ONLY or len(values) == 2)
             and (n != "score_loo" or L >= 2)]
    return descent_race(text, list(logits), list(values), steps=200, lr=lr, L=L, tau=tau, chains=16, seed=seed,
                        estimators=names)


RELAX_STEPS, RELAX_CHAINS, RELAX_MC = 2000, 8, 20000
UNTUNED = ControlVariate(1.0, 0.5)  # estimate_discrete's defaults: η = 1, λ = 0.5, RELAX's network at zero


@st.cache_data(max_entries=8, show_spinner=False)
@ui.admitted
def relax_study(t, seed):
    """The papers' toy at θ = ½: control variates tuned there (α frozen), exact variances
    (enumeration, quadrature), a Monte Carlo check, and the 2,000-step race."""
    tuned = tune_control(t, steps=RELAX_STEPS, seed=seed)
    controls = {"rebar_eta0": ControlVariate(0.0, 0.5), "rebar_untuned": UNTUNED, "rebar": tuned["rebar"],
                "relax": tuned["relax"]}
    moments = toy_moments(t, 0.5, controls)
    text = f"(x - {t})**2"
    mc = {}
    for name, cv in (("rebar", tuned["rebar"]), ("relax", tuned["relax"])):
        x = estimate_discrete(text, [0.0, 0.0], [0.0, 1.0], L=1, reps=RELAX_MC, seed=seed, estimators=[name],
                              rebar_eta=cv.eta, rebar_lambda=cv.lam, relax_net=cv.net)[name][:, 1]
        c = x - x.mean()
        mc[name] = (float(x.var(ddof=1)), float(np.sqrt(max(np.mean(c ** 4) - x.var() ** 2, 0.0) / x.size)))
    runs = train_toy(t, steps=RELAX_STEPS, chains=RELAX_CHAINS, seed=seed)
    runs = {n: {"theta": r["theta"], "variance": r["variance"]} for n, r in runs.items()}
    return tuned, moments, mc, runs


def _tau_sentence(grid, exact_curves: dict, mc: dict) -> str:
    """What the τ chart shows for Gumbel-softmax, from its own numbers: exact curves for K = 2,
    Monte Carlo with standard errors otherwise."""
    if "gumbel_softmax" in exact_curves:
        taus, (bias, var), se = np.asarray(grid), exact_curves["gumbel_softmax"], None
    else:
        taus, bias, var = (np.asarray(a) for a in mc["gumbel_softmax"])
        se = np.sqrt(var / TAU_MC_REPS)
    lo, hi = int(np.argmin(taus)), int(np.argmax(taus))
    pm = (lambda i: f" ± {_sig(se[i], 2)}") if se is not None else (lambda i: "")
    text = (f"Gumbel-softmax here: variance {_sig(var[lo], 3)} at τ = {taus[lo]:g} against {_sig(var[hi], 3)} at "
            f"τ = {taus[hi]:g}; |bias| {_sig(bias[lo], 3)}{pm(lo)} against {_sig(bias[hi], 3)}{pm(hi)}.")
    if se is None:
        # Along the chart's grid: "shrinks" needs a bias that falls with τ at every step and ends
        # lower (a bias of 0 throughout, for a constant f, does not shrink); "grows" likewise.
        order = np.argsort(taus)
        b, v = bias[order], var[order]
        steady = bool(np.all(np.diff(b) >= 0) and b[0] < b[-1])
        grows = bool(np.all(np.diff(v) <= 0) and v[0] > v[-1])
        text += (" Its bias shrinks steadily as τ falls" if steady else " Its bias does not shrink steadily as τ falls")
        text += (", while its variance grows." if grows else ".")
    return text


def _hold(key: str, default) -> None:
    """Keep a widget whose value lives in session state (no ``value=``) in step with the
    browser: write its value back on every run, so it is sent with the widget each time.
    With a bare setdefault, a click during the page's first run could leave the browser
    showing the widget's minimum while the page computed with the stored value."""
    st.session_state[key] = st.session_state.get(key, default)


def _apply_preset() -> None:
    """A new setting brings its own logits (the sliders would otherwise keep the old ones)."""
    _, values, logits = DISCRETE_PRESETS[st.session_state["preset"]]
    for i in range(MAX_K):
        st.session_state[f"th{i}"] = float(logits[i]) if i < len(logits) else 0.0
    st.session_state["j"] = len(values) - 1


def _clamp_component() -> None:
    """New custom values may have fewer categories than the logit shown."""
    try:
        k = len(parse_values(st.session_state["vals"]))
    except ValueError:
        return
    if st.session_state.get("j", 0) >= k:
        st.session_state["j"] = k - 1


def controls(pair):
    """The page's controls; the logits' sliders, and what follows them, go in ``pair`` (on a phone
    the sliders stay on screen while the histograms they move scroll beneath them)."""
    c1, c2 = st.columns([3, 2])
    preset = c1.selectbox("Setting", list(DISCRETE_PRESETS), format_func=DISCRETE_PRESET_LABELS.get, key="preset",
                          bind="query-params",
                          on_change=_apply_preset)
    formula, default_values, default_logits = DISCRETE_PRESETS[preset]
    if preset == "custom":
        text_values = c2.text_input("Category values v (2 to 6, comma-separated)", "0, 1", key="vals",
                                    bind="query-params", on_change=_clamp_component)
        formula = st.text_input("f(x) =", formula, key="expr", bind="query-params", max_chars=core.objective.MAX_LENGTH)
        try:
            values = parse_values(text_values)
        except ValueError as err:
            st.error(str(err), icon=":material/edit:")
            return None
        default_logits = tuple([0.0] * len(values))
    else:
        values = default_values
        c2.markdown(f"values v = {', '.join(ui.for_people(f'{x:g}') for x in values)}  \nf(x) = `{formula}`")
    try:
        objective = core.parse_objective(formula)
    except ValueError as err:
        st.error(f"**Formula not understood.** {ui.escape_markdown(str(err))}", icon=":material/edit:")
        return None
    # Every estimator here needs f at each category value, and the relaxed ones f′ too: a value where
    # either is not a finite number (1/x at 0, sqrt at 0's derivative) is refused with the reason.
    v_arr = np.array(values, dtype=float)
    with np.errstate(all="ignore"):
        bad = [(name, v) for name, vals in (("f", objective.numpy(v_arr)), ("f′", objective.derivative(v_arr)))
               for v, y in zip(values, np.broadcast_to(vals, v_arr.shape)) if not np.isfinite(y)]
    if bad:
        name, v = bad[0]
        st.error(f"**{name} is not a finite number at v = {ui.for_people(f'{v:g}')}** (for f(x) = "
                 f"{ui.literal(formula, 60)}). Every estimator on this page needs f at each category value, and "
                 "straight-through and Gumbel-softmax need f′ there too: pick other values or another f.",
                 icon=":material/edit:")
        return None
    K = len(values)
    cols = pair.container(key="stickycontrols_discrete").columns(K)
    # The values live in session state, so a new preset can reset them; the link holds each one that
    # differs from the preset's own.
    logits = tuple(ui.held_slider(cols[i], f"θ{i} (logit of v = {ui.for_people(f'{values[i]:g}')})", -4.0, 4.0, 0.1,
                                  key=f"th{i}", default=float(default_logits[i])) for i in range(K))
    d1, d2, d3, d4 = pair.columns([2, 2, 2, 3], vertical_alignment="bottom")
    tau = d1.select_slider("temperature τ", TAUS, value=0.5, key="tau", bind="query-params")
    L = d2.select_slider("L (draws per estimate)", [1, 2, 5, 10, 50], value=5, key="L", bind="query-params")
    reps = d3.select_slider("replicates", [500, 1000, 2000, 5000], value=2000, key="reps", bind="query-params")
    with d4:
        seed = ui.seed_control()
    return objective, values, logits, float(tau), int(L), int(reps), int(seed)




def _sig(x: float, digits: int) -> str:
    """A number for a sentence, to ``digits`` significant digits: 0.01563, 0.0001156, and 8.333×10⁻⁸
    below 10⁻⁴ (never 8.333e-08)."""
    if x == 0:
        return "0"
    return ui.for_people(f"{x:.{digits}g}")


def _mc_cell(mean: float, se: float) -> str:
    """A Monte Carlo value ± its standard error, the value to the SE's own precision (at least four
    digits): 0.0156251 ± 2.7×10⁻⁷, not 0.01563 ± 2.7×10⁻⁷, whose rounding is 18 SE."""
    digits = 4
    if mean != 0 and se > 0 and math.isfinite(mean) and math.isfinite(se):
        digits = max(4, math.floor(math.log10(abs(mean))) - math.floor(math.log10(se)) + 2)
    return f"{_sig(mean, digits)} ± {_sig(se, 2)}"


def _nice_up(x: float) -> str:
    """The smallest of 0.01, 0.02, 0.05, 0.1, … at or above ``x``, written for a sentence."""
    step = 10.0 ** np.floor(np.log10(x))
    up = next((m * step for m in (1, 2, 5) if m * step >= x * (1 - 1e-12)), 10 * step)
    return f"{up:.12f}".rstrip("0").rstrip(".")  # a plain decimal: 0.00001, never 1e-05


def _ratio_text(r: float, digits: int) -> str:
    text = f"{r:.{digits}g}"
    return f"{float(text):,.0f}" if "e" in text else text


def compare(a: float, b: float, digits: int, other: str) -> str:
    """How a variance a stands against b, in words the printed numbers (``digits`` significant
    digits) bear out: 'N× lower', 'N× higher', or 'level with … (within X %)' when both the true
    and the printed pair are within 1 % of each other; a ratio is given to as many digits (3, else
    2) as the true and the printed numbers agree on."""
    a_shown, b_shown = float(f"{a:.{digits}g}"), float(f"{b:.{digits}g}")
    r, r_shown = b / a, b_shown / a_shown
    gap = max(abs(r - 1), abs(r_shown - 1))
    if gap < 0.01:
        return f"equal to {other}" if gap == 0 else f"level with {other} (within {_nice_up(100 * gap)} %)"
    lower = r > 1
    r, r_shown = (r, r_shown) if lower else (1 / r, 1 / r_shown)
    d = next((d for d in (3, 2) if _ratio_text(r, d) == _ratio_text(r_shown, d)), 1)
    return f"{_ratio_text(r, d)}× {'lower than' if lower else 'higher than'} {other}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Prose:
    """Sentences about variances, each printed once and always with the same rounding (``digits``
    significant digits): a quantity already given is named, not repeated."""

    def __init__(self, values: dict[str, float], names: dict[str, str], digits: int = 4):
        self.values, self.names, self.digits, self.said = values, names, digits, set()

    def value(self, key: str) -> str:
        return _sig(self.values[key], self.digits)

    def name(self, key: str, possessive: bool = True) -> str:
        """"Tuned RELAX's variance (0.0001156)" the first time, "tuned RELAX's" afterwards."""
        own = self.names[key] + ("'s" if possessive else "")
        if key in self.said:
            return own
        self.said.add(key)
        return f"{own} variance ({self.value(key)})" if possessive else f"{own} ({self.value(key)})"

    def versus(self, a: str, b: str) -> str:
        first = self.name(a)
        if " variance (" not in first:
            first += " variance"
        return f"{first} is " + compare(self.values[a], self.values[b], self.digits, self.name(b))


RELAX_TITLE = "6 · REBAR and RELAX: a control variate that learns"


def relax_intro() -> float:
    """Section 6's title, its toy in bold with the chosen t (whatever the page's setting above),
    and the choice of t. Returns t."""
    st.subheader(RELAX_TITLE)
    lead = st.empty()  # written once t is known
    t = float(st.radio("target t in f(b) = (b − t)²: 0.45 as in REBAR's paper, 0.499 as in RELAX's", list(TOY_TARGETS),
                       index=len(TOY_TARGETS) - 1, horizontal=True, format_func=lambda x: f"{x:g}", key="rt",
                       bind="query-params"))
    lead.markdown(f"**This section uses the papers' toy, whatever the setting above: f(b) = (b − {t:g})², "
                  "b ∼ Bernoulli(θ), θ = σ(α), at θ = ½.**")
    return t


def relax_section(seed: int, subject: bool = False) -> None:
    """Section 6. ``subject``: a lecture scene asks about this section, and its table (the numbers
    the answer quotes) is what the view is aligned on."""
    t = relax_intro()
    st.markdown(
        r"Minimise $\mathbb E[f]$ over $\alpha$ (REBAR's paper: $t=0.45$; RELAX's: $t=0.499$). With $z=\alpha+\mathrm{logit}\,u$, "
        r"$b=H(z)$ and $\tilde z\sim z\mid b$ drawn from a second uniform, RELAX is "
        r"$\hat g=[f(b)-c(\tilde z)]\,\partial_\alpha\log p(b)+\partial_\alpha c(z)-\partial_\alpha c(\tilde z)$, "
        r"unbiased for any $c$. REBAR's $c(z)=\eta f(\sigma(z/\lambda))$; RELAX adds a 10-unit tanh network. "
        r"Both tune their control variate by the one-draw gradient of the variance, $2\hat g\,\partial\hat g/\partial\phi$."
    )
    with st.spinner("Tuning the control variates and racing 2,000 steps…"):
        tuned, m, mc, runs = relax_study(t, seed)
    g_theta, g_alpha = m["score_theta"][0], m["score"][0]
    top = max(v for _, v in m.values())
    var = {n: (0.0 if v < 1e-12 * top else v) for n, (_, v) in m.items()}  # DisARM's 1e-19 is 0 up to rounding
    rb, rx = tuned["rebar"], tuned["relax"]
    # Short names, the variance next to them: on a phone those two columns fit, the rest scrolls.
    rows_spec = [
        ("REINFORCE, ∂/∂θ", "∂/∂θ", "score_theta", "—", "enumeration", None),
        ("REINFORCE, ∂/∂α", "∂/∂α", "score", "—", "enumeration", None),
        ("REBAR, η = 0", "∂/∂α", "rebar_eta0", "η = 0", "quadrature", None),
        ("REBAR untuned", "∂/∂α", "rebar_untuned", "η = 1, λ = 0.5", "quadrature", None),
        ("RELAX untuned", "∂/∂α", "rebar_untuned", "η = 1, λ = 0.5, net = 0", "quadrature", None),
        ("REBAR tuned", "∂/∂α", "rebar", f"η = {_sig(rb.eta, 3)}, λ = {_sig(rb.lam, 3)}", "quadrature", "rebar"),
        ("RELAX tuned", "∂/∂α", "relax", f"η = {_sig(rx.eta, 3)}, λ = {_sig(rx.lam, 3)}, net", "quadrature", "relax"),
        ("ARM", "∂/∂α", "arm", "—", "exact (piecewise)", None),
        ("DisARM", "∂/∂α", "disarm", "—", "exact (piecewise)", None),
    ]
    rows = [{"estimator at θ = ½": label, "variance (one draw)": _sig(var[key], 6), "mean": _sig(m[key][0], 6),
             "control variate": cv, "by": how,
             f"Monte Carlo ({RELAX_MC:,} draws)": (_mc_cell(*mc[mc_key]) if mc_key else "—")}
            for label, of, key, cv, how, mc_key in rows_spec]
    with ui.scene_subject(here=subject):
        ui.table(rows, key="relax_table")
    st.caption(f"Tuned: {RELAX_STEPS:,} Adam steps (step 0.01) on φ at θ = ½ (α held there), seed {seed}. Exact variances by "
               "enumeration (REINFORCE), piecewise Gauss–Legendre (ARM, DisARM) and quadrature over (u, v) "
               "(REBAR, RELAX); the Monte Carlo column checks the quadrature (± one standard error). Control variate: "
               "REBAR's η and λ, and net, RELAX's network (net = 0: its output held at zero, where RELAX is REBAR draw "
               "for draw).")
    prose = _Prose(var, {"score": "REINFORCE", "rebar_eta0": "REBAR with η = 0", "rebar": "tuned REBAR",
                         "relax": "tuned RELAX", "arm": "ARM", "disarm": "DisARM", "rebar_untuned": "untuned REBAR"})
    ranked = sorted(((var[k], k) for k in {k for _, of, k, _, _, _ in rows_spec if of == "∂/∂α"} - {"rebar_eta0"}),
                    key=lambda p: p)
    same = abs(var["rebar_eta0"] - var["score"]) <= 1e-9 * var["score"]
    sentences = [
        f"Exact: ∂E[f]/∂θ = 1 − 2t = {g_theta:.4g}, so ∂E[f]/∂α = θ(1 − θ)(1 − 2t) = {g_alpha:.4g} at θ = ½, "
        f"while one REINFORCE draw (∂/∂α), of variance {prose.value('score')}, has a standard deviation "
        f"{np.sqrt(var['score']) / abs(g_alpha):.3g} times that.",
    ]
    prose.said.add("score")
    if same:
        sentences.append("REBAR with η = 0 is REINFORCE: the same variance.")
        prose.said.add("rebar_eta0")
    else:
        sentences.append(_capital(prose.versus("rebar_eta0", "score")) + ".")
    sentences += [
        _capital(prose.versus("rebar", "score")) + f"; its η went from 1 to {_sig(rb.eta, 3)}.",
        _capital(prose.versus("relax", "score")) + ", and "
        + compare(var["relax"], var["rebar"], prose.digits, prose.name("rebar")) + ".",
        "Lowest variance at θ = ½: " + ", then ".join(prose.name(k, possessive=False) for _, k in ranked[:3]) + ".",
    ]
    if var["disarm"] == 0:
        sentences.append("DisARM's is 0 here: at θ = ½ its antithetic pair always differs, and every draw gives "
                         "(f(1) − f(0))/4, the exact gradient.")
    st.markdown(" ".join(sentences))

    last = {n: float(smooth_variance(r["variance"], 200)[1][-1]) for n, r in runs.items()}
    lasts = _Prose(last, {n: TOY_LABELS[n] for n in last}, digits=3)
    st.markdown(f"**Along training, θ moves.** The table holds θ at ½; below, {RELAX_CHAINS} runs per estimator start "
                "there and descend on α, and each variance is measured at the run's current θ (and φ), so it changes "
                "as θ does (second chart).")
    ui.chart(variance_steps_figure(runs, TOY_LABELS), key="relax_var",
             alt="Variance of each estimator's one-draw gradient against the training step, log scale")
    st.caption(
        f"Variance: the sample variance of 32 fresh draws per run and step at its current θ and φ, averaged over the "
        f"{RELAX_CHAINS} runs and {WINDOW} steps; REBAR and RELAX tune φ at every step by Adam (step 0.01) on 2ĝ ∂ĝ/∂φ. "
        "Over the last 200 steps: " + "; ".join(f"{TOY_LABELS[n]} {lasts.value(n)}" for n in last) + ". "
        + "RELAX's is " + compare(last["relax"], last["score"], 3, "REINFORCE's") + "."
    )
    ui.chart(toy_race_figure(runs, TOY_LABELS), key="relax_race",
             alt="Theta against the training step for REINFORCE, REBAR, RELAX, ARM and DisARM")
    final = {n: float(r["theta"][-1].mean()) for n, r in runs.items()}
    se = {n: float(r["theta"][-1].std(ddof=1) / np.sqrt(r["theta"].shape[-1])) for n, r in runs.items()}
    best = min(final, key=final.get)
    # Level with the best: apart by less than twice the standard error of the difference.
    tied = [n for n in final if final[n] - final[best] < 2 * np.hypot(se[n], se[best])]
    lead = (f"closest to the optimum θ = 0: {TOY_LABELS[best]}" if len(tied) == 1 else
            "closest to the optimum θ = 0: " + " and ".join(TOY_LABELS[n] for n in sorted(tied, key=final.get))
            + ", level within their run-to-run spread (apart by less than twice the standard error of the difference)")
    st.caption(
        f"Adam (step 0.01) on α, one draw per step, {RELAX_CHAINS} runs per estimator from θ = ½ (line: mean; band: "
        f"10–90 %). Mean θ after {RELAX_STEPS:,} steps (± standard error over the runs): "
        + "; ".join(f"{TOY_LABELS[n]} {_sig(v, 3)} ± {_sig(se[n], 2)}" for n, v in final.items())
        + f"; {lead}."
    )


@st.fragment
def page() -> None:
    # On a phone the logits' sliders stick under the header while the estimates they move scroll
    # beneath them, down to the end of the histograms (APP_CSS: stickycontrols_).
    pair = st.container(key="discretepair")
    got = controls(pair)
    if got is None:
        return
    objective, values, logits, tau, L, reps, seed = got
    relax_scene = ui.scene_params().get("section") == "relax"  # a lecture scene about section 6
    with pair:
        K = len(values)
        text = objective.text
        if not objective.smooth:
            st.info("f is not differentiable everywhere: straight-through and the Gumbel estimators use f′ and may be "
                    "meaningless here; the score function, leave-one-out, ARM and DisARM only need values of f."
                    + (" REBAR and RELAX differentiate a relaxed f in their control variate: still unbiased where f has "
                       "kinks, biased where it jumps." if K == 2 else ""))
        exact = exact_discrete_gradient(text, list(logits), list(values))
        pi = probabilities(list(logits))
        # 0 up to rounding reads 0: the sizes of f (the exact gradient's terms) and of f′(v)·v
        # (straight-through's), next to which a residue such as 1e-17 is nothing.
        v_arr = np.array(values, dtype=float)
        with np.errstate(all="ignore"):
            f_size, fp_size = (float(np.max(np.abs(a), where=np.isfinite(a), initial=0.0)) for a in
                               (objective.numpy(v_arr), objective.derivative(v_arr) * np.abs(v_arr).max()))
        exact = np.array([ui.zeroed(float(g), f_size) for g in exact])
        st.markdown("π = softmax(θ) = (" + ", ".join(f"{p:.3f}" for p in pi) + ");  exact ∂E[f]/∂θ = ("
                    + ", ".join(_sig(g, 4) for g in exact) + ")  — by enumeration.")
        _hold("j", K - 1)
        # index = the page's own default (the last θ): the link leaves out only that choice, so a link
        # without j opens on it and θ0 is written as j=0 (it used to be dropped, and the link flipped to θ1).
        j = st.radio("Show the gradient with respect to", list(range(K)), index=K - 1, horizontal=True,
                     format_func=lambda i: f"θ{i}", key="j", bind="query-params")
        reps = ui.live_reps(L, reps, ui.DISCRETE_LIVE_SAMPLES)
        res = estimates(text, logits, values, L, reps, seed, tau)
        if not all(np.isfinite(a).all() for a in res.values()):
            st.warning("Some estimates are not finite (f or f′ overflows at these values).", icon=":material/warning:")

        st_mean, _ = straight_through_moments(text, list(logits), list(values))
        st_mean = np.array([ui.zeroed(float(g), fp_size) for g in st_mean])
        ui.lecture_truth("st_mean", float(st_mean[j]))
        if ui.revealed():
            st.subheader("1 · Estimates against the exact gradient")
            series = [(LABELS[n], COLORS[n], a[:, j]) for n, a in res.items()]
            ui.chart(labelled_histograms(series, float(exact[j]), f"estimates of ∂/∂θ{j} (dashed: exact = {exact[j]:.4g})"),
                     key="dhist", alt=f"Histograms of discrete gradient estimates for theta {j}")
        elif not relax_scene:  # a lecture scene asks first
            with ui.scene_subject():
                ui.hidden_answer("The estimates, the straight-through comparison and the sections below")
            return
    if not ui.revealed():
        # A scene on section 6 asks about its toy, not the setting above: the section's title, its toy
        # with the scene's t and the choice of t are in view under the question, its numbers hidden.
        with ui.scene_subject():
            relax_intro()
            ui.hidden_answer("Section 6's variances and charts, and the rest of this page")
        return
    rows = []
    summaries = {n: summarize(a[:, j], float(exact[j])) for n, a in res.items()}
    # The size of the table's numbers: a value far below it is 0 up to rounding (DisARM at equal
    # logits is exact, and its variance read 4.8e-35 and its SNR 3.6e+15).
    size = ui.size_of(float(exact[j]), summaries.values())
    means = biased_means(text, logits, values, tau, objective.continuous)
    for n, s in summaries.items():
        std = ui.zeroed(s.std, size)
        # With no spread, |mean| / sd is no number: say so (every estimate the same, exact or not).
        snr = ui.fmt(s.snr, 3) if std > 0 else "no spread"
        unbiased = DISCRETE_ESTIMATORS[n][1] and (objective.continuous or n not in ("rebar", "relax"))
        # "no (biased)" only where this estimator's exact mean is known and differs from the exact
        # gradient (straight-through is unbiased for a linear f, all of them for a constant one).
        known_bias = n in means and abs(float(means[n][j]) - float(exact[j])) > 1e-9 * max(f_size, fp_size)
        rows.append({"estimator": LABELS[n],
                     "unbiased?": "yes" if unbiased else "no (biased)" if known_bias else "not in general",
                     "mean": ui.for_people(ui.fmt(s.mean, scale=size)),
                     "exact": ui.for_people(ui.fmt(float(exact[j]), scale=size)),
                     "bias": ui.for_people(ui.fmt(s.bias, 3, scale=size)),
                     "bias / SE": ui.for_people(ui.fmt(s.z, 3)) if std > 0 else "no spread",
                     "variance": ui.for_people(ui.fmt(s.variance, scale=size * size)), "SNR": ui.for_people(snr)})
    ui.table(rows, key="discrete_table")
    st.caption(f"{reps:,} replicates of L = {L}, τ = {tau:g}. bias / SE beyond about ±3 means the bias is real."
               + (" REBAR and RELAX here use the untuned control variate η = 1, λ = 0.5 with RELAX's network at zero, "
                  "where RELAX is REBAR draw for draw; section 6 tunes them." if K == 2 else ""))
    with st.expander("Reproduce the score-function and straight-through gradients in PyTorch"):
        st.code(discrete_snippet(text, logits, values, seed=seed)
                + f"# exact gradient: {np.round(exact, 6).tolist()}\n"
                f"# straight-through's expectation: {np.round(st_mean, 6).tolist()}", language="python", wrap_lines=True)

    st.subheader("2 · Straight-through can point the wrong way")
    wrong = [i for i in range(K) if exact[i] * st_mean[i] < 0]  # both already 0 up to rounding
    # A sign only where there is one: 0 has none (f(v) all equal, or f′ = 0 at every v).
    sign = ("opposite sign!" if j in wrong else "same sign" if exact[j] * st_mean[j] > 0 else
            "both 0" if exact[j] == st_mean[j] == 0 else "exact is 0" if exact[j] == 0 else "it is 0")
    with ui.scene_subject(here="section" not in ui.scene_params()):
        c1, c2 = st.columns(2)
        c1.metric(f"exact ∂E[f]/∂θ{j}", _sig(exact[j], 4))
        c2.metric(f"straight-through, its expectation (∂/∂θ{j})", _sig(st_mean[j], 4),
                  delta=sign, delta_arrow="off", delta_color="red" if j in wrong else "gray")
    if wrong:
        st.error(f"Here straight-through's *average* gradient has the wrong sign for θ{', θ'.join(map(str, wrong))}: "
                 "more samples will only make it more confidently wrong.", icon=":material/error:")
    # Lazy tabs: a slider move computes only the open tab (the descent race alone is ~0.5 s).
    tab_tau, tab_race, tab_gumbel, tab_relax = ui.tabs(
        {"tau": "3 · The temperature trade-off", "race": "4 · Descent race: does the bias matter?",
         "gumbel": "5 · Gumbel-max and Gumbel-softmax, made visible",
         "relax": "6 · REBAR and RELAX"}, key="section")
    if tab_tau.open:
        with tab_tau:
            grid, exact_curves, mc, flat = tau_study(text, logits, values, j, seed)
            with ui.scene_subject(here="section" in ui.scene_params()):
                ui.chart(tau_curves(grid, exact_curves, mc, flat, LABELS, mc_reps=TAU_MC_REPS), key="tau_chart",
                                alt="Bias and variance of Gumbel-softmax estimators against the temperature")
            st.caption(
                ("Lines: exact (quadrature over the logistic noise, K = 2). " if K == 2 else "")
                + f"Circles: Monte Carlo ({TAU_MC_REPS:,} one-draw estimates, with ±1 standard-error bars; a Monte Carlo |bias| "
                "smaller than its standard error is noise). Dotted: estimators without τ (an unbiased one has no |bias| to draw). "
                + _tau_sentence(grid, exact_curves, mc)
            )

    if tab_race.open:
        with tab_race:
            lr = st.select_slider("learning rate", [0.1, 0.3, 1.0, 3.0], value=1.0, key="lr", bind="query-params")
            L_race = min(L, RACE_MAX_L)
            histories = race(text, logits, values, L_race, tau, float(lr), seed)
            f_vals = objective.numpy(np.array(values))
            ui.chart(race_figure(histories, float(np.min(f_vals)), LABELS, optimum_label="best possible E[f]"), key="race",
                            alt="Exact expected objective during gradient descent with each estimator")
            final = {n: float(h[-1].mean()) for n, h in histories.items()}
            st.caption(f"Gradient descent on θ to *minimise* E[f], 200 steps of L = {L_race} draws"
                       + (f" (L is capped at {RACE_MAX_L} here to stay live)" if L > RACE_MAX_L else "")
                       + ", 16 runs per estimator (line: mean; band: 10–90%). Final E[f]: "
                       + "; ".join(f"{LABELS[n]} {ui.for_people(ui.fixed(v, 4))}" for n, v in final.items()) + ".")

    if tab_gumbel.open:
        with tab_gumbel:
            freq, plain, pi_ = gumbel_max_frequencies(list(logits), 20000, seed)
            left, right = st.columns(2)
            with left:
                ui.chart(gumbel_max_figure(freq, plain, pi_, 20000), key="gmax",
                                alt="Frequencies of argmax with and without Gumbel noise against the softmax probabilities")
                st.caption("argmax(θ + g) with Gumbel noise g is an exact draw from softmax(θ); without noise it always "
                           "picks the largest logit. Gumbel-softmax is not just softmax with a temperature: the noise is what samples.")
            with right:
                soft, hard = soft_samples(list(logits), [5.0, 1.0, 0.5, 0.1, 0.01], seed)
                ui.chart(soft_path_figure([5.0, 1.0, 0.5, 0.1, 0.01], soft, hard), key="soft",
                                alt="One soft Gumbel-softmax sample at several temperatures approaching a one-hot vertex")
                st.caption("One Gumbel draw, several temperatures: the soft sample slides to the one-hot argmax as τ → 0.")
            # At a low τ the soft sample is one-hot to many digits and both Jacobians are ~0, which shows
            # nothing: the demonstration then uses τ = 1, where the soft sample is visibly soft.
            # The test is on the Jacobian itself: a soft sample at 0.99 is visibly soft at τ = 0.01
            # (its Jacobian's entries reach s(1 − s)/τ ≈ 1).
            demo_tau = tau
            jac = hard_gumbel_softmax_jacobians(list(logits), demo_tau, seed)
            peak = float(jac["forward_soft"].max())
            steepest = float(np.abs(jac["jacobian_soft"]).max())
            if steepest < 1e-3:
                demo_tau = 1.0
                jac = hard_gumbel_softmax_jacobians(list(logits), demo_tau, seed)
            vector = lambda a: "(" + ", ".join(ui.fixed(float(x), 3) for x in a) + ")"  # noqa: E731
            gap = float(np.abs(jac["jacobian_hard"] - jac["jacobian_soft"]).max())
            st.markdown(
                f"**`F.gumbel_softmax(logits, tau={demo_tau:g}, hard=True)`** for one draw"
                + (f" (at τ = 1: at τ = {tau:g} this draw's soft sample is nearly one-hot, its largest entry "
                   f"{peak:.6g}, and both Jacobians are nearly 0, their largest entry {_sig(steepest, 2)} in size)"
                   if demo_tau != tau else "")
                + f": forward value {vector(jac['forward_hard'])} (one-hot), while the soft sample is "
                f"{vector(jac['forward_soft'])}. Its Jacobian ∂y/∂θ is the soft sample's "
                + ("to the last bit" if gap == 0 else f"(largest difference {_sig(gap, 1)})")
                + ": `hard=True` does not block gradients, it sends the soft sample's gradient through a hard "
                "forward value."
            )
            st.dataframe({f"∂y/∂θ{c}": [ui.for_people(ui.fixed(float(x), 4)) for x in jac["jacobian_hard"][:, c]]
                          for c in range(K)},
                         width="stretch")

    if tab_relax.open:
        with tab_relax:
            relax_section(seed, subject=relax_scene)

    st.subheader("7 · This is a policy gradient")
    st.markdown(
        "A categorical policy π_θ(a) over K actions with reward f(v_a) is exactly this setting: the score-function "
        "estimator is REINFORCE, leave-one-out is RLOO, and the exact gradient above is what a policy-gradient "
        "method estimates from sampled actions."
    )


page()

ui.next_step()
