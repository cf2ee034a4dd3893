"""AppTest of the home page."""
import json

import numpy as np
from streamlit.testing.v1 import AppTest

import core


def test_home_renders_a_teaser_that_scrubs_mu_in_the_browser():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    assert not at.exception
    (fig,) = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    (slider,) = fig["layout"]["sliders"]
    frames = fig["frames"]
    assert len(frames) == len(slider["steps"]) == 61  # μ from −3 to 3 in steps of 0.1
    # Each frame's header names its μ and the exact gradient there.
    for i in (0, 17, 60):
        mu = -3.0 + 0.1 * i
        header = frames[i]["data"][-1]["text"][0]
        assert f"μ = {mu:.2f}".replace("-", "−") in header
        exact = core.exact_gradient("cos(3*x)", mu, 0.5)[0]
        assert f"{float(f'{exact:.4g}'):.4g}".replace("-", "−") in header
    assert slider["active"] == 35  # starts at μ = 0.5
    caption = " ".join(c.value for c in at.caption)
    assert "of the 61 values of μ" in caption
    sd = np.array([float(v) for v in caption.split("spread is ")[1].split(" against")[0:1]])
    assert sd.size == 1
