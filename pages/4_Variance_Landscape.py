"""The variance landscape: no estimator always wins (Mohamed et al., JMLR 2020, figs. 2–4, live)."""
import numpy as np
import streamlit as st

import ui  # before core and torch: on a cold server ui sends its early chart first
import core
import core.landscape
from core.figures import figure_csv, landscape_figure
from core.presets import PRESETS
from core.snippets import variance_snippet
from core.stats import variance_and_se
from core.landscape import (COST, LANDSCAPE_ESTIMATORS, LANDSCAPE_FUNCTIONS, crossings, objective_for, sweep, touches,
                            winner_regions)

ui.page_setup("The variance landscape", ":material/landscape:")

st.title("The variance landscape")
st.markdown(
    "“Reparameterization always has lower variance” is a common belief. It is false. Below, each curve is "
    "the **exact** variance of one single-sample estimate (computed by quadrature, not by sampling), swept "
    "along the cost parameter k of Mohamed, Rosca, Figurnov & Mnih (2020) — or along μ or σ. The circles "
    "are Monte Carlo checks from the same estimators the Estimator Lab uses, with ±2 standard-error bars."
)

SWEEPS = {
    "k": np.geomspace(0.1, 10.0, 60),
    "mu": np.linspace(-3.0, 3.0, 61),
    "sigma": np.geomspace(0.1, 3.0, 50),
}
SWEEP_NAMES = {"k": "k", "mu": "μ", "sigma": "σ"}
MC_REPS = 20_000


@st.cache_data(max_entries=ui.CACHE_ENTRIES, show_spinner=False)
@ui.admitted
def _circles_off_their_curves(values, curves: dict, mc: dict) -> list[float]:
    """The sweep values where some estimator's Monte Carlo variance is more than 4 of its standard
    errors from the exact curve (where both are finite)."""
    missed = set()
    # What rounding leaves of a variance that is 0 (coupled measure-valued ∂μ at μ = k: 1.8×10⁻³¹ exact,
    # 1.0×10⁻³¹ sampled) is no miss: differences below 10⁻⁹ of the largest curve there do not count.
    top = np.max([np.interp(mc[n][0], values, curves[n]) for n in mc], axis=0)
    for name, (xs, var, se) in mc.items():
        exact = np.interp(xs, values, curves[name])
        with np.errstate(all="ignore"):
            off = np.isfinite(var) & np.isfinite(exact) & (np.abs(var - exact) > 4 * se + 1e-9 * top)
        missed.update(float(x) for x in np.asarray(xs)[off])
    return sorted(missed)


def compute(function: str, variable: str, mu: float, sigma: float, k: float, param: int, cost_aware: bool):
    values = SWEEPS[variable]
    sw = sweep(function, variable, values, mu=mu, sigma=sigma, k=k)
    found = {}
    for other in LANDSCAPE_ESTIMATORS[1:]:
        where = dict(mu=mu, sigma=sigma, k=k, cost_aware=cost_aware)
        roots = crossings(sw, "pathwise", other, param, **where)
        found[other] = (roots, winner_regions(sw, "pathwise", other, param, roots, **where),
                        touches(sw, "pathwise", other, param, **where))
    # Monte Carlo checks at a few sweep points (L = 1).
    idx = np.unique(np.linspace(0, values.size - 1, 7).round().astype(int))
    mc = {name: ([], [], []) for name in LANDSCAPE_ESTIMATORS}
    for i in idx:
        v = float(values[i])
        kk, mm, ss = (v, mu, sigma) if variable == "k" else (k, v, sigma) if variable == "mu" else (k, mu, v)
        res = core.estimate(objective_for(function, kk), mm, ss, L=1, reps=MC_REPS, seed=int(i),
                            estimators=list(LANDSCAPE_ESTIMATORS))
        for name in LANDSCAPE_ESTIMATORS:
            var, se = variance_and_se(res[name].d_mu if param == 0 else res[name].d_sigma)
            scale = COST[name] if cost_aware else 1
            mc[name][0].append(v)
            mc[name][1].append(var * scale)
            mc[name][2].append(se * scale)
    return sw, found, {n: tuple(np.array(a) for a in t) for n, t in mc.items()}


