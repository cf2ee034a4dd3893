"""AppTest of the home page."""
import json

from streamlit.testing.v1 import AppTest

import core


def test_home_renders_with_a_live_teaser():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    assert not at.exception
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert len(figs) == 1
    at.slider(key="home_mu").set_value(-1.0).run()
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    d_mu = core.exact_gradient("cos(3*x)", -1.0, 1.0)[0]
    assert f"{d_mu:.4g}" in fig["layout"]["xaxis"]["title"]["text"]
