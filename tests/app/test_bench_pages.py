"""The floor pages bench/bench_server.py measures the Lab against must keep working."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _traces(at: AppTest) -> list[int]:
    return [len(json.loads(chart.proto.spec)["data"]) for chart in at.get("plotly_chart")]


def test_trivial_page_draws_one_histogram_and_redraws_on_a_move():
    at = AppTest.from_file(str(BENCH / "trivial_app.py"), default_timeout=60).run()
    before = at.get("plotly_chart")[0].proto.spec
    at.slider(key="mu").set_value(0.7).run()
    assert not at.exception
    assert _traces(at) == [1]
    assert at.get("plotly_chart")[0].proto.spec != before


def test_lab_charts_page_draws_the_labs_two_ridgelines():
    at = AppTest.from_file(str(BENCH / "lab_charts_app.py"), default_timeout=60).run()
    at.slider(key="mu").set_value(0.55).run()
    assert not at.exception
    lab = open_page("pages/1_Estimator_Lab.py")
    lab.slider(key="mu").set_value(0.55).run()
    # the same figures as the Lab at its defaults: 8 estimator rows and the means, twice
    specs = [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]
    lab_specs = [json.loads(c.proto.spec)["data"] for c in lab.get("plotly_chart")][:2]
    assert _traces(at) == [9, 9]
    assert specs == lab_specs