@st.fragment
def landscape() -> None:
    controls, drawn = ui.controls_and_chart("landscape")
    side = ui.presenter_mode()  # the controls in one column beside the chart

    def row(widths):
        return [controls] * len(widths) if side else controls.columns(widths)

    c1, c2, c3 = row([2, 2, 2])
    function = c1.selectbox("f(x)", list(LANDSCAPE_FUNCTIONS), index=2, format_func=lambda key: PRESETS[key].label,
                            key="f", bind="query-params")
    variable = c2.radio("Sweep along", list(SWEEPS), format_func=SWEEP_NAMES.get, horizontal=True, key="sweep",
                        bind="query-params")
    param_key = c3.radio("Gradient", ["mu", "sigma"], format_func={"mu": "∂/∂μ", "sigma": "∂/∂σ"}.get,
                         horizontal=True, key="param", bind="query-params")
    d1, d2, d3, d4 = row([2, 2, 2, 2])
    mu = d1.slider("μ (fixed)", -3.0, 3.0, 1.0, 0.1, key="mu", bind="query-params", disabled=variable == "mu")
    sigma = d2.slider("σ (fixed)", 0.1, 3.0, 1.0, 0.05, key="sigma", bind="query-params", disabled=variable == "sigma")
    k = d3.slider("k (fixed)", 0.1, 10.0, 3.0, 0.1, key="k", bind="query-params", disabled=variable == "k")
    cost_aware = d4.toggle("× f-evaluations (cost-aware)", key="cost", bind="query-params",
                           help="Measure-valued estimators evaluate f twice per sample: multiply each variance by "
                                "its number of evaluations to compare at equal cost.")
    param = 0 if param_key == "mu" else 1
    sw, found, mc = compute(function, variable, float(mu), float(sigma), float(k), param, bool(cost_aware))
    curves = {n: sw.var[n][:, param] * (COST[n] if cost_aware else 1) for n in LANDSCAPE_ESTIMATORS}
    marks = sorted({r for roots, _, _ in found.values() for r in roots})
    fixed = ", ".join(f"{SWEEP_NAMES[v]} = {_num(val)}" for v, val in (("mu", mu), ("sigma", sigma), ("k", k))
                      if v != variable)
    drawn.markdown(f"**f(x) = {PRESETS[function].label}**, {fixed}")
    figure = landscape_figure(sw.values, curves, variable, "∂/∂μ" if param == 0 else "∂/∂σ", mc=mc, marks=marks,
                              log_x=variable != "mu",
                              y_title="variance × f-evaluations" if cost_aware else "variance of one-sample estimate")
    with drawn:
        ui.chart(
            figure,
            key="landscape", download=False,
            alt=f"Exact single-sample variance of five estimators against {SWEEP_NAMES[variable]} for f = {PRESETS[function].label}",
        )
    # The chart's data, below the pair: on a phone the sticky chart keeps only the chart.
    ui.download_csv("landscape", lambda: figure_csv(figure))
    missed = _circles_off_their_curves(sw.values, curves, mc)
    if missed:
        st.caption(f"At {SWEEP_NAMES[variable]} = {', '.join(_num(v, '.3g') for v in missed)}, a circle misses its exact "
                   f"curve by more than 4 of its standard errors, as happens where the variance is carried by draws too rare for "
                   f"{MC_REPS:,} samples to contain (f's weight far in the Gaussian's tail): those circles show "
                   "what a sample of this size sees, not the variance.")
    st.subheader("Who wins where")
    lines = []
    v_name = SWEEP_NAMES[variable]
    for other, (roots, regions, equal) in found.items():
        name = core.ESTIMATORS[other].label
        # Where the two are equal without changing order: "lower" does not hold there.
        where = ", ".join(f"{v_name} = {_num(lo, '.4g')}" if lo == hi
                          else f"{v_name} ∈ [{_num(lo, '.3g')}, {_num(hi, '.3g')}]" for lo, hi in equal)
        if not roots:
            winner = regions[0][2]
            lines.append(f"- **Pathwise vs {name}**: {'pathwise' if winner == 'pathwise' else name} has the lower "
                         f"variance over the whole range shown"
                         + (f", except at {where}, where the two are equal." if equal else "."))
            continue
        parts = []
        for lo, hi, winner in regions:
            who = "pathwise" if winner == "pathwise" else name
            parts.append(f"{who} for {v_name} ∈ [{_num(lo, '.3g')}, {_num(hi, '.3g')}]")
        lines.append(f"- **Pathwise vs {name}**: curves cross at {', '.join(_num(r, '.4g') for r in roots)} — lower: "
                     + "; ".join(parts) + (f"; equal, without crossing, at {where}." if equal else "."))
    st.markdown("\n".join(lines))
    st.caption(
        "Crossings are found by bisection on the exact variances. Cost-aware mode multiplies each variance by "
        f"its f-evaluations per sample ({', '.join(f'{core.ESTIMATORS[n].label}: {COST[n]}' for n in LANDSCAPE_ESTIMATORS)})."
    )
    rows = [{"estimator": core.ESTIMATORS[n].label,
             **{f"{v_name} = {_num(sw.values[i], '.3g')}":
                _plain(ui.fmt(curves[n][i], 3, scale=max(curves[m][i] for m in LANDSCAPE_ESTIMATORS)))
                for i in np.linspace(0, sw.values.size - 1, 5).round().astype(int)}}
            for n in LANDSCAPE_ESTIMATORS]
    ui.table(rows, key="landscape_table")
    here = objective_for(function, float(k))
    exact_here = core.landscape.single_sample_variances(here, float(mu), float(sigma))
    st.caption(_coupling_sentence(exact_here, float(k), float(mu), float(sigma)))
    with st.expander(f"Reproduce the pathwise and score variances at k = {_num(k)}, μ = {_num(mu)}, σ = {_num(sigma)} "
                     "in PyTorch"):
        st.code(variance_snippet(here.text, float(mu), float(sigma))
                + f"# exact: pathwise {exact_here['pathwise'][0]:.6g} {exact_here['pathwise'][1]:.6g}\n"
                f"#        score {exact_here['score'][0]:.6g} {exact_here['score'][1]:.6g}", language="python", wrap_lines=True)


