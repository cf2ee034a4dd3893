"""AppTest of the VAE page: training is triggered with a tiny budget."""
from streamlit.testing.v1 import AppTest


def test_train_and_inspect():
    at = AppTest.from_file("../../app.py", default_timeout=180)
    at.switch_page("pages/9_VAE_Trained_Live.py")
    at.query_params["steps"] = "50"
    at.run()
    assert not at.exception
    assert any("Train" in i.value for i in at.info)
    at.button(key="train").click().run()
    assert not at.exception
    rows = at.dataframe[0].value.to_dict("records")
    assert len(rows) == 3
    for e in ("pathwise", "score", "score_loo"):
        at.radio(key="inspect").set_value(e).run()
        assert not at.exception
    at.slider(key="z0").set_value(3.0).run()
    assert not at.exception
    # A second visit replays from the shared cache: no Train button.
    again = AppTest.from_file("../../app.py", default_timeout=60)
    again.switch_page("pages/9_VAE_Trained_Live.py")
    again.query_params["steps"] = "50"
    again.run()
    assert not again.exception and len(again.dataframe) == 1


def test_L1_leaves_out_leave_one_out():
    at = AppTest.from_file("../../app.py", default_timeout=180)
    at.switch_page("pages/9_VAE_Trained_Live.py")
    at.query_params["steps"] = "50"
    at.query_params["L"] = "1"
    at.run()
    assert not at.exception and any("leave-one-out" in i.value for i in at.info)
