"""The floor for a live redraw: one slider, one pre-binned histogram (used by bench_server.py)."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

mu = st.slider("μ (mean)", -3.0, 3.0, 0.5, 0.05, key="mu")
x = np.random.default_rng(0).standard_normal(20_000) + mu
counts, edges = np.histogram(x, bins=60, range=(-6, 6))
st.plotly_chart(go.Figure(go.Bar(x=0.5 * (edges[1:] + edges[:-1]), y=counts)), width="stretch", key="h")
