"""Lecture mode in a real browser, as a lecturer on a 1280×720 projector meets it: the scene's
question first, its answer hidden until Reveal, ← and → stepping the scenes, the URL following."""
import re

import pytest

from core.lectures import load_lecture
from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.e2e

SCENES = len(load_lecture("default").scenes)


def scene_shown(page, index: int, timeout: float = 60_000) -> None:
    """Wait, with a bound, until the URL names scene ``index`` and its page has rendered it."""
    page.wait_for_function("(i) => new RegExp(`[?&]scene=${i}(&|$)`).test(location.href)", arg=index,
                           timeout=timeout)  # a page link moves the URL by history.pushState
    page.get_by_text(f"scene {index} of {SCENES}").first.wait_for(timeout=timeout)
    wait_idle(page, timeout)


@pytest.fixture
def projector(browser):
    """A 1280×720 page, as on a classroom projector."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context.new_page()
    context.close()


def open_scene(page, server, index: int) -> None:
    page.goto(f"{server.url}/?lecture=default&present=true&scene={index}")
    scene_shown(page, index)


def press(page, key: str) -> None:
    page.locator(".st-key-lecture_bar strong").last.click()  # the question: text, not a link or a control
    page.keyboard.press(key)


def test_a_lecture_steps_with_the_arrow_keys_and_reveals_on_demand(server, projector):
    page = projector
    open_scene(page, server, 4)
    url = page.evaluate("() => location.href")
    assert "/Estimator_Lab" in url and "f=step" in url and "present=true" in url
    hidden = page.get_by_text("hidden until you press")
    assert hidden.count() == 1
    assert page.locator("[data-testid=stMain] .js-plotly-plot").count() == 0  # the histograms wait
    question = page.get_by_text("Where will the pathwise estimates land?")
    box = question.bounding_box()
    assert box and box["y"] + box["height"] <= 720, box  # the question is on the first screen
    screenshot(page, "lecture_scene4_hidden_1280x720", full=False)

    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("On exactly 0").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert hidden.count() == 0
    page.locator("[data-testid=stMain] .js-plotly-plot").first.wait_for(timeout=60_000)
    screenshot(page, "lecture_scene4_revealed_1280x720", full=False)

    press(page, "ArrowRight")
    scene_shown(page, 5)
    url = page.evaluate("() => location.href")
    assert "present=true" in url  # the scene's own values at their defaults leave the URL (Streamlit's rule)
    assert page.locator("[data-testid=stSelectbox] input").first.input_value() == "cos(kx)"
    assert page.get_by_text("hidden until you press").count() == 1  # a new scene asks again

    press(page, "ArrowLeft")
    scene_shown(page, 4)
    press(page, "ArrowLeft")
    scene_shown(page, 3)
    assert page.locator("[data-testid=stSelectbox] input").first.input_value() == "x^2"


def test_arrow_keys_on_a_focused_slider_do_not_change_the_scene(server, projector):
    page = projector
    open_scene(page, server, 3)
    slider = page.locator("[data-testid=stMain] [data-testid=stSlider] input").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1500)
    url = page.evaluate("() => location.href")
    assert re.search(r"[?&]scene=3(&|$)", url), url


def test_a_step_back_within_one_page_moves_the_address_and_the_keys_go_on(server, projector):
    """Discrete, scene 9 (section 3 open) → PageUp → scene 8 on the same page: the address bar kept
    scene 9, so a reload went forward again and the keys, which read it, stalled there."""
    page = projector
    open_scene(page, server, 9)
    assert "/Discrete_Variables" in page.url
    press(page, "PageUp")
    scene_shown(page, 8)  # the address names scene 8 (bounded wait), and the bar shows it
    assert "preset=bernoulli_sin" in page.url and "section=" not in page.url
    page.reload()
    scene_shown(page, 8)
    press(page, "PageUp")
    scene_shown(page, 7)
    assert "/Baselines_and_Control_Variates" in page.url
    press(page, "PageDown")
    scene_shown(page, 8)
    press(page, "PageDown")
    scene_shown(page, 9)
