"""AppTest of the policy-gradient page."""
import numpy as np
from streamlit.testing.v1 import AppTest

from core.policy import bandit_exact_gradient, bandit_single_sample_variance
from tests.app.conftest import open_page

PAGE = "pages/7_Policy_Gradients.py"


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


def test_numbers_are_cores():
    at = run()
    assert not at.exception
    shifted = np.array((0.2, 0.5, 0.8, 0.4, 0.6)) + 5.0
    assert at.metric[0].value == f"{np.linalg.norm(bandit_exact_gradient(np.zeros(5), shifted)):.4f}"
    assert at.metric[1].value == f"{bandit_single_sample_variance(np.zeros(5), shifted, 1.0, 0.0).sum():.4g}"


def test_controls_to_their_ends():
    at = run()
    for key, values in (("c", (0.0, 10.0)), ("noise", (0.0, 3.0)), ("c2", (0.0, 5.0))):
        for v in values:
            at.slider(key=key).set_value(v).run()
            assert not at.exception
    at.select_slider(key="batch").set_value(2).run()
    at.select_slider(key="lr").set_value(1.0).run()
    at.number_input(key="seed").set_value(3).run()
    at.number_input(key="sseed").set_value(7).run()
    assert not at.exception
