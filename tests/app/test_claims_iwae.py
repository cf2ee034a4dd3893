"""Tighter bounds (IWAE, STL, DReG): every comparative or quantitative sentence, over settings a
student can reach (sweep, any non-empty set of estimators, any seed), against the true SNRs
computed here — never against core.iwae's Monte Carlo, which the page shows. core.iwae.problem
only supplies the data point and the parameters.

The truth. With log w_i = −α‖ε_i‖² − 2s r·ε_i (α = s² − ½), every mean gradient is, to first order
in the encoder's mismatch r (‖r‖ ≈ 0.03 here), r times a number, and every variance is, to zeroth
order, that of r = 0, where the weights depend on ρ_i = ‖ε_i‖² ~ χ²_D alone. Differentiating the
softmax in r gives, with w̃ = softmax(−α ρ) and m_n = E[Σ_i w̃_i^n ρ_i]/D, q₀ = E[Σ_i w̃_i²]:

    E[S₁] = −2s (m₁ − m₂) r,    E[S₂] = −4s (m₂ − m₃) r,    Var S₁ = m₂ I,    Var S₂ = m₄ I
    (cross terms E[ε_i·ε_j] vanish by the rotational symmetry of ε).

Each m_n is one integral: 1/S^n = ∫₀^∞ t^{n−1} e^{−tS} dt / (n − 1)! turns E[Σ_i w_i^n h(ρ_i) / S^n]
into K/(n − 1)! ∫ t^{n−1} E[w^n h(ρ) e^{−tw}] E[e^{−tw}]^{K−1} dt, done here by Gauss–Legendre in
ρ and in log t. Then the b-gradients' means and per-coordinate variances (∇_a = x ⊙ ∇_b) are

    IWAE  −2r − 2s E[S₁],            4s² m₂
    STL   −2r − (2s − 1/s) E[S₁],    (2s − 1/s)² m₂
    DReG  −2r q₀ − (2s − 1/s) E[S₂], (2s − 1/s)² m₄
    θ     (x − θ)/2 + r + s E[S₁],   s² m₂

and each group SNR is ‖mean‖/√(tr Var). Two checks that this is right, independent of the page:
DReG's mean equals IWAE's at every K (Tucker et al.), and STL's tends to −1.5 r (both asserted
below); and it agrees with the page's own measurements to within their jackknife errors at 150
seeds. The M sweep (K = 1) is linear in ε: the SNR is the K = 1 closed form times √M.
"""
import functools
import json
import math
import os
import re

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from core.iwae import problem
from tests.app.conftest import open_page
from tests.app.test_random_widgets import _array

PAGE = "pages/10_Tighter_Bounds_IWAE.py"
EXAMPLES = 250 if os.environ.get("NIGHTLY") else 6
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
GRID = (1, 4, 16, 64, 256)  # the page's K and M
LABELS = {"iwae": "IWAE", "stl": "STL (sticking the landing)", "dreg": "DReG (doubly reparameterized)"}
THETA = "θ: same for all three"
SLACK = 0.02  # the truth below is first order in r; against 150 seeds' measurements it is within 1 %
NUMBER = r"[+−-]?[\d,]*\.?\d+"


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", "").lstrip("+"))


@functools.lru_cache(maxsize=None)
def _quadrature(dim: int, alpha: float):
    """Gauss–Legendre nodes: ρ over (0, 160) with the χ²_dim density, log t over (−30, 60); e^{−t w(ρ)}."""
    nodes, weights = np.polynomial.legendre.leggauss(600)
    rho = 80.0 * (nodes + 1)
    p_rho = 80.0 * weights * stats.chi2.pdf(rho, dim)
    w = np.exp(-alpha * rho)
    nodes, weights = np.polynomial.legendre.leggauss(1200)
    t, du = np.exp(45.0 * (nodes + 1) - 30.0), 45.0 * weights
    return rho, p_rho, w, t, du, np.exp(-np.outer(t, w))


