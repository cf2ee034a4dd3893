"""AppTest of the weight-noise page."""
from tests.app.conftest import open_page


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
