"""AppTest of the home page."""
import json

import numpy as np
from streamlit.testing.v1 import AppTest

import core


def test_home_renders_a_teaser_that_scrubs_mu_in_the_browser():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    assert not at.exception
    (fig,) = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    (slider,) = fig["layout"]["sliders"]
    frames = fig["frames"]
    assert len(frames) == len(slider["steps"]) == 61  # μ from −3 to 3 in steps of 0.1
    # Each frame's header names its μ and the exact gradient there.
    for i in (0, 17, 60):
        mu = -3.0 + 0.1 * i
        header = frames[i]["data"][-1]["text"][0]
        assert f"μ = {mu:.2f}".replace("-", "−") in header
        exact = core.exact_gradient("cos(3*x)", mu, 0.5)[0]
        assert f"{float(f'{exact:.4g}'):.4g}".replace("-", "−") in header
    assert slider["active"] == 35  # starts at μ = 0.5
    caption = " ".join(c.value for c in at.caption)
    assert "of the 61 values of μ" in caption
    sd = np.array([float(v) for v in caption.split("spread is ")[1].split(" against")[0:1]])
    assert sd.size == 1


# ---- The learning path: file names, Home, the sidebar and each page's last link agree. ----
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import ui  # noqa: E402
from tests.app.conftest import open_page  # noqa: E402


def _links(at) -> list[tuple[str, str]]:
    """(label, page) of every page link drawn, sidebar and main area alike."""
    return [(el.proto.label, el.proto.page) for el in at.get("page_link")]


def test_page_files_are_numbered_in_learning_path_order():
    root = Path(__file__).resolve().parents[2]
    on_disk = sorted((p.name for p in (root / "pages").glob("*.py")), key=lambda name: int(name.split("_")[0]))
    assert [Path(script).name for script, *_ in ui.PAGES[1:]] == on_disk
    for step, (script, *_) in enumerate(ui.PAGES[1:], start=1):
        assert re.match(rf"{step}_", Path(script).name), script


def test_home_and_the_sidebar_show_the_same_step_numbers():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    labels = [label for label, _ in _links(at)]
    for step in range(1, len(ui.PAGES)):
        name = ui.PAGES[step][1]
        numbered = [label for label in labels if name in label]
        assert len(numbered) == 2, (name, numbered)  # once in the sidebar, once on Home's path
        assert all(label.startswith(f"{step} · {name}") for label in numbered), numbered


@pytest.mark.parametrize("step", range(1, len(ui.PAGES)))
def test_every_page_ends_with_a_link_to_the_next_step(step):
    at = open_page(ui.PAGES[step][0], timeout=300)
    assert not at.exception, [e.message for e in at.exception]
    last = [(el.proto.label, el.proto.page) for el in at.main.get("page_link")][-1]
    if step + 1 < len(ui.PAGES):
        assert last[0] == f"Step {step + 1} · {ui.PAGES[step + 1][1]} →", last
    else:
        assert last[0] == "Back to Home", last