@functools.lru_cache(maxsize=None)
def _moments(K: int, dim: int, alpha: float) -> tuple[float, ...]:
    """(m₁, m₂, m₃, m₄, q₀) for K weights w̃ = softmax(−α ρ), ρ ~ χ²_dim, by quadrature."""
    rho, p_rho, w, t, du, laplace = _quadrature(dim, alpha)
    tail = (laplace @ p_rho) ** (K - 1)

    def moment(n, h):  # E[Σ_i w_i^n h(ρ_i) / S^n]
        return K / math.factorial(n - 1) * ((t ** n * ((laplace * (w ** n * h)) @ p_rho) * tail) * du).sum()

    return (*(moment(n, rho) / dim for n in (1, 2, 3, 4)), moment(2, np.ones_like(rho)))


@functools.lru_cache(maxsize=None)
def true_snr(sweep: str, n: int) -> dict[str, float]:
    """The group SNR of θ's gradient and of each estimator's φ-gradient at K = n (M = 1) or M = n (K = 1)."""
    prob = problem()
    x, r, s, dim = prob.x, prob.r, prob.s, prob.x.size
    K, M = (n, 1) if sweep == "K" else (1, n)
    m1, m2, m3, m4, q0 = _moments(K, dim, s * s - 0.5)
    path = 2 * s - 1 / s
    mean = {"iwae": -2 + 4 * s * s * (m1 - m2), "stl": -2 + 2 * s * path * (m1 - m2),
            "dreg": -2 * q0 + 4 * s * path * (m2 - m3)}
    var = {"iwae": 4 * s * s * m2, "stl": path ** 2 * m2, "dreg": path ** 2 * m4}
    shape = np.linalg.norm(np.concatenate([x * r, r])) / math.sqrt((x ** 2).sum() + dim)
    out = {e: abs(mean[e]) * shape / math.sqrt(var[e] / M) for e in mean}
    theta_mean = (x - prob.theta) / 2 + r * (1 - 2 * s * s * (m1 - m2))
    out["theta"] = float(np.linalg.norm(theta_mean) / math.sqrt(s * s * m2 * dim / M))
    out["means"] = mean
    return out


def test_the_truth_is_consistent():
    """DReG's mean gradient is IWAE's at every K (Tucker et al.), STL's tends to −1.5 r and differs
    from it for K > 1; K = 1 is the ELBO (mean −2r for all three); IWAE's encoder SNR falls at every
    step of the grid, θ's, STL's and DReG's grow; the M sweep grows exactly like √M."""
    for K in GRID:
        means = true_snr("K", K)["means"]
        assert abs(means["dreg"] - means["iwae"]) < 1e-8 and (K == 1) == (abs(means["stl"] - means["iwae"]) < 1e-8)
    assert abs(true_snr("K", 1)["means"]["iwae"] + 2) < 1e-8 and abs(true_snr("K", 256)["means"]["stl"] + 1.5) < 0.01
    for a, b in zip(GRID, GRID[1:]):
        lo, hi = true_snr("K", a), true_snr("K", b)
        assert hi["iwae"] < lo["iwae"] and hi["theta"] > lo["theta"] and hi["stl"] > lo["stl"] and hi["dreg"] > lo["dreg"]
        for key in ("theta", "iwae", "stl", "dreg"):
            assert true_snr("M", b)[key] / true_snr("M", a)[key] == pytest_approx(math.sqrt(b / a))


def pytest_approx(value):
    import pytest
    return pytest.approx(value, rel=1e-9)


def _curves(at) -> tuple[dict, dict]:
    """From the SNR chart: {curve: (grid, SNR or nan where unresolved, log SE)} and {curve: {n: upper bound}}."""
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    curves, upper = {}, {}
    for trace in chart["data"]:
        name, hover = trace.get("name", ""), trace.get("hovertemplate", "")
        label = hover.split("<br>")[0]
        key = "theta" if label == THETA else next((e for e, v in LABELS.items() if v == label), None)
        if key is None or "theory" in name:
            continue
        x = _array(trace["x"])
        if name.startswith("not resolved"):
            upper[key] = dict(zip(x.astype(int), _array(trace["y"])))
        else:
            y = np.array([np.nan if v is None else v for v in trace["y"]], float) if isinstance(trace["y"], list) \
                else _array(trace["y"])
            err = _array(trace["error_y"]["array"])
            with np.errstate(invalid="ignore", divide="ignore"):
                se = np.where(np.isfinite(y), np.log1p(err / y), np.nan)
            curves[key] = (x.astype(int), y, se)
    return curves, upper


