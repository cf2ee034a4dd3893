"""Real-browser tests: Debian's Chromium, driven by Playwright, against `streamlit run app.py`."""
import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import Server, screenshot, wait_idle

pytestmark = pytest.mark.e2e

PAGES = [("/", "home"), ("/Estimator_Lab", "estimator_lab"), ("/Why_Sampling_Blocks_Gradients", "why_sampling_blocks"),
         ("/Reparameterization_Trick", "reparameterization_trick"), ("/Variance_Landscape", "variance_landscape"),
         ("/Baselines_and_Control_Variates", "baselines"), ("/Discrete_Variables", "discrete_variables"),
         ("/Policy_Gradients", "policy_gradients"), ("/Weight_Noise_Flipout", "weight_noise")]


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, page.locator("[data-testid=stException]").first.inner_text()


@pytest.mark.parametrize("path, name", PAGES)
def test_every_page_loads_without_exception(server, page, path, name):
    page.goto(server.url + path)
    wait_idle(page)
    no_exception(page)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)  # charts mount lazily
    screenshot(page, name)


@pytest.mark.parametrize("path, name", PAGES)
def test_every_page_in_dark_theme(server, browser, path, name):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(server.url + path)
        wait_idle(page)
        no_exception(page)
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
        rgb = [int(v) for v in background[background.index("(") + 1:background.index(")")].split(",")[:3]]
        assert sum(rgb) < 200, background  # the app follows the system's dark theme
        screenshot(page, f"{name}_dark")
    finally:
        context.close()


def test_presenter_mode_enlarges_text_and_folds_the_sidebar(server, page):
    page.goto(server.url + "/Estimator_Lab")
    wait_idle(page)
    normal = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.goto(server.url + "/Estimator_Lab?present=true")
    wait_idle(page)
    no_exception(page)
    # The presenter style arrives with the first run; on a loaded machine it can land a
    # moment after the page first reports idle, so wait for it (bounded) before measuring.
    try:
        page.wait_for_function(
            "n => parseFloat(getComputedStyle(document.documentElement).fontSize) >= 1.2 * n", arg=normal,
            timeout=20_000)
    except Exception:
        large = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
        styles = page.locator("[data-testid=stEvent] style, [data-testid=stHtml] style").count()
        pytest.fail(f"presenter mode did not enlarge the text: root font {normal} -> {large} px, "
                    f"url {page.url}, presenter style elements {styles}")
    box = page.locator("[data-testid=stSidebar]").bounding_box()
    assert box is None or box["x"] + box["width"] <= 0, box  # folded away, off-screen
    wait_idle(page)  # the style can land with a later run: let that run draw before the screenshot
    screenshot(page, "estimator_lab_presenter", full=False)


def test_a_chart_downloads_its_data_as_csv(server, page):
    page.goto(server.url + "/Estimator_Lab")
    wait_idle(page)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Data (CSV)").first.click()
    path = info.value.path()
    text = open(path).read()
    # The Lab's CSV holds every frame of the sweep: one row per value of μ and estimator.
    assert text.splitlines()[0] == "mu,estimator,exact,mean,std,bias,se,bias_over_se,replicates"
    assert len(text.splitlines()) == 1 + 61 * 6


def test_copy_link_gives_the_url_with_every_setting(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    try:
        page.goto(server.url + "/Estimator_Lab?mu=1.2&seed=4")
        wait_idle(page)
        frame = page.frame_locator("[data-testid=stSidebar] iframe").first
        frame.get_by_role("button", name="Copy link to this view").click()
        frame.get_by_text("Link copied").or_(frame.get_by_text("Select the link below")).wait_for(timeout=10_000)
        link = frame.get_by_role("textbox").input_value()
        assert link == page.url and "mu=1.2" in link and "seed=4" in link
    finally:
        context.close()


SIGNATURE_JS = """() => {
  const p = document.querySelector('.js-plotly-plot');
  if (!p || !p._fullData) return null;
  const bars = p._fullData.filter(t => t.fill === 'toself').map(t => Array.from(t.y).slice(0, 130));
  const title = Array.from(p.querySelectorAll('.xtitle')).map(e => e.textContent).join('|');
  return JSON.stringify([title, bars]);
}"""


def _bar_signature(page) -> str:
    """The first histogram's outlines and axis title, as the browser has drawn them."""
    page.wait_for_function(SIGNATURE_JS, timeout=30_000)
    return page.evaluate(SIGNATURE_JS)


def test_moving_a_slider_redraws_the_histograms_and_updates_the_url(server, page):
    page.goto(server.url + "/Estimator_Lab")
    wait_idle(page)
    before = _bar_signature(page)
    slider = page.get_by_role("slider", name=re.compile("μ"))
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => {{ const s = ({SIGNATURE_JS})(); return s !== null && s !== {before!r}; }}",
                           timeout=30_000)
    wait_idle(page)
    no_exception(page)
    query = parse_qs(urlparse(page.url).query)
    assert query.get("mu") == ["0.7"], page.url  # 0.5 + 4 × 0.05
    screenshot(page, "estimator_lab_after_slider")


