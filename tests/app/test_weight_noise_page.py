"""AppTest of the weight-noise page."""
import json

import numpy as np
import pytest

from core.weight_noise import WEIGHT_NOISE_METHODS, variance_by_batch
from tests.app.conftest import open_page

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # the page's


def test_page_and_controls():
    at = open_page("pages/8_Weight_Noise_Flipout.py")
    assert not at.exception
    rows = at.dataframe[0].value.to_dict("records")
    assert [r["method"] for r in rows] == ["one weight sample per minibatch",
                                           "local reparameterization", "Flipout", "independent weights per example"]
    for v in (-3.0, 1.0):
        at.slider(key="ls").set_value(v).run()
        assert not at.exception
    at.select_slider(key="batch").set_value(64).run()
    at.number_input(key="seed").set_value(2).run()
    assert not at.exception


def test_the_flipout_floor_sentence_reads_the_table():
    """The caption used to promise Flipout a "smaller floor" at every setting; it now states the two
    variances it compares, from the same numbers as the chart."""
    from tests.app.conftest import open_page

    at = open_page("pages/8_Weight_Noise_Flipout.py", ls="0")
    assert not at.exception
    text = next(c.value for c in at.caption if "with one shared sample (" in c.value)
    assert "smaller floor" not in text and "× that" in text


def _variance_caption(at) -> str:
    return next(c.value for c in at.caption if "1/B would divide" in c.value)


@pytest.mark.parametrize("ls", [-3.0, -2.0, -1.0, 0.0, 1.0])
def test_every_floor_the_caption_names_is_in_the_charts_numbers(ls):
    """Over the log σ slider's range: the caption's falls are the chart's own numbers, and it names a
    floor for exactly the curves that fall less than a quarter as far as 1/B (the old caption said
    the shared μ-gradient "stops improving", but at log σ = −3 it falls 187× from B = 1 to 256)."""
    at = open_page("pages/8_Weight_Noise_Flipout.py", ls=str(ls))
    assert not at.exception
    v = variance_by_batch(BATCHES, reps=400, seed=0, log_sigma=ls)
    text = _variance_caption(at)
    for m, label in WEIGHT_NOISE_METHODS.items():
        for key, name in (("mu", "∂μ"), ("log_sigma", "∂log σ")):
            fall = v[m][key][0] / v[m][key][-1]
            assert f"{label} {fall:.3g}×" in text, (m, key, fall)
            named = f"{label} ({name})" in text
            assert named == (fall * (1 + 2 * _rel(v, m, key)) < 256 / 4), (m, key, fall, named)
    if ls == -3.0:
        assert "one weight sample per minibatch (∂μ)" not in text  # it falls nearly like 1/B here
    if ls == 1.0:
        assert "Flipout (∂log σ)" in text


def _rel(v, m, key):
    return float(np.hypot(v[m][f"{key}_se"][0] / v[m][key][0], v[m][f"{key}_se"][-1] / v[m][key][-1]))


def test_at_batch_size_1_the_estimators_that_coincide_share_one_point():
    v = variance_by_batch((1, 4), reps=400, seed=0, log_sigma=0.0)
    mu = {m: (d["mu"][0], d["mu_se"][0]) for m, d in v.items()}
    assert len(set(mu.values())) == 1  # one estimator at B = 1, for μ
    ls = {m: d["log_sigma"][0] for m, d in v.items()}
    assert ls["shared"] == ls["flipout"] == ls["independent"] != ls["local"]
    assert v["shared"]["mu"][1] != v["local"]["mu"][1]  # from B = 2 on, each its own


def test_the_training_chart_is_zoomed_past_its_start():
    at = open_page("pages/8_Weight_Noise_Flipout.py")
    fig = json.loads(next(el.proto.spec for el in at.get("plotly_chart") if '"step"' in el.proto.spec))
    lo, hi = fig["layout"]["yaxis"]["range"]
    text = next(c.value for c in at.caption if "Every run starts at" in c.value)
    assert lo > -1500 and "starts at ELBO −45" in text  # about −4,500 at step 0: off the chart, said in words