def check_page(at, sweep, shown):
    assert not at.exception, [e.message for e in at.exception]
    curves, upper = _curves(at)
    assert set(curves) == {"theta", *shown}

    def snr_at(key, n):
        grid, y, se = curves[key]
        i = list(grid).index(n)
        return y[i], se[i]

    # Every point drawn: a resolved SNR within 4 of its jackknife SEs of the truth, an unresolved one's
    # upper bound above the truth.
    for key, (grid, y, se) in curves.items():
        for n, v, e in zip(grid, y, se):
            truth = true_snr(sweep, int(n))[key]
            if np.isfinite(v):
                assert abs(math.log(v / truth)) <= 4 * e + SLACK, (key, n, v, e, truth)
            else:
                assert truth <= upper[key][n] * (1 + SLACK), (key, n, upper[key][n], truth)

    prose = " ".join(m.value for m in at.markdown if "encoder's SNR" in m.value)

    def fold_ok(word, fold, key, a, b):
        """The fold is the chart's own (to 2 significant digits); its direction is the truth's, and it lies
        within 4 SEs of the true fold."""
        (v_a, se_a), (v_b, se_b) = snr_at(key, a), snr_at(key, b)
        assert fold == float(f"{max(v_a, v_b) / min(v_a, v_b):.2g}"), (key, fold, v_a, v_b)
        t_a, t_b = true_snr(sweep, a)[key], true_snr(sweep, b)[key]
        assert word == ("grows" if t_b > t_a else "falls"), (key, word, t_a, t_b)
        measured = max(v_a, v_b) / min(v_a, v_b)
        assert abs(math.log(measured / (max(t_a, t_b) / min(t_a, t_b)))) <= 4 * math.hypot(se_a, se_b) + SLACK, \
            (key, fold, t_a, t_b)

    found = re.search(rf"From {sweep} = 1 to ([\d,]+), θ's SNR (grows|falls) ({NUMBER})-fold \(√([\d,]+) = ({NUMBER})\)",
                      prose)
    assert found, prose
    j = int(found.group(1).replace(",", ""))
    fold_ok(found.group(2), _number(found.group(3)), "theta", 1, j)
    assert abs(_number(found.group(5)) - math.sqrt(j)) <= 0.005 * math.sqrt(j)
    for e in shown:
        label = re.escape(LABELS[e])
        found = re.search(rf"{label}: the encoder's SNR (grows|falls) ({NUMBER})-fold from {sweep} = 1 to ([\d,]+), "
                          rf"from ({NUMBER}) to ({NUMBER})", prose)
        if found:
            j = int(found.group(3).replace(",", ""))
            fold_ok(found.group(1), _number(found.group(2)), e, 1, j)
            for n, value in ((1, found.group(4)), (j, found.group(5))):  # the chart's points, to 2 digits
                assert _number(value) == float(f"{snr_at(e, n)[0]:.2g}"), (e, n, value)
        else:
            found = re.search(rf"{label}: the encoder's SNR is ({NUMBER}) at {sweep} = 1", prose)
            assert found, (e, prose)
        below = re.search(rf"{label}: [^.]*; at {sweep} = ([\d, ]+) it is below what [\d,]+ draws resolve "
                          rf"\(under ([^)]+)\)", prose)
        if below:
            for n, bound in zip(below.group(1).split(", "), below.group(2).split(", ")):
                # "below X" with X printed to 2 significant digits
                assert true_snr(sweep, int(n))[e] <= _number(bound) * (1 + SLACK + 0.05), (e, n, bound)
    found = re.search(rf"At K = 256, DReG's encoder SNR is (more than )?({NUMBER}) times IWAE's", prose)
    if found:
        truth = true_snr("K", 256)["dreg"] / true_snr("K", 256)["iwae"]
        shown_ratio = _number(found.group(2))
        dreg, iwae = snr_at("dreg", 256), snr_at("iwae", 256)
        if found.group(1):  # over the upper bound of an unresolved IWAE point
            assert shown_ratio == float(f"{dreg[0] / upper['iwae'][256]:.2g}")
            assert truth >= shown_ratio * (1 - SLACK - 0.05), (shown_ratio, truth)
        else:  # the chart's own two points, within 4 SEs of the true ratio
            assert shown_ratio == float(f"{dreg[0] / iwae[0]:.2g}")
            assert abs(math.log(dreg[0] / iwae[0] / truth)) <= 4 * math.hypot(dreg[1], iwae[1]) + SLACK, (shown_ratio, truth)
    else:
        assert not (sweep == "K" and {"dreg", "iwae"} <= set(shown) and np.isfinite(snr_at("dreg", 256)[0]))
    if sweep == "M":  # "the fitted slopes are all a / a to b, the encoder's included, where theory says ½"
        rows = at.dataframe[0].value.to_dict("records")
        fits = [[_number(v) for v in re.match(rf"({NUMBER}) ± <?({NUMBER})", r["fitted slope ± SE"]).groups()]
                for r in rows if not r["fitted slope ± SE"].startswith("—")]
        for slope, se in fits:  # the truth is exactly ½
            assert abs(slope - 0.5) <= 4 * max(se, 0.01) + 0.005, (slope, se)
        found = re.search(rf"the fitted slopes are (?:all ({NUMBER})|({NUMBER}) to ({NUMBER})), the encoder's included",
                          prose)
        lo, hi = (found.group(1), found.group(1)) if found.group(1) else found.group(2, 3)
        assert (_number(lo), _number(hi)) == (min(s for s, _ in fits), max(s for s, _ in fits))

    # The readout: "at K = 1, where both are closed forms, the readout here is F times it; measured, it
    # is lo to hi times it". To first order in r the ratio is F at every K (the b-gradient's variance is
    # isotropic and its mean ∥ r): the measured ones within 4 SEs of their points.
    caption = next(c.value for c in at.caption if "the readout here is" in c.value)
    found = re.search(rf"the readout here is ({NUMBER}) times it; measured, it is (?:({NUMBER}) to )?({NUMBER}) times it",
                      caption)
    prob = problem()
    factor = np.linalg.norm(prob.r) * math.sqrt((prob.x ** 2).sum() + prob.x.size) \
        / np.linalg.norm(np.concatenate([prob.x * prob.r, prob.r]))
    assert _number(found.group(1)) == float(f"{factor:.2g}")
    worst = max(np.nanmax(curves[e][2]) for e in shown)
    for value in filter(None, found.groups()[1:]):
        assert abs(math.log(_number(value) / factor)) <= 4 * worst + SLACK + 0.05, (value, factor, worst)

    # The expander: "IWAE's encoder SNR is exactly 0.021 at K = 1 … and smaller beyond".
    closed = next(m.value for m in at.markdown if "encoder SNR is exactly" in m.value)
    value = _number(re.search(rf"encoder SNR is exactly ({NUMBER})", closed).group(1))
    assert value == round(true_snr("K", 1)["iwae"], 3)


@SETTINGS
@given(sweep=st.sampled_from(["K", "M"]),
       shown=st.lists(st.sampled_from(list(LABELS)), min_size=1, unique=True).map(lambda s: [e for e in LABELS if e in s]),
       seed=st.integers(0, 2 ** 31 - 1))
# Seed 1: IWAE's K = 256 point is unresolved, and its 2-SE upper bound (0.0012) was below the true SNR
# (0.0014): the page said "below what 8,000 draws resolve (under 0.0012)" and "DReG's encoder SNR is
# more than 430 times IWAE's" (truly 370 times).
@example(sweep="K", shown=["iwae", "stl", "dreg"], seed=1)
def test_every_sentence_is_true(sweep, shown, seed):
    at = open_page(PAGE, timeout=120, sweep=sweep, seed=str(seed), est=shown)
    check_page(at, sweep, shown)
