"""Every link round-trips (issue 25): a page opened from a link with every control set, read back
from the address bar, opens fresh on the same view.

For each page, every link parameter the page accepts (core.lectures.PAGES lists them, and
tests/app/test_lectures.py checks that list against the page's widgets) is set at once: once
low in its range (or on its second choice), once high (or on its last choices), and on the Lab
and the Discrete page once more with a custom formula. The page writes its link back; opened
in a new browser, that link must give the same link again and the same text in the main column
(every number and sentence the page shows). A link that lost or changed a choice (the Discrete
page's θ0 once opened as θ1 and flipped every sign) shows a different text.
"""
from __future__ import annotations

import re
import urllib.parse

import pytest

from core.lectures import PAGES
from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.e2e

TEXT_JS = "() => document.querySelector('[data-testid=stMain]').innerText"
CUSTOM = {"lab": {"f": ["custom"], "expr": ["sin(2*x) + abs(x - 0.3)"]},
          "discrete": {"preset": ["custom"], "vals": ["-1, 0.5, 2"], "expr": ["x**2 - sin(x)"]}}


def path_of(script: str) -> str:
    return "/" if script == "app.py" else "/" + re.sub(r"^\d+_", "", script.rsplit("/", 1)[-1][:-3])


def values(spec, high: bool) -> list[str] | None:
    if spec[0] == "range":
        lo, hi, integer = spec[1:]
        v = lo + (0.7 if high else 0.3) * (hi - lo)
        return [str(int(round(v)))] if integer else [f"{round(v, 1):g}"]
    if spec[0] == "choice":
        labels, multi = spec[1], spec[2]
        if multi:
            return list(labels[-2:]) if high else list(labels[:2])
        return [labels[-1] if high else labels[min(1, len(labels) - 1)]]
    return None  # free text: the custom variants below


def variants():
    """One setting per page in the default run (low and high alternate along the pages), the
    custom formulas, and the other setting of each page under the ``nightly`` marker."""
    for i, (slug, (script, params)) in enumerate(PAGES.items()):
        if not params:
            continue
        for high in (False, True):
            query = {k: v for k, spec in params.items() if (v := values(spec, high)) is not None}
            marks = [pytest.mark.nightly] if high != bool(i % 2) else []
            yield pytest.param(slug, path_of(script), query, id=f"{slug}-{'high' if high else 'low'}", marks=marks)
        if slug in CUSTOM:
            query = {k: v for k, spec in params.items() if (v := values(spec, True)) is not None}
            yield pytest.param(slug, path_of(script), {**query, **CUSTOM[slug]}, id=f"{slug}-custom")


def _open(browser, url: str) -> tuple[str, str]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url)
        wait_idle(page)
        page.wait_for_timeout(500)
        assert page.locator("[data-testid=stException]").count() == 0, url
        return page.url, page.evaluate(TEXT_JS)
    finally:
        context.close()


@pytest.mark.parametrize("slug, path, query", list(variants()))
def test_a_link_with_every_control_set_opens_the_same_view_again(server, browser, slug, path, query):
    first = server.url + path + "?" + urllib.parse.urlencode([(k, x) for k, v in query.items() for x in v])
    link, text = _open(browser, first)
    again, text_again = _open(browser, link)
    assert again == link, (first, link, again)
    assert text_again == text, (link, [a for a, b in zip(text.splitlines(), text_again.splitlines()) if a != b][:5])


def test_choosing_theta0_on_the_discrete_page_survives_the_link(server, context_at):
    """The case the issue found: θ0 chosen by hand, the link copied, the link opened."""
    page = context_at(1400, 1000)
    page.goto(server.url + "/Discrete_Variables")
    wait_idle(page)
    page.locator("[data-testid=stRadio]").filter(has_text="Show the gradient with respect to") \
        .get_by_text("θ0", exact=True).click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('j') === 'θ0'", timeout=30_000)
    wait_idle(page)
    link, text = page.url, page.evaluate(TEXT_JS)
    fresh = context_at(1400, 1000)
    fresh.goto(link)
    wait_idle(fresh)
    fresh.wait_for_timeout(500)
    assert fresh.evaluate(TEXT_JS) == text
    assert "∂/∂θ0" in text
