"""The floor pages bench/bench_server.py measures the Lab against must keep working."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest


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
