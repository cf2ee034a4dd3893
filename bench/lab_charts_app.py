"""The Estimator Lab's two charts and nothing else (used by bench_server.py).

Same μ slider, same cached estimates and exact gradient, same ``ui.chart`` calls as the
Lab at its default settings, inside a fragment as there: it splits the Lab's redraw time
into what its two 8-row ridgelines cost and what the rest of the page adds.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

import core  # noqa: E402
import ui  # noqa: E402
from core.figures import estimate_histograms  # noqa: E402
from core.presets import PRESETS, formula_for  # noqa: E402

TEXT = formula_for("cos", PRESETS["cos"].k)  # the Lab's default objective

st.set_page_config(layout="wide")


@st.fragment
def charts() -> None:
    mu = st.slider("μ (mean)", ui.MU_MIN, ui.MU_MAX, 0.5, 0.05, key="mu")
    g_mu, g_sigma = ui.cached_exact(TEXT, mu, 1.0)["gradient"]
    results = ui.cached_estimate(TEXT, mu, 1.0, 10, 2000, 0, tuple(core.ESTIMATORS))
    col_mu, col_sigma = st.columns(2)
    with col_mu:
        ui.chart(estimate_histograms(results, "mu", g_mu), key="hist_mu", alt="mu estimates")
    with col_sigma:
        ui.chart(estimate_histograms(results, "sigma", g_sigma), key="hist_sigma", alt="sigma estimates")


charts()
