"""AppTest of the weight-noise page."""
from streamlit.testing.v1 import AppTest


def test_page_and_controls():
    at = AppTest.from_file("../../app.py", default_timeout=90)
    at.switch_page("pages/8_Weight_Noise_Flipout.py")
    at.run()
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
