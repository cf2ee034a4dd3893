"""Nothing is fetched from outside hosts: every page, in a real browser, asks only the app's own
server (a classroom network may block the rest, and a student's browser should not tell a
third party which page they are on)."""
from urllib.parse import urlparse

import pytest

from core.lectures import PAGES
from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.e2e


def test_no_page_requests_anything_from_another_host(server, browser):
    own = urlparse(server.url).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).netloc not in (own, "")
            and not r.url.startswith(("data:", "blob:", "about:")) else None)
    try:
        for slug, (script, _) in PAGES.items():
            path = "" if script == "app.py" else script.split("/", 1)[1].removesuffix(".py").split("_", 1)[1]
            page.goto(f"{server.url}/{path}?present=true")
            wait_idle(page)
            page.wait_for_timeout(500)
        assert not outside, outside[:10]
    finally:
        context.close()
