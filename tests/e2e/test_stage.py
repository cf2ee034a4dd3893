"""The live stage in a real browser: dragging the slider inside the figure redraws every row in
Chromium with no Streamlit rerun, and the stage fits a projector and a phone."""
import re

import pytest

from tests.e2e.conftest import screenshot, wait_idle
from tests.e2e.stage import drag, grip_and_rail

pytestmark = pytest.mark.e2e

READY_JS = "() => { const g = document.querySelector('.js-plotly-plot'); return !!(g && g._fullData && " \
           "document.querySelector('.slider-grip-rect')); }"


def open_stage(browser, url: str, width: int, height: int, scheme: str = "light"):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload)[:40])))
    page.goto(url)
    wait_idle(page)
    page.wait_for_function(READY_JS, timeout=30_000)
    return context, page, sent


def test_dragging_the_lab_slider_redraws_in_the_browser_without_a_rerun(server, browser):
    context, page, sent = open_stage(browser, server.url + "/Estimator_Lab?present=true", 1280, 720)
    try:
        before = len(sent)
        steps = drag(page, moves=30, to_fraction=0.05)
        assert len(sent) == before, f"the drag sent {len(sent) - before} websocket messages: {sent[before:]}"
        assert page.locator("[data-testid=stApp]").get_attribute("data-test-script-state") == "notRunning"
        # Mouse moves may be coalesced on a loaded machine, but many steps reach a new frame, and
        # at each the header (μ and the exact value), a histogram and the readouts all changed.
        headers = [s["header"] for s in steps]
        assert len(set(headers)) >= 5, headers
        assert len({s["outline"] for s in steps}) == len({s["readout"] for s in steps}) == len(set(headers))
        assert headers[-1].startswith("μ = −2.") or headers[-1].startswith("μ = −3.")  # dragged to the left end
        # What the chart shows is the frame the slider points at.
        active = page.evaluate("() => { const g = document.querySelector('.js-plotly-plot'); "
                               "const s = g._fullLayout.sliders[0]; return s.steps[s.active].label; }")
        assert headers[-1].startswith(f"μ = {active}")
        screenshot(page, "estimator_lab_presenter_after_drag", full=False)
    finally:
        context.close()


def _inside(box, height: float) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_the_stage_fits_a_1280x720_projector(server, browser):
    context, page, _ = open_stage(browser, server.url + "/Estimator_Lab?present=true", 1280, 720)
    try:
        page.wait_for_function("() => parseFloat(getComputedStyle(document.documentElement).fontSize) >= 19",
                               timeout=20_000)
        wait_idle(page)
        grip, rail = grip_and_rail(page)
        assert _inside(rail, 720) and _inside(grip, 720), rail
        chart = page.locator(".js-plotly-plot").first
        rows = chart.locator(".scatterlayer .trace").all()
        for row in rows[:2]:  # the first two histogram rows
            assert _inside(row.bounding_box(), 720), row.bounding_box()
        readouts = chart.locator(".textpoint").all()
        assert len(readouts) >= 3 and all(_inside(t.bounding_box(), 720) for t in readouts[:3])
        for label in ("Objective f(x)", "The figure's slider moves", "Gradient with respect to", "μ (mean) (start)",
                      "σ (std. dev.)", "L (samples)"):
            box = page.get_by_text(label, exact=True).first.bounding_box()
            assert _inside(box, 720), (label, box)
        # The estimator picker ends the controls on a projector (it rarely changes mid-lecture): the whole
        # stage fits under the title instead (test_layout.py). It stands beside the stage, a scroll away.
        pills = page.locator(".st-key-est button").filter(has_text=re.compile(r"\w")).all()
        stage_box = chart.bounding_box()
        assert len(pills) == 8 and all(p.bounding_box()["x"] > stage_box["x"] + stage_box["width"] for p in pills)
        width = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollWidth")
        assert width <= 1280
        screenshot(page, "estimator_lab_presenter_1280x720", full=False)
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_slider_and_its_chart_fit_one_screen(server, browser, scheme):
    context, page, _ = open_stage(browser, server.url + "/Estimator_Lab", 390, 844, scheme)
    try:
        chart = page.locator(".js-plotly-plot").first
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box = chart.bounding_box()
        assert box["height"] <= 844 and box["width"] <= 390, box
        # Streamlit's header bar stays fixed at the top: the chart must fit below it.
        header = page.locator("[data-testid=stHeader]").bounding_box()
        top = header["y"] + header["height"] if header else 0
        page.evaluate("(y) => document.querySelector('[data-testid=stMain]').scrollBy(0, y)", box["y"] - top - 4)
        page.wait_for_timeout(300)
        box = chart.bounding_box()
        _, rail = grip_and_rail(page)
        assert rail["y"] >= top and _inside(rail, 844) and box["y"] >= top - 8 and _inside(box, 844), (top, rail, box)
        screenshot(page, f"estimator_lab_phone_{scheme}", full=False)
    finally:
        context.close()


@pytest.mark.parametrize("path, index, expect", [("/", 0, "μ = "), ("/Reparameterization_Trick", 0, "μ = ")])
def test_home_and_reparameterization_pictures_scrub_in_the_browser(server, browser, path, index, expect):
    context, page, sent = open_stage(browser, server.url + path, 1400, 1000)
    try:
        page.locator(".js-plotly-plot").nth(index).scroll_into_view_if_needed()
        before = len(sent)
        steps = drag(page, index=index, moves=20, to_fraction=0.9)
        assert len(sent) == before
        assert len(steps) >= 5 and len({s["header"] for s in steps}) >= 5, steps
        assert all(expect in s["header"] for s in steps)
    finally:
        context.close()
