"""Hostile links: infinite numbers and markup in a formula give a clear message, never a
traceback, and user text is never rendered as markdown."""
import pytest

from tests.app.conftest import open_page

NUMBER_INPUTS = [("pages/1_Estimator_Lab.py", "seed"), ("pages/2_Why_Sampling_Blocks_Gradients.py", "seed"),
                 ("pages/2_Why_Sampling_Blocks_Gradients.py", "netseed"), ("pages/3_Reparameterization_Trick.py", "seed"),
                 ("pages/5_Baselines_and_Control_Variates.py", "seed"), ("pages/6_Discrete_Variables.py", "seed"),
                 ("pages/7_Policy_Gradients.py", "seed"), ("pages/7_Policy_Gradients.py", "sseed"),
                 ("pages/8_Weight_Noise_Flipout.py", "seed"), ("pages/9_VAE_Trained_Live.py", "seed")]


@pytest.mark.parametrize("page, key", NUMBER_INPUTS)
@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-Infinity"])
def test_an_infinite_number_in_the_link_falls_back_to_the_default_with_a_message(page, key, value):
    at = open_page(page, **{key: value})
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"infinite value for: {key}" in w.value for w in at.warning)
    assert key not in at.query_params


def test_the_rest_of_the_link_is_kept():
    at = open_page("pages/1_Estimator_Lab.py", seed="inf", mu="1.2", L="5")
    assert not at.exception
    assert at.slider(key="mu").value == 1.2 and at.select_slider(key="L").value == 5
    assert at.number_input(key="seed").value == 0


PAYLOADS = ["x # `![t](http://host/pixel.png)`", "x # `[Session expired - log in again](http://host/phish)`",
            "x # <img src=http://host/p.png>"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_is_shown_as_text_not_markdown(payload):
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f="custom formula", expr=payload)
    assert not at.exception
    rendered = [el.value for el in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error)]
    assert not any("](http" in text or "<img" in text for text in rendered), rendered
    assert any(payload in block.value for block in at.code)  # shown, literally
