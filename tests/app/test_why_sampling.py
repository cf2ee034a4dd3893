"""AppTest of "Why sampling blocks gradients": every control reruns cleanly, numbers are core's."""
import pytest
from streamlit.testing.v1 import AppTest

from core.blocking import DECOMPOSITIONS, decomposition
from tests.app.conftest import open_page

PAGE = "pages/1_Why_Sampling_Blocks_Gradients.py"


def run(**query) -> AppTest:
    return open_page(PAGE, **query)


def test_page_renders_graphs_and_metrics():
    at = run()
    assert not at.exception
    assert len(at.get("graphviz_chart")) == 5
    d = decomposition("shift", 0.7)
    values = [m.value for m in at.metric]
    assert values[0] == f"{d.true:.4f}" and values[1] == "0.0000" and values[2] == f"{d.missing:.4f}"
    assert any("NaN" in e.value for e in at.error)  # the forum question's sqrt of a negative variance
    assert any("finite" in s.value for s in at.success)


@pytest.mark.parametrize("name", list(DECOMPOSITIONS))
def test_every_objective_and_theta(name):
    at = run()
    at.selectbox(key="fz").set_value(name).run()
    for theta in (-2.0, 2.0):
        at.slider(key="theta").set_value(theta).run()
        assert not at.exception
        d = decomposition(name, theta)
        assert at.metric[0].value == f"{round(d.true, 4) + 0.0:.4f}".replace("-", "−")  # a minus sign for people


def test_other_controls():
    at = run()
    at.select_slider(key="n").set_value(10).run()
    at.slider(key="mu").set_value(-2.0).run()
    at.slider(key="sigma").set_value(0.1).run()
    at.number_input(key="seed").set_value(5).run()
    at.number_input(key="netseed").set_value(3).run()
    assert not at.exception
