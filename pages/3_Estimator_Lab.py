"""Estimator Lab: every gradient estimator on the same random numbers, against the exact gradient,
with a slider inside the figure that sweeps μ, σ or L live in the browser."""
import math

import numpy as np

import streamlit as st

import ui  # before core and torch: on a cold server ui sends its early chart first
import core
from core.figures import variance_vs_L
from core.scrub import AXIS_SYMBOL, PARAM_SYMBOL, plan_sweep, readout_number
from core.snippets import estimators_snippet
from core.stats import sd_uncertainty, summarize, variance_ratio

ui.page_setup("Estimator Lab")
PRESENT = ui.presenter_mode()

# Defaults that teach (checked by tests/app/test_estimator_lab.py): with cos(3x), μ = 0.5,
# σ = 0.5 the exact ∂/∂μ is −0.97, the batch-mean baseline's bias is visible at L = 3, and the
# estimators' spreads differ by a factor of about 3.
DEFAULT_MU, DEFAULT_SIGMA, DEFAULT_L, DEFAULT_REPS = 0.5, 0.5, 3, 1000
VARIANCE_LS = (1, 2, 4, 8, 16, 32, 64, 128)
VARIANCE_REPS = 500

st.title("Estimator Lab")
if not PRESENT:
    st.markdown(
        r"We want $\nabla_{\mu,\sigma}\,\mathbb{E}_{x\sim\mathcal N(\mu,\sigma^2)}[f(x)]$. Each estimator turns L "
        "random samples into one estimate; each row shows many such estimates (replicates) against the **exact** "
        "gradient (dashed, by quadrature), with their mean as a triangle. **Drag the slider inside the figure**: "
        "every frame is ready in your browser."
    )


def _finite(value: float, digits: int = 4, scale: float | None = None) -> str:
    """A table number, or "overflow" where double precision ran out (a spread of exp(1000x))."""
    return "overflow" if isinstance(value, float) and math.isinf(value) else ui.for_people(ui.fmt(value, digits, scale=scale))


def _exact_means(text: str, mu: float, sigma: float, L: int, exact: tuple[float, float]) -> dict:
    """What the biased estimators average to here, exactly: the batch mean (1 − 1/L)·∇, and central
    differences (E f at μ ± h, and at σ ± h) / 2h with h = σ/10, by quadrature."""
    h = 0.1 * sigma
    value = lambda m, s: core.exact_value(text, m, s)  # noqa: E731
    return {"score_batchmean": tuple((1 - 1 / L) * g for g in exact),
            "finite_difference": ((value(mu + h, sigma) - value(mu - h, sigma)) / (2 * h),
                                  (value(mu, sigma + h) - value(mu, sigma - h)) / (2 * h))}


def _table(results, param: str, exact: float, scale: float, reference: str | None, continuous: bool,
           biased_means: dict | None = None) -> list[dict]:
    rows = []
    summaries = {
        name: summarize((r.d_mu if param == "mu" else r.d_sigma) * scale, exact) for name, r in results.items()
    }
    ref_var = summaries[reference].variance if reference in summaries else float("nan")
    # The size of this table's numbers: a bias or mean far below it is 0 up to rounding.
    size = ui.size_of(exact, summaries.values())
    for name, r in results.items():
        s = summaries[name]
        verdict = "yes" if r.info.unbiased else "no (biased)"
        if not r.info.unbiased and biased_means and name in biased_means and math.isfinite(exact):
            # Biased in general, but not at every setting: central differences are exact for a quadratic
            # f, and the batch mean's (1 − 1/L)·∇ is right where ∇ is 0.
            if abs(biased_means[name] * scale - exact) <= 1e-9 * max(size, abs(exact)):
                verdict = "yes, here"
        if name == "pathwise" and not continuous:
            verdict = "no: f jumps"
        if not math.isfinite(exact):
            verdict = "— (no exact value here)"  # unbiased for what? (E[f] or its gradient may not exist)
        rows.append({
            "estimator": r.info.label,
            "unbiased?": verdict,
            "mean": _finite(s.mean, scale=size),
            "exact": _finite(exact, scale=size),
            "bias ± SE": f"{_finite(s.bias, 3, size)} ± {_finite(s.se, 2, size)}",
            "bias / SE": "no spread" if s.std == 0 else _finite(s.z, 3),  # not ±∞: every estimate the same
            "std": _finite(s.std),
            "variance": _finite(s.variance),
            "SNR": "no spread" if s.std == 0 else _finite(s.snr, 3),  # |mean| / 0: not a number to print
            "var ÷ pathwise": ui.for_people(ui.fmt(variance_ratio(s.variance, ref_var), 3)),
            "f-evals": r.f_evals,
        })
    return rows