def test_bad_formula_shows_a_message_in_the_browser(server, page):
    page.goto(server.url + "/Estimator_Lab?f=custom")
    wait_idle(page)
    box = page.locator("[data-testid=stTextInput] input")
    box.fill("__import__('os')")
    box.press("Enter")
    page.get_by_text("Formula not understood").wait_for(timeout=30_000)
    wait_idle(page)
    no_exception(page)
    screenshot(page, "estimator_lab_bad_formula", full=False)


def test_deep_link_is_the_first_request_to_a_fresh_server(page):
    """Community Cloud wakes a sleeping app on a student's click: the deep link must work first time."""
    fresh = Server()
    try:
        fresh.wait_healthy()
        page.goto(fresh.url + "/Estimator_Lab?f=step&mu=0.3&sigma=0.7&L=5&seed=3")
        wait_idle(page)
        no_exception(page)
        assert page.get_by_role("heading", name="Estimator Lab").count() == 1
        assert page.get_by_text("pathwise estimator is wrong here").count() == 1
        assert page.locator("[data-testid=stSidebar]").count() == 1  # the app frame, not a bare page
        query = parse_qs(urlparse(page.url).query)
        assert query.get("mu") == ["0.3"] and query.get("seed") == ["3"]
        screenshot(page, "deep_link_fresh_server")
    finally:
        fresh.stop()


def test_vae_trains_in_the_browser(server, page):
    page.goto(server.url + "/VAE_Trained_Live?steps=50")
    wait_idle(page)
    no_exception(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Does the estimator matter?").wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    no_exception(page)
    screenshot(page, "vae_trained")


def test_a_click_during_the_first_run_keeps_widgets_and_numbers_in_step(server, page):
    """The discrete page's logits live in session state. A tab clicked while the page is
    still loading once left the sliders showing their minimum (-4.00) and the radio θ0,
    while the page computed with θ = (0, 0.3) for θ1."""
    page.goto(server.url + "/Discrete_Variables")
    page.get_by_role("tab", name="4 · Descent race").click()  # as soon as it exists, mid-run
    wait_idle(page)
    no_exception(page)
    assert page.locator("[data-testid=stSliderThumbValue]").all_inner_texts()[:2] == ["0.00", "0.30"]
    assert page.locator("[data-testid=stRadio] input:checked").first.get_attribute("value") == "1"
    assert page.get_by_text("π = softmax(θ) = (0.426, 0.574)").count() == 1


def test_an_infinite_seed_in_the_link_gives_a_message_not_a_traceback(server, page):
    page.goto(server.url + "/Estimator_Lab?seed=inf&mu=0.7")
    wait_idle(page)
    no_exception(page)
    page.get_by_text("infinite value for: seed").wait_for(timeout=30_000)
    query = parse_qs(urlparse(page.url).query)
    assert "seed" not in query and query.get("mu") == ["0.7"], page.url


SECTION_IN_VIEW_JS = """() => {
  const tabs = document.querySelector('.st-key-section');
  const open = tabs && tabs.querySelector('[role=tab][aria-selected=true]');
  if (!open) return false;
  const bar = open.closest('[role=tablist]').getBoundingClientRect(), t = tabs.getBoundingClientRect();
  const o = open.getBoundingClientRect();
  return t.top >= 0 && t.top < 160 && o.left >= bar.left - 1 && o.right <= bar.right + 1;
}"""


@pytest.mark.parametrize("width, height, phone", [(1400, 1000, False), (390, 844, True)])
def test_a_link_to_a_section_opens_at_that_section(server, context_at, width, height, phone):
    """``?section=relax`` (a teacher's link to section 6) opens with the section's tabs at the top of
    the view and the open tab visible in the tab bar (on a phone the bar scrolls sideways). The
    page's own top stays where it is without ``section``."""
    page = context_at(width, height, phone=phone)
    page.goto(server.url + "/Discrete_Variables?section=relax")
    wait_idle(page)
    page.wait_for_function(SECTION_IN_VIEW_JS, timeout=15_000)
    assert page.get_by_role("tab", name="6 · REBAR and RELAX", selected=True).count() == 1
    screenshot(page, f"section_link_{width}", full=False)
    page.goto(server.url + "/Discrete_Variables")
    wait_idle(page)
    page.wait_for_timeout(1500)  # longer than the aligner's first steps would take
    assert page.get_by_role("heading", name="Discrete variables", exact=False).first.bounding_box()["y"] >= 0
    assert not page.evaluate(SECTION_IN_VIEW_JS)
