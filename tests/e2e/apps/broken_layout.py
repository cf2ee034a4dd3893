"""What the layout check must catch, drawn by Streamlit as the app draws its charts (run by
tests/e2e/test_layout.py): the Lab's "Variance against L" at its defaults as it was before the
layout work (legend placed under the plot by a fraction of its height, Plotly's own log ticks,
the old yellow of 1.3:1 on white), a label crossed by a line, one running past the chart's
edge, and a metric label cut off."""
import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from core.figures import variance_vs_L  # noqa: E402

st.set_page_config(layout="wide")
import core  # noqa: E402

# The Lab's tab at its defaults: f = cos(3x), μ = σ = 0.5, its four default estimators.
Ls, f, mu, sigma = [1, 2, 4, 8, 16, 32, 64, 128], "cos(3*x)", 0.5, 0.5
names = list(core.DEFAULT_ESTIMATORS)
curves = core.variance_by_L(f, mu, sigma, Ls, reps=500, seed=0, estimators=names)
exact = core.exact_variances(f, mu, sigma)
old = variance_vs_L(Ls, {n: c[0] for n, c in curves.items()}, {n: v[0] for n, v in exact.items() if n in curves})
old.update_layout(legend=dict(orientation="h", yref="paper", yanchor="top", y=-0.2, x=0))
for axis in (old.layout.xaxis, old.layout.yaxis):
    axis.update(tickmode="auto", tickvals=None, ticktext=None)
old.data[0].line.color = old.data[0].marker.color = "#F0E442"
left, right = st.columns([0.38, 0.62])  # the Lab's half column beside the sidebar: about 470 px
left.plotly_chart(old, width="stretch", key="old")
crossed = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#0072B2")))
crossed.add_annotation(x=0.5, y=0.5, text="a label on the line", showarrow=False)
crossed.add_annotation(x=1.0, xref="paper", y=0.1, text="a label running off the chart's left edge " * 6,
                       showarrow=False, xanchor="right")
crossed.add_annotation(x=0.2, y=0.9, text="pale text", showarrow=False, font=dict(color="#bbbbbb"))  # 1.9:1
crossed.update_layout(sliders=[dict(steps=[dict(label="a", method="skip"), dict(label="b", method="skip")], bordercolor="#e8e8e8", bgcolor="#f4f4f4")])
right.plotly_chart(crossed, width="stretch", key="crossed")
a, b, c, d, e, f = st.columns(6)
a.metric("a metric label far too long for its narrow column", 1)
# A slider with another element drawn over it (as a table's toolbar once was on a phone), and
# words drawn at 6 px.
st.slider("a covered slider", 0.0, 1.0, 0.5, key="covered")
st.html('<div style="margin-top:-64px;height:72px;position:relative;z-index:5;background:rgba(128,128,128,0.15)">'
        'a toolbar over it</div>')
st.html('<p style="font-size:6px">words far too small to read</p>')
