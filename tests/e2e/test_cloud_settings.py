"""The app under Community Cloud's forced settings, in Chromium.

Community Cloud overrides four options whatever `.streamlit/config.toml` says
(../shared/REFERENCE.md): XSRF protection on, `runOnSave` on (with its file watcher),
`fastReruns` on, and `showErrorDetails` off. Here a server runs with exactly those, and:

- a slider move is a server round trip that redraws the Lab and rewrites the link;
- a bad link value still gets its plain message (not a traceback, not a bare "error");
- a class poll is opened, answered from a phone and counted, with the poll's SQLite file written
  under the app's folder while the file watcher runs (a write there must not rerun anyone's page);
- a server that just woke up sends an empty chart out of sight before its first page's real one, so
  the browser starts on Plotly's code early (ui._fetch_chart_code_early), and only then.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from core.lectures import load_lecture
from tests.e2e.conftest import ARTIFACTS, Server, wait_idle
from tests.e2e.layout import layout_problems

pytestmark = pytest.mark.e2e

CLOUD_FLAGS = ("--server.enableXsrfProtection", "true", "--server.runOnSave", "true",
               "--runner.fastReruns", "true", "--client.showErrorDetails", "false",
               "--server.fileWatcherType", "auto")
LECTURE = load_lecture("default")


def cloud_server() -> Server:
    # The poll's SQLite file inside the checkout, as on Cloud (data/ there), where the watcher looks.
    return Server(args=CLOUD_FLAGS)


@pytest.fixture(scope="module")
def cloud():
    server = cloud_server()
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, page.locator("[data-testid=stException]").first.inner_text()


def test_xsrf_is_on_and_a_slider_move_redraws_the_lab(cloud, context_at):
    page = context_at()
    page.goto(cloud.url + "/Estimator_Lab")
    wait_idle(page)
    assert any(c["name"] == "_streamlit_xsrf" for c in page.context.cookies()), "XSRF protection is not on"
    readout = page.locator("[data-testid=stMain]").inner_text()
    slider = page.get_by_role("slider", name=re.compile("μ"))
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => new URL(location.href).searchParams.get('mu') === '0.7'", timeout=30_000)
    wait_idle(page)
    no_exception(page)
    assert page.locator("[data-testid=stMain]").inner_text() != readout


def test_a_bad_link_value_still_says_what_is_wrong(cloud, context_at):
    page = context_at()
    page.goto(cloud.url + "/Estimator_Lab?seed=inf&mu=0.7")
    wait_idle(page)
    no_exception(page)
    page.get_by_text("infinite value for: seed").wait_for(timeout=30_000)
    query = parse_qs(urlparse(page.url).query)
    assert "seed" not in query and query.get("mu") == ["0.7"], page.url


def test_a_poll_is_answered_while_the_file_watcher_runs(cloud, context_at):
    guessing = next(i for i, s in enumerate(LECTURE.scenes, 1) if s.guess and s.page == "lab")
    projector = context_at(1280, 720)
    projector.goto(f"{cloud.url}/?lecture=default&scene={guessing}&present=true")
    projector.get_by_role("button", name="Poll the class").wait_for(timeout=90_000)
    wait_idle(projector)
    projector.get_by_role("button", name="Poll the class").click()
    projector.wait_for_function("() => /[?&]poll=[A-Z0-9]{5}(&|$)/.test(location.href)", timeout=30_000)
    code = re.search(r"poll=([A-Z0-9]{5})", projector.url).group(1)
    assert (ARTIFACTS / f"polls-{cloud.port}").is_dir()  # the store's file, under the app's folder

    phone = context_at(390, 844, phone=True)
    phone.goto(f"{cloud.url}/?room={code}")
    phone.get_by_role("button", name="Send my answer").click(timeout=60_000)
    phone.get_by_text("Sent:").first.wait_for(timeout=30_000)
    projector.get_by_text("1 answer", exact=False).first.wait_for(timeout=15_000)
    # Nothing reran the pages from scratch: the answer and the open poll are still there a while later.
    phone.wait_for_timeout(3_000)
    assert phone.get_by_text("Sent:").count() >= 1
    assert projector.get_by_text("1 answer", exact=False).count() >= 1
    no_exception(phone)
    no_exception(projector)
    assert not layout_problems(phone), layout_problems(phone)


EARLY = ".st-key-chart_code_early"
# Records when a chart first appears in the hidden early container and in the page's main area.
WATCH_JS = """window.__charts = {};
new MutationObserver(() => {
  const t = performance.now(), seen = window.__charts;
  if (!seen.early && document.querySelector('.st-key-chart_code_early [data-testid=stPlotlyChart]')) seen.early = t;
  if (!seen.main && document.querySelector('[data-testid=stMain] .js-plotly-plot .main-svg')) seen.main = t;
}).observe(document, {subtree: true, childList: true});"""


def test_a_woken_server_asks_for_the_chart_code_first_and_out_of_sight(context_at):
    fresh = cloud_server()
    try:
        fresh.wait_healthy()
        page = context_at()
        page.add_init_script(WATCH_JS)
        page.goto(fresh.url + "/Estimator_Lab")
        wait_idle(page)
        page.wait_for_function("() => window.__charts.main", timeout=30_000)
        no_exception(page)
        seen = page.evaluate("window.__charts")
        assert seen.get("early") and seen["early"] < seen["main"], f"no early chart before the first real one: {seen}"
        # Taken away in the same run, and its container never shows.
        assert page.locator(f"{EARLY} [data-testid=stPlotlyChart]").count() == 0
        assert page.locator(EARLY).count() == 0 or not page.locator(EARLY).is_visible()
        assert not layout_problems(page), layout_problems(page)
        # A second visitor meets a warm server: nothing early.
        other = context_at()
        other.add_init_script(WATCH_JS)
        other.goto(fresh.url + "/")
        wait_idle(other)
        other.wait_for_function("() => window.__charts.main", timeout=30_000)
        assert other.locator(EARLY).count() == 0 and not other.evaluate("window.__charts.early")
    finally:
        fresh.stop()