def _variance_by_L(objective, mu: float, sigma: float, seed: int, chosen: list[str], scale: float,
                   sigma_param: str) -> None:
    st.caption(
        f"Dots: measured variance of the L-sample estimate ({VARIANCE_REPS} replicates per L). Dashed: the exact "
        "single-sample variance divided by L (quadrature). An estimator that averages L independent terms of a fixed "
        "form (pathwise, score, measure-valued, finite differences) falls exactly like 1/L, so more samples never "
        "close the gap between those: their ratios stay. The leave-one-out and batch-mean baselines change with L "
        "(each uses the other samples), so they have no dashed line and their ratio to the others can change."
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


def _rare_events(stage: dict, plan) -> None:
    """Where every estimator that is unbiased in theory misses the exact value by more than 10 of its
    standard errors (or, with no spread, misses it at all), the draws never reach where f's mass is:
    exp(−5x) at μ = −3, σ = 3, where the exact ∂/∂μ is −1.2×10⁵⁶ and the estimates are 10²³ to 10³¹."""
    start, readouts = plan.start, stage["readouts"]
    exact = float(stage["exact"][start])
    # Pathwise is left out: where f jumps it misses for another reason, which _warnings gives.
    rows = [n for n in stage["names"] if core.ESTIMATORS[n].unbiased and n != "pathwise"]
    if not rows or not math.isfinite(exact) or exact == 0:
        return

    def misses(n: str) -> bool:
        z, sd, mean = (float(readouts[n][k][start]) for k in ("z", "std", "mean"))
        if sd == 0:
            return math.isfinite(mean) and abs(mean - exact) > 1e-6 * abs(exact)
        return math.isfinite(z) and abs(z) > 10
    if all(misses(n) for n in rows):
        st.warning(f"**Every estimate here misses the exact value, {readout_number(exact)}, by far more than its "
                   f"standard error.** The expectation is carried by draws too rare for {plan.reps:,} replicates to "
                   "contain (f grows faster than the Gaussian's tail falls). The rows show what samples of this size "
                   "do, not the estimators' means: move μ or σ towards the middle of their ranges, or pick a "
                   "tamer f.", icon=":material/warning:")


def _start_setting(axis: str, plan) -> str:
    """Where the figure's slider starts, for a sentence: "μ = −0.5"."""
    return f"{AXIS_SYMBOL[axis]} = {ui.for_people(f'{plan.grid[plan.start]:g}')}"


def _what_it_shows(stage: dict, axis: str, plan, param: str) -> str:
    """One sentence about the starting frame, computed from its numbers (so it is true for any setting)."""
    readouts, start, names = stage["readouts"], plan.start, stage["names"]
    at = _start_setting(axis, plan)
    # The size of the starting frame's numbers (not the whole sweep's: along σ, exp(4.9x)'s gradient
    # grows from 6,150 to 10⁵⁰, and 6,150 is no rounding residue).
    sizes = np.abs(np.array([float(stage["exact"][start])] + [float(readouts[n]["std"][start]) for n in names]))
    sizes = sizes[np.isfinite(sizes)]  # a formula that overflows everywhere leaves none
    size = float(sizes.max()) if sizes.size else 0.0
    exact = ui.zeroed(float(stage["exact"][start]), size)
    parts = [f"At {at} (where the figure's slider starts) the exact {PARAM_SYMBOL[param]} is {readout_number(exact)}"]
    # Unbiased by the numbers on screen, not only in theory: a row whose mean sits more than 4
    # standard errors from the exact value is not called unbiased here (pathwise where f jumps,
    # even a jump the parser cannot see).
    def centred(n: str) -> bool:
        z = float(readouts[n]["z"][start])
        if float(readouts[n]["std"][start]) == 0.0:  # no spread, no z: centred if the mean is the exact value
            mean = float(readouts[n]["mean"][start])
            return math.isfinite(mean) and abs(mean - float(stage["exact"][start])) <= 1e-6 * max(size, 1e-300)
        return math.isfinite(z) and abs(z) <= 4.0
    unbiased = {n: float(readouts[n]["std"][start]) for n in names
                if core.ESTIMATORS[n].unbiased and math.isfinite(readouts[n]["std"][start]) and centred(n)}
    if len(unbiased) >= 2:
        order = sorted(unbiased, key=unbiased.get)
        best, worst = order[0], order[-1]
        # Each sd's own uncertainty, from its sample's kurtosis (core.stats.summarize_rows): about
        # 1/√(2(R − 1)) with light tails, far more with heavy ones.
        rel = {n: sd_uncertainty(float(readouts[n]["sd_rel_se"][start]), float(readouts[n]["kurtosis"][start]))
               for n in order}

        def apart(a: str, b: str) -> bool:
            """b's sd is above a's by more than three standard errors of their ratio."""
            spread = math.sqrt(rel[a] ** 2 + rel[b] ** 2)
            return math.isfinite(spread) and unbiased[b] / unbiased[a] > 1 + 3 * spread

        if unbiased[best] == 0 and unbiased[worst] > 0:
            parts.append(f"{core.ESTIMATORS[best].short} has no spread at all here (every estimate the same), while "
                         f"{core.ESTIMATORS[worst].short}'s sd is {readout_number(unbiased[worst])}")
        elif unbiased[best] > 0 and apart(best, worst):
            # The narrowest is named alone only when it is clear of the next one too; otherwise the
            # estimators level with it (within their uncertainty) are named together.
            leaders = [n for n in order if not apart(best, n)]
            shown = 100 * max(rel[n] for n in leaders + [worst])
            against = (f"{ui.ratio(unbiased[worst] / unbiased[best])}× narrower than {core.ESTIMATORS[worst].short} "
                       f"(each sd within ±{shown:.2g}% from {plan.reps:,} replicates)")
            if len(leaders) == 1:
                parts.append(f"the narrowest unbiased estimator is {core.ESTIMATORS[best].short} "
                             f"(sd {readout_number(unbiased[best])}), " + against)
            else:
                parts.append("the narrowest unbiased estimators, level within their uncertainty, are "
                             + ", ".join(core.ESTIMATORS[n].short for n in leaders)
                             + f" (sd {readout_number(unbiased[leaders[0]])} to {readout_number(unbiased[leaders[-1]])}), "
                             + against)
        elif unbiased[best] > 0 and all(math.isfinite(rel[n]) for n in (best, worst)):
            shown = 100 * max(rel[best], rel[worst])
            parts.append(f"the unbiased estimators are about as wide as each other (sd {readout_number(unbiased[best])} "
                         f"to {readout_number(unbiased[worst])}, each within ±{shown:.2g}% from {plan.reps:,} replicates)")
    for n in names:
        if core.ESTIMATORS[n].unbiased:
            continue
        z, mean = float(readouts[n]["z"][start]), float(readouts[n]["mean"][start])
        if float(readouts[n]["std"][start]) == 0.0 and math.isfinite(mean):  # no spread: no standard error to count in
            miss = ui.zeroed(mean - float(stage["exact"][start]), size)
            parts.append(f"every estimate of {core.ESTIMATORS[n].short} here is "
                         + ("the exact value" if miss == 0 else
                            f"{readout_number(ui.zeroed(mean, size))}, {readout_number(abs(miss))} "
                            f"{'below' if miss < 0 else 'above'} the exact value"))
        elif math.isfinite(z):
            parts.append(f"{core.ESTIMATORS[n].short} sits {abs(z):.3g} standard errors "
                         f"{'below' if z < 0 else 'above'} the exact value")
    return "; ".join(parts) + "."


@st.fragment
def lab() -> None:
    # The stage comes first: on the left on a wide screen, on top on a phone.
    stage_col, controls = st.columns([2.2, 1] if not PRESENT else [1.9, 1], gap="medium")
    # On a projector the estimator picker ends the controls, so the whole stage fits under the
    # title on a 720-px screen; elsewhere it heads the stage it filters.
    picker = None if PRESENT else stage_col.container()
    with controls:
        text, objective, error = ui.objective_controls(default="cos")
        axis = st.segmented_control(
            "The figure's slider moves", list(AXIS_SYMBOL), default="mu", required=True,
            format_func=AXIS_SYMBOL.get, key="axis", bind="query-params", width="stretch",
            help="Which setting the slider inside the figure moves. Its control below sets where it starts.")
        param = st.segmented_control(
            "Gradient with respect to", list(PARAM_SYMBOL), default="mu", required=True,
            format_func=lambda p: {"mu": "μ", "sigma": "σ", "log_sigma": "log σ"}[p], key="of",
            bind="query-params", width="stretch",
            help="∂/∂log σ = σ·∂/∂σ is the gradient a VAE's encoder sees when it outputs log σ.")
        mu, sigma = ui.gaussian_controls(mu=DEFAULT_MU, sigma=DEFAULT_SIGMA, start_of=axis)
        L, reps = ui.sample_size_controls(L=DEFAULT_L, reps=DEFAULT_REPS, start_of=axis)
        seed = ui.seed_control()
        if PRESENT:
            picker = st.container()

    with picker:
        chosen = st.pills(
            "Estimators", list(core.ESTIMATORS), selection_mode="multi", default=list(core.DEFAULT_ESTIMATORS),
            format_func=lambda n: core.ESTIMATORS[n].short, key="est", bind="query-params", wrap=True,
            label_visibility="collapsed",
            help="Every estimator uses the same random numbers, so differences between rows are not luck.")
    with stage_col:
        if error:
            st.error(f"**Formula not understood.** {ui.escape_markdown(error)}", icon=":material/edit:")
            return
        chosen = [n for n in core.ESTIMATORS if n in (chosen or [])]  # the picker's order, not the click order
        if not chosen:
            st.info("Pick at least one estimator.")
            return
        usable = chosen if axis == "L" else [n for n in chosen if L >= core.ESTIMATORS[n].min_L]
        if not usable:
            st.info("Leave-one-out needs at least two samples per estimate: set L ≥ 2 to see it.")
            return
        plan = plan_sweep(axis, mu, sigma, L, reps, mu_range=(ui.MU_MIN, ui.MU_MAX),
                          sigma_range=(ui.SIGMA_MIN, ui.SIGMA_MAX), L_options=ui.L_OPTIONS)
        stage = ui.cached_stage(objective.text, mu, sigma, axis, plan.grid, plan.start, L, plan.reps, seed,
                                tuple(usable), param, PRESENT)
        with ui.scene_subject():
            if not ui.revealed():  # a lecture scene asks first
                ui.hidden_answer("The figure")
                return
            ui.chart(ui.PrebuiltFigure(stage["figure"]), key="stage", sized=True, download=False,
                     alt=f"Histograms of {len(usable)} estimators' estimates of the gradient, with a slider along "
                         f"{AXIS_SYMBOL[axis]}")
        st.caption(_what_it_shows(stage, axis, plan, param))
        _rare_events(stage, plan)
        for n in stage["names"]:
            ui.lecture_truth(f"mean:{n}", float(stage["readouts"][n]["mean"][plan.start]))
        if plan.note:
            st.caption(plan.note)
        if len(usable) < len(chosen):
            st.caption("Leave-one-out needs at least two samples per estimate: set L ≥ 2 to see it.")

    results = stage["estimates"]
    _warnings(objective, mu, sigma, L if axis != "L" else plan.grid[plan.start], plan.reps, results)
    _below_the_stage(objective, mu, sigma, L, seed, chosen, stage, axis, plan, param, results)


def _warnings(objective, mu: float, sigma: float, L: int, reps: int, results) -> None:
    exact = ui.cached_exact(objective.text, mu, sigma)
    g_mu, g_sigma = exact["gradient"]
    if not (math.isfinite(g_mu) and math.isfinite(g_sigma)):
        st.warning(
            "**No trustworthy exact value for this f here.** Either E[f(x)] or its gradient does not exist, "
            "or f is not finite for some x (1/x near 0, sqrt or log of negative numbers, exp(x²)), or f "
            "changes faster than the quadrature resolves (sigmoid(10⁶x)), or the quadrature's estimates "
            "(finer panels, breakpoints found at two resolutions, the pathwise and score forms) disagree. "
            "No dashed line is drawn rather than a wrong one; the estimates have no true value to aim at.",
            icon=":material/warning:",
        )
    pm_mu, pm_sigma = exact["pathwise_mean"]
    size = max(abs(g_mu), abs(g_sigma), abs(pm_mu), abs(pm_sigma))
    # The warning's premise: the miss is large enough for these replicates to show (more than two
    # standard errors of the score function's mean, from its exact variance). A jump that carries
    # almost no probability here (the step at μ = −3: a miss of 1e−8) gets a sentence saying so.
    score_var = ui.cached_exact_variances(objective.text, mu, sigma).get("score", (math.nan, math.nan))
    se = [math.sqrt(v / (L * reps)) if math.isfinite(v) else math.nan for v in score_var]
    visible = not all(abs(m - g) <= 2 * s for m, g, s in zip((pm_mu, pm_sigma), (g_mu, g_sigma), se))
    if exact["pathwise_misses"] and not visible:
        st.info(
            "f has jumps, so the pathwise estimator is biased, but at this μ and σ they carry almost no "
            f"probability: it averages to ∂μ ≈ {ui.for_people(ui.fmt(pm_mu, scale=size))} and ∂σ ≈ "
            f"{ui.for_people(ui.fmt(pm_sigma, scale=size))} against the true gradient ({ui.for_people(ui.fmt(g_mu, scale=size))}, "
            f"{ui.for_people(ui.fmt(g_sigma, scale=size))}), a miss within two standard errors of the score function's "
            f"mean over these {reps:,} replicates. Move μ towards a jump to see it fail."
        )
    elif exact["pathwise_misses"]:
        st.warning(
            "**f has jumps, so the pathwise estimator is wrong here.** Autograd differentiates f "
            "sample by sample and never sees a jump (the derivative of a step is 0 wherever it exists): "
            f"it averages to ∂μ ≈ {ui.for_people(ui.fmt(pm_mu, scale=size))} and ∂σ ≈ {ui.for_people(ui.fmt(pm_sigma, scale=size))}, "
            f"while the true gradient is ({ui.for_people(ui.fmt(g_mu, scale=size))}, {ui.for_people(ui.fmt(g_sigma, scale=size))}). "
            "The score-function and measure-valued estimators only need "
            "values of f and stay unbiased.",
            icon=":material/warning:",
        )
    elif not objective.smooth:
        st.info("f has corners (abs, relu, min, max) but no jumps: the pathwise estimator is still unbiased.")
    bad = [r.info.label for r in results.values()
           if not (np.isfinite(r.d_mu).all() and np.isfinite(r.d_sigma).all())]
    if bad:
        fine = [r.info.label for r in results.values() if r.info.label not in bad]
        also = (f" {', '.join(fine)} {'is' if len(fine) == 1 else 'are'} finite only because autograd's f′ exists where "
                "f does not (1/x for log x at x < 0): with no E[f(x)], they estimate nothing here."
                if fine and not (math.isfinite(g_mu) and math.isfinite(g_sigma)) else "")
        st.warning(
            "Estimates that are not finite (f overflowed or is undefined at some samples) are left out of the "
            "histograms and the numbers, for: " + ", ".join(bad) + "." + also,
            icon=":material/warning:",
        )
    with np.errstate(all="ignore"):
        huge = [r.info.label for r in results.values() if r.info.label not in bad
                and not (np.isfinite(np.var(r.d_mu)) and np.isfinite(np.var(r.d_sigma)))]
    if huge:
        st.warning(
            "Some estimates are so large that their variance overflows double precision: "
            + ", ".join(huge) + ". The table says \"overflow\" where a number is beyond it; try smaller values of f.",
            icon=":material/warning:",
        )


def _below_the_stage(objective, mu, sigma, L, seed, chosen, stage, axis, plan, param, results) -> None:
    start_value = _start_setting(axis, plan)
    # Lazy tabs: only the open tab's content is computed and sent.
    numbers, by_L, code, maths = ui.tabs(
        {"numbers": "The numbers", "by_L": "Variance against L", "code": "Reproduce in PyTorch",
         "maths": "The estimators, in maths"}, key="view")
    log_sigma = param == "log_sigma"
    scale = sigma if log_sigma else 1.0
    exact = ui.cached_exact(objective.text, mu, sigma)
    g_mu, g_sigma = exact["gradient"]
    if numbers.open:
        with numbers:
            st.caption(
                f"The starting frame ({start_value}, where the figure's slider starts; the readouts in the figure "
                f"follow its slider): {plan.reps:,} replicates of L = {next(iter(results.values())).L}. **bias / SE** is the "
                "bias in standard errors: an unbiased estimator stays within about ±3; a biased one grows with the "
                "number of replicates. **SNR** = |mean| / std. **f-evals**: evaluations of f per estimate of one "
                "parameter."
            )
            reference = "pathwise" if "pathwise" in results else None
            tab_mu, tab_sigma = st.tabs(["∂/∂μ", "∂/∂log σ" if log_sigma else "∂/∂σ"])  # both cheap: not lazy
            first = ["estimator", "mean", "bias ± SE", "std", "var ÷ pathwise"]
            biased = [n for n in results if not core.ESTIMATORS[n].unbiased]
            means = _exact_means(objective.text, mu, sigma, next(iter(results.values())).L, (g_mu, g_sigma)) \
                if biased else {}
            with tab_mu:
                ui.table(_table(results, "mu", g_mu, 1.0, reference, not exact["pathwise_misses"],
                                {n: m[0] for n, m in means.items()}), key="table_mu", first=first)
            with tab_sigma:
                ui.table(_table(results, "sigma", g_sigma * scale, scale, reference, not exact["pathwise_misses"],
                                {n: m[1] for n, m in means.items()}), key="table_sigma", first=first)
            csv = stage["csv"]  # only the text: the button's callable lives as long as the session
            ui.download_csv("stage", lambda: csv)
            st.caption(f"The CSV holds every frame of the sweep along {AXIS_SYMBOL[axis]}: one row per value and "
                       "estimator.")
    if by_L.open:
        with by_L:
            _variance_by_L(objective, mu, sigma, seed, chosen, scale, "log_sigma" if log_sigma else "sigma")
    if code.open:
        size = max(abs(g_mu), abs(g_sigma), 1.0)  # the size the comment's numbers are judged against
        with code:
            st.code(estimators_snippet(objective.text, mu, sigma, L, seed)
                    + f"# exact gradient: {ui.fmt(g_mu, 6, scale=size)}, {ui.fmt(g_sigma, 6, scale=size)}",
                    language="python", wrap_lines=True)
    if maths.open:
        with maths:
            st.markdown(
                r"With $x=\mu+\sigma\epsilon$, $\epsilon\sim\mathcal N(0,1)$, each estimate averages L samples of:"
            )
            for info in core.ESTIMATORS.values():
                st.markdown(f"**{info.label}** — {info.summary}")
                st.latex(r"\widehat{\partial_\mu} = " + info.latex_mu + r",\qquad \widehat{\partial_\sigma} = "
                         + info.latex_sigma)
            st.markdown(
                r"$W\sim$ Rayleigh(1), $M\sim$ double-sided Maxwell (density $m^2\phi(m)$), $U\sim\mathcal U(0,1)$; "
                r"$U M\sim\mathcal N(0,1)$, which couples the two ends of the σ-estimator."
            )


lab()

ui.next_step()
