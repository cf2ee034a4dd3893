"""AppTest of "The reparameterization trick": controls rerun cleanly and numbers match core."""
import pytest
from streamlit.testing.v1 import AppTest

from core.reparam import elbo_exact
from tests.app.conftest import open_page

PAGE = "pages/2_Reparameterization_Trick.py"


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


def test_page_renders_and_elbo_numbers_are_exact():
    at = run(x="0.5", s="1", qmu="-1", qsigma="0.5")
    assert not at.exception
    value, d_mu, d_sigma = elbo_exact(0.5, 1.0, -1.0, 0.5)
    assert [m.value for m in at.metric[:3]] == [f"{v:.4f}".replace("-", "−") for v in (value, d_mu, d_sigma)]
    assert at.metric[4].value == "0.0000"  # pathwise on a step: exactly 0


@pytest.mark.parametrize("key, values", [
    ("mu", [-3.0, 3.0]), ("sigma", [0.1, 2.5]), ("x", [-3.0, 3.0]), ("s", [0.2, 2.0]),
    ("qmu", [-3.0, 3.0]), ("qsigma", [0.05, 2.0]), ("c", [-2.0, 2.0]),
])
def test_sliders_to_their_ends(key, values):
    at = run()
    for v in values:
        at.slider(key=key).set_value(v).run()
        assert not at.exception


def test_select_sliders_and_seed():
    at = run()
    at.select_slider(key="n").set_value(500).run()
    at.select_slider(key="L").set_value(50).run()
    at.number_input(key="seed").set_value(9).run()
    assert not at.exception
