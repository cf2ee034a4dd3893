"""The class's answers, tallied and drawn (core.poll): counts that add up, bins that hold their
edges, nothing out of range counted, and figures Plotly accepts with the truth on the same axis."""
import math

import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.poll import NUMBER_BINS, poll_figure, tally_choices, tally_numbers


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(-10, 10), width=st.floats(0.01, 20),
       values=st.lists(st.one_of(st.floats(-50, 50), st.sampled_from([math.nan, math.inf, -math.inf])), max_size=300))
def test_number_tally_counts_every_answer_in_range_once(lo, width, values):
    hi = lo + width
    t = tally_numbers(values, lo, hi)
    inside = [v for v in values if math.isfinite(v) and lo <= v <= hi]
    assert t.n == len(inside) == sum(t.counts)
    assert len(t.counts) == NUMBER_BINS and t.lo == lo and t.hi == hi
    if inside:
        assert t.median == pytest.approx(sorted(inside)[len(inside) // 2] if len(inside) % 2 else
                                         0.5 * (sorted(inside)[len(inside) // 2 - 1] + sorted(inside)[len(inside) // 2]))


def test_bin_edges_belong_to_the_right_bins():
    t = tally_numbers([0.0, 1.0, 0.5, 0.049, 0.05, -0.01, 1.01], 0.0, 1.0, bins=20)
    assert t.n == 5
    assert t.counts[0] == 2 and t.counts[1] == 1 and t.counts[10] == 1 and t.counts[-1] == 1  # 1.0 is in the top bin


def test_choice_tally_counts_indices_only():
    t = tally_choices([0, 1, 1, 2, 5, -1, True, "1", 1.0], ["a", "b", "c"])
    assert t.counts == (1, 2, 1) and t.n == 4


def test_a_number_question_needs_a_range():
    with pytest.raises(ValueError):
        tally_numbers([1.0], 1.0, 1.0)


@pytest.mark.parametrize("truth, mine", [(None, None), (0.3, 0.6), (5.0, 0.2), (float("nan"), None)])
def test_number_figure_validates_and_draws_the_truth_on_the_answers_axis(truth, mine):
    t = tally_numbers([0.1, 0.2, 0.2, 0.9], 0.0, 1.0)
    fig = go.Figure(poll_figure(t, truth, mine).to_dict())  # validated by Plotly
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    expected = (truth is not None and math.isfinite(truth)) + (mine is not None)
    assert len(lines) == expected
    if truth is not None and math.isfinite(truth):
        assert lines[0].x0 == min(max(truth, 0.0), 1.0)  # clamped onto the axis, and said so when off it
        assert ("off the scale" in fig.layout.annotations[0].text) == (truth > 1.0)
    assert list(fig.data[0].y) == list(t.counts)


def test_choice_figure_marks_the_right_answer_and_the_students_own():
    t = tally_choices([0, 1, 1], ["Pathwise", "Score function", "About the same"])
    fig = go.Figure(poll_figure(t, truth=1, mine=0).to_dict())
    labels = list(fig.data[0].y)
    assert labels[1].startswith("✓ ") and labels[0].startswith("▶ ") and list(fig.data[0].x) == [1, 2, 0]