def _num(value: float, spec: str = "g") -> str:
    """A number for prose and tables: a minus sign, not a hyphen, and no −0 (a crossing at μ = 0
    found by bisection lands within 1e-15 of it)."""
    value = 0.0 if abs(value) < 1e-12 else float(value)
    return f"{value:{spec}}".replace("-", "−")


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _plain(text: str) -> str:
    """A table cell as people write it: 1,810 and 9.8×10⁻⁵, not 1.81e+03 and 9.8e-05."""
    if "e" not in text or not text[0].isdigit():
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if power >= 0:
        return f"{float(text):,.0f}"
    return f"{mantissa}×10{str(power).translate(SUPERSCRIPT)}"


def _coupling_sentence(variances: dict, k: float, mu: float, sigma: float) -> str:
    """Which way coupling the measure-valued estimator's ends goes here, from the exact variances."""
    parts = []
    for i, name in enumerate(("∂μ", "∂σ")):
        c, u = variances["mvd"][i], variances["mvd_uncoupled"][i]
        if not (np.isfinite(c) and np.isfinite(u)):
            continue
        way = "lower" if c < u * (1 - 1e-9) else "higher" if c > u * (1 + 1e-9) else "the same"
        size = max(c, u)  # a variance of 1e-31 beside 1.27 is 0 up to rounding
        parts.append(f"{_plain(ui.fmt(c, 4, scale=size))} coupled against {_plain(ui.fmt(u, 4, scale=size))} "
                     f"uncoupled for {name} ({way})")
    if not parts:
        return ""
    return (f"At k = {_num(k)}, μ = {_num(mu)}, σ = {_num(sigma)}, the measure-valued estimator's single-sample variance is "
            + "; ".join(parts) + ". For ∂μ it is a difference f(μ+σW) − f(μ−σW): one W for both ends lowers its "
            "variance when the two ends move together (f roughly even about μ) and raises it when they move "
            "against each other (f rising or falling through μ).")


landscape()

with st.expander("Why the curves look like this"):
    st.markdown(
        r"""
- **cos(kx)**: the pathwise estimator differentiates f, and $f'(x)=-k\sin(kx)$ grows with k, so its variance
  grows like $k^2$. The score function only uses values of f, which stay in [−1, 1]: for fast oscillations it wins.
- **exp(−kx²)**: a peak that gets narrower with k. The derivative gets steep (pathwise suffers); the value stays
  bounded (score function copes).
- **(x − k)²**: a smooth, slowly varying f. Pathwise stays cheap; the score function's variance grows like $k^4$,
  because it multiplies ever larger values of f by a noisy score.
- Measure-valued estimators cost two evaluations of f per sample, so compare them in cost-aware mode. Whether
  coupling their two ends (one draw for both) helps depends on f, μ and σ: the sentence under the table says
  which way it goes at the current setting, from the exact variances.
"""
    )

ui.next_step()
